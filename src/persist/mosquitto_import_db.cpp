// Mosquitto 2.0's mosquitto.db (format version 6), read from its public description:
//   header: 15 magic bytes, a 4-byte CRC field (Mosquitto writes 0 and never checks it), the
//           format version (big-endian u32);
//   then chunks until the end of the file: type (BE u32), length of the body (BE u32), body.
// A body is a fixed part written as a C struct (with its padding; the 8-byte fields in the
// writing machine's byte order, little-endian on every platform Mosquitto 2.0 is shipped
// for; the shorter ones converted to big-endian), then variable-length strings, payload and
// an MQTT 5 property block (with its variable-byte-integer length) in what is left.
//   1 config      last_db_id u64, shutdown u8, dbid_size u8, 6 padding bytes (16 bytes)
//   2 base msg    store_id u64, expiry_time i64, payloadlen u32, source_mid u16,
//                 source_id_len u16, source_username_len u16, topic_len u16, source_port u16,
//                 qos u8, retain u8 (32 bytes); source id, source username, topic, payload,
//                 properties
//   3 client msg  store_id u64, mid u16, client_id_len u16, qos u8, state u8,
//                 retain<<4|dup u8, direction u8 (16 bytes); client id, properties
//                 (subscription identifiers)
//   4 retain      store_id u64 (8 bytes)
//   5 subscription identifier u32, client_id_len u16, topic_len u16, qos u8, options u8,
//                 2 padding bytes (12 bytes); client id, filter
//   6 client      session_expiry_time i64, session_expiry_interval u32, last_mid u16,
//                 client_id_len u16, listener_port u16, username_len u16, 4 padding bytes
//                 (24 bytes); client id, username
// Mosquitto writes exact chunk lengths, so every chunk must account for all of its bytes:
// that is what catches most damage (the CRC field is always 0, so nothing else does).
#include <string>

#include "persist/mosquitto_import_internal.h"
#include "protocol/codec.h"
#include "protocol/framer.h"

namespace petrel::persist::mosq {

namespace {

constexpr size_t kHeaderSize = 15 + 4 + 4;
constexpr uint32_t kVersion = 6;
constexpr uint32_t kMaxPayload = 268'435'455;  // the largest MQTT payload

enum Chunk : uint32_t { kCfg = 1, kBaseMsg = 2, kClientMsg = 3, kRetain = 4, kSub = 5, kClient = 6 };

// A bounds-checked reader over one chunk body. Every read fails once the body ends.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  size_t left() const { return s_.size() - pos_; }
  bool u8(uint8_t& v) {
    if (left() < 1) return false;
    v = uint8_t(s_[pos_++]);
    return true;
  }
  bool be16(uint16_t& v) {
    if (left() < 2) return false;
    v = uint16_t(byte(0) << 8 | byte(1));
    pos_ += 2;
    return true;
  }
  bool be32(uint32_t& v) {
    if (left() < 4) return false;
    v = uint32_t(byte(0)) << 24 | uint32_t(byte(1)) << 16 | uint32_t(byte(2)) << 8 | byte(3);
    pos_ += 4;
    return true;
  }
  bool le64(uint64_t& v) {
    if (left() < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | byte(size_t(i));
    pos_ += 8;
    return true;
  }
  bool skip(size_t n) {
    if (left() < n) return false;
    pos_ += n;
    return true;
  }
  bool bytes(size_t n, std::string& out) {
    if (left() < n) return false;
    out.assign(s_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  std::string_view rest() const { return s_.substr(pos_); }

 private:
  uint8_t byte(size_t i) const { return uint8_t(s_[pos_ + i]); }
  std::string_view s_;
  size_t pos_ = 0;
};

// The property block at the end of a chunk: its length (a variable byte integer) must cover
// exactly the bytes left. Empty = no properties.
std::optional<std::string> read_props(std::string_view rest, protocol::Properties& p) {
  if (rest.empty()) return std::nullopt;
  uint32_t len = 0;
  const int n = protocol::decode_varint(rest.data(), rest.size(), len);
  if (n <= 0) return "bad property length";
  if (size_t(len) != rest.size() - size_t(n)) return "property length does not match the chunk";
  auto parsed = protocol::parse_properties(rest.substr(size_t(n)), protocol::PacketType::kPublish);
  if (!parsed) return "bad properties (" + parsed.error().message + ")";
  p = std::move(*parsed);
  return std::nullopt;
}

std::optional<std::string> read_cfg(Cursor& c, bool& seen) {
  uint64_t last_db_id = 0;
  uint8_t shutdown = 0, dbid_size = 0;
  if (!c.le64(last_db_id) || !c.u8(shutdown) || !c.u8(dbid_size) || !c.skip(6) || c.left() != 0)
    return "config chunk of the wrong size";
  if (dbid_size != 8) return "config chunk says message ids are " + std::to_string(dbid_size) +
                             " bytes (expected 8)";
  if (seen) return "two config chunks";
  seen = true;
  return std::nullopt;
}

std::optional<std::string> read_base_msg(Cursor& c, Records& out) {
  uint64_t store_id = 0, expiry = 0;
  uint32_t payloadlen = 0;
  uint16_t source_mid = 0, source_id_len = 0, source_username_len = 0, topic_len = 0;
  BaseMsg m;
  uint8_t retain = 0;
  if (!c.le64(store_id) || !c.le64(expiry) || !c.be32(payloadlen) || !c.be16(source_mid) ||
      !c.be16(source_id_len) || !c.be16(source_username_len) || !c.be16(topic_len) ||
      !c.be16(m.source_port) || !c.u8(m.qos) || !c.u8(retain))
    return "message chunk shorter than its fixed part";
  if (payloadlen > kMaxPayload) return "message payload length " + std::to_string(payloadlen) + " too large";
  if (!c.bytes(source_id_len, m.source_id) || !c.bytes(source_username_len, m.source_username) ||
      !c.bytes(topic_len, m.topic) || !c.bytes(payloadlen, m.payload))
    return "message lengths exceed the chunk";
  if (topic_len == 0) return "message " + std::to_string(store_id) + " has no topic";
  if (retain > 1) return "message " + std::to_string(store_id) + " has a retain flag of " + std::to_string(retain);
  m.retain = retain == 1;
  m.expiry_time = int64_t(expiry);
  protocol::Properties p;
  if (auto e = read_props(c.rest(), p)) return "message " + std::to_string(store_id) + ": " + *e;
  if (auto e = encode_forwarded(p, m.props)) return "message " + std::to_string(store_id) + ": " + *e;
  if (!out.msgs.emplace(store_id, std::move(m)).second)
    return "message " + std::to_string(store_id) + " appears twice";
  return std::nullopt;
}

std::optional<std::string> read_client_msg(Cursor& c, Records& out) {
  ClientMsg m;
  uint16_t id_len = 0;
  uint8_t retain_dup = 0;
  if (!c.le64(m.store_id) || !c.be16(m.mid) || !c.be16(id_len) || !c.u8(m.qos) ||
      !c.u8(m.state) || !c.u8(retain_dup) || !c.u8(m.direction))
    return "client message chunk shorter than its fixed part";
  if (!c.bytes(id_len, m.client_id)) return "client message lengths exceed the chunk";
  const uint8_t retain = retain_dup >> 4;
  if (retain > 1) return "client message with a retain flag of " + std::to_string(retain);
  m.retain = retain == 1;
  protocol::Properties p;
  if (auto e = read_props(c.rest(), p)) return "client message for '" + m.client_id + "': " + *e;
  m.subscription_ids = std::move(p.subscription_identifiers);
  out.client_msgs.push_back(std::move(m));
  return std::nullopt;
}

std::optional<std::string> read_retain(Cursor& c, Records& out) {
  Retain r;
  if (!c.le64(r.store_id) || c.left() != 0) return "retain chunk of the wrong size";
  out.retains.push_back(std::move(r));
  return std::nullopt;
}

std::optional<std::string> read_sub(Cursor& c, Records& out) {
  Sub s;
  uint16_t id_len = 0, topic_len = 0;
  uint8_t qos = 0, options = 0;
  if (!c.be32(s.identifier) || !c.be16(id_len) || !c.be16(topic_len) || !c.u8(qos) ||
      !c.u8(options) || !c.skip(2))
    return "subscription chunk shorter than its fixed part";
  if (!c.bytes(id_len, s.client_id) || !c.bytes(topic_len, s.filter) || c.left() != 0)
    return "subscription lengths do not match the chunk";
  // 2.0 keeps the QoS apart and only no-local (0x04) and retain-as-published (0x08) in the
  // options; retain handling is not persisted.
  if (qos > 2) return "subscription with QoS " + std::to_string(qos);
  if (options & ~0x0C) return "subscription with unknown options " + std::to_string(options);
  s.options = uint8_t(qos | options);
  if (s.client_id.empty()) return std::nullopt;  // Mosquitto skips these too
  out.subs.push_back(std::move(s));
  return std::nullopt;
}

std::optional<std::string> read_client(Cursor& c, Records& out) {
  Client cl;
  uint64_t expiry_time = 0;
  uint16_t last_mid = 0, id_len = 0, port = 0, username_len = 0;
  if (!c.le64(expiry_time) || !c.be32(cl.session_expiry_interval) || !c.be16(last_mid) ||
      !c.be16(id_len) || !c.be16(port) || !c.be16(username_len) || !c.skip(4))
    return "client chunk shorter than its fixed part";
  if (!c.bytes(id_len, cl.id) || !c.bytes(username_len, cl.username) || c.left() != 0)
    return "client lengths do not match the chunk";
  if (cl.id.empty()) return "client chunk without a client id";
  cl.session_expiry_time = int64_t(expiry_time);
  out.clients.push_back(std::move(cl));
  return std::nullopt;
}

std::string at(size_t offset) { return " (chunk at byte " + std::to_string(offset) + ")"; }

}  // namespace

std::optional<std::string> read_mosquitto_db(std::string_view bytes, Records& out) {
  if (bytes.size() < kHeaderSize) return "truncated: the file ends inside the mosquitto.db header";
  Cursor header(bytes.substr(15 + 4, 4));
  uint32_t version = 0;
  header.be32(version);
  if (version != kVersion) {
    return "mosquitto.db format version " + std::to_string(version) +
           " is not supported (this importer reads version 6, written by Mosquitto 2.0)";
  }
  bool cfg_seen = false;
  size_t pos = kHeaderSize;
  while (pos < bytes.size()) {
    Cursor h(bytes.substr(pos));
    uint32_t type = 0, length = 0;
    if (!h.be32(type) || !h.be32(length)) return "truncated: the file ends inside a chunk header" + at(pos);
    if (length > h.left()) {
      return "truncated or damaged: a chunk of " + std::to_string(length) + " bytes with " +
             std::to_string(h.left()) + " left in the file" + at(pos);
    }
    Cursor c(bytes.substr(pos + 8, length));
    std::optional<std::string> err;
    switch (type) {
      case kCfg: err = read_cfg(c, cfg_seen); break;
      case kBaseMsg: err = read_base_msg(c, out); break;
      case kClientMsg: err = read_client_msg(c, out); break;
      case kRetain: err = read_retain(c, out); break;
      case kSub: err = read_sub(c, out); break;
      case kClient: err = read_client(c, out); break;
      default: err = "unknown chunk type " + std::to_string(type); break;
    }
    if (err) return "damaged: " + *err + at(pos);
    if (!cfg_seen) return "damaged: the first chunk is not the config chunk" + at(pos);
    pos += 8 + size_t(length);
  }
  if (!cfg_seen) return "truncated: no chunks after the header";
  return std::nullopt;
}

}  // namespace petrel::persist::mosq
