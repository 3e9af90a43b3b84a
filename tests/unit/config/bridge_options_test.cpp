// Bridge options (options_bridge.cpp): `connection` scoping, every option's values and
// errors (reported at file:line), the whole-bridge checks, bridge_topic_error(), Petrel's
// bridges_only and primary_* options, and bridges in ConfigDiff.
#include <gtest/gtest.h>

#include "config/diff.h"
#include "config/options.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::all_errors;
using test::all_warnings;
using test::has_error;
using test::has_warning;
using test::parse;
using test::parse_ok;

// A valid bridge on lines 1-3; a test's own lines start at line 4.
const std::string kBridge = "connection b1\naddress 10.0.0.1\ntopic a/#\n";

// Parses kBridge + `more`, expecting no error; returns the one bridge.
Bridge bridge_ok(const std::string& more) {
  Config c = parse_ok(kBridge + more);
  EXPECT_EQ(c.bridges.size(), 1u);
  return c.bridges.empty() ? Bridge{} : c.bridges[0];
}

// Parses kBridge + `more` and expects an error containing `needle`.
void expect_error(const std::string& more, const std::string& needle) {
  ParseResult r = parse(kBridge + more);
  EXPECT_TRUE(has_error(r, needle)) << "for:\n" << kBridge + more << "\nwanted: " << needle << "\ngot:\n" << all_errors(r);
}

// --------------------------------------------------------------------------------------
// Scope
// --------------------------------------------------------------------------------------

TEST(ConfigBridge, Defaults) {
  Config c = parse_ok(kBridge);
  ASSERT_EQ(c.bridges.size(), 1u);
  const Bridge& b = c.bridges[0];
  EXPECT_EQ(b.name, "b1");
  EXPECT_EQ(b.source, "t.conf:1");
  ASSERT_EQ(b.addresses.size(), 1u);
  EXPECT_EQ(b.addresses[0], (BridgeAddress{"10.0.0.1", 1883}));
  EXPECT_FALSE(b.round_robin);
  ASSERT_EQ(b.topics.size(), 1u);
  EXPECT_EQ(b.topics[0].pattern, "a/#");
  EXPECT_EQ(b.topics[0].direction, BridgeDirection::kOut);
  EXPECT_EQ(b.topics[0].qos, 0);
  EXPECT_EQ(b.topics[0].local_prefix, "");
  EXPECT_EQ(b.topics[0].remote_prefix, "");
  EXPECT_EQ(b.topics[0].source, "t.conf:3");
  EXPECT_EQ(b.protocol_version, 4);
  EXPECT_TRUE(b.try_private);
  EXPECT_FALSE(b.cleansession);
  EXPECT_FALSE(b.local_cleansession.has_value());
  EXPECT_EQ(b.keepalive_interval, 60);
  EXPECT_EQ(b.remote_clientid, "");
  EXPECT_EQ(b.local_clientid, "");
  EXPECT_FALSE(b.remote_username || b.remote_password || b.local_username || b.local_password);
  EXPECT_TRUE(b.notifications);
  EXPECT_EQ(b.notification_topic, "");
  EXPECT_FALSE(b.notifications_local_only);
  EXPECT_TRUE(b.attempt_unsubscribe);
  EXPECT_TRUE(b.outgoing_retain);
  EXPECT_EQ(b.max_packet_size, 0u);
  EXPECT_EQ(b.bind_address, "");
  EXPECT_EQ(b.restart_timeout_base, 5u);
  EXPECT_EQ(b.restart_timeout_cap, 30u);
  EXPECT_FALSE(b.restart_constant);
  EXPECT_EQ(b.start_type, BridgeStartType::kAutomatic);
  EXPECT_EQ(b.threshold, 10u);
  EXPECT_EQ(b.idle_timeout, 60u);
  EXPECT_TRUE(b.cafile.empty() && b.capath.empty() && b.certfile.empty() && b.keyfile.empty());
  EXPECT_FALSE(b.insecure);
  EXPECT_FALSE(b.tls_use_os_certs);
  EXPECT_EQ(b.tls_version, "");
  EXPECT_TRUE(b.identity.empty() && b.psk.empty());
  EXPECT_EQ(b.session_expiry_interval, 0u);
  EXPECT_EQ(b.receive_maximum, 20);
  EXPECT_EQ(b.max_topic_alias, 10);
  EXPECT_EQ(b.tcp_keepalive_idle, 0u);
  EXPECT_TRUE(b.reload_immediate);  // Petrel's default (Mosquitto 2.1's is lazy)
  EXPECT_EQ(b.primary_retry_interval, 20u);
  EXPECT_EQ(b.primary_holddown, 60u);
  // A bridge does not change the listeners: still Mosquitto's local-only pair.
  EXPECT_TRUE(c.local_only);
  EXPECT_EQ(c.listeners.size(), 2u);
  EXPECT_FALSE(c.bridges_only);
}

TEST(ConfigBridge, NoBridgesByDefault) {
  EXPECT_TRUE(parse_ok("").bridges.empty());
  EXPECT_TRUE(default_config().bridges.empty());
  EXPECT_FALSE(default_config().bridges_only);
}

TEST(ConfigBridge, OptionsApplyToTheLastConnection) {
  Config c = parse_ok(
      "connection one\n"
      "address one.example\n"
      "topic x/# in\n"
      "listener 1883\n"          // listener lines do not end the bridge section
      "max_qos 1\n"              // listener option: the listener
      "keepalive_interval 30\n"  // bridge option: still bridge 'one'
      "connection two\n"
      "address two.example:8883\n"
      "topic y/# both 2\n"
      "cleansession true\n");
  ASSERT_EQ(c.bridges.size(), 2u);
  EXPECT_EQ(c.bridges[0].name, "one");
  EXPECT_EQ(c.bridges[0].keepalive_interval, 30);
  EXPECT_FALSE(c.bridges[0].cleansession);
  EXPECT_EQ(c.bridges[1].name, "two");
  EXPECT_EQ(c.bridges[1].keepalive_interval, 60);
  EXPECT_TRUE(c.bridges[1].cleansession);
  EXPECT_EQ(c.bridges[1].source, "t.conf:7");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].max_qos, 1);
}

TEST(ConfigBridge, BridgeOptionBeforeAnyConnectionIsAnError) {
  for (const char* line : {"address 10.0.0.1", "topic a/#", "cleansession true", "remote_clientid x",
                           "restart_timeout 5", "bridge_cafile /ca.crt", "primary_holddown 5"}) {
    std::string name = std::string(line).substr(0, std::string(line).find(' '));
    auto r = parse("listener 1883\n" + std::string(line) + "\n");
    ASSERT_EQ(r.errors.size(), 1u) << line << "\n" << all_errors(r);
    EXPECT_EQ(format_error(r.errors[0]),
              "t.conf:2: option '" + name + "': must follow a 'connection' line (bridge options apply to the last "
              "'connection')") << line;
  }
}

TEST(ConfigBridge, ConnectionNameErrors) {
  auto r = parse("connection\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': missing value (expected a bridge name)")) << all_errors(r);
  r = parse("connection a b\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': unexpected extra value 'b'")) << all_errors(r);
  r = parse("connection a/#\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': bridge name 'a/#' must not contain '+' or '#'"));
  // A failed connection line still scopes the options after it (they do not reach the
  // previous bridge) and is dropped without further whole-bridge errors.
  r = parse(kBridge + "connection\ncleansession true\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  ASSERT_EQ(r.config.bridges.size(), 1u);
  EXPECT_FALSE(r.config.bridges[0].cleansession);
}

TEST(ConfigBridge, DuplicateConnectionNameNamesBothPlaces) {
  auto r = parse(kBridge + "connection b2\naddress h\ntopic x\nconnection b1\naddress h2\ntopic y\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(format_error(r.errors[0]), "t.conf:7: option 'connection': duplicate bridge name 'b1' (first at t.conf:1)");
  ASSERT_EQ(r.config.bridges.size(), 2u);
  EXPECT_EQ(r.config.bridges[0].addresses.size(), 1u);  // the duplicate's lines did not reach b1
}

TEST(ConfigBridge, IncludedFilesShareTheScope) {
  test::TempDir dir;
  dir.write("d/10-bridge.conf", "connection inc\naddress 10.0.0.2\ntopic t/# both 1\n");
  dir.write("d/20-more.conf", "cleansession true\n");  // still bridge 'inc' (the last connection)
  auto main = dir.write("main.conf", "listener 1883\ninclude_dir " + dir.path() + "/d\n");
  ParseResult r = parse_config_file(main);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config.bridges.size(), 1u);
  EXPECT_TRUE(r.config.bridges[0].cleansession);
  EXPECT_EQ(r.config.bridges[0].source, dir.path() + "/d/10-bridge.conf:1");
}

// --------------------------------------------------------------------------------------
// address / addresses / round_robin
// --------------------------------------------------------------------------------------

TEST(ConfigBridge, AddressForms) {
  Config c = parse_ok(
      "connection b\n"
      "address broker.example.com 10.0.0.1:1884\n"
      "addresses [::1]:8883 [fe80::1] ::1 2001:db8::5 # a comment\n"
      "address backup.example:1\n"
      "topic a\n");
  const auto& a = c.bridges.at(0).addresses;
  std::vector<BridgeAddress> want = {{"broker.example.com", 1883}, {"10.0.0.1", 1884}, {"::1", 8883},
                                     {"fe80::1", 1883},            {"::1", 1883},      {"2001:db8::5", 1883},
                                     {"backup.example", 1}};
  EXPECT_EQ(a, want);
}

TEST(ConfigBridge, BareIpv6WithPortSplitsAtTheLastColonAsMosquittoDoes) {
  Config c = parse_ok("connection b\naddress ::1:45813 2001:db8::1:8883 fe80::1:2\ntopic a\n");
  std::vector<BridgeAddress> want = {{"::1", 45813}, {"2001:db8::1", 8883}, {"fe80::1", 2}};
  EXPECT_EQ(c.bridges.at(0).addresses, want);
}

TEST(ConfigBridge, AddressErrors) {
  expect_error("address h:0\n", "t.conf:4: option 'address': 'h:0': expected a port 1..65535, got '0'");
  expect_error("address h:65536\n", "t.conf:4: option 'address': 'h:65536': expected a port 1..65535, got '65536'");
  expect_error("address h:x\n", "expected a port 1..65535, got 'x'");
  expect_error("address h:\n", "t.conf:4: option 'address': 'h:': missing port after ':'");
  expect_error("address :1883\n", "t.conf:4: option 'address': ':1883': missing host before ':'");
  expect_error("address [::1\n", "t.conf:4: option 'address': '[::1' has no closing ']'");
  expect_error("address [::1]1884\n", "'[::1]1884': expected ':PORT' after ']'");
  expect_error("address [::1]:\n", "'[::1]:': missing port after ':'");
  expect_error("address [host]:1884\n", "'[host]:1884': brackets must hold an IPv6 address");
  expect_error("address a:b:c\n", "'a:b:c' is neither HOST:PORT nor an IPv6 address");
  expect_error("address\n", "t.conf:4: option 'address': missing value (expected HOST[:PORT] ...)");
  expect_error("addresses ok:1 bad:0\n", "t.conf:4: option 'addresses': 'bad:0'");
}

TEST(ConfigBridge, RepeatedAddressLinesAppendAndDuplicatesWarn) {
  auto r = parse(kBridge + "address 10.0.0.2:1884\naddress 10.0.0.1\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.bridges[0].addresses.size(), 3u);
  EXPECT_TRUE(has_warning(r, "t.conf:5: option 'address': address '10.0.0.1' is listed more than once"))
      << all_warnings(r);
}

TEST(ConfigBridge, RoundRobin) {
  EXPECT_TRUE(bridge_ok("round_robin true\n").round_robin);
  EXPECT_FALSE(bridge_ok("round_robin false\n").round_robin);
  expect_error("round_robin maybe\n", "t.conf:4: option 'round_robin': expected true or false, got 'maybe'");
}

// --------------------------------------------------------------------------------------
// topic
// --------------------------------------------------------------------------------------

TEST(ConfigBridge, TopicForms) {
  Config c = parse_ok(
      "connection office\n"
      "address 10.0.0.1\n"
      "topic sensor/# out 1 local/ remote/office1/\n"
      "topic \"\" both 2 local/a remote/b\n"
      "topic # in\n"
      "topic cmd/+ BOTH 1 \"\" remote/\n"
      "topic x/y out 0 in/ \"\"\n"
      "topic # # everything, out, QoS 0\n"
      "topic a/b in 2 # trailing comment\n");
  const auto& t = c.bridges.at(0).topics;
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0], (BridgeTopic{"sensor/#", BridgeDirection::kOut, 1, "local/", "remote/office1/", "t.conf:3"}));
  EXPECT_EQ(t[1], (BridgeTopic{"", BridgeDirection::kBoth, 2, "local/a", "remote/b", "t.conf:4"}));
  EXPECT_EQ(t[2], (BridgeTopic{"#", BridgeDirection::kIn, 0, "", "", "t.conf:5"}));
  EXPECT_EQ(t[3], (BridgeTopic{"cmd/+", BridgeDirection::kBoth, 1, "", "remote/", "t.conf:6"}));
  EXPECT_EQ(t[4], (BridgeTopic{"x/y", BridgeDirection::kOut, 0, "in/", "", "t.conf:7"}));
  EXPECT_EQ(t[5], (BridgeTopic{"#", BridgeDirection::kOut, 0, "", "", "t.conf:8"}));
  EXPECT_EQ(t[6], (BridgeTopic{"a/b", BridgeDirection::kIn, 2, "", "", "t.conf:9"}));
}

TEST(ConfigBridge, TopicErrors) {
  expect_error("topic\n", "t.conf:4: option 'topic': missing value (expected PATTERN [in|out|both");
  expect_error("topic a sideways\n", "t.conf:4: option 'topic': expected a direction in, out or both, got 'sideways'");
  expect_error("topic a ot\n", "(did you mean 'out'?)");
  expect_error("topic a out 3\n", "t.conf:4: option 'topic': expected a QoS 0, 1 or 2, got '3'");
  expect_error("topic a out one\n", "expected a QoS 0, 1 or 2, got 'one'");
  expect_error("topic a out 1 local/\n",
               "t.conf:4: option 'topic': local prefix 'local/' needs a remote prefix after it (write \"\" for none)");
  expect_error("topic a out 1 l/ r/ extra\n", "t.conf:4: option 'topic': unexpected extra value 'extra'");
  expect_error("topic a out 1 a/+/ r/\n", "t.conf:4: option 'topic': local prefix 'a/+/' must not contain wildcards");
  expect_error("topic a out 1 l/ r/#\n", "t.conf:4: option 'topic': remote prefix 'r/#' must not contain wildcards");
  expect_error("topic a/#/b\n", "t.conf:4: option 'topic': pattern 'a/#/b' is not a valid subscription filter");
  expect_error("topic $share/g/a\n", "t.conf:4: option 'topic': pattern '$share/g/a' must not be a $share filter");
  expect_error("topic \"\" both 0\n", "t.conf:4: option 'topic': an empty pattern (\"\") needs both a local and a remote prefix");
  expect_error("topic \"\" both 0 \"\" r/b\n", "an empty pattern (\"\") needs both a local and a remote prefix");
  expect_error("topic # out 0 local remote/\n",
               "t.conf:4: option 'topic': local prefix 'local' + pattern '#' gives 'local#', not a valid "
               "subscription filter (end the prefix with '/')");
  // A bad topic line is not kept; the bridge still has its other topic.
  auto r = parse(kBridge + "topic a out 9\n");
  ASSERT_EQ(r.config.bridges.size(), 1u);
  EXPECT_EQ(r.config.bridges[0].topics.size(), 1u);
}

TEST(ConfigBridgeTopic, Rules) {
  auto err = [](std::string pattern, uint8_t qos, std::string local, std::string remote) {
    return bridge_topic_error(BridgeTopic{std::move(pattern), BridgeDirection::kOut, qos, std::move(local),
                                          std::move(remote), {}});
  };
  EXPECT_EQ(err("a/#", 0, "", ""), "");
  EXPECT_EQ(err("#", 2, "local/", "remote/office1/"), "");
  EXPECT_EQ(err("+/x", 1, "", "r/"), "");
  EXPECT_EQ(err("", 2, "local/a", "remote/b"), "");
  EXPECT_EQ(err("a", 0, "pre", "fix"), "");  // plain topics joined without '/' are still topics
  EXPECT_EQ(err("a", 3, "", ""), "QoS 3 is not 0, 1 or 2");
  EXPECT_EQ(err("a", 0, "a/+/", "r/"), "local prefix 'a/+/' must not contain wildcards");
  EXPECT_EQ(err("a", 0, "l/", "#"), "remote prefix '#' must not contain wildcards");
  EXPECT_EQ(err("a/#/b", 0, "", ""), "pattern 'a/#/b' is not a valid subscription filter");
  EXPECT_EQ(err("a+", 0, "", ""), "pattern 'a+' is not a valid subscription filter");
  EXPECT_EQ(err("$share/g/x", 0, "", ""), "pattern '$share/g/x' must not be a $share filter");
  EXPECT_EQ(err("$share/g", 0, "", ""), "pattern '$share/g' must not be a $share filter");
  EXPECT_EQ(err("", 0, "", ""),
            "an empty pattern (\"\") needs both a local and a remote prefix (they are then the whole topic names)");
  EXPECT_EQ(err("", 0, "l", ""), err("", 0, "", ""));
  EXPECT_EQ(err("+", 0, "r", "l/"),
            "local prefix 'r' + pattern '+' gives 'r+', not a valid subscription filter (end the prefix with '/')");
  EXPECT_EQ(err("#", 0, "l/", "r"),
            "remote prefix 'r' + pattern '#' gives 'r#', not a valid subscription filter (end the prefix with '/')");
  EXPECT_EQ(err("g/x", 0, "$share/", "r/"), "local prefix '$share/' + pattern 'g/x' gives '$share/g/x', a $share filter");
  // The whole-topic form subscribes to the prefixes themselves (found by the topic_map fuzzer).
  EXPECT_EQ(err("", 0, "$share/ac", "r/b"), "local prefix '$share/ac' is a $share filter");
  EXPECT_EQ(err("", 0, "l/a", "$share/g/t"), "remote prefix '$share/g/t' is a $share filter");
}

// --------------------------------------------------------------------------------------
// Every other option: happy paths
// --------------------------------------------------------------------------------------

TEST(ConfigBridge, SessionAndIdentityOptions) {
  Bridge b = bridge_ok(
      "bridge_protocol_version mqttv50\n"
      "try_private false\n"
      "cleansession true\n"
      "local_cleansession false\n"
      "keepalive_interval 120\n"
      "remote_clientid office-1\n"
      "local_clientid local-office\n"
      "remote_username user name\n"
      "remote_password pa ss\n"
      "local_username lu\n"
      "local_password lp\n"
      "notifications false\n"
      "notification_topic status/bridge\n"
      "notifications_local_only true\n"
      "bridge_attempt_unsubscribe false\n"
      "bridge_outgoing_retain false\n"
      "bridge_max_packet_size 1048576\n"
      "bridge_bind_address 192.168.1.2\n");
  EXPECT_EQ(b.protocol_version, 5);
  EXPECT_FALSE(b.try_private);
  EXPECT_TRUE(b.cleansession);
  ASSERT_TRUE(b.local_cleansession.has_value());
  EXPECT_FALSE(*b.local_cleansession);
  EXPECT_EQ(b.keepalive_interval, 120);
  EXPECT_EQ(b.remote_clientid, "office-1");
  EXPECT_EQ(b.local_clientid, "local-office");
  EXPECT_EQ(b.remote_username, "user name");  // the rest of the line, as Mosquitto reads it
  EXPECT_EQ(b.remote_password, "pa ss");
  EXPECT_EQ(b.local_username, "lu");
  EXPECT_EQ(b.local_password, "lp");
  EXPECT_FALSE(b.notifications);
  EXPECT_EQ(b.notification_topic, "status/bridge");
  EXPECT_TRUE(b.notifications_local_only);
  EXPECT_FALSE(b.attempt_unsubscribe);
  EXPECT_FALSE(b.outgoing_retain);
  EXPECT_EQ(b.max_packet_size, 1048576u);
  EXPECT_EQ(b.bind_address, "192.168.1.2");
}

TEST(ConfigBridge, OldNamesAreAliases) {
  Bridge b = bridge_ok("clientid c1\nusername u\npassword p\n");
  EXPECT_EQ(b.remote_clientid, "c1");
  EXPECT_EQ(b.remote_username, "u");
  EXPECT_EQ(b.remote_password, "p");
  // An alias and its other name are the same option: given twice.
  expect_error("clientid c1\nremote_clientid c2\n",
               "t.conf:5: option 'remote_clientid': given more than once for this bridge (first at t.conf:4)");
  expect_error("password p\nremote_password q\n", "t.conf:5: option 'remote_password': given more than once");
  // The same text option on two bridges is fine.
  Config c = parse_ok(kBridge + "remote_clientid x1\nconnection b2\naddress h\ntopic t\nremote_clientid x2\n");
  EXPECT_EQ(c.bridges.at(1).remote_clientid, "x2");
}

TEST(ConfigBridge, ProtocolVersions) {
  EXPECT_EQ(bridge_ok("bridge_protocol_version mqttv31\n").protocol_version, 3);
  EXPECT_EQ(bridge_ok("bridge_protocol_version mqttv311\n").protocol_version, 4);
  EXPECT_EQ(bridge_ok("bridge_protocol_version mqttv50\n").protocol_version, 5);
  expect_error("bridge_protocol_version mqttv5\n",
               "t.conf:4: option 'bridge_protocol_version': expected mqttv31|mqttv311|mqttv50, got 'mqttv5'");
}

TEST(ConfigBridge, KeepaliveInterval) {
  EXPECT_EQ(bridge_ok("keepalive_interval 65535\n").keepalive_interval, 65535);
  EXPECT_EQ(bridge_ok("keepalive_interval 5\n").keepalive_interval, 5);
  auto r = parse(kBridge + "keepalive_interval 2\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.bridges[0].keepalive_interval, 5);
  EXPECT_TRUE(has_warning(r, "t.conf:4: option 'keepalive_interval': keepalive 2 is below 5 seconds; using 5"));
  expect_error("keepalive_interval 0\n", "t.conf:4: option 'keepalive_interval': expected an integer 1..65535, got '0'");
  expect_error("keepalive_interval 65536\n", "expected an integer 1..65535, got '65536'");
}

TEST(ConfigBridge, BooleanErrors) {
  for (const char* name : {"try_private", "cleansession", "local_cleansession", "notifications",
                           "notifications_local_only", "bridge_attempt_unsubscribe", "bridge_outgoing_retain",
                           "bridge_insecure", "bridge_tls_use_os_certs"}) {
    expect_error(std::string(name) + " yes\n",
                 "t.conf:4: option '" + std::string(name) + "': expected true or false, got 'yes'");
  }
}

TEST(ConfigBridge, TextErrors) {
  expect_error("local_clientid\n", "t.conf:4: option 'local_clientid': missing value");
  expect_error("local_clientid a\nlocal_clientid b\n",
               "t.conf:5: option 'local_clientid': given more than once for this bridge (first at t.conf:4)");
  expect_error("notification_topic a/+/state\n",
               "t.conf:4: option 'notification_topic': 'a/+/state' is not a valid topic name (no '+' or '#')");
}

TEST(ConfigBridge, MaxPacketSize) {
  EXPECT_EQ(bridge_ok("bridge_max_packet_size 0\n").max_packet_size, 0u);
  EXPECT_EQ(bridge_ok("bridge_max_packet_size 20\n").max_packet_size, 20u);
  expect_error("bridge_max_packet_size 10\n",
               "t.conf:4: option 'bridge_max_packet_size': expected 0 (no limit) or an integer 20..268435460, got '10'");
  expect_error("bridge_max_packet_size -1\n", "got '-1'");
}

TEST(ConfigBridge, RestartTimeout) {
  Bridge b = bridge_ok("restart_timeout 10\n");
  EXPECT_TRUE(b.restart_constant);
  EXPECT_EQ(b.restart_timeout_base, 10u);
  EXPECT_EQ(b.restart_timeout_cap, 10u);
  b = bridge_ok("restart_timeout 2 120\n");
  EXPECT_FALSE(b.restart_constant);
  EXPECT_EQ(b.restart_timeout_base, 2u);
  EXPECT_EQ(b.restart_timeout_cap, 120u);
  b = bridge_ok("restart_timeout 7 7\n");
  EXPECT_FALSE(b.restart_constant);
  EXPECT_EQ(b.restart_timeout_cap, 7u);
  expect_error("restart_timeout 30 5\n", "t.conf:4: option 'restart_timeout': the backoff cap 5 is lower than the base 30");
  expect_error("restart_timeout 0\n",
               "t.conf:4: option 'restart_timeout': expected SECONDS, or BASE CAP (seconds, 1 or more), got '0'");
  expect_error("restart_timeout 5 0\n", "got '0'");
  expect_error("restart_timeout 1 2 3\n", "t.conf:4: option 'restart_timeout': unexpected extra value '3'");
  expect_error("restart_timeout\n", "t.conf:4: option 'restart_timeout': missing value");
}

TEST(ConfigBridge, StartTypeThresholdIdleTimeout) {
  EXPECT_EQ(bridge_ok("start_type automatic\n").start_type, BridgeStartType::kAutomatic);
  EXPECT_EQ(bridge_ok("start_type once\n").start_type, BridgeStartType::kOnce);
  Bridge b = bridge_ok("start_type lazy\nthreshold 100\nidle_timeout 300\n");
  EXPECT_EQ(b.start_type, BridgeStartType::kLazy);
  EXPECT_EQ(b.threshold, 100u);
  EXPECT_EQ(b.idle_timeout, 300u);
  expect_error("start_type manual\n", "t.conf:4: option 'start_type': start_type manual is not supported");
  expect_error("start_type lazzy\n",
               "t.conf:4: option 'start_type': expected automatic|lazy|once, got 'lazzy' (did you mean 'lazy'?)");
  expect_error("threshold 0\n", "t.conf:4: option 'threshold': expected an integer 1..4294967295, got '0'");
  expect_error("idle_timeout 0\n", "t.conf:4: option 'idle_timeout': expected an integer 1..4294967295, got '0'");
  // Without start_type lazy they do nothing: said as a warning.
  auto r = parse(kBridge + "threshold 5\n");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(has_warning(r, "t.conf:4: option 'threshold': has no effect: start_type is not lazy")) << all_warnings(r);
}

TEST(ConfigBridge, TlsCertificateOptions) {
  Bridge b = bridge_ok(
      "bridge_cafile /ca.crt\n"
      "bridge_capath /cas\n"
      "bridge_certfile /c.crt\n"
      "bridge_keyfile /c.key\n"
      "bridge_insecure true\n"
      "bridge_tls_version tlsv1.3\n"
      "bridge_ciphers ECDHE-RSA-AES128-GCM-SHA256\n"
      "bridge_ciphers_tls1.3 TLS_AES_128_GCM_SHA256\n"
      "bridge_alpn mqtt\n");
  EXPECT_EQ(b.cafile, "/ca.crt");
  EXPECT_EQ(b.capath, "/cas");
  EXPECT_EQ(b.certfile, "/c.crt");
  EXPECT_EQ(b.keyfile, "/c.key");
  EXPECT_TRUE(b.insecure);
  EXPECT_EQ(b.tls_version, "tlsv1.3");
  EXPECT_EQ(b.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(b.ciphers_tls13, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(b.alpn, "mqtt");
  b = bridge_ok("bridge_tls_use_os_certs true\nbridge_tls_version tlsv1.2\n");
  EXPECT_TRUE(b.tls_use_os_certs);
  EXPECT_EQ(b.tls_version, "tlsv1.2");
  auto r = parse(kBridge + "bridge_cafile /ca\nbridge_tls_version tlsv1.1\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.bridges[0].tls_version, "tlsv1.2");
  EXPECT_TRUE(has_warning(r, "t.conf:5: option 'bridge_tls_version': TLS 1.1 is obsolete"));
  expect_error("bridge_tls_version ssl3\n", "t.conf:4: option 'bridge_tls_version': expected tlsv1.3|tlsv1.2|tlsv1.1");
}

TEST(ConfigBridge, TlsOptionsWithoutTlsWarn) {
  auto r = parse(kBridge + "bridge_ciphers X\nbridge_alpn mqtt\nbridge_tls_version tlsv1.3\nbridge_ciphers_tls1.3 Y\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  for (const char* w : {"t.conf:4: option 'bridge_ciphers': has no effect: TLS is off for this bridge",
                        "t.conf:5: option 'bridge_alpn': has no effect", "t.conf:6: option 'bridge_tls_version': has no effect",
                        "t.conf:7: option 'bridge_ciphers_tls1.3': has no effect"}) {
    EXPECT_TRUE(has_warning(r, w)) << w << "\n" << all_warnings(r);
  }
  r = parse(kBridge + "bridge_psk 00ff\nbridge_identity id\nbridge_ciphers PSK-AES128-GCM-SHA256\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.warnings.empty()) << all_warnings(r);  // PSK turns TLS on
}

TEST(ConfigBridge, Psk) {
  Bridge b = bridge_ok("bridge_identity office1\nbridge_psk 00DEadbeef\n");
  EXPECT_EQ(b.identity, "office1");
  EXPECT_EQ(b.psk, "00DEadbeef");  // as written: leading zero bytes are part of the key
  expect_error("bridge_identity i\nbridge_psk 12xz\n", "t.conf:5: option 'bridge_psk': expected the key as hex digits, got '12xz'");
  // An odd number of digits has a leading 0, as Mosquitto reads a PSK key.
  EXPECT_EQ(bridge_ok("bridge_identity i\nbridge_psk abc\n").psk, "abc");
}

TEST(ConfigBridge, Mqtt5AndSocketOptions) {
  Bridge b = bridge_ok(
      "bridge_protocol_version mqttv50\n"
      "bridge_session_expiry_interval 4294967295\n"
      "bridge_receive_maximum 65535\n"
      "bridge_max_topic_alias 0\n"
      "bridge_tcp_keepalive 60 10 5\n"
      "bridge_reload_type lazy\n");
  EXPECT_EQ(b.session_expiry_interval, 4294967295u);
  EXPECT_EQ(b.receive_maximum, 65535);
  EXPECT_EQ(b.max_topic_alias, 0);
  EXPECT_EQ(b.tcp_keepalive_idle, 60u);
  EXPECT_EQ(b.tcp_keepalive_interval, 10u);
  EXPECT_EQ(b.tcp_keepalive_count, 5u);
  EXPECT_FALSE(b.reload_immediate);
  EXPECT_TRUE(bridge_ok("bridge_reload_type lazy\nbridge_reload_type immediate\n").reload_immediate);
  expect_error("bridge_session_expiry_interval -1\n",
               "t.conf:4: option 'bridge_session_expiry_interval': expected an integer 0..4294967295, got '-1'");
  expect_error("bridge_receive_maximum 0\n", "t.conf:4: option 'bridge_receive_maximum': expected an integer 1..65535, got '0'");
  expect_error("bridge_receive_maximum 65536\n", "expected an integer 1..65535, got '65536'");
  expect_error("bridge_max_topic_alias 65536\n",
               "t.conf:4: option 'bridge_max_topic_alias': expected an integer 0..65535, got '65536'");
  expect_error("bridge_tcp_keepalive 60 10\n", "t.conf:4: option 'bridge_tcp_keepalive': expected IDLE INTERVAL COUNT");
  expect_error("bridge_tcp_keepalive 0 10 5\n", "got '0'");
  expect_error("bridge_tcp_keepalive 60 0 5\n", "got '0'");
  expect_error("bridge_tcp_keepalive 60 10 0\n", "got '0'");
  expect_error("bridge_tcp_keepalive 60 10 128\n", "got '128'");
  expect_error("bridge_reload_type later\n", "t.conf:4: option 'bridge_reload_type': expected lazy|immediate, got 'later'");
  // MQTT 5 settings on an MQTT 3.1.1 bridge do nothing: said as a warning.
  auto r = parse(kBridge + "bridge_receive_maximum 5\n");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(has_warning(r, "t.conf:4: option 'bridge_receive_maximum': has no effect: MQTT 5 only")) << all_warnings(r);
}

TEST(ConfigBridge, TcpUserTimeout) {
  auto r = parse(kBridge + "bridge_tcp_user_timeout 5000\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.config.bridges.at(0).tcp_user_timeout_ms, 5000u);
  EXPECT_EQ(parse(kBridge).config.bridges.at(0).tcp_user_timeout_ms, 0u);
  auto bad = parse(kBridge + "bridge_tcp_user_timeout -1\n");
  ASSERT_EQ(bad.errors.size(), 1u) << all_errors(bad);
  EXPECT_NE(format_error(bad.errors[0]).find("t.conf:4: option 'bridge_tcp_user_timeout'"), std::string::npos);
}

// --------------------------------------------------------------------------------------
// Petrel's primary/backup options
// --------------------------------------------------------------------------------------

TEST(ConfigBridge, PrimaryRetryAndHolddown) {
  Bridge b = bridge_ok("address 10.0.0.9\nprimary_retry_interval 5\nprimary_holddown 0\n");
  EXPECT_EQ(b.primary_retry_interval, 5u);
  EXPECT_EQ(b.primary_holddown, 0u);
  expect_error("primary_retry_interval 0\n",
               "t.conf:4: option 'primary_retry_interval': expected an integer 1..4294967295, got '0'");
  expect_error("primary_holddown -1\n", "t.conf:4: option 'primary_holddown': expected an integer 0..4294967295, got '-1'");
  // No primary to return to: warnings.
  auto r = parse(kBridge + "primary_retry_interval 5\n");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(has_warning(r, "t.conf:4: option 'primary_retry_interval': has no effect: the bridge has a single address"))
      << all_warnings(r);
  r = parse(kBridge + "address 10.0.0.9\nround_robin true\nprimary_holddown 5\n");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(has_warning(r, "t.conf:6: option 'primary_holddown': has no effect: round_robin is true")) << all_warnings(r);
}

// --------------------------------------------------------------------------------------
// Whole-bridge checks (reported at the connection line)
// --------------------------------------------------------------------------------------

TEST(ConfigBridgeChecks, NeedsAnAddressAndATopic) {
  auto r = parse("listener 1883\nconnection b1\ncleansession true\n");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(format_error(r.errors[0]),
            "t.conf:2: option 'connection': bridge 'b1' has no address: add an 'address HOST[:PORT]' line");
  EXPECT_EQ(format_error(r.errors[1]),
            "t.conf:2: option 'connection': bridge 'b1' has no topic line: add at least one 'topic PATTERN ...' "
            "line (as Mosquitto requires)");
}

TEST(ConfigBridgeChecks, PskAndCertificatesTogether) {
  auto r = parse(kBridge + "bridge_cafile /ca\nbridge_identity id\nbridge_psk 0011\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': bridge 'b1' cannot use both certificates and PSK (as in "
                           "Mosquitto): bridge_cafile (t.conf:4) and bridge_identity (t.conf:5)"))
      << all_errors(r);
  r = parse(kBridge + "bridge_psk 0011\nbridge_identity id\nbridge_certfile /c\nbridge_keyfile /k\n");
  EXPECT_TRUE(has_error(r, "bridge_certfile (t.conf:6) and bridge_identity (t.conf:5)")) << all_errors(r);
}

TEST(ConfigBridgeChecks, PskNeedsBothHalves) {
  auto r = parse(kBridge + "bridge_identity id\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': bridge 'b1' has bridge_identity (t.conf:4) but no bridge_psk"))
      << all_errors(r);
  r = parse(kBridge + "bridge_psk 00\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': bridge 'b1' has bridge_psk (t.conf:4) but no bridge_identity"))
      << all_errors(r);
}

TEST(ConfigBridgeChecks, CertfileAndKeyfileGoTogether) {
  auto r = parse(kBridge + "bridge_cafile /ca\nbridge_certfile /c\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': bridge 'b1' has bridge_certfile (t.conf:5) but no bridge_keyfile"))
      << all_errors(r);
  r = parse(kBridge + "bridge_cafile /ca\nbridge_keyfile /k\n");
  EXPECT_TRUE(has_error(r, "bridge 'b1' has bridge_keyfile (t.conf:5) but no bridge_certfile")) << all_errors(r);
}

TEST(ConfigBridgeChecks, InsecureAndCertfileNeedACa) {
  auto r = parse(kBridge + "bridge_insecure true\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'connection': bridge 'b1' has bridge_insecure (t.conf:4) but needs "
                           "bridge_cafile, bridge_capath or bridge_tls_use_os_certs true: without a CA the bridge "
                           "does not use TLS (as in Mosquitto)"))
      << all_errors(r);
  r = parse(kBridge + "bridge_certfile /c\nbridge_keyfile /k\n");
  EXPECT_TRUE(has_error(r, "bridge 'b1' has bridge_certfile (t.conf:4) but needs bridge_cafile")) << all_errors(r);
  // Any CA source is enough; bridge_insecure false needs nothing.
  parse_ok(kBridge + "bridge_insecure true\nbridge_capath /cas\n");
  parse_ok(kBridge + "bridge_insecure true\nbridge_tls_use_os_certs true\n");
  parse_ok(kBridge + "bridge_certfile /c\nbridge_keyfile /k\nbridge_tls_use_os_certs true\n");
  parse_ok(kBridge + "bridge_insecure false\n");
}

TEST(ConfigBridgeChecks, LocalClientIdsMustBeUnique) {
  auto r = parse(kBridge + "local_clientid same\nconnection b2\naddress h\ntopic t\nlocal_clientid same\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(format_error(r.errors[0]),
            "t.conf:5: option 'connection': bridge 'b2' has the same local client id 'same' as bridge 'b1' at "
            "t.conf:1: set local_clientid on one of them");
  // The same remote client id gives the same default local client id.
  r = parse(kBridge + "remote_clientid r\nconnection b2\naddress h\ntopic t\nremote_clientid r\n");
  EXPECT_TRUE(has_error(r, "bridge 'b2' has the same local client id 'local.r' as bridge 'b1'")) << all_errors(r);
  // Defaults differ by bridge name.
  parse_ok(kBridge + "connection b2\naddress h\ntopic t\n");
}

TEST(ConfigBridgeChecks, FailedBridgesAreDropped) {
  auto r = parse(kBridge + "connection b2\ntopic t\n");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.config.bridges.size(), 2u);  // reported, kept for --test-config; the config is not used
  r = parse(kBridge + "connection b1\naddress h\ntopic t\n");
  ASSERT_EQ(r.config.bridges.size(), 1u);  // the duplicate name is dropped
  EXPECT_EQ(r.config.bridges[0].source, "t.conf:1");
}

// --------------------------------------------------------------------------------------
// The router product's configuration
// --------------------------------------------------------------------------------------

TEST(ConfigBridge, RouterExample) {
  Config c = parse_ok(
      "listener 1883\n"
      "allow_anonymous true\n"
      "connection office1\n"
      "addresses mqtt.example.com:8883 backup.example.com:8883\n"
      "round_robin false\n"
      "primary_retry_interval 30\n"
      "primary_holddown 120\n"
      "bridge_protocol_version mqttv311\n"
      "remote_clientid router-office1\n"
      "remote_username office1\n"
      "remote_password secret\n"
      "bridge_cafile /etc/petrel/ca.crt\n"
      "bridge_certfile /etc/petrel/router.crt\n"
      "bridge_keyfile /etc/petrel/router.key\n"
      "cleansession false\n"
      "keepalive_interval 30\n"
      "restart_timeout 5 60\n"
      "topic sensor/# out 1 local/ remote/office1/\n"
      "topic \"\" both 2 local/a remote/b\n"
      "topic cmd/# in 1 \"\" office1/\n");
  ASSERT_EQ(c.bridges.size(), 1u);
  const Bridge& b = c.bridges[0];
  ASSERT_EQ(b.addresses.size(), 2u);
  EXPECT_EQ(b.addresses[0], (BridgeAddress{"mqtt.example.com", 8883}));
  EXPECT_EQ(b.addresses[1], (BridgeAddress{"backup.example.com", 8883}));
  EXPECT_EQ(b.primary_retry_interval, 30u);
  EXPECT_EQ(b.primary_holddown, 120u);
  EXPECT_EQ(b.topics.size(), 3u);
  EXPECT_EQ(b.restart_timeout_cap, 60u);
}

// --------------------------------------------------------------------------------------
// bridges_only
// --------------------------------------------------------------------------------------

TEST(ConfigBridgesOnly, NoListeners) {
  auto r = parse("bridges_only true\n" + kBridge);
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.warnings.empty()) << all_warnings(r);
  EXPECT_TRUE(r.config.bridges_only);
  EXPECT_TRUE(r.config.listeners.empty());
  EXPECT_FALSE(r.config.local_only);
  EXPECT_EQ(r.config.bridges.size(), 1u);
  // The option may come anywhere.
  EXPECT_TRUE(parse_ok(kBridge + "bridges_only true\n").listeners.empty());
  // false is the default behaviour.
  Config c = parse_ok("bridges_only false\n" + kBridge);
  EXPECT_FALSE(c.bridges_only);
  EXPECT_EQ(c.listeners.size(), 2u);
  EXPECT_TRUE(c.local_only);
}

// The router product's "Enable MQTT Broker" unchecked: the broker's listener settings stay
// in the file, not opened, so checking the box again brings them back.
TEST(ConfigBridgesOnly, ExplicitListenersAreKeptButNotOpened) {
  auto r = parse("bridges_only true\n" + kBridge + "listener 1883\nport 1884\nbind_address 127.0.0.1\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config.listeners.empty());
  EXPECT_TRUE(has_warning(r, "t.conf:5: option 'listener': not opened: bridges_only true (t.conf:1) opens no MQTT listener"))
      << all_warnings(r);
  EXPECT_TRUE(has_warning(r, "t.conf:6: option 'port': not opened")) << all_warnings(r);
  EXPECT_TRUE(has_warning(r, "t.conf:7: option 'bind_address': not opened")) << all_warnings(r);
}

TEST(ConfigBridgesOnly, WithoutBridgesWarns) {
  auto r = parse("bridges_only true\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(has_warning(r, "t.conf:1: option 'bridges_only': no bridge is configured")) << all_warnings(r);
}

TEST(ConfigBridgesOnly, DefaultListenerOptionsHaveNoEffect) {
  auto r = parse("bridges_only true\nmax_qos 1\n" + kBridge);
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'max_qos': has no effect: bridges_only true (t.conf:1) opens no listener"))
      << all_warnings(r);
}

TEST(ConfigBridgesOnly, PortOverrideIgnored) {
  Config c = parse_ok("bridges_only true\n" + kBridge);
  auto warnings = apply_port_override(c, {1884});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "-p ignored: bridges_only true opens no listener");
  EXPECT_TRUE(c.listeners.empty());
}

// --------------------------------------------------------------------------------------
// Reload
// --------------------------------------------------------------------------------------

TEST(ConfigBridgeDiff, AddedRemovedChangedByName) {
  Config a = parse_ok("listener 1883\n" + kBridge + "connection b2\naddress h\ntopic t\n");
  Config b = parse_ok("listener 1883\nconnection b3\naddress h3\ntopic t\n"
                      "connection b2\naddress h\ntopic t\ncleansession true\n");
  ConfigDiff d = diff_configs(a, b);
  EXPECT_EQ(d.bridges_added, std::vector<std::string>{"b3"});
  EXPECT_EQ(d.bridges_removed, std::vector<std::string>{"b1"});
  EXPECT_EQ(d.bridges_changed, std::vector<std::string>{"b2"});
  EXPECT_FALSE(d.empty());
  EXPECT_EQ(d.describe(), (std::vector<std::string>{"bridge added: b3", "bridge removed: b1",
                                                     "bridge b2: cleansession: false -> true"}));
}

TEST(ConfigBridgeDiff, MovedLinesAreNotAChange) {
  Config a = parse_ok("listener 1883\n" + kBridge);
  Config b = parse_ok("# moved\n\nlistener 1883\n\n" + kBridge);
  EXPECT_NE(a.bridges[0].source, b.bridges[0].source);
  EXPECT_TRUE(same_bridge_settings(a.bridges[0], b.bridges[0]));
  EXPECT_TRUE(diff_configs(a, b).empty()) << ::testing::PrintToString(diff_configs(a, b).describe());
  // A topic's settings do count.
  Config c = parse_ok("listener 1883\nconnection b1\naddress 10.0.0.1\ntopic a/# out 1\n");
  EXPECT_FALSE(same_bridge_settings(a.bridges[0], c.bridges[0]));
}

TEST(ConfigBridgeDiff, BridgesOnlyClosesTheListeners) {
  Config running = parse_ok(kBridge);
  Config loaded = parse_ok("bridges_only true\n" + kBridge + "cleansession true\n");
  ConfigDiff d = diff_configs(running, loaded);
  EXPECT_EQ(d.listeners_removed.size(), running.listeners.size());  // the local-only pair
  EXPECT_EQ(d.bridges_changed, std::vector<std::string>{"b1"});
  bool flagged = false;
  for (const auto& c : d.changes) flagged = flagged || (c.option == "bridges_only" && c.after == "true");
  EXPECT_TRUE(flagged);
}

}  // namespace
}  // namespace petrel::config
