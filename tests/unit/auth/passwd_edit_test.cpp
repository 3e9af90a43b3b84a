// Password-file edits behind petrel_passwd: add, replace, delete, hash plain text.
#include <gtest/gtest.h>

#include "auth/passwd_edit.h"
#include "auth/password_file.h"

namespace petrel::auth {
namespace {

std::string line_for(std::string_view user, std::string_view password) {
  auto h = hash_password(password, HashParams{});
  EXPECT_TRUE(h);
  return password_line(user, *h);
}

TEST(PasswdEdit, AddsThenReplaces) {
  bool replaced = true;
  auto one = upsert_user("", "alice", line_for("alice", "a1"), &replaced);
  ASSERT_TRUE(one);
  EXPECT_FALSE(replaced);
  auto two = upsert_user(*one, "bob", line_for("bob", "b1"), &replaced);
  ASSERT_TRUE(two);
  EXPECT_FALSE(replaced);
  auto three = upsert_user(*two, "alice", line_for("alice", "a2"), &replaced);
  ASSERT_TRUE(three);
  EXPECT_TRUE(replaced);
  auto f = PasswordFile::parse(*three, "pw");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->size(), 2u);
  EXPECT_TRUE(f->check("alice", "a2"));
  EXPECT_FALSE(f->check("alice", "a1"));
  EXPECT_TRUE(f->check("bob", "b1"));
  EXPECT_TRUE(three->starts_with("alice:")) << "replaced in place";
}

TEST(PasswdEdit, KeepsCommentsAndBlankLinesAndAddsMissingNewline) {
  std::string text = "# users\n\nbob:$6$x";  // last line without '\n'
  auto out = upsert_user(text, "carol", "carol:$6$y\n", nullptr);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "# users\n\nbob:$6$x\ncarol:$6$y\n");
}

TEST(PasswdEdit, Deletes) {
  bool found = false;
  auto out = delete_user("# c\nalice:$6$a\nbob:$6$b\n", "alice", &found);
  ASSERT_TRUE(out);
  EXPECT_TRUE(found);
  EXPECT_EQ(*out, "# c\nbob:$6$b\n");
  out = delete_user(*out, "alice", &found);
  ASSERT_TRUE(out);
  EXPECT_FALSE(found);
  EXPECT_EQ(*out, "# c\nbob:$6$b\n");
}

TEST(PasswdEdit, MatchesTrimmedUserNames) {
  bool found = false;
  auto out = delete_user("  alice  :$6$a\n", "alice", &found);
  ASSERT_TRUE(out);
  EXPECT_TRUE(found);
  EXPECT_EQ(*out, "");
}

TEST(PasswdEdit, CorruptLinesAreReportedLikeMosquittoPasswd) {
  for (const char* text : {"alice:$6$a\nbroken\n", "alice:$6$a\n:x\n", "alice:$6$a\nbob:\n"}) {
    auto out = upsert_user(text, "carol", "carol:$6$c\n", nullptr);
    ASSERT_FALSE(out) << text;
    EXPECT_EQ(out.error().message, "Corrupt password file at line 2.");
  }
}

TEST(PasswdEdit, HashesPlainTextAndKeepsHashes) {
  std::string keep = line_for("dave", "d");
  std::string text = "# plain\nalice:secret\n bob : two words \n" + keep;
  auto out = hash_plain_passwords(text, HashParams{});
  ASSERT_TRUE(out) << out.error().message;
  auto f = PasswordFile::parse(*out, "pw");
  ASSERT_TRUE(f) << f.error().message << "\n" << *out;
  EXPECT_TRUE(f->check("alice", "secret"));
  EXPECT_TRUE(f->check("bob", "two words"));
  EXPECT_TRUE(f->check("dave", "d")) << "an already hashed line is kept, not re-hashed";
  EXPECT_NE(out->find(keep), std::string::npos);
  EXPECT_TRUE(out->starts_with("# plain\n"));
  EXPECT_EQ(out->find("secret"), std::string::npos);
}

TEST(PasswdEdit, HashesWithTheRequestedKind) {
  HashParams p;
  p.kind = HashKind::kArgon2id;
  auto out = hash_plain_passwords("alice:secret\n", p);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->starts_with("alice:$argon2id$v=19$m=19456,t=2,p=1$")) << *out;
  p.kind = HashKind::kPbkdf2Sha512;
  p.iterations = 2000;
  out = hash_plain_passwords("alice:secret\n", p);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->starts_with("alice:$7$2000$")) << *out;
}

TEST(PasswdEdit, UsernameRules) {
  EXPECT_TRUE(check_username("alice"));
  EXPECT_TRUE(check_username("user with space"));
  EXPECT_TRUE(check_username("\xc3\xa9t\xc3\xa9"));
  EXPECT_EQ(check_username("a:b").error().message, "Username must not contain the ':' character.");
  EXPECT_EQ(check_username("a\tb").error().message, "Username must not contain control characters.");
  EXPECT_FALSE(check_username(std::string(65536, 'a')));
}

}  // namespace
}  // namespace petrel::auth
