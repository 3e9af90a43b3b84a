// JSON parse/print rules that make %J output match mosquitto_sub (cJSON) byte for byte.
#include <gtest/gtest.h>

#include "client/json.h"

namespace petrel::client::json {
namespace {

std::string roundtrip(std::string_view in, bool pretty = false) {
  auto v = parse(in);
  if (!v) return "<invalid>";
  std::string out;
  print(*v, pretty, out);
  return out;
}

TEST(Json, NumbersUse15Or17SignificantDigits) {
  EXPECT_EQ(roundtrip("1.50"), "1.5");
  EXPECT_EQ(roundtrip("1e10"), "10000000000");
  EXPECT_EQ(roundtrip("1e20"), "1e+20");
  EXPECT_EQ(roundtrip("-0"), "-0");
  EXPECT_EQ(roundtrip("0.30000000000000004"), "0.3");
  EXPECT_EQ(roundtrip("3.14159265358979323846"), "3.1415926535897931");
  EXPECT_EQ(roundtrip("1e309"), "null");
  EXPECT_EQ(roundtrip("01"), "1");
  EXPECT_EQ(roundtrip("1.e5"), "100000");
  EXPECT_EQ(roundtrip("1e-7"), "1e-07");
}

TEST(Json, StringsAndEscapes) {
  EXPECT_EQ(roundtrip("\"\\ud83d\\ude00\""), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(roundtrip("\"a\x01" "b\""), "\"a\\u0001b\"");
  EXPECT_EQ(roundtrip("\"\\b\\f\\n\\r\\t\\\"\\\\\\/\""), "\"\\b\\f\\n\\r\\t\\\"\\\\/\"");
  EXPECT_EQ(roundtrip("\"\\u0000x\""), "\"\"");
  EXPECT_EQ(roundtrip("\"\\ud83d\""), "<invalid>");
  EXPECT_EQ(roundtrip("\"\\x\""), "<invalid>");
  EXPECT_EQ(roundtrip("\"abc"), "<invalid>");
}

TEST(Json, StructureAndWhitespace) {
  EXPECT_EQ(roundtrip("\xef\xbb\xbf  {\"a\" : [ ] , \"a\":{}}\x01"), "{\"a\":[],\"a\":{}}");
  EXPECT_EQ(roundtrip("[1,]"), "<invalid>");
  EXPECT_EQ(roundtrip("{\"a\":1,}"), "<invalid>");
  EXPECT_EQ(roundtrip("[1,2]x"), "<invalid>");
  EXPECT_EQ(roundtrip("tru"), "<invalid>");
  EXPECT_EQ(roundtrip(" "), "<invalid>");
  EXPECT_EQ(roundtrip(std::string("{}\0", 3)), "<invalid>");
}

TEST(Json, PrettyPrintingUsesTabsAndCommaSpace) {
  EXPECT_EQ(roundtrip("{\"a\":[1,2,{\"b\":null}],\"e\":{},\"f\":[]}", true),
            "{\n\t\"a\":\t[1, 2, {\n\t\t\t\"b\":\tnull\n\t\t}],\n\t\"e\":\t{\n\t},\n\t\"f\":\t[]\n}");
}

}  // namespace
}  // namespace petrel::client::json
