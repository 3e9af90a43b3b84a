// default_config(), ConfigDiff (SIGHUP and the admin API), and the -p override.
#include <gtest/gtest.h>

#include "common/log.h"
#include "config/diff.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::parse_ok;

TEST(ConfigDefault, LoopbackPairAnonymousLocalOnly) {
  Config c = default_config();
  EXPECT_TRUE(c.local_only);
  EXPECT_TRUE(c.security.allow_anonymous);
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].bind_address, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].socket_domain, SocketDomain::kIpv4);
  EXPECT_EQ(c.listeners[1].bind_address, "::1");
  EXPECT_EQ(c.listeners[1].socket_domain, SocketDomain::kIpv6);
  for (const auto& l : c.listeners) {
    EXPECT_EQ(l.port, 1883);
    EXPECT_TRUE(effective_security(c, l).allow_anonymous);
  }
}

TEST(ConfigDefault, EmptyFileMatchesTheDefault) {
  ConfigDiff d = diff_configs(default_config(), parse_ok(""));
  EXPECT_TRUE(d.empty()) << ::testing::PrintToString(d.describe());
}

TEST(ConfigDiffTest, NoChange) {
  Config a = parse_ok("listener 1883\nmax_keepalive 60\n");
  EXPECT_TRUE(diff_configs(a, a).empty());
  EXPECT_TRUE(diff_configs(a, a).describe().empty());
}

TEST(ConfigDiffTest, LogSettings) {
  Config a = parse_ok("listener 1883\n");
  Config b = parse_ok("listener 1883\nlog_type all\n");
  ConfigDiff d = diff_configs(a, b);
  EXPECT_TRUE(d.log_changed);
  EXPECT_FALSE(d.limits_changed);
  EXPECT_TRUE(d.listeners_added.empty() && d.listeners_removed.empty() && d.listeners_restarted.empty());
  EXPECT_EQ(d.describe(), std::vector<std::string>{
                              "log_type: error warning notice information -> error warning notice information "
                              "subscribe unsubscribe websockets debug"});
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nlog_timestamp false\n")).log_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nlog_dest file /tmp/x.log\n")).log_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nlog_level debug\n")).log_changed);
}

TEST(ConfigDiffTest, ListenersAddedRemovedRestartedReloaded) {
  Config a = parse_ok("listener 1883\nlistener 8883\nmax_connections 5\nlistener 9000\nlistener 9001\n");
  Config b = parse_ok("# moved around\nlistener 1883\nlistener 8883\nmax_connections 6\nlistener 1884 127.0.0.1\n"
                      "listener 9001\nprotocol websockets\n");
  ConfigDiff d = diff_configs(a, b);
  ASSERT_EQ(d.listeners_added.size(), 1u);
  EXPECT_EQ(d.listeners_added[0].port, 1884);
  ASSERT_EQ(d.listeners_removed.size(), 1u);
  EXPECT_EQ(d.listeners_removed[0].port, 9000);
  ASSERT_EQ(d.listeners_reloaded.size(), 1u);  // max_connections applies live
  EXPECT_EQ(d.listeners_reloaded[0].port, 8883);
  EXPECT_EQ(d.listeners_reloaded[0].max_connections, 6);
  ASSERT_EQ(d.listeners_restarted.size(), 1u);  // a protocol change closes its connections
  EXPECT_EQ(d.listeners_restarted[0].port, 9001);
  EXPECT_EQ(d.describe(), (std::vector<std::string>{"listener added: port 1884 on 127.0.0.1",
                                                     "listener removed: port 9000 on all addresses",
                                                     "listener port 8883 on all addresses: max_connections: 5 -> 6",
                                                     "listener port 9001 on all addresses: protocol: mqtt -> websockets"}));
}

TEST(ConfigDiffTest, TlsModeChangeRestartsTheListenerButNewCertificatesOnlyReloadIt) {
  Config none = parse_ok("listener 8883\n");
  Config cert = parse_ok("listener 8883\ncertfile /c.pem\nkeyfile /k.pem\n");
  Config rotated = parse_ok("listener 8883\ncertfile /c2.pem\nkeyfile /k2.pem\n");
  EXPECT_EQ(diff_configs(none, cert).listeners_restarted.size(), 1u);
  ConfigDiff rot = diff_configs(cert, rotated);
  EXPECT_TRUE(rot.listeners_restarted.empty());
  EXPECT_EQ(rot.listeners_reloaded.size(), 1u);
}

TEST(ConfigDiffTest, LimitsSecurityAndRestartOnlySettings) {
  Config a = parse_ok("listener 1883\n");
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nmax_queued_messages 10\n")).limits_changed);
  ConfigDiff sec = diff_configs(a, parse_ok("listener 1883\nallow_anonymous true\n"));
  EXPECT_TRUE(sec.security_changed);
  EXPECT_TRUE(sec.listeners_restarted.empty() && sec.listeners_reloaded.empty());  // the listener copy is not a listener change
  EXPECT_EQ(sec.describe(), std::vector<std::string>{"allow_anonymous: false -> true"});
  ConfigDiff threads = diff_configs(a, parse_ok("listener 1883\nthreads 2\n"));
  ASSERT_EQ(threads.restart_required.size(), 1u);
  EXPECT_EQ(threads.restart_required[0].option, "threads");
  EXPECT_EQ(threads.describe(), std::vector<std::string>{"threads: 0 -> 2 (needs a restart of petrel)"});
  for (const char* line : {"sys_interval 1", "pid_file /run/p.pid", "connection_messages false", "set_tcp_nodelay true"}) {
    ConfigDiff d = diff_configs(a, parse_ok(std::string("listener 1883\n") + line + "\n"));
    ASSERT_EQ(d.changes.size(), 1u) << line;
    EXPECT_EQ(d.changes[0].effect, Effect::kLive) << line;
  }
}

TEST(ConfigDiffTest, PerListenerSecurityChangeIsAListenerChange) {
  Config a = parse_ok("per_listener_settings true\nlistener 1883\n");
  Config b = parse_ok("per_listener_settings true\nlistener 1883\nallow_anonymous true\n");
  ConfigDiff d = diff_configs(a, b);
  EXPECT_TRUE(d.security_changed);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].where, "listener port 1883 on all addresses");
}

TEST(ConfigDiffTest, BridgesByNameWithSecretsHidden) {
  const std::string base = "listener 1883\nconnection a\naddress h:1883\ntopic x out 1\n";
  Config a = parse_ok(base + "remote_password one\n");
  Config b = parse_ok(base + "remote_password two\nconnection b\naddress h\ntopic y\n");
  ConfigDiff d = diff_configs(a, b);
  EXPECT_EQ(d.bridges_added, std::vector<std::string>{"b"});
  EXPECT_EQ(d.bridges_changed, std::vector<std::string>{"a"});
  EXPECT_EQ(d.describe(), (std::vector<std::string>{"bridge added: b", "bridge a: remote_password changed"}));
  EXPECT_TRUE(diff_configs(b, a).bridges_removed == std::vector<std::string>{"b"});
}

TEST(ConfigDiffTest, HttpApiListeners) {
  Config a = parse_ok("listener 1883\nhttp_api_password_file /p\nlistener 8080 127.0.0.1\nprotocol http_api\n");
  ASSERT_EQ(a.http_listeners.size(), 1u);
  EXPECT_EQ(a.listeners.size(), 1u);
  Config b = parse_ok("listener 1883\nhttp_api_password_file /p\nlistener 8081 127.0.0.1\nprotocol http_api\n");
  ConfigDiff d = diff_configs(a, b);
  EXPECT_EQ(d.http_added.size(), 1u);
  EXPECT_EQ(d.http_removed.size(), 1u);
  EXPECT_TRUE(d.listeners_added.empty() && d.listeners_removed.empty());
}

TEST(ConfigPortOverride, LocalOnlyUsesTheGivenPortsOnLoopback) {
  Config c = default_config();
  EXPECT_TRUE(apply_port_override(c, {1884, 1885, 1884}).empty());
  ASSERT_EQ(c.listeners.size(), 4u);
  EXPECT_EQ(c.listeners[0].port, 1884);
  EXPECT_EQ(c.listeners[0].bind_address, "127.0.0.1");
  EXPECT_EQ(c.listeners[1].port, 1884);
  EXPECT_EQ(c.listeners[1].bind_address, "::1");
  EXPECT_EQ(c.listeners[2].port, 1885);
  EXPECT_EQ(c.listeners[3].port, 1885);
  EXPECT_TRUE(c.local_only);
  EXPECT_TRUE(c.security.allow_anonymous);
}

TEST(ConfigPortOverride, KeepsLocalOnlyListenerSettingsAndFamily) {
  Config c = parse_ok("socket_domain ipv6\nmax_connections 3\n");
  EXPECT_TRUE(apply_port_override(c, {2000}).empty());
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].bind_address, "::1");
  EXPECT_EQ(c.listeners[0].port, 2000);
  EXPECT_EQ(c.listeners[0].max_connections, 3);
}

TEST(ConfigPortOverride, IgnoredWithWarningWhenListenersAreConfigured) {
  Config c = parse_ok("listener 8883\n");
  auto warnings = apply_port_override(c, {1884});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("-p ignored"), std::string::npos);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 8883);
}

TEST(ConfigPortOverride, NoPortsNoChange) {
  Config c = default_config();
  EXPECT_TRUE(apply_port_override(c, {}).empty());
  EXPECT_EQ(c.listeners.size(), 2u);
}

}  // namespace
}  // namespace petrel::config
