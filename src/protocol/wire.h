#pragma once
// Internal to src/protocol (not part of the codec API): a bounds-checked reader over an
// untrusted packet body, the first-error record the decoders fill, the property table
// and small writers shared by the encoders. Exists so that every decoder reads bytes the
// same way and reports the same reason codes.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/packets.h"
#include "protocol/properties.h"
#include "protocol/reason_codes.h"
#include "protocol/types.h"
#include "protocol/utf8.h"

namespace petrel::protocol::wire {

// First failure of a decode: reason code + static message. Decoders use it instead of
// building an Error at every step, so the success path never touches a std::string.
struct Fail {
  uint8_t code = 0;
  const char* what = nullptr;
  bool set(uint8_t c, const char* w) {
    if (code == 0) { code = c; what = w; }
    return false;
  }
  bool malformed(const char* w) { return set(rc::kMalformedPacket, w); }
  bool protocol(const char* w) { return set(rc::kProtocolError, w); }
  Error error() const { return Error{code, what ? what : "decode error"}; }
};

// Reads big-endian MQTT data types from a body. Every method returns false (recording
// 0x81 Malformed Packet in fail) when the body ends early.
class Reader {
 public:
  Reader(std::string_view s, Fail& fail) : p_(s.data()), end_(s.data() + s.size()), fail_(fail) {}
  size_t left() const { return size_t(end_ - p_); }
  bool empty() const { return p_ == end_; }
  const char* pos() const { return p_; }
  Fail& fail() { return fail_; }

  bool u8(uint8_t& v) {
    if (left() < 1) return fail_.malformed("truncated byte");
    v = uint8_t(*p_++);
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return fail_.malformed("truncated two byte integer");
    v = uint16_t(uint8_t(p_[0]) << 8 | uint8_t(p_[1]));
    p_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (left() < 4) return fail_.malformed("truncated four byte integer");
    v = uint32_t(uint8_t(p_[0])) << 24 | uint32_t(uint8_t(p_[1])) << 16 |
        uint32_t(uint8_t(p_[2])) << 8 | uint32_t(uint8_t(p_[3]));
    p_ += 4;
    return true;
  }
  bool varint(uint32_t& v);
  bool bytes(size_t n, std::string_view& out) {
    if (left() < n) return fail_.malformed("truncated field");
    out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  // Two-byte length + bytes (Binary Data).
  bool binary(std::string_view& out) {
    uint16_t n = 0;
    return u16(n) && bytes(n, out);
  }
  // Two-byte length + bytes that must be MQTT UTF-8 [MQTT-1.5.4-1..3].
  bool utf8(std::string_view& out, const char* what) {
    if (!binary(out)) return false;
    if (!valid_mqtt_utf8(out)) return fail_.malformed(what);
    return true;
  }
  // The rest of the body.
  std::string_view rest() {
    std::string_view r(p_, left());
    p_ = end_;
    return r;
  }
  // A sub-reader over the next n bytes (property blocks); advances past them.
  bool sub(size_t n, std::string_view& out) {
    if (left() < n) return fail_.malformed("property length exceeds packet");
    out = std::string_view(p_, n);
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
  Fail& fail_;
};

// Does s contain '+' or '#'? (Topic names must not [MQTT-3.3.2-2]; hot on every PUBLISH.)
bool has_wildcard(std::string_view s);

// ---- properties -----------------------------------------------------------------------

enum class PropType : uint8_t { kNone, kByte, kU16, kU32, kVarint, kString, kBinary, kPair };

// Allowed-in masks: bit (1 << PacketType); bit 0 stands for the Will Properties of CONNECT.
inline constexpr uint32_t kWillBit = 1u;
constexpr uint32_t bit(PacketType t) { return 1u << unsigned(t); }

struct PropInfo {
  PropType type = PropType::kNone;
  uint32_t allowed = 0;
};
// Table indexed by property identifier (0..0x2A; anything above is unknown).
const PropInfo& prop_info(uint8_t id);

// One property as read from the wire, before it is stored anywhere.
struct RawProp {
  uint8_t id = 0;
  const char* begin = nullptr;  // at the identifier
  const char* end = nullptr;    // past the value
  uint32_t num = 0;             // byte / two / four byte / variable byte integer
  std::string_view s1, s2;      // string, binary, or user property key + value
};

// Reads one property valid in `allowed_mask` and checks its value range. Does not check
// for duplicates (the caller knows which ones may repeat).
bool read_prop(Reader& r, uint32_t allowed_mask, RawProp& out);

// Decodes a property block into p (the Properties used by every packet but PUBLISH).
// `mask` says which identifiers are allowed. Duplicates (except user property and, in
// PUBLISH, subscription identifier) are a Protocol Error.
bool parse_props(std::string_view block, uint32_t mask, Properties& p, Fail& fail);
// Reads the property length and block that follow in r, then parse_props.
bool read_props(Reader& r, uint32_t mask, Properties& p);

// Appends the properties of p allowed by mask, with their length prefix.
void write_props(const Properties& p, uint32_t mask, std::string& out);
// Properties that a packet type allows (not counting Will Properties).
uint32_t mask_for(PacketType t);

// Is code one of the v5 reason codes packet type t may carry (tables 3-1, 3-4 .. 3-13)?
bool reason_allowed(PacketType t, uint8_t code);
// Fixed-header flag rules [MQTT-2.2.2-1,2]: PUBREL, SUBSCRIBE and UNSUBSCRIBE carry 0b0010,
// every other packet but PUBLISH 0. MQTT 3.1 allowed DUP on the 0b0010 ones.
bool fixed_flags_ok(uint8_t header, Version v);

// Per-packet decoders behind decode() (each checks the fixed-header flags it cares about).
bool read_connack(uint8_t header, std::string_view body, Version v, Connack& c, Fail& f);
bool read_publish(uint8_t header, std::string_view body, Version v, Publish& p,
                  std::string& scratch, Fail& f);
bool read_ack(uint8_t header, std::string_view body, Version v, Ack& a, Fail& f);

// ---- writers --------------------------------------------------------------------------

inline void put_u8(std::string& out, uint8_t v) { out.push_back(char(v)); }
inline void put_u16(std::string& out, uint16_t v) {
  char b[2] = {char(v >> 8), char(v)};
  out.append(b, 2);
}
inline void put_u32(std::string& out, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.append(b, 4);
}
// Two-byte length + bytes. Strings longer than 65535 bytes are a caller bug.
void put_str(std::string& out, std::string_view s);

// Length-prefixed region whose size is known only after writing it: reserve four bytes,
// write, then close() moves the content down to sit right after the real varint.
class LengthScope {
 public:
  explicit LengthScope(std::string& out) : out_(out), at_(out.size()) { out.append(4, '\0'); }
  void close();

 private:
  std::string& out_;
  size_t at_;
};

}  // namespace petrel::protocol::wire
