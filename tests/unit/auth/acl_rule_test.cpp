// ACL rule matching: wildcards, $-topics, %c/%u substitution, invalid filters.
#include <gtest/gtest.h>

#include "auth/acl_rule.h"

namespace petrel::auth {
namespace {

AclRule rule(std::string_view text, bool pattern = false) {
  AclRule r;
  std::string why;
  EXPECT_TRUE(AclRule::compile(text, pattern, kAclReadWrite, r, why)) << text << ": " << why;
  return r;
}

bool m(std::string_view r, std::string_view topic, bool pattern = false,
       std::string_view cid = "dev1", std::string_view user = "alice") {
  return rule(r, pattern).matches(topic, cid, user);
}

TEST(AclRule, Literals) {
  EXPECT_TRUE(m("a/b", "a/b"));
  EXPECT_FALSE(m("a/b", "a/b/c"));
  EXPECT_FALSE(m("a/b", "a"));
  EXPECT_FALSE(m("a/b", "a/c"));
  EXPECT_FALSE(m("a/b", "A/b"));
  EXPECT_TRUE(m("a/", "a/"));
  EXPECT_FALSE(m("a/", "a"));
  EXPECT_TRUE(m("/a", "/a"));
  EXPECT_FALSE(m("/a", "a"));
  EXPECT_TRUE(m("a b/c", "a b/c")) << "spaces are part of the topic";
}

TEST(AclRule, Plus) {
  EXPECT_TRUE(m("a/+", "a/b"));
  EXPECT_TRUE(m("a/+", "a/")) << "'+' matches an empty level";
  EXPECT_FALSE(m("a/+", "a"));
  EXPECT_FALSE(m("a/+", "a/b/c"));
  EXPECT_TRUE(m("+/+", "/"));
  EXPECT_TRUE(m("+/b/+", "x/b/y"));
  EXPECT_FALSE(m("+/b/+", "x/c/y"));
  EXPECT_TRUE(m("+", "abc"));
}

TEST(AclRule, Hash) {
  EXPECT_TRUE(m("#", "a"));
  EXPECT_TRUE(m("#", "a/b/c"));
  EXPECT_TRUE(m("#", "/"));
  EXPECT_TRUE(m("a/#", "a")) << "'#' also matches the parent level [MQTT-4.7.1-2]";
  EXPECT_TRUE(m("a/#", "a/b/c"));
  EXPECT_FALSE(m("a/#", "b/a"));
  EXPECT_FALSE(m("a/#", "ab"));
  EXPECT_TRUE(m("a/+/#", "a/b"));
  EXPECT_FALSE(m("a/+/#", "a"));
}

TEST(AclRule, DollarTopicsNeedDollarRules) {
  // [MQTT-4.7.2-1]: a wildcard first level does not match a '$' topic.
  EXPECT_FALSE(m("#", "$SYS/broker/uptime"));
  EXPECT_FALSE(m("+/broker/uptime", "$SYS/broker/uptime"));
  EXPECT_TRUE(m("$SYS/#", "$SYS/broker/uptime"));
  EXPECT_TRUE(m("$SYS/broker/+", "$SYS/broker/uptime"));
  EXPECT_FALSE(m("$SYS/#", "SYS/broker"));
  EXPECT_TRUE(m("a/$x", "a/$x")) << "'$' later in the topic is ordinary";
  EXPECT_TRUE(m("+/#", "a/$SYS"));
}

TEST(AclRule, PatternSubstitution) {
  EXPECT_TRUE(m("d/%c/#", "d/dev1/x", true));
  EXPECT_FALSE(m("d/%c/#", "d/dev2/x", true));
  EXPECT_TRUE(m("u/%u", "u/alice", true));
  EXPECT_FALSE(m("u/%u", "u/bob", true));
  EXPECT_TRUE(m("%u/%c", "alice/dev1", true));
  // Inside a level, as Mosquitto 2.0.11 does.
  EXPECT_TRUE(m("p/x%c", "p/xdev1", true));
  EXPECT_TRUE(m("p/%c-%u.log", "p/dev1-alice.log", true));
  EXPECT_FALSE(m("p/%c-%u.log", "p/dev1-alice.lo", true));
  EXPECT_FALSE(m("p/x%c", "p/dev1", true));
  EXPECT_TRUE(m("p/%c%c", "p/dev1dev1", true));
  EXPECT_TRUE(m("p/%x%%c", "p/%x%dev1", true)) << "only %c and %u are special";
}

TEST(AclRule, PatternValuesNeverSpanLevels) {
  // Mosquitto 2.0 lets client id "dev1/x" match "d/%c/#" inside dev1's tree; Petrel not.
  EXPECT_FALSE(m("d/%c/#", "d/dev1/x/y", true, "dev1/x"));
  EXPECT_FALSE(m("d/%c", "d/a/b", true, "a/b"));
  EXPECT_FALSE(m("u/%u", "u/a/b", true, "c", "a/b"));
}

TEST(AclRule, UsernamePatternsNeverMatchAnonymous) {
  EXPECT_FALSE(m("u/%u", "u/", true, "dev1", ""));
  EXPECT_FALSE(m("u/%u/#", "u/x", true, "dev1", ""));
  EXPECT_TRUE(m("c/%c", "c/dev1", true, "dev1", ""));
}

TEST(AclRule, TopicRulesTakePercentLiterally) {
  EXPECT_TRUE(m("w/%c", "w/%c"));
  EXPECT_FALSE(m("w/%c", "w/dev1"));
  AclRule r = rule("w/%c");
  EXPECT_FALSE(r.uses_client_id());
  EXPECT_TRUE(rule("w/%c", true).uses_client_id());
  EXPECT_TRUE(rule("w/%u", true).uses_username());
}

TEST(AclRule, RefusesInvalidFilters) {
  for (const char* bad : {"", "a/#/b", "a#", "a/b+", "+a", "a/#b", "##"}) {
    AclRule r;
    std::string why;
    EXPECT_FALSE(AclRule::compile(bad, false, kAclRead, r, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(AclRule, EmptyTopicNeverMatches) { EXPECT_FALSE(m("#", "")); }

}  // namespace
}  // namespace petrel::auth
