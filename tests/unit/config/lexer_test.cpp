// The mosquitto.conf lexer: comments, blanks, values with spaces, line numbers, UTF-8,
// and Mosquitto's include_dir file order.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/lexer.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

std::vector<Directive> lex(std::string_view text, std::vector<ConfigError>* errors_out = nullptr) {
  std::vector<ConfigError> errors;
  auto out = lex_config(text, "f.conf", errors);
  if (errors_out) *errors_out = errors;
  else EXPECT_TRUE(errors.empty());
  return out;
}

TEST(ConfigLexer, SkipsCommentsAndBlankLinesKeepingLineNumbers) {
  auto d = lex("# comment\n\n   \n  # indented comment\n\tport 1883\nsys_interval 5\n");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "port");
  EXPECT_EQ(d[0].line, 5);
  EXPECT_EQ(d[0].file, "f.conf");
  EXPECT_EQ(d[1].name, "sys_interval");
  EXPECT_EQ(d[1].line, 6);
  EXPECT_EQ(d[1].where(), "f.conf:6");
}

TEST(ConfigLexer, TrimsTrailingBlanksAndCarriageReturns) {
  auto d = lex("max_qos 1   \r\nlog_dest stderr\t\r\n");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].value, "1");
  ASSERT_EQ(d[0].tokens.size(), 1u);
  EXPECT_EQ(d[1].value, "stderr");
}

TEST(ConfigLexer, ValueKeepsInnerSpacesAndTokensSplitOnBlanks) {
  auto d = lex("log_timestamp_format   %Y-%m-%d %H:%M:%S\nlistener\t8883  ::1\n");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].value, "%Y-%m-%d %H:%M:%S");
  EXPECT_EQ(d[0].tokens, (std::vector<std::string>{"%Y-%m-%d", "%H:%M:%S"}));
  EXPECT_EQ(d[1].tokens, (std::vector<std::string>{"8883", "::1"}));
}

TEST(ConfigLexer, HashInsideAValueIsNotAComment) {
  auto d = lex("pid_file /tmp/a#b\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].value, "/tmp/a#b");
}

TEST(ConfigLexer, NameWithoutValue) {
  auto d = lex("listener\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].name, "listener");
  EXPECT_TRUE(d[0].value.empty());
  EXPECT_TRUE(d[0].tokens.empty());
}

TEST(ConfigLexer, LastLineWithoutNewline) {
  auto d = lex("port 1\nport 2");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].line, 2);
  EXPECT_EQ(d[1].value, "2");
}

TEST(ConfigLexer, SkipsUtf8ByteOrderMark) {
  auto d = lex("\xEF\xBB\xBFport 1883\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].name, "port");
}

TEST(ConfigLexer, ReportsInvalidUtf8WithLineAndContinues) {
  std::vector<ConfigError> errors;
  auto d = lex("port 1\npid_file /tmp/\xC3\x28\nsys_interval 3\n", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_EQ(format_error(errors[0]), "f.conf:2: line is not valid UTF-8 text");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].name, "sys_interval");
}

TEST(ConfigLexer, Utf8Validation) {
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(valid_utf8(std::string_view("a\0b", 3)));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xE2\x82"));          // truncated
}

TEST(ConfigLexer, IncludeOrderIsMosquittos) {
  // From mosquitto.conf(5): b.conf A.conf 01.conf a.conf B.conf 00.conf load as below.
  std::vector<std::string> names = {"b.conf", "A.conf", "01.conf", "a.conf", "B.conf", "00.conf"};
  std::sort(names.begin(), names.end(), [](const auto& x, const auto& y) { return include_order_less(x, y); });
  EXPECT_EQ(names, (std::vector<std::string>{"00.conf", "01.conf", "A.conf", "a.conf", "B.conf", "b.conf"}));
  EXPECT_TRUE(include_order_less("ab.conf", "abc.conf"));
  EXPECT_FALSE(include_order_less("a.conf", "a.conf"));
}

TEST(ConfigLexer, ListIncludeFilesOnlyConfFilesInOrder) {
  test::TempDir dir;
  dir.write("b.conf", "");
  dir.write("A.conf", "");
  dir.write("a.conf", "");
  dir.write("notes.txt", "");
  dir.write("x.conf.bak", "");
  dir.write("sub.conf/inner.conf", "");  // a directory named *.conf is skipped
  std::vector<std::string> files;
  std::string error;
  ASSERT_TRUE(list_include_files(dir.path(), files, error)) << error;
  EXPECT_EQ(files, (std::vector<std::string>{dir.path() + "/A.conf", dir.path() + "/a.conf", dir.path() + "/b.conf"}));
}

TEST(ConfigLexer, ListIncludeFilesMissingDirectory) {
  test::TempDir dir;
  std::vector<std::string> files;
  std::string error;
  EXPECT_FALSE(list_include_files(dir.path() + "/nope", files, error));
  EXPECT_NE(error.find("cannot open directory"), std::string::npos) << error;
}

}  // namespace
}  // namespace petrel::config
