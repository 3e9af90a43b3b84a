// ACL files: Mosquitto 2.0's format and decision order. Expectations marked "2.0.11" were
// checked against Debian's mosquitto 2.0.11 with the same file.
#include <gtest/gtest.h>

#include "auth/acl_file.h"
#include "temp_dir.h"

namespace petrel::auth {
namespace {

using broker::Access;

AclFile acl(std::string_view text) {
  auto f = AclFile::parse(text, "acl");
  EXPECT_TRUE(f) << f.error().message;
  return f ? std::move(f).value() : AclFile{};
}

bool can(const AclFile& a, std::string_view user, std::string_view topic, Access access,
         std::string_view cid = "cid") {
  return a.allowed(cid, user, topic, access);
}

constexpr auto R = Access::kRead;
constexpr auto W = Access::kWrite;
constexpr auto S = Access::kSubscribe;

TEST(AclFile, AccessKinds) {
  AclFile a = acl(
      "user u\n"
      "topic read r/#\n"
      "topic write w/#\n"
      "topic readwrite rw/#\n"
      "topic both/#\n");  // no access word: readwrite
  EXPECT_TRUE(can(a, "u", "r/x", R));
  EXPECT_FALSE(can(a, "u", "r/x", W));
  EXPECT_FALSE(can(a, "u", "w/x", R));
  EXPECT_TRUE(can(a, "u", "w/x", W));
  EXPECT_TRUE(can(a, "u", "rw/x", R));
  EXPECT_TRUE(can(a, "u", "rw/x", W));
  EXPECT_TRUE(can(a, "u", "both/x", R));
  EXPECT_TRUE(can(a, "u", "both/x", W));
  EXPECT_FALSE(can(a, "u", "other", R));
  EXPECT_FALSE(can(a, "u", "other", W));
}

TEST(AclFile, UserSectionsAndAnonymous) {
  AclFile a = acl(
      "# anonymous clients\n"
      "topic read public/#\n"
      "user alice\n"
      "topic alice/#\n"
      "user bob\n"
      "topic bob/#\n"
      "user alice\n"          // a second section adds to the first
      "topic shared/#\n");
  EXPECT_TRUE(can(a, "", "public/x", R));
  EXPECT_FALSE(can(a, "", "public/x", W));
  EXPECT_FALSE(can(a, "", "alice/x", R));
  EXPECT_TRUE(can(a, "alice", "alice/x", W));
  EXPECT_TRUE(can(a, "alice", "shared/x", R));
  EXPECT_FALSE(can(a, "alice", "bob/x", R));
  EXPECT_FALSE(can(a, "alice", "public/x", R)) << "anonymous rules are not for users";
  EXPECT_TRUE(can(a, "bob", "bob/x", R));
  EXPECT_FALSE(can(a, "bob", "shared/x", R));
  EXPECT_FALSE(can(a, "carol", "public/x", R)) << "an unlisted user has no topic rules";
  EXPECT_TRUE(a.names_user("alice"));
  EXPECT_TRUE(a.names_user("bob"));
  EXPECT_FALSE(a.names_user("carol"));
  EXPECT_FALSE(a.names_user(""));
}

TEST(AclFile, UserWithoutRulesIsNamed) {
  AclFile a = acl("user lonely\n");
  EXPECT_TRUE(a.names_user("lonely"));
  EXPECT_FALSE(can(a, "lonely", "x", R));
}

TEST(AclFile, DenyBeforeGrantWhateverTheOrder) {
  AclFile a = acl(
      "user u\n"
      "topic readwrite a/#\n"
      "topic deny a/secret\n"
      "topic deny b/+\n"
      "topic read b/#\n");
  EXPECT_TRUE(can(a, "u", "a/open", W));
  EXPECT_FALSE(can(a, "u", "a/secret", R));  // 2.0.11
  EXPECT_FALSE(can(a, "u", "a/secret", W));
  EXPECT_TRUE(can(a, "u", "a/secret/below", R));
  EXPECT_FALSE(can(a, "u", "b/x", R));
  EXPECT_TRUE(can(a, "u", "b/x/y", R));
}

TEST(AclFile, PatternsApplyToEveryone) {
  AclFile a = acl(
      "user alice\n"
      "pattern readwrite devices/%c/#\n"  // placed under a user, still global
      "pattern read users/%u/#\n");
  EXPECT_TRUE(can(a, "alice", "devices/d1/t", W, "d1"));
  EXPECT_TRUE(can(a, "bob", "devices/d2/t", W, "d2"));
  EXPECT_FALSE(can(a, "bob", "devices/d1/t", W, "d2"));
  EXPECT_TRUE(can(a, "", "devices/d3/t", R, "d3")) << "anonymous clients get %c patterns";
  EXPECT_TRUE(can(a, "bob", "users/bob/x", R));
  EXPECT_FALSE(can(a, "bob", "users/bob/x", W));
  EXPECT_FALSE(can(a, "bob", "users/alice/x", R));
  EXPECT_FALSE(can(a, "", "users//x", R)) << "%u never matches an anonymous client";
}

TEST(AclFile, OwnTopicRulesDecideBeforePatterns) {
  // Mosquitto 2.0 checks the user's topic rules first, then the patterns. 2.0.11: a user's
  // grant wins over a pattern deny; a user's deny wins over a pattern grant.
  AclFile a = acl(
      "user u1\n"
      "topic readwrite a/#\n"
      "user u2\n"
      "topic deny b/#\n"
      "pattern deny a/%c\n"
      "pattern readwrite b/%u\n"
      "pattern readwrite c/%c\n");
  EXPECT_TRUE(can(a, "u1", "a/s1", W, "s1"));
  EXPECT_FALSE(can(a, "u2", "b/u2", W, "k"));
  EXPECT_FALSE(can(a, "u3", "a/s1", W, "s1")) << "pattern deny for users without a grant";
  EXPECT_TRUE(can(a, "u2", "c/k", W, "k"));
}

TEST(AclFile, PatternDenyBeforePatternGrant) {
  AclFile a = acl(
      "pattern readwrite d/%c/#\n"
      "pattern deny d/%c/config\n");
  EXPECT_TRUE(can(a, "", "d/x/data", W, "x"));
  EXPECT_FALSE(can(a, "", "d/x/config", W, "x"));
}

TEST(AclFile, WildcardsInNamesDisablePatterns) {
  AclFile a = acl(
      "user u+x\n"
      "topic read own/#\n"
      "pattern read public/#\n"
      "pattern read d/%c\n");
  EXPECT_TRUE(can(a, "bob", "public/a", R));
  EXPECT_FALSE(can(a, "bob", "public/a", R, "c#")) << "client id with '#'";
  EXPECT_FALSE(can(a, "u+x", "public/a", R)) << "username with '+'";
  EXPECT_TRUE(can(a, "u+x", "own/a", R)) << "own topic rules still apply";
}

TEST(AclFile, DollarTopics) {
  AclFile a = acl(
      "user u\n"
      "topic readwrite #\n"
      "user mon\n"
      "topic read $SYS/#\n"
      "pattern read +/%c\n");
  EXPECT_TRUE(can(a, "u", "anything/at/all", R));
  EXPECT_FALSE(can(a, "u", "$SYS/broker/uptime", R)) << "'#' does not grant $SYS (2.0.11)";
  EXPECT_FALSE(can(a, "u", "$share/x", W));
  EXPECT_TRUE(can(a, "mon", "$SYS/broker/uptime", R));
  EXPECT_FALSE(can(a, "mon", "$SYS/broker/uptime", W));
  EXPECT_FALSE(can(a, "mon", "$x/cid", R)) << "a '+' pattern does not match a '$' level";
}

TEST(AclFile, SubscribeIsAlwaysGrantedReadIsCheckedPerMessage) {
  // Mosquitto 2.0's acl_file answers SUBSCRIBE with success (2.0.11: SUBACK 0 for a filter
  // nothing grants); deliveries are then filtered by read access.
  AclFile a = acl("user u\ntopic read a/#\n");
  EXPECT_TRUE(can(a, "u", "x/#", S));
  EXPECT_TRUE(can(a, "", "#", S));
  EXPECT_TRUE(can(a, "u", "a/1", R));
  EXPECT_FALSE(can(a, "u", "x/1", R));
}

TEST(AclFile, EmptyFileDeniesEverything) {
  AclFile a = acl("# nothing\n\n");
  EXPECT_FALSE(can(a, "", "a", R));
  EXPECT_FALSE(can(a, "u", "a", W));
  EXPECT_TRUE(can(a, "u", "a", S));
}

TEST(AclFile, SyntaxDetails) {
  AclFile a = acl(
      "  # indented comment\n"
      "user   spaced   name  \r\n"
      "topic\tread\tt/a b\n"   // tabs separate words; the topic keeps its inner space
      "topic  write   w/x  \n"
      "topic read\n");          // one word: a topic literally named "read", readwrite
  EXPECT_TRUE(a.names_user("spaced   name"));
  EXPECT_TRUE(can(a, "spaced   name", "t/a b", R));
  EXPECT_FALSE(can(a, "spaced   name", "t/a b", W));
  EXPECT_TRUE(can(a, "spaced   name", "w/x", W));
  EXPECT_TRUE(can(a, "spaced   name", "read", W));
}

TEST(AclFile, ReportsEveryErrorWithFileAndLine) {
  auto f = AclFile::parse(
      "topic read a/#\n"         // 1 fine
      "user\n"                   // 2 no name
      "topic\n"                  // 3 no topic
      "topic readonly a/b\n"     // 4 bad access
      "topic read a/#/b\n"       // 5 bad filter
      "pattern write x+\n"       // 6 bad filter
      "users bob\n"              // 7 unknown keyword
      "topic read ok/#\n",       // 8 fine
      "/etc/acl");
  ASSERT_FALSE(f);
  const std::string& m = f.error().message;
  for (int line : {2, 3, 4, 5, 6, 7}) {
    EXPECT_NE(m.find("/etc/acl:" + std::to_string(line) + ": "), std::string::npos)
        << line << " in\n" << m;
  }
  EXPECT_EQ(m.find("/etc/acl:1:"), std::string::npos);
  EXPECT_EQ(m.find("/etc/acl:8:"), std::string::npos);
  EXPECT_NE(m.find("invalid access 'readonly'"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown keyword 'users'"), std::string::npos) << m;
}

TEST(AclFile, PatternWithoutSubstitutionWarns) {
  auto f = AclFile::parse("pattern read public/#\npattern read d/%c\n", "acl");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->warnings().size(), 1u);
  EXPECT_TRUE(f->warnings()[0].starts_with("acl:1: ")) << f->warnings()[0];
}

TEST(AclFile, LoadFromDisk) {
  test::TempDir dir;
  auto f = AclFile::load(dir.write("acl", "user u\ntopic t\n"));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->allowed("c", "u", "t", W));
  EXPECT_FALSE(AclFile::load(dir.path("missing")));
}

}  // namespace
}  // namespace petrel::auth
