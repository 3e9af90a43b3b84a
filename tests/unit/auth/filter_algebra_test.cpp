// Topic filter intersection and cover, checked as tables and against brute force over a
// small universe of topics (the set a filter stands for is what it matches).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "auth/acl_rule.h"
#include "auth/filter_algebra.h"

namespace petrel::auth {
namespace {

// Does filter f match topic t? Via AclRule (the ACL matcher) with a `topic` rule.
bool matches(std::string_view f, std::string_view t) {
  AclRule r;
  std::string why;
  EXPECT_TRUE(AclRule::compile(f, false, kAclRead, r, why)) << f << ": " << why;
  return r.matches(t, "cid", "user");
}

struct Inter {
  const char* a;
  const char* b;
  const char* want;  // nullptr: disjoint
};

TEST(FilterAlgebra, IntersectionTable) {
  const Inter cases[] = {
      // literals
      {"a", "a", "a"},
      {"a", "b", nullptr},
      {"a/b", "a/b", "a/b"},
      {"a/b", "a/c", nullptr},
      {"a/b", "a", nullptr},
      {"a", "a/b", nullptr},
      {"a//b", "a/+/b", "a//b"},   // '+' matches an empty level
      {"/", "+/+", "/"},
      {"/#", "+", nullptr},        // would be the empty topic, which does not exist
      {"/#", "+/+", "/+"},
      {"/a", "+/a", "/a"},
      // '+'
      {"+", "a", "a"},
      {"a", "+", "a"},
      {"+", "+", "+"},
      {"+/b", "a/+", "a/b"},
      {"+/+", "a/b/c", nullptr},
      {"+/+/c", "a/+/+", "a/+/c"},
      {"+", "a/b", nullptr},
      // '#' holds its parent and any depth
      {"#", "a", "a"},
      {"#", "a/b/c", "a/b/c"},
      {"#", "+/+", "+/+"},
      {"#", "#", "#"},
      {"#", "a/#", "a/#"},
      {"a/#", "a", "a"},
      {"a/#", "a/b", "a/b"},
      {"a/#", "a/b/c/d", "a/b/c/d"},
      {"a/#", "b", nullptr},
      {"a/#", "b/#", nullptr},
      {"a/#", "+/b", "a/b"},
      {"a/#", "+", "a"},
      {"a/#", "+/#", "a/#"},
      {"a/#", "a/b/#", "a/b/#"},
      {"a/b/#", "+/+/c", "a/b/c"},
      {"a/b/#", "a", nullptr},       // "a/b/#" holds "a/b", not "a"
      {"a/b/#", "a/+", "a/b"},
      {"a/+/#", "+/b", "a/b"},
      {"a/+/#", "+/b/#", "a/b/#"},
      {"+/b/#", "a/+/c/#", "a/b/c/#"},
      {"a/+/c", "+/b/#", "a/b/c"},
      {"a/+/c", "+/x/d/#", nullptr},
      {"a/b", "a/b/#", "a/b"},
      // '$' topics only meet '$' filters
      {"#", "$SYS/#", nullptr},
      {"+/x", "$SYS/x", nullptr},
      {"$SYS/#", "#", nullptr},
      {"$SYS/#", "$SYS/broker/+", "$SYS/broker/+"},
      {"$SYS/+", "$SYS/a/b", nullptr},
      {"$SYS", "$SYS/#", "$SYS"},
      {"$SYS/#", "$share/#", nullptr},
      {"$x/+/y", "$x/a/#", "$x/a/y"},
  };
  for (const auto& c : cases) {
    auto got = filter_intersection(c.a, c.b);
    if (c.want) {
      ASSERT_TRUE(got.has_value()) << c.a << " ∩ " << c.b;
      EXPECT_EQ(*got, c.want) << c.a << " ∩ " << c.b;
    } else {
      EXPECT_FALSE(got.has_value()) << c.a << " ∩ " << c.b << " = " << got.value_or("");
    }
    // Symmetric.
    auto rev = filter_intersection(c.b, c.a);
    EXPECT_EQ(rev.has_value(), got.has_value()) << c.b << " ∩ " << c.a;
    if (rev && got) {
      EXPECT_EQ(*rev, *got) << c.b << " ∩ " << c.a;
    }
  }
}

struct Cover {
  const char* outer;
  const char* inner;
  bool want;
};

TEST(FilterAlgebra, CoverTable) {
  const Cover cases[] = {
      {"a", "a", true},
      {"a", "b", false},
      {"+", "a", true},
      {"+", "+", true},
      {"a", "+", false},
      {"+", "a/b", false},
      {"+", "#", false},
      {"+", "a/#", false},  // "a/#" holds "a/b"
      {"a/+", "a/#", false},  // "a/#" holds "a"
      {"#", "a", true},
      {"#", "a/b/c", true},
      {"#", "+/+/#", true},
      {"#", "#", true},
      {"#", "$SYS/x", false},
      {"$SYS/#", "$SYS/x", true},
      {"$SYS/#", "x", false},
      {"a/#", "a", true},
      {"a/#", "a/#", true},
      {"a/#", "a/+", true},
      {"a/#", "a/b/#", true},
      {"a/#", "+", false},
      {"a/#", "+/b", false},
      {"a/#", "#", false},
      {"a/b/#", "a/b", true},
      {"a/b/#", "a/#", false},
      {"a/b/#", "a/+/#", false},
      {"a/+/#", "a/b/#", true},
      {"a/+/#", "a/b", true},
      {"a/+/#", "a", false},
      {"+/+", "a/b", true},
      {"+/+", "a/b/c", false},
      {"a/b", "a/b/#", false},
      {"a//b", "a/+/b", false},
      {"a/+/b", "a//b", true},
      {"+/#", "#", true},    // "#" holds no topic shorter than one level
      {"+/#", "$x", false},
      {"+/+/#", "/#", true},  // "/#" holds "/" at least: "" is no topic
      {"+/+/#", "+/#", false},
      {"a/+/#", "+/#", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(filter_covers(c.outer, c.inner), c.want) << c.outer << " ⊇ " << c.inner;
  }
}

// Brute force over every topic of up to four levels from a small alphabet: the
// intersection holds exactly the topics both hold, and cover is set inclusion.
TEST(FilterAlgebra, AgreesWithMatchingOverSmallUniverse) {
  const std::vector<std::string> words = {"a", "b", "", "$x"};
  std::vector<std::string> topics;
  std::vector<std::string> frontier = {""};
  for (int depth = 1; depth <= 4; ++depth) {
    std::vector<std::string> next;
    for (const auto& prefix : frontier) {
      for (const auto& w : words) {
        if (depth > 1 && w == "$x") continue;  // '$' only matters at the front
        std::string t = depth == 1 ? w : prefix + "/" + w;
        next.push_back(t);
        if (!t.empty()) topics.push_back(t);
      }
    }
    frontier = std::move(next);
  }
  const std::vector<std::string> filters = {
      "#",     "+",       "a",       "b",     "a/#",   "+/#",   "+/+",     "a/+",   "+/a",
      "a/b",   "a/b/#",   "+/b/#",   "a/+/#", "+/+/+", "a/+/b", "a//b",   "/#",    "+/+/#",
      "$x",    "$x/#",    "$x/+",    "$x/a",  "a/b/a/b", "+/+/+/+", "a/+/+/#", "/", "/#",
      "/+",    "+/",      "//#",     "+/+/+/#", "",
  };
  for (const auto& a : filters) {
    if (a.empty()) continue;
    for (const auto& b : filters) {
      if (b.empty()) continue;
      auto inter = filter_intersection(a, b);
      bool any = false;
      bool covers = true;
      for (const auto& t : topics) {
        const bool ma = matches(a, t), mb = matches(b, t);
        if (ma && mb) any = true;
        if (mb && !ma) covers = false;
        if (inter) {
          EXPECT_EQ(matches(*inter, t), ma && mb) << a << " ∩ " << b << " = " << *inter << " on " << t;
        }
      }
      if (!inter) {
        EXPECT_FALSE(any) << a << " ∩ " << b << " said disjoint";
      }
      EXPECT_EQ(filter_covers(a, b), covers) << a << " ⊇ " << b;
    }
  }
}

TEST(AclRuleResolve, SubstitutesPatternsAndRefusesWhatCannotMatch) {
  AclRule r;
  std::string why, out;
  ASSERT_TRUE(AclRule::compile("dev/%c/x%u/#", true, kAclRead, r, why));
  ASSERT_TRUE(r.resolve("d1", "bob", out));
  EXPECT_EQ(out, "dev/d1/xbob/#");
  EXPECT_FALSE(r.resolve("d1", "", out)) << "%u never matches an anonymous client";
  EXPECT_FALSE(r.resolve("d/1", "bob", out)) << "a value with '/' matches no level";
  EXPECT_FALSE(r.resolve("d+", "bob", out));
  EXPECT_FALSE(r.resolve("d1", "b#", out));

  ASSERT_TRUE(AclRule::compile("%c/in", true, kAclRead, r, why));
  ASSERT_TRUE(r.resolve("d1", "", out));
  EXPECT_EQ(out, "d1/in");
  EXPECT_FALSE(r.resolve("$d1", "", out)) << "a rule not written with '$' matches no '$' topic";
  EXPECT_FALSE(r.matches("$d1/in", "$d1", "")) << "the same as matches()";

  ASSERT_TRUE(AclRule::compile("t/%c", false, kAclRead, r, why));  // topic rule: literal
  ASSERT_TRUE(r.resolve("d1", "", out));
  EXPECT_EQ(out, "t/%c");
}

}  // namespace
}  // namespace petrel::auth
