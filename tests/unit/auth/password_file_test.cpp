// Password files: Mosquitto-written files load; every line that is not understood is a
// `file:line: ...` problem whose user cannot log in (the rest of the file still works, as
// with Mosquitto); plain text is reported with the command that fixes it.
#include <gtest/gtest.h>

#include "auth/password_file.h"
#include "temp_dir.h"

namespace petrel::auth {
namespace {

// Written by mosquitto_passwd 2.0.11 (Debian 12), including a name with spaces.
constexpr std::string_view kMosquittoFile =
    "alice:$7$101$aJP8igrEAOY4uwWX$+e04F21CeodO/gCsNMQ66jVVzcWD8BzJAEewINHWU8sdamxZXLxbpttdNjsGwOUuBg0kh1a4wfOSEisZgEjU6g==\n"
    "bob:$7$101$htMCrWu92lFNm/iS$/BWiMDfV+S3V9saWUg1TwvyBFRWxTEm0SN4vwv0vdrjn+kd4PNbIQU986tEXzZp5RhREo5ElrSEvZ60vZDi36w==\n"
    "dave:$6$2FqyEmVzgthXMBLr$r8Brx8OPxtiTg7QtUZsY88RJ30ydGPRkHtKDykHFI0xDY3SK7o0IGF4TgFTQavkS5j1kwoUmCeFAFTbi6KCbbA==\n"
    "user with space:$7$101$8gEdsAhfSuWq8T0k$I+u+ePnr9rBMJO0jOA8IjAoDBtojHD4MBn6fV7a8emx9Xa/+5S3lHqOR4Xky2ul2pA+kDiXuGd2wLtbaDGFWzQ==\n";

constexpr std::string_view kAliceLine =
    "alice:$7$101$aJP8igrEAOY4uwWX$+e04F21CeodO/gCsNMQ66jVVzcWD8BzJAEewINHWU8sdamxZXLxbpttdNjsGwOUuBg0kh1a4wfOSEisZgEjU6g==";

TEST(PasswordFile, LoadsMosquittoFile) {
  test::TempDir dir;
  auto f = PasswordFile::load(dir.write("passwd", kMosquittoFile));
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->size(), 4u);
  EXPECT_TRUE(f->check("alice", "secret"));
  EXPECT_TRUE(f->check("bob", "p@ss w:rd"));
  EXPECT_TRUE(f->check("dave", "hunter2"));
  EXPECT_TRUE(f->check("user with space", "pw"));
  EXPECT_FALSE(f->check("alice", "hunter2"));
  EXPECT_FALSE(f->check("Alice", "secret")) << "user names are case sensitive";
  EXPECT_FALSE(f->check("nobody", "secret"));
  EXPECT_TRUE(f->contains("bob"));
  EXPECT_FALSE(f->contains("bo"));
  EXPECT_NE(f->find("dave"), nullptr);
  EXPECT_EQ(f->find("eve"), nullptr);
}

TEST(PasswordFile, CommentsBlankLinesCrlfAndBlanks) {
  std::string text = "# users\n\n   \n  # indented comment\r\n";
  text += "  ";
  text += std::string(kAliceLine).replace(5, 1, " : ");  // blanks around ':' are ignored
  text += "  \r\n";
  auto f = PasswordFile::parse(text, "pw");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->size(), 1u);
  EXPECT_TRUE(f->check("alice", "secret"));
}

TEST(PasswordFile, EmptyFileHasNoUsers) {
  auto f = PasswordFile::parse("", "pw");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->size(), 0u);
  EXPECT_FALSE(f->check("alice", ""));
}

TEST(PasswordFile, PlainTextIsReportedWithTheFixAndThatUserCannotLogIn) {
  auto f = PasswordFile::parse("# x\nalice:secret\n" + std::string(kMosquittoFile).substr(
                                   std::string(kAliceLine).size() + 1), "/etc/petrel/passwd");
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->problems().size(), 1u);
  const std::string& m = f->problems()[0];
  EXPECT_TRUE(m.starts_with("/etc/petrel/passwd:2: ")) << m;
  EXPECT_NE(m.find("plain text"), std::string::npos) << m;
  EXPECT_NE(m.find("petrel_passwd -U /etc/petrel/passwd"), std::string::npos) << m;
  EXPECT_NE(m.find("user 'alice' cannot log in"), std::string::npos) << m;
  EXPECT_EQ(m.find("secret"), std::string::npos) << "never echo the password: " << m;
  EXPECT_FALSE(f->check("alice", "secret"));
  EXPECT_TRUE(f->blocked("alice"));
  EXPECT_TRUE(f->contains("bob")) << "the other users still work";
}

TEST(PasswordFile, ReportsEveryBadLineWithFileAndLineAndBlocksItsUser) {
  std::string text;
  text += "nocolon\n";                                   // 1
  text += ":$6$c2FsdA==$AAAA\n";                         // 2 empty user
  text += "carol:\n";                                    // 3 empty hash
  text += std::string(kAliceLine) + "\n";                // 4 fine
  text += "eve:$6$c2FsdA==$c2hvcnQ=\n";                  // 5 short hash
  text += std::string(kAliceLine) + "\n";                // 6 duplicate
  text += "frank:$9$x$y\n";                              // 7 unknown type
  auto f = PasswordFile::parse(text, "pw");
  ASSERT_TRUE(f) << f.error().message;
  std::string m;
  for (const auto& p : f->problems()) m += p + "\n";
  EXPECT_EQ(f->problems().size(), 6u) << m;
  for (const char* line : {"pw:1: ", "pw:2: ", "pw:3: ", "pw:5: ", "pw:6: ", "pw:7: "}) {
    EXPECT_NE(m.find(line), std::string::npos) << line << " in\n" << m;
  }
  EXPECT_EQ(m.find("pw:4:"), std::string::npos) << m;
  EXPECT_NE(m.find("already defined on line 4"), std::string::npos) << m;
  EXPECT_NE(m.find("user 'eve'"), std::string::npos) << m;
  // Nobody named on a bad line logs in, alice included (her duplicate makes the file
  // ambiguous about her password).
  for (const char* u : {"carol", "eve", "frank", "alice"}) EXPECT_TRUE(f->blocked(u)) << u;
  EXPECT_FALSE(f->check("alice", "secret"));
  EXPECT_EQ(f->size(), 0u);
}

TEST(PasswordFile, EmptyPasswordNeverLogsIn) {
  // The hash of "" (PBKDF2-SHA512, as mosquitto_passwd writes it), made with the hasher.
  auto h = hash_password("", HashParams{});
  ASSERT_TRUE(h);
  auto f = PasswordFile::parse("empty:" + encode_password_hash(*h) + "\n", "pw");
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->problems().empty()) << f->problems()[0];
  EXPECT_TRUE(f->contains("empty"));
  EXPECT_FALSE(f->check("empty", "")) << "Mosquitto refuses empty passwords";
  EXPECT_FALSE(f->check("empty", "x"));
}

TEST(PasswordFile, MissingFileNamesThePath) {
  test::TempDir dir;
  auto f = PasswordFile::load(dir.path("absent"));
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("absent: cannot read"), std::string::npos) << f.error().message;
  auto d = PasswordFile::load(dir.path(""));
  ASSERT_FALSE(d) << "a directory is not an empty password file";
  EXPECT_NE(d.error().message.find("Is a directory"), std::string::npos) << d.error().message;
}

}  // namespace
}  // namespace petrel::auth
