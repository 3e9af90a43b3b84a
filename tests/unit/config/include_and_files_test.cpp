// parse_config_file and include_dir: Mosquitto's file order, errors reported at the real
// file:line inside included files, and the include rules.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::has_warning;
using test::TempDir;

TEST(ConfigFiles, ParsesAFile) {
  TempDir dir;
  std::string path = dir.write("petrel.conf", "# broker\nlistener 1883\nallow_anonymous true\n");
  ParseResult r = parse_config_file(path);
  EXPECT_TRUE(r.ok()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 1u);
  EXPECT_EQ(r.config.listeners[0].source, path + ":2");
  EXPECT_TRUE(r.config.security.allow_anonymous);
}

TEST(ConfigFiles, MissingFile) {
  TempDir dir;
  ParseResult r = parse_config_file(dir.path() + "/nope.conf");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_EQ(format_error(r.errors[0]).rfind(dir.path() + "/nope.conf: cannot open: ", 0), 0u)
      << format_error(r.errors[0]);
}

TEST(ConfigFiles, DirectoryInsteadOfFile) {
  TempDir dir;
  ParseResult r = parse_config_file(dir.path());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "is a directory, not a configuration file");
}

TEST(ConfigFiles, IncludeDirReadsConfFilesInMosquittoOrder) {
  TempDir dir;
  // Each file appends a listener, so the listener order shows the file order.
  dir.write("conf.d/b.conf", "listener 1006\n");
  dir.write("conf.d/B.conf", "listener 1005\n");
  dir.write("conf.d/a.conf", "listener 1004\n");
  dir.write("conf.d/A.conf", "listener 1003\n");
  dir.write("conf.d/01.conf", "listener 1002\n");
  dir.write("conf.d/00.conf", "listener 1001\n");
  dir.write("conf.d/README", "this is not a config file\n");
  std::string main = dir.write("main.conf", "listener 1000\ninclude_dir " + dir.path() + "/conf.d\nlistener 1007\n");
  ParseResult r = parse_config_file(main);
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(r.config.listeners[i].port, 1000 + i) << i;
  EXPECT_EQ(r.config.listeners[1].source, dir.path() + "/conf.d/00.conf:1");
}

TEST(ConfigFiles, IncludedFilesContinueTheCurrentListenerScope) {
  TempDir dir;
  dir.write("d/limits.conf", "max_connections 9\n");
  std::string main = dir.write("main.conf", "listener 1883\ninclude_dir " + dir.path() + "/d\n");
  ParseResult r = parse_config_file(main);
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners.at(0).max_connections, 9);
}

TEST(ConfigFiles, ErrorsInsideIncludedFilesHaveTheirOwnFileAndLine) {
  TempDir dir;
  std::string inc = dir.write("d/10-bad.conf", "# comment\n\nmax_qos 7\nlisener 1884\n");
  std::string main = dir.write("main.conf", "listener 1883\ninclude_dir " + dir.path() + "/d\nsys_interval x\n");
  ParseResult r = parse_config_file(main);
  ASSERT_EQ(r.errors.size(), 3u) << test::all_errors(r);
  EXPECT_EQ(format_error(r.errors[0]), inc + ":3: option 'max_qos': expected an integer 0..2, got '7'");
  EXPECT_EQ(format_error(r.errors[1]), inc + ":4: option 'lisener': unknown option (did you mean 'listener'?)");
  EXPECT_EQ(format_error(r.errors[2]), main + ":3: option 'sys_interval': expected an integer 0..65535, got 'x'");
}

TEST(ConfigFiles, IncludeDirInsideAnIncludedFileIsIgnoredWithWarning) {
  TempDir dir;
  dir.write("other/x.conf", "listener 2000\n");
  std::string inc = dir.write("d/a.conf", "include_dir " + dir.path() + "/other\n");
  std::string main = dir.write("main.conf", "listener 1883\ninclude_dir " + dir.path() + "/d\n");
  ParseResult r = parse_config_file(main);
  EXPECT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners.size(), 1u);
  EXPECT_TRUE(has_warning(r, inc + ":1: option 'include_dir': ignored")) << test::all_warnings(r);
}

TEST(ConfigFiles, IncludeDirMissingDirectory) {
  TempDir dir;
  std::string main = dir.write("main.conf", "include_dir " + dir.path() + "/missing\n");
  ParseResult r = parse_config_file(main);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_TRUE(has_error(r, "option 'include_dir': cannot open directory")) << test::all_errors(r);
}

TEST(ConfigFiles, IncludeDirMustNotHoldTheMainFile) {
  TempDir dir;
  std::string main = dir.write("main.conf", "include_dir " + dir.path() + "\n");
  ParseResult r = parse_config_file(main);
  EXPECT_TRUE(has_error(r, "the directory holds the main configuration file")) << test::all_errors(r);
}

TEST(ConfigFiles, IncludeDirWithoutValue) {
  auto r = test::parse("include_dir\n");
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'include_dir': missing value (expected a directory)"));
}

TEST(ConfigFiles, IncludeDirPathMayContainSpaces) {
  TempDir dir;
  dir.write("my dir/a.conf", "listener 1999\n");
  std::string main = dir.write("main.conf", "include_dir " + dir.path() + "/my dir\n");
  ParseResult r = parse_config_file(main);
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners.at(0).port, 1999);
}

TEST(ConfigFiles, OverridesReplaceTheMainFileText) {
  TempDir dir;
  std::string main = dir.write("main.conf", "listener 1000\n");
  ParseResult r = parse_config_file(main, {{main, "listener 2000\nmax_qos 7\n"}});
  ASSERT_EQ(r.config.listeners.size(), 1u);
  EXPECT_EQ(r.config.listeners[0].port, 2000);
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_EQ(r.errors[0].file, main);
  EXPECT_EQ(r.errors[0].line, 2);
}

TEST(ConfigFiles, OverridesStandForAMainFileThatDoesNotExist) {
  TempDir dir;
  std::string main = dir.path() + "/new.conf";
  ParseResult r = parse_config_file(main, {{main, "listener 2001\n"}});
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners.at(0).port, 2001);
}

TEST(ConfigFiles, OverridesReplaceAndAddIncludeDirFilesInIncludeOrder) {
  TempDir dir;
  std::string a = dir.write("d/a.conf", "listener 1001\n");
  dir.write("d/c.conf", "listener 1003\n");
  std::string main = dir.write("main.conf", "include_dir " + dir.path() + "/d\n");
  const std::string d = dir.path() + "/d/";
  ParseResult r = parse_config_file(main, {{a, "listener 1011\n"},
                                           {d + "b.conf", "listener 1002\nmax_qos 9\n"},  // not on disk yet
                                           {d + "sub/e.conf", "listener 1004\n"},           // not directly in d
                                           {d + "f.txt", "listener 1005\n"}});              // not *.conf
  ASSERT_EQ(r.config.listeners.size(), 3u);
  EXPECT_EQ(r.config.listeners[0].port, 1011);
  EXPECT_EQ(r.config.listeners[1].port, 1002);
  EXPECT_EQ(r.config.listeners[2].port, 1003);
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_EQ(format_error(r.errors[0]), d + "b.conf:2: option 'max_qos': expected an integer 0..2, got '9'");
}

TEST(ConfigFiles, WithoutOverridesTheOverloadReadsTheDisk) {
  TempDir dir;
  std::string main = dir.write("main.conf", "listener 1000\n");
  ParseResult r = parse_config_file(main, {});
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners.at(0).port, 1000);
}

}  // namespace
}  // namespace petrel::config
