// -F rendering golden outputs (the bytes mosquitto_sub 2.0.11 prints for the same message
// and format; the integration tests compare the two tools side by side).
#include <gtest/gtest.h>

#include <cstdlib>

#include "client/format.h"

namespace petrel::client {
namespace {

namespace pid = protocol::prop;

timespec fixed_time() { return timespec{1700000000, 123456789}; }  // 2023-11-14T22:13:20Z

class FormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    m.topic = "fmt/a";
    m.payload = "hello";
    m.qos = 1;
    m.retain = true;
    m.packet_id = 7;
    m.props = {{pid::kContentType, 0, {}, "ctype"},
               {pid::kResponseTopic, 0, {}, "rt/x"},
               {pid::kPayloadFormatIndicator, 1, {}, {}},
               {pid::kCorrelationData, 0, {}, "cd1"},
               {pid::kUserProperty, 0, "k", "v"},
               {pid::kMessageExpiryInterval, 3000, {}, {}},
               {pid::kUserProperty, 0, "k2", "v2"}};
    opts.v5 = true;
    opts.now = fixed_time;
  }
  std::string render(std::string_view f) {
    EXPECT_FALSE(check_format(f).has_value()) << f;
    std::string out, err;
    render_format(f, m, opts, out, err);
    return out;
  }
  Message m;
  FormatOptions opts;
};

TEST_F(FormatTest, MessageFields) {
  EXPECT_EQ(render("%t|%p|%x|%X|%l|%m|%q|%r|%%"), "fmt/a|hello|68656c6c6f|68656C6C6F|5|7|1|1|%");
}

TEST_F(FormatTest, Properties) {
  EXPECT_EQ(render("%A|%C|%D|%E|%F|%P|%R|%S"), "|ctype|cd1|3000|1|k:v k2:v2|rt/x|");
}

TEST_F(FormatTest, StringWidthPrecisionAndFlags) {
  EXPECT_EQ(render("[%10t][%-10t][%010t][%.2t][%5.2t][%-5.2t][%.0t]"),
            "[     fmt/a][fmt/a     ][     fmt/a][fm][   fm][fm   ][]");
  EXPECT_EQ(render("[%06C][%-6C][%6.1C][%7R][%-7R]"), "[ ctype][ctype ][     c][   rt/x][rt/x   ]");
}

TEST_F(FormatTest, PayloadWidthQuirks) {
  // Width caps the bytes printed (half of them for hex); '-' without width pads by length.
  EXPECT_EQ(render("[%8p][%-8p][%08p][%3p][%-p][%.2p]"), "[   hello][hello   ][000hello][hel][hello     ][hello]");
  EXPECT_EQ(render("[%12x][%-12x][%012x][%3.1x][%1x][%-x]"),
            "[        6865][6865        ][000000006865][ 68][ ][68656c6c6f     ]");
}

TEST_F(FormatTest, NumbersAndAbsentNumbers) {
  EXPECT_EQ(render("[%5l][%-5l][%05l][%3m][%03m][%5q][%3r]"), "[    5][5    ][00005][  7][007][1][1]");
  EXPECT_EQ(render("[%6E][%-6E][%06E][%.1E][%5A][%05A][%-5A][%05S]"),
            "[  3000][3000  ][003000][3000][     ][00000][     ][00000]");
}

TEST_F(FormatTest, AbsentResponseTopicPrintsNothingButAbsentContentTypePads) {
  m.props.clear();
  EXPECT_EQ(render("[%5C][%5R][%5P][%5D]"), "[     ][][][]");
}

TEST_F(FormatTest, EscapesAndTimeCodes) {
  EXPECT_EQ(render("\\\\|\\a|\\e|\\n|\\r|\\t|\\v|x"), std::string("\\|\a|\x1b|\n|\r|\t|\v|x"));
  EXPECT_EQ(render("a\\0b"), std::string("a\0b", 3));
  EXPECT_EQ(render("@Y-@m-@d @H:@M:@S|@@|@N|@q"), "2023-11-14 22:13:20|@|123456789|%q");
  EXPECT_EQ(render("%I|%.4I|%U"), "2023-11-14T22:13:20+0000|2023|1700000000.123456789");
}

TEST_F(FormatTest, JsonCompactAndPretty) {
  EXPECT_EQ(render("%j"),
            "{\"tst\":\"2023-11-14T22:13:20.123456Z+0000\",\"topic\":\"fmt/a\",\"qos\":1,\"retain\":1,"
            "\"payloadlen\":5,\"mid\":7,\"properties\":{\"content-type\":\"ctype\",\"response-topic\":\"rt/x\","
            "\"payload-format-indicator\":1,\"correlation-data\":\"cd1\",\"user-properties\":{\"k\":\"v\","
            "\"k2\":\"v2\"},\"message-expiry-interval\":3000},\"payload\":\"hello\"}");
  m.props.clear();
  m.qos = 0;
  m.payload = "{\"a\":[1,{\"b\":{}}]}";
  opts.pretty = true;
  EXPECT_EQ(render("%J"),
            "{\n\t\"tst\":\t\"2023-11-14T22:13:20.123456Z+0000\",\n\t\"topic\":\t\"fmt/a\",\n\t\"qos\":\t0,\n"
            "\t\"retain\":\t1,\n\t\"payloadlen\":\t18,\n\t\"payload\":\t{\n\t\t\"a\":\t[1, {\n\t\t\t\t\"b\":\t{\n"
            "\t\t\t\t}\n\t\t\t}]\n\t}\n}");
}

TEST_F(FormatTest, InvalidJsonPayloadReported) {
  m.payload = "not json";
  std::string out, err;
  render_format("[%J]", m, opts, out, err);
  EXPECT_EQ(out, "[]");
  EXPECT_EQ(err, "Error: Message payload is not valid JSON on topic fmt/a.\n");
}

TEST_F(FormatTest, EscapedJsonPayloadStopsAtNul) {
  m.props.clear();
  m.payload = std::string("a\"\x01\x7f\xc3\xa9\0rest", 9);
  std::string out, err;
  render_format("%j", m, opts, out, err);
  EXPECT_NE(out.find("\"payloadlen\":9,\"mid\":7,\"payload\":\"a\\\"\\u0001\x7f\xc3\xa9\"}"), std::string::npos) << out;
}

TEST(FormatCheck, ErrorsLikeMosquitto) {
  EXPECT_EQ(check_format("%z"), "Invalid format specifier 'z'.");
  EXPECT_EQ(check_format("abc%"), "Incomplete format specifier.");
  EXPECT_EQ(check_format("%-5"), "Incomplete format specifier.");
  EXPECT_EQ(check_format("%5.5"), "Incomplete format specifier.");
  EXPECT_EQ(check_format("%--5t"), "Invalid format specifier '-'.");
  EXPECT_EQ(check_format("@"), "Incomplete format specifier.");
  EXPECT_EQ(check_format("\\c"), "Invalid escape specifier 'c'.");
  EXPECT_EQ(check_format("x\\"), "Incomplete escape specifier.");
  EXPECT_FALSE(check_format("%-05l|%00005t|@5Y|\\0").has_value());
}

TEST(PlainOutput, DefaultVerboseAndNoEol) {
  Message m;
  m.topic = "t";
  m.payload = "p";
  std::string out;
  render_plain(m, false, true, out);
  render_plain(m, true, true, out);
  render_plain(m, true, false, out);
  m.payload.clear();
  render_plain(m, false, true, out);  // nothing at all
  render_plain(m, true, true, out);
  render_plain(m, true, false, out);  // nothing with -N
  EXPECT_EQ(out, "p\nt p\nt pt (null)\n");
}

}  // namespace
}  // namespace petrel::client
