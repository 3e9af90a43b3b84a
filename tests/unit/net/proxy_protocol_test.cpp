// The PROXY protocol header parser (HAProxy's proxy-protocol.txt, v1 and v2).
#include <gtest/gtest.h>

#include <string>

#include "net/proxy_protocol.h"

namespace petrel::net {
namespace {

struct Parsed {
  ProxyParse r;
  ProxyHeader h;
  size_t consumed = 0, want = 0;
  std::string error;
};

Parsed parse(const std::string& data, int version) {
  Parsed p;
  p.r = parse_proxy_header(data, version, p.h, p.consumed, p.want, p.error);
  return p;
}

std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string& body) {
  std::string s("\r\n\r\n\0\r\nQUIT\n", 12);
  s += char(ver_cmd);
  s += char(fam);
  s += char(body.size() >> 8);
  s += char(body.size() & 0xff);
  return s + body;
}

std::string ipv4_block() {  // 192.0.2.7:51234 -> 198.51.100.1:1883
  return std::string("\xc0\x00\x02\x07\xc6\x33\x64\x01\xc8\x22\x07\x5b", 12);
}

std::string tlv(uint8_t type, const std::string& value) {
  return std::string(1, char(type)) + char(value.size() >> 8) + char(value.size() & 0xff) + value;
}

TEST(ProxyProtocol, V1Tcp4AndTcp6) {
  const std::string head = "PROXY TCP4 192.0.2.7 198.51.100.1 51234 1883\r\n";
  Parsed p = parse(head + "\x10\x0c", 1);
  ASSERT_EQ(p.r, ProxyParse::kDone) << p.error;
  EXPECT_EQ(p.consumed, head.size()) << "not one byte of what follows";
  EXPECT_EQ(p.h.source, "192.0.2.7:51234");
  Parsed q = parse("PROXY TCP6 2001:db8::7 2001:db8::1 51234 1883\r\n", 1);
  ASSERT_EQ(q.r, ProxyParse::kDone) << q.error;
  EXPECT_EQ(q.h.source, "[2001:db8::7]:51234");
  Parsed u = parse("PROXY UNKNOWN\r\n", 1);
  ASSERT_EQ(u.r, ProxyParse::kDone);
  EXPECT_TRUE(u.h.local);
}

TEST(ProxyProtocol, V1Incomplete) {
  Parsed p = parse("PROXY TCP4 192.0.2", 1);
  EXPECT_EQ(p.r, ProxyParse::kNeedMore);
  EXPECT_EQ(parse("PRO", 1).r, ProxyParse::kNeedMore);
}

TEST(ProxyProtocol, V1Malformed) {
  for (const std::string& bad : {std::string("\x10\x0c\x00\x04MQTT", 8), std::string("PROXY TCP4 300.0.2.7 198.51.100.1 1 2\r\n"),
                                std::string("PROXY TCP4 192.0.2.7 198.51.100.1 99999 1883\r\n"),
                                std::string("PROXY TCP9 a b 1 2\r\n"), std::string("PROXY TCP4 192.0.2.7\r\n"),
                                "PROXY TCP4 " + std::string(120, '1')}) {
    Parsed p = parse(bad, 1);
    EXPECT_EQ(p.r, ProxyParse::kError) << bad;
    EXPECT_FALSE(p.error.empty());
  }
}

TEST(ProxyProtocol, V2Ipv4WithTlsAndClientCertificate) {
  std::string ssl = std::string(1, char(0x01 | 0x02)) + std::string(4, '\0') + tlv(0x21, "TLSv1.3") + tlv(0x22, "sensor-7");
  const std::string head = v2(0x21, 0x11, ipv4_block() + tlv(0x04, "x") + tlv(0x20, ssl));
  Parsed p = parse(head + "\x10", 2);
  ASSERT_EQ(p.r, ProxyParse::kDone) << p.error;
  EXPECT_EQ(p.consumed, head.size());
  EXPECT_EQ(p.h.source, "192.0.2.7:51234");
  EXPECT_TRUE(p.h.tls);
  EXPECT_TRUE(p.h.cert_verified);
  EXPECT_EQ(p.h.cert_cn, "sensor-7");
  // a certificate the proxy could not verify does not count
  std::string failed = std::string(1, char(0x03)) + std::string("\0\0\0\x01", 4) + tlv(0x22, "mallory");
  Parsed f = parse(v2(0x21, 0x11, ipv4_block() + tlv(0x20, failed)), 2);
  ASSERT_EQ(f.r, ProxyParse::kDone);
  EXPECT_TRUE(f.h.tls);
  EXPECT_FALSE(f.h.cert_verified);
}

TEST(ProxyProtocol, V2LocalAndIpv6) {
  Parsed l = parse(v2(0x20, 0x00, ""), 2);
  ASSERT_EQ(l.r, ProxyParse::kDone);
  EXPECT_TRUE(l.h.local);
  std::string six(36, '\0');
  six[0] = char(0x20), six[1] = char(0x01), six[2] = char(0x0d), six[3] = char(0xb8), six[15] = 7;
  six[32] = char(0xc8), six[33] = char(0x22);
  Parsed p = parse(v2(0x21, 0x21, six), 2);
  ASSERT_EQ(p.r, ProxyParse::kDone) << p.error;
  EXPECT_EQ(p.h.source, "[2001:db8::7]:51234");
}

TEST(ProxyProtocol, V2NeedsMoreThenTheWholeLength) {
  const std::string head = v2(0x21, 0x11, ipv4_block());
  Parsed p = parse(head.substr(0, 10), 2);
  EXPECT_EQ(p.r, ProxyParse::kNeedMore);
  Parsed q = parse(head.substr(0, 20), 2);
  EXPECT_EQ(q.r, ProxyParse::kNeedMore);
  EXPECT_EQ(q.want, head.size());
}

TEST(ProxyProtocol, V2Malformed) {
  EXPECT_EQ(parse(std::string("\x10\x0c\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x00\x00", 16), 2).r, ProxyParse::kError);
  EXPECT_EQ(parse(v2(0x31, 0x11, ipv4_block()), 2).r, ProxyParse::kError) << "version 3";
  EXPECT_EQ(parse(v2(0x21, 0x11, ipv4_block().substr(0, 8)), 2).r, ProxyParse::kError) << "short addresses";
  EXPECT_EQ(parse(v2(0x21, 0x11, ipv4_block() + std::string("\x20\x00\x09xx", 5)), 2).r, ProxyParse::kError)
      << "truncated TLV";
  EXPECT_EQ(parse(v2(0x21, 0x31, std::string(216, '\0')), 2).r, ProxyParse::kError) << "unix sockets";
  std::string huge = v2(0x21, 0x11, std::string(5000, '\0'));
  EXPECT_EQ(parse(huge, 2).r, ProxyParse::kError);
}

}  // namespace
}  // namespace petrel::net
