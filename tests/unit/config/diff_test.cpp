// default_config(), ConfigDiff / apply_reload (SIGHUP), and the -p override.
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
  EXPECT_TRUE(d.listeners_added.empty() && d.listeners_removed.empty() && d.listeners_changed.empty());
  EXPECT_EQ(d.describe(), std::vector<std::string>{"log settings changed"});
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nlog_timestamp false\n")).log_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nlog_dest file /tmp/x.log\n")).log_changed);
}

TEST(ConfigDiffTest, ListenersAddedRemovedChanged) {
  Config a = parse_ok("listener 1883\nlistener 8883\nmax_connections 5\nlistener 9000\n");
  Config b = parse_ok("# moved around\nlistener 1883\nlistener 8883\nmax_connections 6\nlistener 1884 127.0.0.1\n");
  ConfigDiff d = diff_configs(a, b);
  ASSERT_EQ(d.listeners_added.size(), 1u);
  EXPECT_EQ(d.listeners_added[0].port, 1884);
  ASSERT_EQ(d.listeners_removed.size(), 1u);
  EXPECT_EQ(d.listeners_removed[0].port, 9000);
  ASSERT_EQ(d.listeners_changed.size(), 1u);
  EXPECT_EQ(d.listeners_changed[0].port, 8883);
  EXPECT_EQ(d.listeners_changed[0].max_connections, 6);
  EXPECT_EQ(d.describe(), (std::vector<std::string>{"listener added: port 1884 on 127.0.0.1",
                                                     "listener removed: port 9000 on all addresses",
                                                     "listener changed: port 8883 on all addresses"}));
}

TEST(ConfigDiffTest, LimitsSecurityAndRestartOnlySettings) {
  Config a = parse_ok("listener 1883\n");
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nmax_queued_messages 10\n")).limits_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nmax_qos 1\n")).limits_changed);
  ConfigDiff sec = diff_configs(a, parse_ok("listener 1883\nallow_anonymous true\n"));
  EXPECT_TRUE(sec.security_changed);
  EXPECT_TRUE(sec.listeners_changed.empty());  // the listener copy of global security is not a listener change
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nsys_interval 1\n")).sys_interval_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nthreads 2\n")).threads_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\npid_file /run/p.pid\n")).pid_file_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nconnection_messages false\n")).connection_messages_changed);
  EXPECT_TRUE(diff_configs(a, parse_ok("listener 1883\nset_tcp_nodelay true\n")).tcp_nodelay_changed);
}

TEST(ConfigDiffTest, PerListenerSecurityChangeIsAListenerChange) {
  Config a = parse_ok("per_listener_settings true\nlistener 1883\n");
  Config b = parse_ok("per_listener_settings true\nlistener 1883\nallow_anonymous true\n");
  ConfigDiff d = diff_configs(a, b);
  EXPECT_FALSE(d.security_changed);
  ASSERT_EQ(d.listeners_changed.size(), 1u);
}

TEST(ConfigReload, AppliesLogAndLimitsLiveAndReportsListenerChanges) {
  Config running = parse_ok("listener 1883\nlog_type error\n");
  Config loaded = parse_ok("listener 1883\nlistener 1884\nlog_type all\nlog_dest stdout\nmax_keepalive 30\n");
  std::vector<std::string> not_applied;
  Config next = apply_reload(running, loaded, not_applied);
  EXPECT_EQ(next.log.levels, static_cast<uint32_t>(kLogAll));
  EXPECT_EQ(next.log.dests, static_cast<uint32_t>(kDestStdout));
  EXPECT_EQ(next.max_keepalive, 30);  // limits apply live
  EXPECT_EQ(next.listeners.size(), 1u);
  EXPECT_EQ(not_applied, (std::vector<std::string>{"listener added: port 1884 on all addresses; restart petrel to apply"}));
  EXPECT_FALSE(diff_configs(next, loaded).log_changed);
}

TEST(ConfigReload, NothingToDo) {
  Config running = parse_ok("listener 1883\n");
  std::vector<std::string> not_applied;
  Config next = apply_reload(running, running, not_applied);
  EXPECT_TRUE(not_applied.empty());
  EXPECT_TRUE(diff_configs(running, next).empty());
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
