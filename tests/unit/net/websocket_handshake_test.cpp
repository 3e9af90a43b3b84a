// The WebSocket opening handshake: what is accepted, what is refused and how.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "net/websocket_handshake.h"

namespace petrel::net::ws {
namespace {

using Status = UpgradeResult::Status;

std::string request(const std::string& protocol_line = "Sec-WebSocket-Protocol: mqtt\r\n",
                    const std::string& key_line = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                    const std::string& extra = "") {
  return "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key_line +
         "Sec-WebSocket-Version: 13\r\n" + protocol_line + extra + "\r\n";
}

TEST(WebSocketHandshake, AcceptKeyFromRfc6455) {
  // RFC 6455 section 1.3's worked example.
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, GoodRequest_MQTT_6_0_0_3) {
  const std::string req = request();
  UpgradeResult r = parse_upgrade_request(req, 0);
  ASSERT_EQ(r.status, Status::kAccepted) << r.error;
  EXPECT_EQ(r.consumed, req.size());
  EXPECT_EQ(r.subprotocol, "mqtt");
  EXPECT_EQ(r.response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n");
}

TEST(WebSocketHandshake, BytesAfterTheRequestAreNotConsumed) {
  const std::string req = request();
  UpgradeResult r = parse_upgrade_request(req + std::string("\x82\x82\x00\x00\x00\x00\xc0\x00", 8), 0);
  ASSERT_EQ(r.status, Status::kAccepted) << r.error;
  EXPECT_EQ(r.consumed, req.size());
}

TEST(WebSocketHandshake, IncompleteRequestNeedsMore) {
  const std::string req = request();
  for (size_t n : {size_t(0), size_t(3), size_t(20), req.size() - 1}) {
    EXPECT_EQ(parse_upgrade_request(req.substr(0, n), 0).status, Status::kNeedMore) << n;
  }
}

TEST(WebSocketHandshake, SubprotocolNegotiation) {
  UpgradeResult r = parse_upgrade_request(request("Sec-WebSocket-Protocol: mqttv3.1, mqtt\r\n"), 0);
  ASSERT_EQ(r.status, Status::kAccepted);
  EXPECT_EQ(r.subprotocol, "mqtt");  // preferred over the legacy name
  r = parse_upgrade_request(request("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: mqttv3.1\r\n"), 0);
  ASSERT_EQ(r.status, Status::kAccepted) << r.error;
  EXPECT_EQ(r.subprotocol, "mqttv3.1");
  EXPECT_NE(r.response.find("Sec-WebSocket-Protocol: mqttv3.1\r\n"), std::string::npos);
  r = parse_upgrade_request(request("Sec-WebSocket-Protocol: MQTT\r\n"), 0);
  ASSERT_EQ(r.status, Status::kAccepted);
  EXPECT_EQ(r.subprotocol, "MQTT");  // answered as offered
}

TEST(WebSocketHandshake, WrongOrMissingSubprotocolIsRefused) {
  UpgradeResult r = parse_upgrade_request(request("Sec-WebSocket-Protocol: chat, superchat\r\n"), 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.error, "no supported subprotocol in 'chat, superchat' (expected 'mqtt' or 'mqttv3.1')");
  EXPECT_EQ(r.response.rfind("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n", 0), 0u) << r.response;
  r = parse_upgrade_request(request(""), 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.error, "no Sec-WebSocket-Protocol offered (expected 'mqtt')");
}

TEST(WebSocketHandshake, MissingOrBadKeyIsRefused) {
  UpgradeResult r = parse_upgrade_request(request("Sec-WebSocket-Protocol: mqtt\r\n", ""), 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.error, "upgrade request without Sec-WebSocket-Key");
  r = parse_upgrade_request(request("Sec-WebSocket-Protocol: mqtt\r\n", "Sec-WebSocket-Key: short\r\n"), 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.error, "malformed Sec-WebSocket-Key");
}

TEST(WebSocketHandshake, NotAnUpgrade) {
  UpgradeResult r = parse_upgrade_request("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_NE(r.error.find("no 'Upgrade: websocket'"), std::string::npos);
  std::string req = request();
  req.replace(0, 3, "PUT");
  r = parse_upgrade_request(req, 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.error, "upgrade request uses method PUT, not GET");
  req = request();
  req.replace(req.find("Version: 13"), 11, "Version: 8 ");
  r = parse_upgrade_request(req, 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.response.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0), 0u);
  EXPECT_NE(r.response.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  r = parse_upgrade_request(request("Sec-WebSocket-Protocol: mqtt\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                                    "Content-Length: 5\r\n"),
                            0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.error, "upgrade request has a body");
}

TEST(WebSocketHandshake, GarbageIsRefusedAtOnce) {
  // An MQTT CONNECT sent to a WebSocket port, and a TLS ClientHello: refused from the
  // first bytes, without waiting for a header block.
  UpgradeResult r = parse_upgrade_request(std::string("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c", 12), 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.error, "not an HTTP upgrade request (no HTTP method)");
  r = parse_upgrade_request(std::string("\x16\x03\x01\x02\x00\x01", 6), 0);
  ASSERT_EQ(r.status, Status::kRejected);
  r = parse_upgrade_request("GET /\r\nnonsense\r\n\r\n", 0);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_NE(r.error.find("not an HTTP upgrade request"), std::string::npos) << r.error;
}

TEST(WebSocketHandshake, OverlongHeadersAreRefused) {
  const std::string big = "Cookie: " + std::string(5000, 'c') + "\r\n";
  UpgradeResult r = parse_upgrade_request(request("Sec-WebSocket-Protocol: mqtt\r\n",
                                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", big),
                                          4096);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.response.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
  EXPECT_EQ(r.error, "upgrade request headers over 4096 bytes (websockets_headers_size)");
  // Incomplete and already over the limit: refused without waiting for the rest.
  r = parse_upgrade_request("GET /mqtt HTTP/1.1\r\nCookie: " + std::string(5000, 'c'), 4096);
  EXPECT_EQ(r.status, Status::kRejected);
  // A larger configured limit lets it through.
  r = parse_upgrade_request(request("Sec-WebSocket-Protocol: mqtt\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", big),
                            8192);
  EXPECT_EQ(r.status, Status::kAccepted) << r.error;
}

TEST(WebSocketHandshake, ArbitraryInputIsSafe) {
  std::mt19937 rng(777);
  const std::string good = request();
  for (int round = 0; round < 3000; ++round) {
    std::string data = good.substr(0, rng() % (good.size() + 1));
    for (int k = 0; k < 1 + round % 4; ++k) {
      if (!data.empty()) data[rng() % data.size()] = static_cast<char>(rng());
    }
    UpgradeResult r = parse_upgrade_request(data, 1 + rng() % 600);
    if (r.status == Status::kAccepted) {
      EXPECT_LE(r.consumed, data.size());
      EXPECT_EQ(r.response.rfind("HTTP/1.1 101 ", 0), 0u);
    } else if (r.status == Status::kRejected) {
      EXPECT_FALSE(r.error.empty());
      EXPECT_EQ(r.response.rfind("HTTP/1.1 4", 0), 0u);
    }
  }
}

TEST(WebSocketHandshake, WebsocketsOriginAllowsListedOriginsOnly) {
  const std::vector<std::string> origins = {"https://scada.plant.example", "http://10.0.0.5:8080"};
  const std::string listed = request("Sec-WebSocket-Protocol: mqtt\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                                     "Origin: HTTPS://SCADA.plant.example\r\n");
  EXPECT_EQ(parse_upgrade_request(listed, 0, origins).status, Status::kAccepted);
  const std::string other = request("Sec-WebSocket-Protocol: mqtt\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                                    "Origin: https://evil.example\r\n");
  UpgradeResult r = parse_upgrade_request(other, 0, origins);
  ASSERT_EQ(r.status, Status::kRejected);
  EXPECT_EQ(r.response.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << r.response;
  EXPECT_EQ(r.error, "Origin 'https://evil.example' is not allowed (websockets_origin)");
  // No Origin: not a browser, nothing to protect against.
  EXPECT_EQ(parse_upgrade_request(request(), 0, origins).status, Status::kAccepted);
  // No list: any Origin.
  EXPECT_EQ(parse_upgrade_request(other, 0).status, Status::kAccepted);
}

}  // namespace
}  // namespace petrel::net::ws
