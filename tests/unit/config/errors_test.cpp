// Error reporting: unknown options with did-you-mean, not-supported-yet options, every
// error collected in order, and the one-line format.
#include <gtest/gtest.h>

#include "config/diagnostics.h"
#include "config/options.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::parse;
using test::has_warning;

TEST(ConfigErrors, FormatError) {
  EXPECT_EQ(format_error({"a.conf", 3, "option 'x': bad", "x"}), "a.conf:3: option 'x': bad");
  EXPECT_EQ(format_error({"a.conf", 0, "cannot open", ""}), "a.conf: cannot open");
}

TEST(ConfigErrors, UnknownOptionWithSuggestion) {
  auto r = parse("listner 1883\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(format_error(r.errors[0]), "t.conf:1: option 'listner': unknown option (did you mean 'listener'?)");
  EXPECT_EQ(r.errors[0].option, "listner");
}

TEST(ConfigErrors, DidYouMeanCoversCommonSlips) {
  EXPECT_TRUE(has_error(parse("allow_anonymus true\n"), "(did you mean 'allow_anonymous'?)"));
  EXPECT_TRUE(has_error(parse("max-inflight-messages 5\n"), "(did you mean 'max_inflight_messages'?)"));
  EXPECT_TRUE(has_error(parse("Max_Keepalive 5\n"), "(did you mean 'max_keepalive'?)"));
  EXPECT_TRUE(has_error(parse("sys_intervall 5\n"), "(did you mean 'sys_interval'?)"));
  EXPECT_TRUE(has_error(parse("lsitener 1883\n"), "(did you mean 'listener'?)"));  // transposition
}

TEST(ConfigErrors, UnknownOptionFarFromEverythingHasNoSuggestion) {
  auto r = parse("frobnicate_the_widgets on\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "option 'frobnicate_the_widgets': unknown option");
}

TEST(ConfigErrors, BridgeRequireOcspNeedsACertificateVerifiedRemote) {
  const std::string bridge = "connection b\naddress 127.0.0.1:8883\ntopic # out\n";
  auto r = parse(bridge + "bridge_cafile /etc/ssl/ca.pem\nbridge_require_ocsp true\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  ASSERT_EQ(r.config.bridges.size(), 1u);
  EXPECT_TRUE(r.config.bridges[0].require_ocsp);
  const auto no_ca = parse(bridge + "bridge_require_ocsp true\n");  // no CA: no TLS at all
  EXPECT_TRUE(has_error(no_ca, "bridge_require_ocsp")) << test::all_errors(no_ca);
  EXPECT_TRUE(has_error(no_ca, "without a CA the bridge does not use TLS")) << test::all_errors(no_ca);
  EXPECT_TRUE(has_error(parse(bridge + "bridge_identity id\nbridge_psk 00ff\nbridge_require_ocsp true\n"),
                        "uses PSK: there is no certificate to check with OCSP"));
  EXPECT_FALSE(parse(bridge + "bridge_require_ocsp maybe\n").errors.empty());
}

TEST(ConfigErrors, EnableControlApiIsABooleanThatDefaultsToFalse) {
  EXPECT_FALSE(parse("").config.enable_control_api);
  auto on = parse("enable_control_api true\n");
  EXPECT_TRUE(on.errors.empty()) << test::all_errors(on);
  EXPECT_TRUE(on.config.enable_control_api);
  EXPECT_FALSE(parse("enable_control_api maybe\n").errors.empty());
}

TEST(ConfigErrors, HttpDirIsAListenerPathThatNeedsWebsockets) {
  auto r = parse("listener 9001\nprotocol websockets\nhttp_dir /srv/www\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 1u);
  EXPECT_EQ(r.config.listeners[0].http_dir, "/srv/www");
  auto mqtt = parse("listener 1883\nhttp_dir /srv/www\n");
  EXPECT_TRUE(mqtt.errors.empty()) << test::all_errors(mqtt);
  EXPECT_TRUE(has_warning(mqtt, "t.conf:2: option 'http_dir': has no effect: this listener's protocol is not websockets"));
}

TEST(ConfigErrors, CheckRetainSourceIsABooleanThatDefaultsToFalse) {
  EXPECT_FALSE(parse("").config.check_retain_source);  // what Mosquitto 2.0 does (not its manual)
  auto off = parse("check_retain_source false\n");
  EXPECT_TRUE(off.errors.empty()) << test::all_errors(off);
  EXPECT_FALSE(off.config.check_retain_source);
  auto on = parse("check_retain_source true\n");
  EXPECT_TRUE(on.errors.empty()) << test::all_errors(on);
  EXPECT_TRUE(on.config.check_retain_source);
  auto bad = parse("check_retain_source maybe\n");
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_TRUE(format_error(bad.errors[0]).starts_with("t.conf:1: ")) << format_error(bad.errors[0]);
}

TEST(ConfigErrors, NoEffectOptionsAreAcceptedWithAWarningThatSaysWhy) {
  auto r = parse("allow_duplicate_messages true\nlistener 1883\npacket_buffer_size 8192\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  EXPECT_TRUE(has_warning(r, "t.conf:1: option 'allow_duplicate_messages': accepted, no effect in Petrel: Petrel always "
                             "sends a client one copy")) << test::all_warnings(r);
  EXPECT_TRUE(has_warning(r, "t.conf:3: option 'packet_buffer_size': accepted, no effect in Petrel"));
  // the value is still checked
  auto bad = parse("auth_plugin_deny_special_chars perhaps\nwebsockets_log_level -3\n");
  EXPECT_TRUE(has_error(bad, "t.conf:1: option 'auth_plugin_deny_special_chars'")) << test::all_errors(bad);
  EXPECT_TRUE(has_error(bad, "t.conf:2: option 'websockets_log_level'"));
}

TEST(ConfigErrors, RefusedOptionsSayWhyAndWhatToDoInstead) {
  auto r = parse("listener 8883\ntls_engine pkcs11\ntls_keyform engine\n");
  ASSERT_EQ(r.errors.size(), 2u) << test::all_errors(r);
  EXPECT_EQ(format_error(r.errors[0]),
            "t.conf:2: option 'tls_engine' is not available in Petrel: OpenSSL engines are deprecated in OpenSSL 3; "
            "give keyfile a PEM key (hardware keys: not supported)");
  EXPECT_TRUE(has_error(r, "t.conf:3: option 'tls_keyform': engine keys are not available in Petrel"));
  EXPECT_TRUE(parse("listener 8883\ntls_keyform pem\n").errors.empty());
}

TEST(ConfigErrors, EveryErrorIsCollectedInOrder) {
  auto r = parse(
      "max_qos 5\n"             // 1: range
      "lisener 1883\n"          // 2: unknown
      "enable_control_api on\n" // 3: bad bool
      "retain_available 2\n"    // 4: bad bool
      "listener 1883\n"         // 5: fine
      "max_keepalive\n"         // 6: missing value
      "sys_interval 1 2\n"      // 7: extra token
      "listener 1883\n");       // 8: duplicate (reported at the end, after parsing)
  ASSERT_EQ(r.errors.size(), 7u) << test::all_errors(r);
  std::vector<int> lines;
  for (const auto& e : r.errors) lines.push_back(e.line);
  EXPECT_EQ(lines, (std::vector<int>{1, 2, 3, 4, 6, 7, 8}));
  EXPECT_FALSE(r.ok());
}

TEST(ConfigErrors, EditDistance) {
  EXPECT_EQ(edit_distance("listener", "listener"), 0u);
  EXPECT_EQ(edit_distance("listner", "listener"), 1u);
  EXPECT_EQ(edit_distance("lsitener", "listener"), 1u);
  EXPECT_EQ(edit_distance("MAX-QOS", "max_qos"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(closest_match("zzzzzzzz", {"listener", "port"}), "");
  EXPECT_EQ(closest_match("prot", {"listener", "port"}), "port");
}

}  // namespace
}  // namespace petrel::config
