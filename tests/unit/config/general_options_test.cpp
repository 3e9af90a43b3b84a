// Global options: every supported one parses into Config, and bad values are refused with
// "option 'x': expected ..., got '...'".
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::has_warning;
using test::parse;
using test::parse_ok;

TEST(ConfigGeneral, DefaultsWhenEmpty) {
  Config c = parse_ok("");
  EXPECT_EQ(c.max_keepalive, 65535);
  EXPECT_EQ(c.max_packet_size, 0u);
  EXPECT_EQ(c.message_size_limit, 0u);
  EXPECT_EQ(c.max_inflight_messages, 20);
  EXPECT_EQ(c.max_inflight_bytes, 0u);
  EXPECT_EQ(c.max_queued_messages, 1000);
  EXPECT_EQ(c.max_queued_bytes, 0u);
  EXPECT_FALSE(c.queue_qos0_messages);
  EXPECT_EQ(c.max_qos, 2);
  EXPECT_TRUE(c.retain_available);
  EXPECT_EQ(c.max_topic_alias, 10);
  EXPECT_EQ(c.persistent_client_expiration, -1);
  EXPECT_EQ(c.sys_interval, 10u);
  EXPECT_FALSE(c.set_tcp_nodelay);
  EXPECT_TRUE(c.connection_messages);
  EXPECT_TRUE(c.pid_file.empty());
  EXPECT_EQ(c.threads, 0);
  EXPECT_FALSE(c.per_listener_settings);
  EXPECT_TRUE(c.security.allow_zero_length_clientid);
  EXPECT_EQ(c.security.auto_id_prefix, "auto-");
}

TEST(ConfigGeneral, IntegerOptionsParse) {
  Config c = parse_ok(
      "max_keepalive 120\n"
      "max_packet_size 1024\n"
      "message_size_limit 268435455\n"
      "max_inflight_messages 0\n"
      "max_inflight_bytes 5000000000\n"
      "max_queued_messages 5\n"
      "max_queued_bytes 1048576\n"
      "sys_interval 0\n"
      "threads 4\n");
  EXPECT_EQ(c.max_keepalive, 120);
  EXPECT_EQ(c.max_packet_size, 1024u);
  EXPECT_EQ(c.message_size_limit, 268435455u);
  EXPECT_EQ(c.max_inflight_messages, 0);
  EXPECT_EQ(c.max_inflight_bytes, 5000000000ull);
  EXPECT_EQ(c.max_queued_messages, 5);
  EXPECT_EQ(c.max_queued_bytes, 1048576u);
  EXPECT_EQ(c.sys_interval, 0u);
  EXPECT_EQ(c.threads, 4);
}

TEST(ConfigGeneral, BooleanOptionsParse) {
  Config c = parse_ok(
      "queue_qos0_messages true\n"
      "retain_available false\n"
      "set_tcp_nodelay true\n"
      "connection_messages false\n");
  EXPECT_TRUE(c.queue_qos0_messages);
  EXPECT_FALSE(c.retain_available);
  EXPECT_TRUE(c.set_tcp_nodelay);
  EXPECT_FALSE(c.connection_messages);
}

TEST(ConfigGeneral, BooleansAlsoTakeOneAndZeroLikeMosquitto) {
  Config c = parse_ok("set_tcp_nodelay 1\nretain_available 0\n");
  EXPECT_TRUE(c.set_tcp_nodelay);
  EXPECT_FALSE(c.retain_available);
}

TEST(ConfigGeneral, BadBoolean) {
  auto r = parse("retain_available yes\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'retain_available': expected true or false, got 'yes'"))
      << test::all_errors(r);
  r = parse("retain_available treu\n");
  EXPECT_TRUE(has_error(r, "got 'treu' (did you mean 'true'?)")) << test::all_errors(r);
  r = parse("retain_available TRUE\n");
  EXPECT_TRUE(has_error(r, "expected true or false, got 'TRUE'")) << test::all_errors(r);
}

struct RangeCase {
  const char* option;
  const char* bad;
  const char* expected;  // text that must appear in the error
};

class ConfigIntegerRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(ConfigIntegerRange, RefusedWithExpectedRange) {
  const auto& p = GetParam();
  auto r = parse(std::string(p.option) + " " + p.bad + "\n");
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_EQ(r.errors[0].option, p.option);
  std::string want = std::string("option '") + p.option + "': expected " + p.expected + ", got '" + p.bad + "'";
  EXPECT_EQ(r.errors[0].message, want);
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigIntegerRange,
    ::testing::Values(
        RangeCase{"max_keepalive", "65536", "an integer 0..65535"},
        RangeCase{"max_keepalive", "-1", "an integer 0..65535"},
        RangeCase{"max_keepalive", "ten", "an integer 0..65535"},
        RangeCase{"max_keepalive", "12abc", "an integer 0..65535"},
        RangeCase{"max_packet_size", "19", "0 (no limit) or an integer 20..268435460"},
        RangeCase{"max_packet_size", "268435461", "0 (no limit) or an integer 20..268435460"},
        RangeCase{"message_size_limit", "268435456", "an integer 0..268435455"},
        RangeCase{"max_inflight_messages", "65536", "an integer 0..65535 (0 = no limit)"},
        RangeCase{"max_inflight_bytes", "x", "an integer 0..9223372036854775807 (0 = no limit)"},
        RangeCase{"max_queued_messages", "2147483648", "an integer 0..2147483647 (0 = no limit)"},
        RangeCase{"max_queued_bytes", "1.5", "an integer 0..9223372036854775807 (0 = no limit)"},
        RangeCase{"sys_interval", "65536", "an integer 0..65535"},
        RangeCase{"threads", "-1", "an integer 0..1024"},
        RangeCase{"threads", "99999999999999999999", "an integer 0..1024"},
        RangeCase{"max_qos", "3", "an integer 0..2"},
        RangeCase{"max_qos", "x", "an integer 0..2"},
        RangeCase{"maximum_qos", "-1", "an integer 0..2"},
        RangeCase{"max_topic_alias", "65536", "an integer 0..65535"},
        RangeCase{"persistent_client_expiration", "10", "a duration such as 3600s, 12h, 14d, 2w, 6m or 1y"},
        RangeCase{"persistent_client_expiration", "0d", "a duration such as 3600s, 12h, 14d, 2w, 6m or 1y"},
        RangeCase{"persistent_client_expiration", "-1d", "a duration such as 3600s, 12h, 14d, 2w, 6m or 1y"},
        RangeCase{"persistent_client_expiration", "2x", "a duration such as 3600s, 12h, 14d, 2w, 6m or 1y"},
        RangeCase{"max_connections", "lots", "-1 (no limit) or an integer 0..2147483647"},
        RangeCase{"port", "65536", "a port 1..65535"},
        RangeCase{"port", "0", "a port 1..65535"}));

TEST(ConfigGeneral, MaxPacketSizeZeroMeansNoLimit) {
  EXPECT_EQ(parse_ok("max_packet_size 0\n").max_packet_size, 0u);
  EXPECT_EQ(parse_ok("max_packet_size 20\n").max_packet_size, 20u);
  EXPECT_EQ(parse_ok("max_packet_size 268435460\n").max_packet_size, 268435460u);
}

TEST(ConfigGeneral, NegativeUnlimitedCountsBecomeZeroWithWarningLikeMosquitto) {
  auto r = parse("max_queued_messages -1\nmax_inflight_messages -5\nmax_queued_bytes -1\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  EXPECT_EQ(r.config.max_queued_messages, 0);
  EXPECT_EQ(r.config.max_inflight_messages, 0);
  EXPECT_EQ(r.config.max_queued_bytes, 0u);
  EXPECT_TRUE(has_warning(r, "t.conf:1: option 'max_queued_messages': negative value -1 means no limit; using 0"))
      << test::all_warnings(r);
}

TEST(ConfigGeneral, PersistentClientExpirationUnits) {
  EXPECT_EQ(parse_ok("persistent_client_expiration 90s\n").persistent_client_expiration, 90);
  EXPECT_EQ(parse_ok("persistent_client_expiration 2h\n").persistent_client_expiration, 7200);
  EXPECT_EQ(parse_ok("persistent_client_expiration 14d\n").persistent_client_expiration, 14 * 86400);
  EXPECT_EQ(parse_ok("persistent_client_expiration 1w\n").persistent_client_expiration, 7 * 86400);
  EXPECT_EQ(parse_ok("persistent_client_expiration 2m\n").persistent_client_expiration, 60 * 86400);
  EXPECT_EQ(parse_ok("persistent_client_expiration 1y\n").persistent_client_expiration, 365 * 86400);
}

TEST(ConfigGeneral, MissingValue) {
  auto r = parse("max_keepalive\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "option 'max_keepalive': missing value (expected an integer 0..65535)");
  r = parse("pid_file   \n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'pid_file': missing value")) << test::all_errors(r);
  r = parse("retain_available\n");
  EXPECT_TRUE(has_error(r, "option 'retain_available': missing value (expected true or false)"));
}

TEST(ConfigGeneral, ExtraTokens) {
  auto r = parse("max_keepalive 60 70\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message,
            "option 'max_keepalive': unexpected extra value '70' (expected an integer 0..65535)");
  r = parse("set_tcp_nodelay true false\n");
  EXPECT_TRUE(has_error(r, "unexpected extra value 'false'"));
}

TEST(ConfigGeneral, TrailingCommentTokenAfterAWordValueIsAllowed) {
  Config c = parse_ok("max_keepalive 60 # one minute\n");
  EXPECT_EQ(c.max_keepalive, 60);
}

TEST(ConfigGeneral, StringValuesKeepSpaces) {
  Config c = parse_ok("pid_file /var/run/my petrel.pid\n");
  EXPECT_EQ(c.pid_file, "/var/run/my petrel.pid");
}

TEST(ConfigGeneral, DuplicateStringOptionIsAnErrorLikeMosquitto) {
  auto r = parse("pid_file /a\npid_file /b\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(test::all_errors(r), "t.conf:2: option 'pid_file': given more than once (first at t.conf:1)\n");
  EXPECT_EQ(r.config.pid_file, "/a");
}

TEST(ConfigGeneral, RepeatedNumericOptionLastWins) {
  EXPECT_EQ(parse_ok("sys_interval 5\nsys_interval 7\n").sys_interval, 7u);
}

TEST(ConfigGeneral, ObsoleteRetryIntervalIsAcceptedWithWarning) {
  auto r = parse("retry_interval 20\n");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(has_warning(r, "t.conf:1: option 'retry_interval': obsolete option, ignored"));
}

}  // namespace
}  // namespace petrel::config
