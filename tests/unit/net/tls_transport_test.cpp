// TlsTransport against an in-process OpenSSL client over a socket pair: certificate and
// PSK handshakes (TLS 1.2 and 1.3), peer identity, refusals, data both ways.
#include <gtest/gtest.h>

#include <cstring>

#include "net/tls_context.h"
#include "net/tls_transport.h"
#include "test_io.h"
#include "test_pki.h"

namespace petrel::net {
namespace {

using test::SocketPair;
using test::TestPki;
using test::TlsClient;

struct SslCtx {
  SSL_CTX* p;
  explicit SslCtx(int max_version = 0) : p(SSL_CTX_new(TLS_client_method())) {
    if (max_version) SSL_CTX_set_max_proto_version(p, max_version);
  }
  ~SslCtx() { SSL_CTX_free(p); }
};

std::shared_ptr<const TlsContext> server_context(bool require_cert, const std::string& psk_hint = {}) {
  const TestPki& pki = TestPki::get();
  config::Listener l;
  if (psk_hint.empty()) {
    l.certfile = pki.path("server.crt");
    l.keyfile = pki.path("server.key");
  } else {
    l.psk_hint = psk_hint;
    l.security.psk_file = pki.path("psk.txt");
  }
  if (require_cert) {
    l.cafile = pki.path("ca.crt");
    l.require_certificate = true;
  }
  auto r = TlsContext::create(l);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : nullptr;
}

void trust_test_ca(SSL_CTX* ctx) {
  const TestPki& pki = TestPki::get();
  SSL_CTX_load_verify_locations(ctx, pki.path("ca.crt").c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
}

void use_client_cert(SSL_CTX* ctx) {
  const TestPki& pki = TestPki::get();
  SSL_CTX_use_certificate_file(ctx, pki.path("client.crt").c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_use_PrivateKey_file(ctx, pki.path("client.key").c_str(), SSL_FILETYPE_PEM);
}

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(TestPki::get().ok()) << TestPki::get().error(); }
};

TEST_F(TlsTransportTest, ClientCertificateIdentityAndData) {
  SocketPair sp;
  TlsTransport server(server_context(true));
  SslCtx cctx;
  trust_test_ca(cctx.p);
  use_client_cert(cctx.p);
  TlsClient client(cctx.p, sp.client);
  SSL_set1_host(client.ssl(), "127.0.0.1");
  int cs = 0;
  EXPECT_EQ(test::handshake(client, server, sp.server, nullptr, &cs), IoStatus::kWouldBlock) << server.error();
  ASSERT_EQ(cs, 1);
  ASSERT_TRUE(server.established());
  EXPECT_EQ(server.name(), "tls");
  EXPECT_EQ(server.identity().cert_cn, "sensor-7");
  EXPECT_EQ(server.identity().cert_subject, "CN=sensor-7,O=Petrel Test,C=DE");
  EXPECT_TRUE(server.identity().psk_identity.empty());
  EXPECT_FALSE(server.has_pending_output());

  // Client to server: several records come out of one read().
  ASSERT_TRUE(client.write("\x10\x0d"));
  ASSERT_TRUE(client.write("MQTT CONNECT."));
  std::string got;
  EXPECT_EQ(test::drain(server, sp.server, got), IoStatus::kWouldBlock);
  EXPECT_EQ(got, "\x10\x0dMQTT CONNECT.");

  // Server to client, more than the socket holds: short writes until the client reads.
  std::string big(3 << 20, 'q');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  size_t sent = 0;
  std::string received;
  for (int rounds = 0; sent < big.size() && rounds < 10000; ++rounds) {
    IoResult r = server.write(sp.server, big.data() + sent, big.size() - sent);
    ASSERT_NE(r.status, IoStatus::kError) << server.error();
    sent += r.n;
    received += client.read_all();
  }
  for (int i = 0; i < 100 && received.size() < big.size(); ++i) received += client.read_all();
  EXPECT_EQ(sent, big.size());
  EXPECT_TRUE(received == big);
}

TEST_F(TlsTransportTest, MissingClientCertificateIsRefused) {
  SocketPair sp;
  TlsTransport server(server_context(true));
  SslCtx cctx;
  TlsClient client(cctx.p, sp.client);
  EXPECT_EQ(test::handshake(client, server, sp.server), IoStatus::kError);
  EXPECT_NE(server.error().find("TLS handshake failed: peer did not return a certificate"), std::string::npos)
      << server.error();
  EXPECT_FALSE(server.established());
  EXPECT_EQ(server.read(sp.server, nullptr, 0).status, IoStatus::kError);  // sticky
}

TEST_F(TlsTransportTest, NoClientCertificateAskedWhenNotRequired) {
  SocketPair sp;
  TlsTransport server(server_context(false));
  SslCtx cctx;
  use_client_cert(cctx.p);
  TlsClient client(cctx.p, sp.client);
  test::handshake(client, server, sp.server);
  ASSERT_TRUE(server.established()) << server.error();
  EXPECT_TRUE(server.identity().cert_cn.empty());  // Mosquitto does not ask either
}

TEST_F(TlsTransportTest, PlainMqttToATlsPortFails) {
  SocketPair sp;
  TlsTransport server(server_context(false));
  sp.client_send(std::string("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04test", 18));
  std::string got;
  EXPECT_EQ(test::drain(server, sp.server, got), IoStatus::kError);
  EXPECT_NE(server.error().find("TLS handshake failed"), std::string::npos) << server.error();
}

TEST_F(TlsTransportTest, PeerClosingIsAClose) {
  SocketPair sp;
  TlsTransport server(server_context(false));
  sp.close_client();
  std::string got;
  EXPECT_EQ(test::drain(server, sp.server, got), IoStatus::kClosed);
  EXPECT_TRUE(server.error().empty());
}

TEST_F(TlsTransportTest, CloseNotifyAfterData) {
  SocketPair sp;
  TlsTransport server(server_context(false));
  SslCtx cctx;
  TlsClient client(cctx.p, sp.client);
  test::handshake(client, server, sp.server);
  ASSERT_TRUE(server.established());
  ASSERT_TRUE(client.write("bye"));
  SSL_shutdown(client.ssl());
  char buf[64];
  IoResult r = server.read(sp.server, buf, sizeof buf);
  ASSERT_EQ(r.status, IoStatus::kOk);
  EXPECT_EQ(std::string(buf, r.n), "bye");
  EXPECT_EQ(server.read(sp.server, buf, sizeof buf).status, IoStatus::kClosed);
}

// --- PSK --------------------------------------------------------------------------------

std::string g_psk_identity = "house";
std::string g_psk_key(32, '\xaa');  // psk.txt: house = 64 x 'a'

unsigned int client_psk(SSL*, const char* hint, char* identity, unsigned int max_identity, unsigned char* psk,
                        unsigned int max_psk) {
  if (g_psk_identity.size() + 1 > max_identity || g_psk_key.size() > max_psk) return 0;
  std::memcpy(identity, g_psk_identity.c_str(), g_psk_identity.size() + 1);
  std::memcpy(psk, g_psk_key.data(), g_psk_key.size());
  return static_cast<unsigned int>(g_psk_key.size());
}

IoStatus psk_handshake(int max_version, TlsTransport& server, SocketPair& sp, int* client_state) {
  SslCtx cctx(max_version);
  SSL_CTX_set_psk_client_callback(cctx.p, client_psk);  // what mosquitto_pub --psk uses
  TlsClient client(cctx.p, sp.client);
  return test::handshake(client, server, sp.server, nullptr, client_state);
}

TEST_F(TlsTransportTest, PskTls12) {
  SocketPair sp;
  TlsTransport server(server_context(false, "router"));
  int cs = 0;
  psk_handshake(TLS1_2_VERSION, server, sp, &cs);
  ASSERT_TRUE(server.established()) << server.error();
  EXPECT_EQ(cs, 1);
  EXPECT_EQ(server.identity().psk_identity, "house");
  EXPECT_EQ(server.name(), "psk");
  EXPECT_EQ(server.session_description().rfind("TLSv1.2 ", 0), 0u) << server.session_description();
}

TEST_F(TlsTransportTest, PskTls13) {
  SocketPair sp;
  TlsTransport server(server_context(false, "router"));
  int cs = 0;
  psk_handshake(0, server, sp, &cs);
  ASSERT_TRUE(server.established()) << server.error();
  EXPECT_EQ(cs, 1);
  EXPECT_EQ(server.identity().psk_identity, "house");
  EXPECT_EQ(server.session_description().rfind("TLSv1.3 ", 0), 0u) << server.session_description();
}

TEST_F(TlsTransportTest, WrongPskIsRefused) {
  for (int version : {TLS1_2_VERSION, 0}) {
    SocketPair sp;
    TlsTransport server(server_context(false, "router"));
    g_psk_key = std::string(32, '\xab');
    int cs = 0;
    IoStatus st = psk_handshake(version, server, sp, &cs);
    g_psk_key = std::string(32, '\xaa');
    EXPECT_FALSE(server.established()) << version;
    EXPECT_EQ(st, IoStatus::kError) << version;
    EXPECT_NE(cs, 1) << version;
  }
}

TEST_F(TlsTransportTest, UnknownPskIdentityIsRefused) {
  SocketPair sp;
  TlsTransport server(server_context(false, "router"));
  g_psk_identity = "stranger";
  int cs = 0;
  IoStatus st = psk_handshake(0, server, sp, &cs);
  g_psk_identity = "house";
  EXPECT_EQ(st, IoStatus::kError);
  EXPECT_FALSE(server.established());
}

}  // namespace
}  // namespace petrel::net
