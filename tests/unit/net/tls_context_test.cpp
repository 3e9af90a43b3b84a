// TlsContext and make_transport_factory: what a listener's TLS files can be refused for,
// with messages that name the file and the reason.
#include <gtest/gtest.h>

#include "common/log.h"
#include "net/tls_context.h"
#include "net/transport_factory.h"
#include "test_pki.h"

namespace petrel::net {
namespace {

using test::TestPki;

config::Listener cert_listener() {
  const TestPki& pki = TestPki::get();
  config::Listener l;
  l.port = 8883;
  l.certfile = pki.path("server.crt");
  l.keyfile = pki.path("server.key");
  return l;
}

std::string create_error(const config::Listener& l) {
  auto r = TlsContext::create(l);
  return r ? std::string("(no error)") : r.error().message;
}

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(TestPki::get().ok()) << TestPki::get().error(); }
  const TestPki& pki = TestPki::get();
};

TEST_F(TlsContextTest, CertificateAndKeyLoad) {
  auto r = TlsContext::create(cert_listener());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE((*r)->has_certificate());
  EXPECT_FALSE((*r)->psk_enabled());
  EXPECT_EQ((*r)->describe(), "certificate");
}

TEST_F(TlsContextTest, PasswordProtectedKeyIsRefusedByName) {
  config::Listener l = cert_listener();
  l.keyfile = pki.path("encrypted.key");
  const std::string e = create_error(l);
  EXPECT_NE(e.find("keyfile '" + l.keyfile + "': is password-protected"), std::string::npos) << e;
}

TEST_F(TlsContextTest, MismatchedKeyIsRefused) {
  config::Listener l = cert_listener();
  l.keyfile = pki.path("other.key");
  const std::string e = create_error(l);
  EXPECT_NE(e.find("keyfile '" + l.keyfile + "' does not match the certificate in certfile '" + l.certfile + "'"),
            std::string::npos)
      << e;
}

TEST_F(TlsContextTest, MissingFilesAreNamed) {
  config::Listener l = cert_listener();
  l.keyfile = pki.path("nope.key");
  EXPECT_EQ(create_error(l), "keyfile '" + l.keyfile + "': cannot read: No such file or directory");
  l = cert_listener();
  l.certfile = pki.path("nope.crt");
  EXPECT_EQ(create_error(l), "certfile '" + l.certfile + "': cannot read: No such file or directory");
  l = cert_listener();
  l.cafile = pki.path("nope-ca.crt");
  EXPECT_EQ(create_error(l), "cafile '" + l.cafile + "': cannot read: No such file or directory");
  l = cert_listener();
  l.crlfile = pki.path("nope.crl");
  EXPECT_EQ(create_error(l), "crlfile '" + l.crlfile + "': cannot read: No such file or directory");
}

TEST_F(TlsContextTest, NotPemIsRefused) {
  config::Listener l = cert_listener();
  l.keyfile = pki.path("garbage.key");
  EXPECT_EQ(create_error(l), "keyfile '" + l.keyfile + "': is not a PEM private key");
  l = cert_listener();
  l.certfile = pki.path("garbage.key");
  EXPECT_EQ(create_error(l), "certfile '" + l.certfile + "': is not a PEM certificate");
  l = cert_listener();
  l.crlfile = pki.path("garbage.key");
  EXPECT_NE(create_error(l).find("crlfile '" + l.crlfile + "': cannot load a PEM certificate revocation list"),
            std::string::npos);
}

TEST_F(TlsContextTest, DirectoryInsteadOfFile) {
  config::Listener l = cert_listener();
  l.keyfile = std::filesystem::path(pki.path("x")).parent_path().string();
  EXPECT_EQ(create_error(l), "keyfile '" + l.keyfile + "': is a directory, not a file");
}

TEST_F(TlsContextTest, ClientCertificatesNeedACa) {
  config::Listener l = cert_listener();
  l.require_certificate = true;
  EXPECT_EQ(create_error(l), "require_certificate is true but neither cafile nor capath is set");
  l.cafile = pki.path("ca.crt");
  auto r = TlsContext::create(l);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->describe(), "certificate, client certificates required");
  EXPECT_EQ(SSL_CTX_get_verify_mode((*r)->native()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
}

TEST_F(TlsContextTest, CapathMustBeADirectory) {
  config::Listener l = cert_listener();
  l.capath = pki.path("ca.crt");
  EXPECT_EQ(create_error(l), "capath '" + l.capath + "': is not a directory");
}

TEST_F(TlsContextTest, CipherListsAreChecked) {
  config::Listener l = cert_listener();
  l.ciphers = "NO-SUCH-CIPHER";
  EXPECT_NE(create_error(l).find("ciphers 'NO-SUCH-CIPHER': no usable cipher"), std::string::npos);
  l = cert_listener();
  l.ciphers_tls13 = "TLS_NOPE";
  EXPECT_NE(create_error(l).find("ciphers_tls1.3 'TLS_NOPE': no usable TLS 1.3 cipher suite"), std::string::npos);
  l = cert_listener();
  l.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
  l.ciphers_tls13 = "TLS_AES_128_GCM_SHA256";
  EXPECT_TRUE(TlsContext::create(l));
}

TEST_F(TlsContextTest, TlsVersionIsTheMinimum) {
  config::Listener l = cert_listener();
  auto r = TlsContext::create(l);
  ASSERT_TRUE(r);
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*r)->native()), TLS1_2_VERSION);
  l.tls_version = "tlsv1.3";
  r = TlsContext::create(l);
  ASSERT_TRUE(r);
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*r)->native()), TLS1_3_VERSION);
}

TEST_F(TlsContextTest, DhParameters) {
  config::Listener l = cert_listener();
  l.dhparamfile = pki.path("dh.pem");
  auto r = TlsContext::create(l);
  EXPECT_TRUE(r) << r.error().message;
  l.dhparamfile = pki.path("garbage.key");
  EXPECT_NE(create_error(l).find("dhparamfile '" + l.dhparamfile + "': is not PEM DH parameters"), std::string::npos);
}

TEST_F(TlsContextTest, PskNeedsAValidPskFile) {
  config::Listener l;
  l.psk_hint = "router";
  EXPECT_EQ(create_error(l), "psk_hint 'router' is set but no psk_file gives the identities and keys");
  l.security.psk_file = pki.path("nope.psk");
  EXPECT_NE(create_error(l).find("psk_file: "), std::string::npos);
  l.security.psk_file = pki.path("psk.txt");
  auto r = TlsContext::create(l);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE((*r)->psk_enabled());
  EXPECT_FALSE((*r)->has_certificate());
  EXPECT_EQ((*r)->describe(), "PSK");
}

TEST_F(TlsContextTest, FactoryKinds) {
  Logger log;
  std::string error;
  config::Listener plain;
  EXPECT_EQ(make_transport_factory(plain, log, error), nullptr);
  EXPECT_TRUE(error.empty());

  config::Listener tls = cert_listener();
  auto f = make_transport_factory(tls, log, error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->make()->name(), "tls");

  config::Listener ws;
  ws.protocol = config::ListenerProtocol::kWebsockets;
  f = make_transport_factory(ws, log, error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->make()->name(), "ws");

  tls.protocol = config::ListenerProtocol::kWebsockets;
  f = make_transport_factory(tls, log, error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->make()->name(), "wss");
}

TEST_F(TlsContextTest, FactoryErrorNamesListenerAndFile) {
  Logger log;
  std::string error;
  config::Listener l = cert_listener();
  l.source = "petrel.conf:12";
  l.keyfile = pki.path("encrypted.key");
  EXPECT_EQ(make_transport_factory(l, log, error), nullptr);
  EXPECT_EQ(error.rfind("listener 8883 (petrel.conf:12): keyfile '" + l.keyfile + "': is password-protected", 0), 0u)
      << error;
}

// Reload: a factory is immutable; building a new one from new files leaves transports made
// by the old one on the old context.
TEST_F(TlsContextTest, RebuiltFactoryLeavesOldTransportsAlone) {
  Logger log;
  std::string error;
  auto first = make_transport_factory(cert_listener(), log, error);
  ASSERT_NE(first, nullptr);
  auto old_transport = first->make();
  config::Listener broken = cert_listener();
  broken.keyfile = pki.path("other.key");
  EXPECT_EQ(make_transport_factory(broken, log, error), nullptr);  // caller keeps `first`
  EXPECT_FALSE(error.empty());
  auto second = make_transport_factory(cert_listener(), log, error);
  ASSERT_NE(second, nullptr);
  first.reset();  // the old transport still holds its context
  EXPECT_FALSE(old_transport->established());
}

}  // namespace
}  // namespace petrel::net
