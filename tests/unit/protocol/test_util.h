#pragma once
// Helpers for the protocol tests: byte strings written by hand, framing a whole packet
// and decoding it, and the golden-bytes round trip (encode == golden, decode == value).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/reason_codes.h"

namespace petrel::protocol::test {

// Bytes from a brace list; chars and small integers mix freely: B({0x10, 'M', 'Q'}).
inline std::string B(std::initializer_list<uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) s.push_back(char(b));
  return s;
}

// Concatenation that reads well in golden tables.
inline std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s.append(p);
  return s;
}

// header + remaining length (own varint code, independent of the codec) + body, for the
// hand-assembled malformed vectors.
inline std::string frame(uint8_t header, std::string_view body) {
  std::string s(1, char(header));
  size_t n = body.size();
  do {
    uint8_t b = n & 0x7F;
    n >>= 7;
    if (n) b |= 0x80;
    s.push_back(char(b));
  } while (n);
  s.append(body);
  return s;
}

// Two-byte length prefix + bytes (hand assembly).
inline std::string lstr(std::string_view s) {
  std::string r;
  r.push_back(char(s.size() >> 8));
  r.push_back(char(s.size() & 0xFF));
  r.append(s);
  return r;
}

// Frames exactly one packet (failing the test if the bytes are not exactly one) and
// decodes it for version v. CONNECT goes through decode_connect.
inline Result<Packet> decode_wire(std::string_view wire, Version v) {
  Frame f;
  const FrameStatus st = try_frame(wire.data(), wire.size(), 0, f);
  EXPECT_EQ(st, FrameStatus::kComplete);
  if (st != FrameStatus::kComplete) return Error{0, "not framed"};
  EXPECT_EQ(f.total(), wire.size()) << "golden bytes hold more than one packet";
  return decode(f.header, wire.substr(f.header_len, f.remaining), v);
}

inline uint8_t decode_error(std::string_view wire, Version v) {
  auto r = decode_wire(wire, v);
  EXPECT_FALSE(r.ok()) << "decoded although it should fail";
  return r.ok() ? 0 : r.error().code;
}

inline std::string encoded(const Packet& p, Version v) {
  std::string out;
  encode(p, v, out);
  return out;
}

inline std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h.push_back(d[c >> 4]);
    h.push_back(d[c & 15]);
    h.push_back(' ');
  }
  return h;
}

// Publish holds views, so it has no operator==; compare what it says.
inline void expect_same_publish(const Publish& a, const Publish& b) {
  EXPECT_EQ(a.dup, b.dup);
  EXPECT_EQ(a.qos, b.qos);
  EXPECT_EQ(a.retain, b.retain);
  EXPECT_EQ(a.topic, b.topic);
  EXPECT_EQ(a.packet_id, b.packet_id);
  EXPECT_EQ(a.topic_alias, b.topic_alias);
  EXPECT_EQ(a.message_expiry_interval, b.message_expiry_interval);
  EXPECT_EQ(a.payload_format_indicator, b.payload_format_indicator);
  EXPECT_EQ(a.subscription_identifiers, b.subscription_identifiers);
  EXPECT_EQ(a.forward_props, b.forward_props);
  EXPECT_EQ(a.payload, b.payload);
}

// encode(value, v) must give exactly the golden bytes, and decoding them must give value.
template <class T>
void expect_golden(const T& value, Version v, const std::string& golden) {
  EXPECT_EQ(hex(encoded(Packet(value), v)), hex(golden));
  auto r = decode_wire(golden, v);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(std::holds_alternative<T>(*r)) << "decoded as another packet type";
  if constexpr (std::is_same_v<T, Publish>) {
    expect_same_publish(std::get<Publish>(*r), value);
  } else {
    EXPECT_EQ(std::get<T>(*r), value);
  }
}

}  // namespace petrel::protocol::test
