// Listener scoping as Mosquitto 2 does it: `listener` lines, the default listener (port,
// bind_address, options before the first listener), local-only mode, per_listener_settings.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::has_warning;
using test::parse;
using test::parse_ok;

TEST(ConfigListener, NoListenerMeansLocalOnlyLoopbackPairWithAnonymous) {
  Config c = parse_ok("sys_interval 5\n");
  EXPECT_TRUE(c.local_only);
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].bind_address, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].socket_domain, SocketDomain::kIpv4);
  EXPECT_EQ(c.listeners[1].bind_address, "::1");
  EXPECT_EQ(c.listeners[1].socket_domain, SocketDomain::kIpv6);
  for (const auto& l : c.listeners) EXPECT_EQ(l.port, 1883);
  EXPECT_TRUE(c.security.allow_anonymous);
  EXPECT_FALSE(c.security.allow_anonymous_set);
}

TEST(ConfigListener, ListenerWithoutAddressBindsAllAndAnonymousDefaultsToFalse) {
  Config c = parse_ok("listener 1883\n");
  EXPECT_FALSE(c.local_only);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 1883);
  EXPECT_EQ(c.listeners[0].bind_address, "");
  EXPECT_EQ(c.listeners[0].socket_domain, SocketDomain::kAny);
  EXPECT_EQ(c.listeners[0].source, "t.conf:1");
  EXPECT_FALSE(c.security.allow_anonymous);
  EXPECT_FALSE(effective_security(c, c.listeners[0]).allow_anonymous);
}

TEST(ConfigListener, ListenerWithAddressAndOptionsApplyToIt) {
  Config c = parse_ok(
      "listener 1883 127.0.0.1\n"
      "max_connections 10\n"
      "socket_domain ipv4\n"
      "listener 8883 # TLS later\n"
      "max_qos 1\n"
      "max_topic_alias 0\n"
      "protocol mqtt\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  const Listener& a = c.listeners[0];
  const Listener& b = c.listeners[1];
  EXPECT_EQ(a.bind_address, "127.0.0.1");
  EXPECT_EQ(a.max_connections, 10);
  EXPECT_EQ(a.socket_domain, SocketDomain::kIpv4);
  EXPECT_EQ(a.max_qos, 2);
  EXPECT_EQ(a.max_topic_alias, 10);
  EXPECT_EQ(b.port, 8883);
  EXPECT_EQ(b.bind_address, "");
  EXPECT_EQ(b.max_connections, -1);
  EXPECT_EQ(b.max_qos, 1);
  EXPECT_EQ(b.max_topic_alias, 0);
  // The Config-wide values mirror the largest per-listener value.
  EXPECT_EQ(c.max_qos, 2);
  EXPECT_EQ(c.max_topic_alias, 10);
}

TEST(ConfigListener, ListenerErrors) {
  auto r = parse("listener\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'listener': missing value (expected PORT [ADDRESS])"));
  r = parse("listener 99999\n");
  EXPECT_TRUE(has_error(r, "option 'listener': expected a port 1..65535, got '99999'"));
  r = parse("listener http\n");
  EXPECT_TRUE(has_error(r, "got 'http'"));
  r = parse("listener 1883 0.0.0.0 extra\n");
  EXPECT_TRUE(has_error(r, "option 'listener': unexpected extra value 'extra' (expected PORT [ADDRESS])"));
  r = parse("listener 0 /tmp/mqtt.sock\n");
  EXPECT_TRUE(has_error(r, "Unix socket listeners (port 0) are not supported yet"));
}

TEST(ConfigListener, OptionsAfterABrokenListenerLineDoNotLeakToOthers) {
  auto r = parse("listener 1883\nlistener nope\nmax_connections 5\n");
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 1u);
  EXPECT_EQ(r.config.listeners[0].max_connections, -1);
}

TEST(ConfigListener, PortConfiguresTheDefaultListenerOnAllAddresses) {
  Config c = parse_ok("port 1884\n");
  EXPECT_FALSE(c.local_only);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 1884);
  EXPECT_EQ(c.listeners[0].bind_address, "");
  EXPECT_FALSE(c.security.allow_anonymous);
}

TEST(ConfigListener, BindAddressAloneUsesPort1883) {
  Config c = parse_ok("bind_address 192.168.1.10\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 1883);
  EXPECT_EQ(c.listeners[0].bind_address, "192.168.1.10");
  EXPECT_FALSE(c.local_only);
}

TEST(ConfigListener, PortAfterAListenerStillConfiguresTheDefaultListenerAppendedLast) {
  Config c = parse_ok("listener 8883\nport 1884\nbind_address 10.0.0.1\nmax_connections 3\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].port, 8883);
  EXPECT_EQ(c.listeners[0].max_connections, 3);  // listener-scoped option: the current listener
  EXPECT_EQ(c.listeners[1].port, 1884);
  EXPECT_EQ(c.listeners[1].bind_address, "10.0.0.1");
  EXPECT_EQ(c.listeners[1].max_connections, -1);
  EXPECT_EQ(c.listeners[1].source, "t.conf:2");
}

TEST(ConfigListener, PortGivenTwiceWarnsAndLastWins) {
  auto r = parse("port 1884\nport 1885\n");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.config.listeners.size(), 1u);
  EXPECT_EQ(r.config.listeners[0].port, 1885);
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'port': the default listener's port is given more than once"));
}

TEST(ConfigListener, BindAddressGivenTwiceIsAnError) {
  auto r = parse("bind_address 10.0.0.1\nbind_address 10.0.0.2\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'bind_address': given more than once (first at t.conf:1)"));
}

TEST(ConfigListener, ListenerOptionBeforeFirstListenerOpensTheDefaultListenerWithWarning) {
  auto r = parse("max_connections 5\nlistener 8883\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 2u);
  EXPECT_EQ(r.config.listeners[0].port, 8883);
  EXPECT_EQ(r.config.listeners[0].max_connections, -1);
  EXPECT_EQ(r.config.listeners[1].port, 1883);
  EXPECT_EQ(r.config.listeners[1].bind_address, "");
  EXPECT_EQ(r.config.listeners[1].max_connections, 5);
  EXPECT_TRUE(has_warning(r, "t.conf:1: option 'max_connections': comes before any 'listener' line"))
      << test::all_warnings(r);
}

TEST(ConfigListener, ListenerOptionsWithoutAnyListenerApplyToTheLocalOnlyPair) {
  Config c = parse_ok("max_connections 7\nmax_qos 1\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  for (const auto& l : c.listeners) {
    EXPECT_EQ(l.max_connections, 7);
    EXPECT_EQ(l.max_qos, 1);
  }
  EXPECT_EQ(c.max_qos, 1);
}

TEST(ConfigListener, SocketDomainRestrictsTheLocalOnlyPair) {
  Config c = parse_ok("socket_domain ipv4\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].bind_address, "127.0.0.1");
  c = parse_ok("socket_domain ipv6\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].bind_address, "::1");
}

TEST(ConfigListener, SocketDomainBadValueSuggests) {
  auto r = parse("listener 1883\nsocket_domain ipv5\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'socket_domain': expected ipv4|ipv6, got 'ipv5' (did you mean 'ipv4'?)"))
      << test::all_errors(r);
}

TEST(ConfigListener, MaxConnectionsNegativeMeansUnlimited) {
  auto r = parse("listener 1883\nmax_connections -1\nlistener 1884\nmax_connections -10\n");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.listeners[0].max_connections, -1);
  EXPECT_EQ(r.config.listeners[1].max_connections, -1);
  EXPECT_TRUE(has_warning(r, "t.conf:4: option 'max_connections': negative value -10 means no limit; using -1"));
}

TEST(ConfigListener, WebsocketsProtocol) {
  Config c = parse_ok("listener 9001\nprotocol websockets\n");
  EXPECT_EQ(c.listeners.at(0).protocol, ListenerProtocol::kWebsockets);
}

TEST(ConfigListener, DuplicateListenersAreRefused) {
  auto r = parse("listener 1883\nlistener 1883\n");
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_EQ(test::all_errors(r),
            "t.conf:2: listener port 1883 on all addresses duplicates the listener at t.conf:1\n");
  r = parse("listener 1883 127.0.0.1\nlistener 1883 ::1\nlistener 1883 127.0.0.1\n");
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_EQ(r.errors[0].line, 3);
  r = parse("port 1883\nlistener 1883\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: listener port 1883 on all addresses duplicates the listener at t.conf:2"))
      << test::all_errors(r);
}

TEST(ConfigListener, SamePortDifferentFamiliesIsNotADuplicate) {
  Config c = parse_ok("listener 1883\nsocket_domain ipv4\nlistener 1883\nsocket_domain ipv6\n");
  EXPECT_EQ(c.listeners.size(), 2u);
}

TEST(ConfigListener, MountPointNeedsAListener) {
  auto r = parse("mount_point site1/\n");
  EXPECT_TRUE(has_error(r, "option 'mount_point': needs a 'listener' line before it"));
}

TEST(ConfigListener, TlsOptionsAreStored) {
  auto r = parse(
      "listener 8883\n"
      "certfile /etc/petrel/server.crt\n"
      "keyfile /etc/petrel/server.key\n"
      "cafile /etc/petrel/ca.crt\n"
      "require_certificate true\n"
      "use_identity_as_username true\n"
      "ciphers_tls1.3 TLS_AES_256_GCM_SHA384\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  const Listener& l = r.config.listeners.at(0);
  EXPECT_EQ(l.certfile, "/etc/petrel/server.crt");
  EXPECT_EQ(l.keyfile, "/etc/petrel/server.key");
  EXPECT_EQ(l.cafile, "/etc/petrel/ca.crt");
  EXPECT_TRUE(l.require_certificate);
  EXPECT_TRUE(l.use_identity_as_username);
  EXPECT_EQ(l.ciphers_tls13, "TLS_AES_256_GCM_SHA384");
}

// --- security options and per_listener_settings -------------------------------------

TEST(ConfigSecurity, GlobalWhenPerListenerSettingsIsFalse) {
  Config c = parse_ok(
      "listener 1883\n"
      "allow_anonymous true\n"
      "listener 1884\n"
      "allow_zero_length_clientid false\n"
      "auto_id_prefix gen-\n");
  EXPECT_TRUE(c.security.allow_anonymous);
  EXPECT_TRUE(c.security.allow_anonymous_set);
  EXPECT_FALSE(c.security.allow_zero_length_clientid);
  EXPECT_EQ(c.security.auto_id_prefix, "gen-");
  for (const auto& l : c.listeners) {
    EXPECT_EQ(effective_security(c, l), c.security);
    EXPECT_EQ(l.security, c.security);  // the parsed Config mirrors the global copy
  }
}

TEST(ConfigSecurity, PerListenerWhenPerListenerSettingsIsTrue) {
  Config c = parse_ok(
      "per_listener_settings true\n"
      "listener 1883\n"
      "allow_anonymous true\n"
      "auto_id_prefix a-\n"
      "listener 1884\n"
      "allow_zero_length_clientid false\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  const auto& s0 = effective_security(c, c.listeners[0]);
  const auto& s1 = effective_security(c, c.listeners[1]);
  EXPECT_TRUE(s0.allow_anonymous);
  EXPECT_TRUE(s0.allow_zero_length_clientid);
  EXPECT_EQ(s0.auto_id_prefix, "a-");
  EXPECT_FALSE(s1.allow_anonymous);  // not set: Mosquitto 2 default with listeners
  EXPECT_FALSE(s1.allow_zero_length_clientid);
  EXPECT_EQ(s1.auto_id_prefix, "auto-");
  EXPECT_FALSE(c.security.allow_anonymous_set);
}

TEST(ConfigSecurity, PerListenerSettingsMustComeFirst) {
  auto r = parse("allow_anonymous true\nper_listener_settings true\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'per_listener_settings': must come before any security option "
                           "(the first is at t.conf:1)"))
      << test::all_errors(r);
}

TEST(ConfigSecurity, PerListenerSettingsCannotBeTurnedOff) {
  auto r = parse("per_listener_settings true\nper_listener_settings false\nlistener 1883\n");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.config.per_listener_settings);
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'per_listener_settings': cannot be turned off"));
}

TEST(ConfigSecurity, PerListenerSecurityBeforeAnyListenerWarnsWhenUnused) {
  auto r = parse("per_listener_settings true\nallow_anonymous true\nlistener 1883\n");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.config.listeners.size(), 1u);
  EXPECT_FALSE(effective_security(r.config, r.config.listeners[0]).allow_anonymous);
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'allow_anonymous': has no effect")) << test::all_warnings(r);
}

TEST(ConfigSecurity, PerListenerSecurityWithoutListenersAppliesToLocalOnlyPair) {
  Config c = parse_ok("per_listener_settings true\nallow_zero_length_clientid false\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  for (const auto& l : c.listeners) {
    EXPECT_FALSE(effective_security(c, l).allow_zero_length_clientid);
    EXPECT_TRUE(effective_security(c, l).allow_anonymous);  // local only
  }
}

TEST(ConfigSecurity, ExplicitAllowAnonymousFalseIsKeptInLocalOnlyMode) {
  Config c = parse_ok("allow_anonymous false\n");
  EXPECT_TRUE(c.local_only);
  EXPECT_FALSE(c.security.allow_anonymous);
}

TEST(ConfigSecurity, AutoIdPrefixTwiceInSameScopeIsAnError) {
  auto r = parse("auto_id_prefix a-\nlistener 1883\nauto_id_prefix b-\n");
  EXPECT_TRUE(has_error(r, "t.conf:3: option 'auto_id_prefix': given more than once (first at t.conf:1)"));
  Config c = parse_ok("per_listener_settings true\nlistener 1883\nauto_id_prefix a-\nlistener 1884\nauto_id_prefix b-\n");
  EXPECT_EQ(c.listeners[1].security.auto_id_prefix, "b-");
}

TEST(ConfigSecurity, AuthFilesArePerListenerWithPerListenerSettings) {
  auto r = parse("per_listener_settings true\nlistener 1883\npassword_file /etc/p\nacl_file /etc/a\npsk_file /etc/k\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  const auto& sec = r.config.listeners.at(0).security;
  EXPECT_EQ(sec.password_file, "/etc/p");
  EXPECT_EQ(sec.acl_file, "/etc/a");
  EXPECT_EQ(sec.psk_file, "/etc/k");
}

TEST(ConfigListener, AcceptProtocolVersionsIsAListOfLevels) {
  Config c = parse_ok("listener 1883\naccept_protocol_versions 4,5\nlistener 1884\naccept_protocol_versions 3, 4\n"
                      "listener 1885\n");
  EXPECT_EQ(c.listeners[0].accept_protocol_versions, 0b110);
  EXPECT_EQ(c.listeners[1].accept_protocol_versions, 0b011);
  EXPECT_EQ(c.listeners[2].accept_protocol_versions, Listener::kAllProtocolVersions);
  EXPECT_EQ(protocol_versions_text(0b110), "4,5");
  for (const char* bad : {"4,6", "311", "five", "4,,x"}) {
    auto r = parse(std::string("listener 1883\naccept_protocol_versions ") + bad + "\n");
    EXPECT_TRUE(has_error(r, "t.conf:2: option 'accept_protocol_versions': expected a list of 3, 4 and 5")) << bad;
  }
  EXPECT_TRUE(has_error(parse("listener 1883\naccept_protocol_versions\n"), "t.conf:2: option 'accept_protocol_versions': missing value"));
}

TEST(ConfigListener, ListenerAllowAnonymousAndAutoIdPrefixOverrideTheSecuritySettings) {
  Config c = parse_ok("allow_anonymous false\nauto_id_prefix g-\nlistener 1883\nlistener_allow_anonymous true\n"
                      "listener_auto_id_prefix l-\nlistener 1884\n");
  EXPECT_TRUE(anonymous_allowed(c, c.listeners[0]));
  EXPECT_EQ(auto_id_prefix_for(c, c.listeners[0]), "l-");
  EXPECT_FALSE(anonymous_allowed(c, c.listeners[1]));
  EXPECT_EQ(auto_id_prefix_for(c, c.listeners[1]), "g-");
  // and over per_listener_settings too
  Config p = parse_ok("per_listener_settings true\nlistener 1883\nallow_anonymous true\nlistener_allow_anonymous false\n");
  EXPECT_FALSE(anonymous_allowed(p, p.listeners[0]));
  EXPECT_TRUE(has_error(parse("listener 1883\nlistener_allow_anonymous perhaps\n"), "t.conf:2: option 'listener_allow_anonymous'"));
  EXPECT_TRUE(has_error(parse("listener 1883\nlistener_auto_id_prefix a\nlistener_auto_id_prefix b\n"),
                        "t.conf:3: option 'listener_auto_id_prefix': given more than once"));
}

TEST(ConfigListener, BindInterfaceAndCertificateDateChecksAreStored) {
  Config c = parse_ok("listener 1883\nbind_interface lo\ndisable_client_cert_date_checks true\n");
  EXPECT_EQ(c.listeners[0].bind_interface, "lo");
  EXPECT_TRUE(c.listeners[0].disable_client_cert_date_checks);
}

TEST(ConfigGeneral, ClientIdPrefixesAndGlobalLimits) {
  Config c = parse_ok("clientid_prefixes plant-\nglobal_max_connections 100\nglobal_max_clients 0\n");
  EXPECT_EQ(c.clientid_prefixes, "plant-");
  EXPECT_EQ(c.global_max_connections, 100);
  EXPECT_EQ(c.global_max_clients, 0);
  Config d = parse_ok("sys_interval 10\n");
  EXPECT_EQ(d.global_max_connections, -1);
  EXPECT_EQ(d.global_max_clients, -1);
  auto r = parse("global_max_clients -5\nglobal_max_connections lots\n");
  EXPECT_TRUE(has_warning(r, "negative value -5 means no limit")) << test::all_warnings(r);
  EXPECT_EQ(r.config.global_max_clients, -1);
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'global_max_connections': expected -1 (no limit) or an integer"));
}

}  // namespace
}  // namespace petrel::config
