// Topic name/filter validation and the reference matcher (protocol/topic.h). Lives with the
// broker tests because the trie tests cross-check against topic_matches().
#include "protocol/topic.h"

#include <gtest/gtest.h>

#include <string>

namespace petrel::protocol {
namespace {

TEST(TopicName, ValidNames_MQTT_4_7_3_1) {
  EXPECT_TRUE(valid_topic_name("a"));
  EXPECT_TRUE(valid_topic_name("/"));
  EXPECT_TRUE(valid_topic_name("a//b"));
  EXPECT_TRUE(valid_topic_name("/a/"));
  EXPECT_TRUE(valid_topic_name("$SYS/broker/uptime"));
  EXPECT_TRUE(valid_topic_name(" "));
  EXPECT_TRUE(valid_topic_name("$share/g/x"));  // a plain name as far as PUBLISH goes
  EXPECT_TRUE(valid_topic_name(std::string(65535, 'a')));
}

TEST(TopicName, RejectsEmptyWildcardsAndOversize_MQTT_3_3_2_2) {
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name("+"));
  EXPECT_FALSE(valid_topic_name("#"));
  EXPECT_FALSE(valid_topic_name("a/+"));
  EXPECT_FALSE(valid_topic_name("a/#"));
  EXPECT_FALSE(valid_topic_name("a+b"));
  EXPECT_FALSE(valid_topic_name("a#"));
  EXPECT_FALSE(valid_topic_name(std::string(65536, 'a')));
}

TEST(TopicFilter, ValidFilters_MQTT_4_7_1_2_and_3) {
  for (const char* f : {"#", "+", "a", "a/b", "a/#", "a/+", "+/+", "+/#", "a/+/b", "a/+/#",
                        "/", "//", "/#", "/+", "+/", "a//b", "$SYS/#", "$SYS/+", "$share",
                        "a/$share/b", "sport/tennis/player1/#"}) {
    EXPECT_TRUE(valid_topic_filter(f)) << f;
  }
  EXPECT_TRUE(valid_topic_filter(std::string(65535, 'a')));
}

TEST(TopicFilter, RejectsMisplacedWildcards_MQTT_4_7_1_2_and_3) {
  for (const char* f : {"", "a#", "#a", "a/#/b", "#/", "#/#", "a/b#", "a+", "+a", "a/+b",
                        "a/b+/c", "++", "##", "sport/tennis#"}) {
    EXPECT_FALSE(valid_topic_filter(f)) << f;
  }
  EXPECT_FALSE(valid_topic_filter(std::string(65536, 'a')));
}

TEST(TopicFilter, SharedRules_MQTT_4_8_2_1_and_2) {
  EXPECT_TRUE(valid_topic_filter("$share/g/a"));
  EXPECT_TRUE(valid_topic_filter("$share/g/#"));
  EXPECT_TRUE(valid_topic_filter("$share/g/+/x"));
  EXPECT_TRUE(valid_topic_filter("$share/g//"));
  EXPECT_TRUE(valid_topic_filter("$share/g/$SYS/x"));
  EXPECT_FALSE(valid_topic_filter("$share/"));
  EXPECT_FALSE(valid_topic_filter("$share/g"));
  EXPECT_FALSE(valid_topic_filter("$share/g/"));   // empty filter
  EXPECT_FALSE(valid_topic_filter("$share//a"));   // empty group
  EXPECT_FALSE(valid_topic_filter("$share/+/a"));  // wildcard in group
  EXPECT_FALSE(valid_topic_filter("$share/#/a"));
  EXPECT_FALSE(valid_topic_filter("$share/g+/a"));
  EXPECT_FALSE(valid_topic_filter("$share/g/a#"));  // the inner filter is checked too
  EXPECT_FALSE(valid_topic_filter("$share/g/#/a"));
}

TEST(TopicFilter, SplitShared) {
  std::string_view g, f;
  ASSERT_TRUE(split_shared("$share/grp/a/b/#", g, f));
  EXPECT_EQ(g, "grp");
  EXPECT_EQ(f, "a/b/#");
  ASSERT_TRUE(split_shared("$share//x", g, f));
  EXPECT_EQ(g, "");
  EXPECT_EQ(f, "x");
  ASSERT_TRUE(split_shared("$share/g/", g, f));
  EXPECT_EQ(g, "g");
  EXPECT_EQ(f, "");
  EXPECT_FALSE(split_shared("$share/g", g, f));
  EXPECT_FALSE(split_shared("$share", g, f));
  EXPECT_FALSE(split_shared("a/$share/g/x", g, f));
  EXPECT_FALSE(split_shared("$SHARE/g/x", g, f));
}

struct MatchCase {
  const char* filter;
  const char* topic;
  bool match;
};

// The reference table. SubscriptionTrie and the retained store are checked against the same
// cases in their own tests.
TEST(TopicMatches, Table_MQTT_4_7) {
  const MatchCase cases[] = {
      {"a", "a", true},          {"a", "b", false},          {"a", "a/b", false},
      {"a/b", "a", false},       {"#", "a", true},           {"#", "a/b/c", true},
      {"#", "/", true},          {"#", "/a", true},          {"+", "a", true},
      {"+", "a/b", false},       {"+", "/", false},          {"+/+", "/", true},
      {"+/+", "a/b", true},      {"+/+", "a", false},        {"+/+", "a/b/c", false},
      {"/+", "/a", true},        {"/+", "/", true},          {"+/", "a/", true},
      {"+/", "a", false},        {"a/#", "a", true},         {"a/#", "a/", true},
      {"a/#", "a/b/c", true},    {"a/#", "ab", false},       {"a/#", "b/a", false},
      {"a/+/#", "a/b", true},    {"a/+/#", "a/b/c/d", true}, {"a/+/#", "a", false},
      {"a/+/b", "a/x/b", true},  {"a/+/b", "a//b", true},    {"a/+/b", "a/x/y/b", false},
      {"a//b", "a//b", true},    {"a//b", "a/b", false},     {"a/b", "a//b", false},
      {"/", "/", true},          {"/", "", false},           {"//", "/", false},
      {"/a", "a", false},        {"a/", "a", false},         {"a/", "a/", true},
      {"/#", "/", true},         {"/#", "/x/y", true},       {"/#", "x", false},
      {"+/#", "/", true},        {"+/#", "a", true},         {"+/+/#", "a", false},
      // [MQTT-4.7.2-1] '$' topics and first-level wildcards.
      {"#", "$SYS/x", false},    {"+/x", "$SYS/x", false},   {"+", "$SYS", false},
      {"+/#", "$SYS/x", false},  {"$SYS/#", "$SYS/x", true}, {"$SYS/#", "$SYS", true},
      {"$SYS/+", "$SYS/x", true}, {"$SYS", "$SYS", true},    {"a/#", "a/$x", true},
      {"a/+", "a/$x", true},     {"x/#", "$x/y", false},
      // Case and byte exactness.
      {"A", "a", false},         {"a b", "a b", true},       {"ä/+", "ä/1", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.match) << c.filter << " vs " << c.topic;
  }
}

}  // namespace
}  // namespace petrel::protocol
