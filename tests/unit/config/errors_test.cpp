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

TEST(ConfigErrors, NotSupportedYetOptionsAreRefusedByName) {
  for (const char* line : {"enable_control_api true",
                           "bridge_require_ocsp true",
                           "http_dir /www",
                           "check_retain_source true"}) {
    auto r = parse(std::string(line) + "\n");
    std::string name = std::string(line).substr(0, std::string(line).find(' '));
    ASSERT_FALSE(r.errors.empty()) << line;
    EXPECT_TRUE(format_error(r.errors[0]).starts_with("t.conf:1: option '" + name + "' is not supported yet"))
        << format_error(r.errors[0]);
  }
}

TEST(ConfigErrors, NotSupportedYetOptionsAcceptTheValueThatAsksForNothing) {
  // What Petrel does already: no re-check of retained sources, no control API, no OCSP.
  auto r = parse("check_retain_source false\nenable_control_api false\nconnection b\naddress 127.0.0.1\n"
                 "topic # out\nbridge_require_ocsp false\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  auto t = parse("enable_control_api true\n");
  ASSERT_FALSE(t.errors.empty());
  EXPECT_EQ(format_error(t.errors[0]), "t.conf:1: option 'enable_control_api' is not supported yet (only "
                                       "'enable_control_api false' is accepted: what Petrel does)");
  EXPECT_FALSE(parse("check_retain_source maybe\n").errors.empty());  // the value is checked
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
      "http_dir /www\n"         // 3: not supported
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
