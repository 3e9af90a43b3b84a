// log_type / log_dest (repeatable, first line replaces the default), timestamps, and
// Petrel's log_level with the router product's levels.
#include <gtest/gtest.h>

#include "common/log.h"
#include "config/product_log_level.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::has_warning;
using test::parse;
using test::parse_ok;

constexpr uint32_t kDefaultTypes = kLogError | kLogWarning | kLogNotice | kLogInfo;

TEST(ConfigLogging, Defaults) {
  Config c = parse_ok("");
  EXPECT_EQ(c.log.levels, kDefaultTypes);
  EXPECT_EQ(c.log.dests, static_cast<uint32_t>(kDestStderr));
  EXPECT_TRUE(c.log.timestamp);
  EXPECT_TRUE(c.log.timestamp_format.empty());
  EXPECT_FALSE(c.log_type_set);
}

TEST(ConfigLogging, FirstLogTypeReplacesTheDefaultThenAccumulates) {
  Config c = parse_ok("log_type error\nlog_type subscribe\n");
  EXPECT_EQ(c.log.levels, static_cast<uint32_t>(kLogError | kLogSubscribe));
  EXPECT_TRUE(c.log_type_set);
}

TEST(ConfigLogging, LogTypeAllNoneAndSeveralOnALine) {
  EXPECT_EQ(parse_ok("log_type all\n").log.levels, static_cast<uint32_t>(kLogAll));
  EXPECT_EQ(parse_ok("log_type all\nlog_type none\n").log.levels, static_cast<uint32_t>(kLogNone));
  EXPECT_EQ(parse_ok("log_type none\nlog_type debug\n").log.levels, static_cast<uint32_t>(kLogDebug));
  EXPECT_EQ(parse_ok("log_type warning notice # two\n").log.levels, static_cast<uint32_t>(kLogWarning | kLogNotice));
  EXPECT_EQ(parse_ok("log_type websockets\nlog_type unsubscribe\nlog_type information\n").log.levels,
            static_cast<uint32_t>(kLogWebsockets | kLogUnsubscribe | kLogInfo));
}

TEST(ConfigLogging, LogTypeErrors) {
  auto r = parse("log_type warnings\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'log_type': unknown log type 'warnings' (did you mean 'warning'?)"))
      << test::all_errors(r);
  r = parse("log_type\n");
  EXPECT_TRUE(has_error(r, "option 'log_type': missing value"));
  r = parse("log_type info\n");
  EXPECT_TRUE(has_error(r, "unknown log type 'info'"));
}

TEST(ConfigLogging, FirstLogDestReplacesTheDefaultThenAccumulates) {
  Config c = parse_ok("log_dest stdout\nlog_dest syslog\nlog_dest topic\n");
  EXPECT_EQ(c.log.dests, static_cast<uint32_t>(kDestStdout | kDestSyslog | kDestTopic));
  c = parse_ok("log_dest none\n");
  EXPECT_EQ(c.log.dests, static_cast<uint32_t>(kDestNone));
  c = parse_ok("log_dest stdout\nlog_dest none\nlog_dest stderr\n");
  EXPECT_EQ(c.log.dests, static_cast<uint32_t>(kDestStderr));
}

TEST(ConfigLogging, LogDestFileTakesTheRestOfTheLine) {
  Config c = parse_ok("log_dest file /var/log/my petrel/petrel.log\nlog_dest stderr\n");
  EXPECT_EQ(c.log.dests, static_cast<uint32_t>(kDestFile | kDestStderr));
  EXPECT_EQ(c.log.file_path, "/var/log/my petrel/petrel.log");
}

TEST(ConfigLogging, LogDestErrors) {
  auto r = parse("log_dest file\n");
  EXPECT_TRUE(has_error(r, "option 'log_dest': 'file' needs a path (log_dest file PATH)"));
  r = parse("log_dest file /a.log\nlog_dest file /b.log\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'log_dest': only one 'file' destination is allowed (already '/a.log')"));
  r = parse("log_dest sdterr\n");
  EXPECT_TRUE(has_error(r, "expected stdout|stderr|file PATH|syslog|topic|none, got 'sdterr' (did you mean 'stderr'?)"))
      << test::all_errors(r);
  r = parse("log_dest stdout stderr\n");
  EXPECT_TRUE(has_error(r, "unexpected extra value 'stderr' (one destination per line)"));
  r = parse("log_dest dlt\n");
  EXPECT_TRUE(has_error(r, "destination 'dlt' is not supported"));
}

TEST(ConfigLogging, Timestamps) {
  Config c = parse_ok("log_timestamp false\nlog_timestamp_format %Y-%m-%dT%H:%M:%S %z\n");
  EXPECT_FALSE(c.log.timestamp);
  EXPECT_EQ(c.log.timestamp_format, "%Y-%m-%dT%H:%M:%S %z");
  auto r = parse("log_timestamp maybe\n");
  EXPECT_TRUE(has_error(r, "option 'log_timestamp': expected true or false, got 'maybe'"));
}

TEST(ConfigLogging, ProductLogLevelMapping) {
  EXPECT_EQ(log_types_for(ProductLogLevel::kNone), static_cast<uint32_t>(kLogNone));
  EXPECT_EQ(log_types_for(ProductLogLevel::kError), static_cast<uint32_t>(kLogError));
  EXPECT_EQ(log_types_for(ProductLogLevel::kWarning), static_cast<uint32_t>(kLogError | kLogWarning));
  EXPECT_EQ(log_types_for(ProductLogLevel::kInformation), kDefaultTypes);
  EXPECT_EQ(log_types_for(ProductLogLevel::kDebug), static_cast<uint32_t>(kLogAll));
  EXPECT_EQ(parse_product_log_level("Information"), ProductLogLevel::kInformation);
  EXPECT_EQ(parse_product_log_level("DEBUG"), ProductLogLevel::kDebug);
  EXPECT_EQ(parse_product_log_level("info"), std::nullopt);
  EXPECT_EQ(product_log_level_name(ProductLogLevel::kWarning), "warning");
}

TEST(ConfigLogging, LogLevelOption) {
  Config c = parse_ok("log_level Warning\n");
  EXPECT_EQ(c.log.levels, static_cast<uint32_t>(kLogError | kLogWarning));
  EXPECT_TRUE(c.log_type_set);
  EXPECT_EQ(parse_ok("log_level none\n").log.levels, static_cast<uint32_t>(kLogNone));
  EXPECT_EQ(parse_ok("log_level debug\n").log.levels, static_cast<uint32_t>(kLogAll));
  EXPECT_EQ(parse_ok("log_level information\n").log.levels, kDefaultTypes);
}

TEST(ConfigLogging, LogLevelErrors) {
  auto r = parse("log_level verbose\n");
  EXPECT_TRUE(has_error(r, "option 'log_level': expected none|error|warning|information|debug, got 'verbose'"));
  r = parse("log_level warnin\n");
  EXPECT_TRUE(has_error(r, "(did you mean 'warning'?)"));
  r = parse("log_type error\nlog_level debug\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'log_level': cannot be combined with log_type (given at t.conf:1)"));
  r = parse("log_level debug\nlog_type error\n");
  EXPECT_TRUE(has_error(r, "t.conf:2: option 'log_type': cannot be combined with log_level (given at t.conf:1)"));
  r = parse("log_level debug\nlog_level error\n");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.log.levels, static_cast<uint32_t>(kLogError));
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'log_level': given again"));
}

TEST(ConfigLogging, LogFacilityIsLocal0To7) {
  EXPECT_EQ(parse_ok("log_dest syslog\nlog_facility 3\n").log.syslog_local, 3);
  EXPECT_EQ(parse_ok("log_dest syslog\n").log.syslog_local, -1);
  auto r = parse("log_facility 8\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'log_facility'")) << test::all_errors(r);
}

}  // namespace
}  // namespace petrel::config
