// WebSocketTransport over a socket pair: upgrade, frames in and out, control frames,
// refusals, backpressure, and the same over TLS (wss).
#include <gtest/gtest.h>

#include "net/tls_context.h"
#include "net/tls_transport.h"
#include "net/websocket_frame.h"
#include "net/websocket_transport.h"
#include "test_io.h"
#include "test_pki.h"

namespace petrel::net {
namespace {

using test::SocketPair;

constexpr uint8_t kMask[4] = {1, 2, 3, 4};

std::string masked_frame(uint8_t opcode, const std::string& payload, bool fin = true) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  }
  f.append(reinterpret_cast<const char*>(kMask), 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ kMask[i % 4]));
  return f;
}

const std::string kUpgrade =
    "GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
const std::string kConnect("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", 14);

TEST(WebSocketTransport, UpgradeThenFramesInOneSegment) {
  SocketPair sp;
  WebSocketTransport t(nullptr, 0);
  EXPECT_FALSE(t.established());
  // The first frame arrives with the request; the MQTT packet is split over two frames.
  sp.client_send(kUpgrade + masked_frame(2, kConnect.substr(0, 5)) + masked_frame(2, kConnect.substr(5)));
  std::string got;
  EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kWouldBlock);
  EXPECT_TRUE(t.established());
  EXPECT_EQ(t.subprotocol(), "mqtt");
  EXPECT_EQ(got, kConnect);
  const std::string reply = sp.client_read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
  EXPECT_EQ(t.name(), "ws");
  EXPECT_TRUE(t.identity().cert_cn.empty());
}

TEST(WebSocketTransport, RequestArrivingInPieces) {
  SocketPair sp;
  WebSocketTransport t(nullptr, 0);
  std::string got;
  for (size_t i = 0; i < kUpgrade.size(); i += 7) {
    sp.client_send(kUpgrade.substr(i, 7));
    EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kWouldBlock);
  }
  EXPECT_TRUE(t.established());
  sp.client_send(masked_frame(2, kConnect));
  EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kWouldBlock);
  EXPECT_EQ(got, kConnect);
}

TEST(WebSocketTransport, PingGetsPongAndCloseGetsCloseReply) {
  SocketPair sp;
  WebSocketTransport t(nullptr, 0);
  sp.client_send(kUpgrade);
  std::string got;
  test::drain(t, sp.server, got);
  sp.client_read_all();
  sp.client_send(masked_frame(9, "are you there") + masked_frame(2, kConnect));
  EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kWouldBlock);
  EXPECT_EQ(got, kConnect);
  EXPECT_TRUE(t.has_pending_output());  // the pong, until Connection flushes
  t.write(sp.server, nullptr, 0);
  EXPECT_FALSE(t.has_pending_output());
  sp.client_send(masked_frame(8, std::string("\x03\xe9", 2)));  // 1001 going away
  got.clear();
  EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kClosed);
  t.shutdown(sp.server);
  const std::string wire = sp.client_read_all();
  EXPECT_NE(wire.find(std::string("\x8a\x0d" "are you there", 15)), std::string::npos);
  EXPECT_NE(wire.find(std::string("\x88\x02\x03\xe9", 4)), std::string::npos);
  EXPECT_EQ(t.write(sp.server, "x", 1).status, IoStatus::kClosed);
}

TEST(WebSocketTransport, TextFrameClosesWith1003) {
  SocketPair sp;
  WebSocketTransport t(nullptr, 0);
  sp.client_send(kUpgrade + masked_frame(1, "{\"hello\":1}"));
  std::string got;
  EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kError);
  EXPECT_EQ(t.error(), "WebSocket protocol error: text frame (MQTT needs binary frames)");
  const std::string wire = sp.client_read_all();
  EXPECT_NE(wire.find(std::string("\x88\x10\x03\xeb" "protocol error", 18)), std::string::npos);
}

TEST(WebSocketTransport, RefusedUpgradeSendsHttpErrorAndFails) {
  SocketPair sp;
  WebSocketTransport t(nullptr, 0);
  std::string req = kUpgrade;
  req.replace(req.find("Protocol: mqtt"), 14, "Protocol: chat");
  sp.client_send(req);
  std::string got;
  EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kError);
  EXPECT_EQ(t.error(), "WebSocket upgrade refused: no supported subprotocol in 'chat' (expected 'mqtt' or 'mqttv3.1')");
  EXPECT_EQ(sp.client_read_all().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_FALSE(t.established());
}

TEST(WebSocketTransport, MqttBytesInsteadOfUpgrade) {
  SocketPair sp;
  WebSocketTransport t(nullptr, 0);
  sp.client_send(kConnect);
  std::string got;
  EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kError);
  EXPECT_EQ(t.error(), "WebSocket upgrade refused: not an HTTP upgrade request (no HTTP method)");
}

TEST(WebSocketTransport, OutgoingBytesAreBinaryFramesWithBackpressure) {
  SocketPair sp;
  WebSocketTransport t(nullptr, 0);
  sp.client_send(kUpgrade);
  std::string got;
  test::drain(t, sp.server, got);
  sp.client_read_all();
  IoResult r = t.write(sp.server, "\x20\x02\x00\x00", 4);  // CONNACK
  EXPECT_EQ(r.status, IoStatus::kOk);
  EXPECT_EQ(r.n, 4u);
  EXPECT_EQ(sp.client_read_all(), std::string("\x82\x04\x20\x02\x00\x00", 6));

  // Far more than the socket holds: accepted until the socket pushes back, then short.
  std::string big(4 << 20, 'm');
  size_t accepted = 0;
  for (int i = 0; i < 100 && accepted < big.size(); ++i) {
    r = t.write(sp.server, big.data() + accepted, big.size() - accepted);
    ASSERT_NE(r.status, IoStatus::kError);
    accepted += r.n;
    if (accepted < big.size()) break;
  }
  EXPECT_LT(accepted, big.size());
  EXPECT_TRUE(t.has_pending_output());
  // The client reads everything: unwrap the frames and compare.
  std::string wire;
  for (int i = 0; i < 100000 && accepted < big.size(); ++i) {
    wire += sp.client_read_all();
    t.write(sp.server, nullptr, 0);
    r = t.write(sp.server, big.data() + accepted, big.size() - accepted);
    accepted += r.n;
  }
  for (int i = 0; i < 1000 && t.has_pending_output(); ++i) {
    wire += sp.client_read_all();
    t.write(sp.server, nullptr, 0);
  }
  wire += sp.client_read_all();
  std::string payload;
  size_t off = 0;
  while (off < wire.size()) {
    ASSERT_EQ(uint8_t(wire[off]), 0x82);
    uint64_t len = uint8_t(wire[off + 1]) & 0x7f;
    ASSERT_EQ(uint8_t(wire[off + 1]) & 0x80, 0) << "server frames are not masked";
    size_t hdr = 2;
    if (len == 126) {
      len = (uint64_t(uint8_t(wire[off + 2])) << 8) | uint8_t(wire[off + 3]);
      hdr = 4;
    } else if (len == 127) {
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | uint8_t(wire[off + 2 + k]);
      hdr = 10;
    }
    payload.append(wire, off + hdr, len);
    off += hdr + len;
  }
  EXPECT_EQ(payload.size(), big.size());
  EXPECT_TRUE(payload == big);
}

TEST(WebSocketTransport, OverTls) {
  ASSERT_TRUE(test::TestPki::get().ok()) << test::TestPki::get().error();
  const auto& pki = test::TestPki::get();
  config::Listener l;
  l.certfile = pki.path("server.crt");
  l.keyfile = pki.path("server.key");
  auto ctx = TlsContext::create(l);
  ASSERT_TRUE(ctx) << ctx.error().message;
  SocketPair sp;
  WebSocketTransport t(std::make_unique<TlsTransport>(*ctx), 0);
  EXPECT_EQ(t.name(), "wss");
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  {
    test::TlsClient client(cctx, sp.client);
    test::handshake(client, t, sp.server);  // TLS done; the upgrade is still to come
    EXPECT_FALSE(t.established());
    ASSERT_TRUE(client.write(kUpgrade + masked_frame(2, kConnect)));
    std::string got;
    EXPECT_EQ(test::drain(t, sp.server, got), IoStatus::kWouldBlock);
    EXPECT_TRUE(t.established());
    EXPECT_EQ(got, kConnect);
    EXPECT_EQ(client.read_all().rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
    EXPECT_EQ(t.write(sp.server, "\x20\x02\x00\x00", 4).n, 4u);
    EXPECT_EQ(client.read_all(), std::string("\x82\x04\x20\x02\x00\x00", 6));
  }
  SSL_CTX_free(cctx);
}

}  // namespace
}  // namespace petrel::net
