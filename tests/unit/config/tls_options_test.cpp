// TLS, TLS-PSK and WebSocket listener options (options_tls.cpp): parsing, and the checks
// that need the whole listener. Loading the files is tested in tests/unit/net.
#include <gtest/gtest.h>

#include "config/options.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::has_warning;
using test::parse;
using test::parse_ok;

TEST(ConfigTls, OptionsAreSupported) {
  for (const char* name : {"certfile", "keyfile", "cafile", "capath", "require_certificate", "crlfile", "tls_version",
                           "ciphers", "ciphers_tls1.3", "dhparamfile", "psk_hint", "use_identity_as_username",
                           "use_subject_as_username", "websockets_headers_size"}) {
    const OptionDescriptor* d = find_option(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_EQ(d->status, Status::kSupported) << name;
  }
  EXPECT_EQ(find_option("websockets_headers_size")->scope, Scope::kGlobal);
  EXPECT_EQ(find_option("certfile")->scope, Scope::kListener);
}

TEST(ConfigTls, CertificateListener) {
  Config c = parse_ok(
      "listener 1883\n"
      "listener 8883\n"
      "certfile /s.crt\nkeyfile /s.key\ncafile /ca.crt\ncapath /cas\ncrlfile /c.crl\n"
      "require_certificate true\nuse_subject_as_username true\n"
      "tls_version tlsv1.3\nciphers ECDHE-RSA-AES128-GCM-SHA256\nciphers_tls1.3 TLS_AES_128_GCM_SHA256\n"
      "dhparamfile /dh.pem\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_TRUE(c.listeners[0].certfile.empty());
  const Listener& l = c.listeners[1];
  EXPECT_EQ(l.certfile, "/s.crt");
  EXPECT_EQ(l.keyfile, "/s.key");
  EXPECT_EQ(l.cafile, "/ca.crt");
  EXPECT_EQ(l.capath, "/cas");
  EXPECT_EQ(l.crlfile, "/c.crl");
  EXPECT_TRUE(l.require_certificate);
  EXPECT_TRUE(l.use_subject_as_username);
  EXPECT_FALSE(l.use_identity_as_username);
  EXPECT_EQ(l.tls_version, "tlsv1.3");
  EXPECT_EQ(l.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(l.ciphers_tls13, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(l.dhparamfile, "/dh.pem");
}

TEST(ConfigTls, TlsVersionValues) {
  EXPECT_EQ(parse_ok("listener 8883\ncertfile /a\nkeyfile /b\ntls_version tlsv1.2\n").listeners[0].tls_version, "tlsv1.2");
  auto r = parse("listener 8883\ncertfile /a\nkeyfile /b\ntls_version tlsv1.1\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners[0].tls_version, "tlsv1.2");
  EXPECT_TRUE(has_warning(r, "t.conf:4: option 'tls_version': TLS 1.1 is obsolete")) << test::all_warnings(r);
  r = parse("listener 8883\ncertfile /a\nkeyfile /b\ntls_version tlsv13\n");
  EXPECT_TRUE(has_error(r, "t.conf:4: option 'tls_version': expected tlsv1.3|tlsv1.2|tlsv1.1, got 'tlsv13' "
                           "(did you mean 'tlsv1.3'?)"))
      << test::all_errors(r);
}

TEST(ConfigTls, CertfileAndKeyfileGoTogether) {
  auto r = parse("listener 8883\ncertfile /s.crt\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'certfile': needs keyfile on the same listener")) << test::all_errors(r);
  r = parse("listener 8883\nkeyfile /s.key\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'keyfile': needs certfile on the same listener")) << test::all_errors(r);
  // Each listener has its own: a keyfile on the next listener does not count.
  r = parse("listener 8883\ncertfile /s.crt\nlistener 8884\ncertfile /t.crt\nkeyfile /t.key\n");
  EXPECT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'certfile'"));
}

TEST(ConfigTls, DuplicateFileIsRefused) {
  auto r = parse("listener 8883\ncertfile /a\ncertfile /b\nkeyfile /k\n");
  EXPECT_TRUE(has_error(r, "t.conf:3: option 'certfile': given more than once (first at t.conf:2)")) << test::all_errors(r);
}

TEST(ConfigTls, RequireCertificateNeedsCa) {
  auto r = parse("listener 8883\ncertfile /s.crt\nkeyfile /s.key\nrequire_certificate true\n");
  EXPECT_TRUE(has_error(r, "t.conf:4: option 'require_certificate': needs cafile or capath")) << test::all_errors(r);
  parse_ok("listener 8883\ncertfile /s.crt\nkeyfile /s.key\nrequire_certificate true\ncapath /etc/ssl/certs\n");
  parse_ok("listener 8883\ncertfile /s.crt\nkeyfile /s.key\nrequire_certificate false\n");
}

TEST(ConfigTls, PskHintNeedsPskFile) {
  auto r = parse("listener 8883\npsk_hint router\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'psk_hint': needs a psk_file")) << test::all_errors(r);
  Config c = parse_ok("psk_file /etc/petrel/psk\nlistener 8883\npsk_hint router\nuse_identity_as_username true\n");
  EXPECT_EQ(c.listeners[0].psk_hint, "router");
  EXPECT_EQ(c.listeners[0].security.psk_file, "/etc/petrel/psk");
  EXPECT_TRUE(c.listeners[0].use_identity_as_username);
  // Per listener: the psk_file must be on that listener.
  r = parse("per_listener_settings true\nlistener 8883\npsk_hint a\nlistener 8884\npsk_hint b\npsk_file /k\n");
  EXPECT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_TRUE(has_error(r, "t.conf:3: option 'psk_hint': needs a psk_file"));
}

TEST(ConfigTls, CertificateAndPskOnOneListenerIsRefused) {
  auto r = parse("psk_file /k\nlistener 8883\ncertfile /s.crt\nkeyfile /s.key\npsk_hint router\n");
  EXPECT_TRUE(has_error(r, "t.conf:5: option 'psk_hint': cannot be combined with certfile on the same listener"))
      << test::all_errors(r);
}

TEST(ConfigTls, TlsSettingsWithoutTlsWarn) {
  auto r = parse("listener 1883\ncafile /ca.crt\nrequire_certificate true\nuse_identity_as_username true\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'cafile': has no effect: TLS is off on this listener"))
      << test::all_warnings(r);
  EXPECT_TRUE(has_warning(r, "t.conf:3: option 'require_certificate': has no effect")) << test::all_warnings(r);
  EXPECT_TRUE(has_warning(r, "t.conf:4: option 'use_identity_as_username': has no effect")) << test::all_warnings(r);
}

TEST(ConfigTls, DefaultListenerTls) {
  // Before any listener line, TLS options configure the default listener (as in Mosquitto).
  Config c = parse_ok("port 8883\ncertfile /s.crt\nkeyfile /s.key\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 8883);
  EXPECT_EQ(c.listeners[0].certfile, "/s.crt");
  auto r = parse("port 8883\ncertfile /s.crt\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'certfile': needs keyfile")) << test::all_errors(r);
}

TEST(ConfigTls, WebsocketsListenerAndHeaderSize) {
  Config c = parse_ok("listener 9001\nprotocol websockets\nlistener 9443\nprotocol websockets\n"
                      "certfile /s.crt\nkeyfile /s.key\nwebsockets_headers_size 8192\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].protocol, ListenerProtocol::kWebsockets);
  EXPECT_EQ(c.listeners[1].protocol, ListenerProtocol::kWebsockets);
  EXPECT_EQ(c.websockets_headers_size, 8192u);
  EXPECT_EQ(c.listeners[0].websockets_headers_size, 8192u);  // global, copied to every listener
  EXPECT_EQ(c.listeners[1].websockets_headers_size, 8192u);
  auto r = parse("websockets_headers_size 70000\n");
  EXPECT_TRUE(has_error(r, "option 'websockets_headers_size': expected an integer 0..65535, got '70000'"));
}

}  // namespace
}  // namespace petrel::config
