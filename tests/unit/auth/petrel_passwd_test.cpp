// petrel_passwd as a program: files it writes verify here, files mosquitto_passwd writes
// load here, and its messages and exit codes match mosquitto_passwd's. Runs the built
// tool (tools/petrel_passwd beside this test's build tree) and, when installed, Debian's
// /usr/bin/mosquitto_passwd; skips what is not there.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "auth/password_file.h"
#include "temp_dir.h"

namespace petrel::auth {
namespace {

namespace fs = std::filesystem;

std::string petrel_passwd() {
  fs::path exe = fs::read_symlink("/proc/self/exe");  // <build>/tests/unit/unit_auth
  fs::path tool = exe.parent_path().parent_path().parent_path() / "tools/petrel_passwd/petrel_passwd";
  return fs::exists(tool) ? tool.string() : std::string();
}

constexpr const char* kMosquittoPasswd = "/usr/bin/mosquitto_passwd";

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Runs argv with stdin from `input`, capturing stdout and stderr.
Outcome run(const test::TempDir& dir, std::vector<std::string> argv, std::string_view input = "") {
  std::string in = dir.write(".stdin", input), out = dir.path(".stdout"), err = dir.path(".stderr");
  pid_t pid = fork();
  if (pid == 0) {
    int i = open(in.c_str(), O_RDONLY), o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600),
        e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(i, 0);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = dir.read(".stdout");
  r.err = dir.read(".stderr");
  return r;
}

class PetrelPasswd : public ::testing::Test {
 protected:
  void SetUp() override {
    tool_ = petrel_passwd();
    if (tool_.empty()) GTEST_SKIP() << "petrel_passwd not built";
  }
  Outcome tool(std::vector<std::string> args, std::string_view input = "") {
    args.insert(args.begin(), tool_);
    return run(dir_, std::move(args), input);
  }
  PasswordFile load(std::string_view name) {
    auto f = PasswordFile::load(dir_.path(name));
    EXPECT_TRUE(f) << f.error().message;
    return f ? std::move(f).value() : PasswordFile{};
  }

  test::TempDir dir_;
  std::string tool_;
};

TEST_F(PetrelPasswd, BatchCreateAddUpdateDelete) {
  std::string pw = dir_.path("pw");
  EXPECT_EQ(tool({"-c", "-b", pw, "alice", "secret"}).code, 0);
  EXPECT_EQ(tool({"-b", pw, "bob", "b0b"}).code, 0);
  EXPECT_EQ(tool({"-H", "sha512", "-b", pw, "carol", "c"}).code, 0);
  EXPECT_EQ(tool({"-H", "argon2id", "-b", pw, "dan", "d"}).code, 0);
  EXPECT_EQ(tool({"-I", "2000", "-b", pw, "alice", "new"}).code, 0);
  PasswordFile f = load("pw");
  EXPECT_EQ(f.size(), 4u);
  EXPECT_TRUE(f.check("alice", "new"));
  EXPECT_EQ(f.find("alice")->iterations, 2000u);
  EXPECT_TRUE(f.check("bob", "b0b"));
  EXPECT_EQ(f.find("bob")->iterations, 101u) << "Mosquitto 2.0's default";
  EXPECT_EQ(f.find("bob")->salt.size(), 12u) << "the only length Mosquitto 2.0 reads";
  EXPECT_EQ(f.find("carol")->kind, HashKind::kSha512);
  EXPECT_EQ(f.find("dan")->kind, HashKind::kArgon2id);
  EXPECT_TRUE(f.check("dan", "d"));

  Outcome del = tool({"-D", pw, "carol"});
  EXPECT_EQ(del.code, 0) << del.err;
  EXPECT_FALSE(load("pw").contains("carol"));
  Outcome missing = tool({"-D", pw, "carol"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "Warning: User carol not found in password file.\n");

  struct stat st{};
  ASSERT_EQ(stat(pw.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "a new password file is private";
  chmod(pw.c_str(), 0640);
  EXPECT_EQ(tool({"-b", pw, "eve", "e"}).code, 0);
  ASSERT_EQ(stat(pw.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u) << "an edit keeps the mode";
}

TEST_F(PetrelPasswd, InteractivePasswordWithConfirmation) {
  std::string pw = dir_.path("pw");
  Outcome ok = tool({"-c", pw, "alice"}, "s3cret\ns3cret\n");
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "Password: Reenter password: ");
  EXPECT_TRUE(load("pw").check("alice", "s3cret"));

  Outcome differ = tool({pw, "alice"}, "one\ntwo\n");
  EXPECT_EQ(differ.code, 2);
  EXPECT_EQ(differ.err, "Error: Passwords do not match.\n");
  Outcome empty = tool({pw, "alice"}, "\n");
  EXPECT_EQ(empty.code, 1);
  EXPECT_EQ(empty.err, "Error: Empty password.\n");
  EXPECT_TRUE(load("pw").check("alice", "s3cret")) << "failed prompts change nothing";
}

TEST_F(PetrelPasswd, ConvertsPlainText) {
  dir_.write("pw", "# site users\nalice:secret\nbob:hunter2\n");
  Outcome r = tool({"-U", dir_.path("pw")});
  EXPECT_EQ(r.code, 0) << r.err;
  PasswordFile f = load("pw");
  EXPECT_TRUE(f.check("alice", "secret"));
  EXPECT_TRUE(f.check("bob", "hunter2"));
  std::string text = dir_.read("pw");
  EXPECT_TRUE(text.starts_with("# site users\nalice:$7$101$")) << text;
  EXPECT_EQ(tool({"-U", dir_.path("pw")}).code, 0);
  EXPECT_TRUE(load("pw").check("alice", "secret")) << "a second -U leaves hashes alone";
}

TEST_F(PetrelPasswd, CreateToStandardOutput) {
  Outcome r = tool({"-c", "-b", "-", "alice", "secret"});
  EXPECT_EQ(r.code, 0);
  auto f = PasswordFile::parse(r.out, "stdout");
  ASSERT_TRUE(f) << r.out;
  EXPECT_TRUE(f->check("alice", "secret"));
}

// The same command line gives the same exit code and message as mosquitto_passwd 2.0.
TEST_F(PetrelPasswd, ErrorsMatchMosquittoPasswd) {
  if (access(kMosquittoPasswd, X_OK) != 0) GTEST_SKIP() << "mosquitto_passwd not installed";
  std::string pw = dir_.path("pw"), none = dir_.path("absent");
  dir_.write("pw", "alice:$6$2FqyEmVzgthXMBLr$r8Brx8OPxtiTg7QtUZsY88RJ30ydGPRkHtKDykHFI0xDY3SK7o0IGF4TgFTQavkS5j1kwoUmCeFAFTbi6KCbbA==\n");
  const std::vector<std::vector<std::string>> cases = {
      {"-H", "md5", "-b", pw, "u", "p"},
      {"-H"},
      {"-I", "0", "-b", pw, "u", "p"},
      {"-I"},
      {"-c", "-D", pw, "u"},
      {"-c", "-U", pw},
      {"-D", "-U", pw},
      {"-b", "-D", pw, "u"},
      {"-c", "-b", pw, "u"},
      {"-c", pw},
      {"-D", pw},
      {"-U"},
      {"-b", pw, "a:b", "p"},
      {"-b", pw, "a\x01", "p"},
      {"-D", pw, "nobody"},
      {"-b", none, "u", "p"},
      {pw, "u"},  // interactive, empty input
  };
  for (const auto& args : cases) {
    std::vector<std::string> m = args, p = args;
    m.insert(m.begin(), kMosquittoPasswd);
    p.insert(p.begin(), tool_);
    Outcome mr = run(dir_, m, "\n"), pr = run(dir_, p, "\n");
    std::string what = args.empty() ? "" : args[0] + (args.size() > 1 ? " " + args[1] : "");
    EXPECT_EQ(pr.code, mr.code) << what;
    EXPECT_EQ(pr.err, mr.err) << what;
  }
}

TEST_F(PetrelPasswd, FilesInteroperateWithMosquittoPasswd) {
  if (access(kMosquittoPasswd, X_OK) != 0) GTEST_SKIP() << "mosquitto_passwd not installed";
  std::string pw = dir_.path("pw");
  ASSERT_EQ(run(dir_, {kMosquittoPasswd, "-c", "-b", pw, "alice", "secret"}).code, 0);
  ASSERT_EQ(run(dir_, {kMosquittoPasswd, "-H", "sha512", "-b", pw, "bob", "b"}).code, 0);
  ASSERT_EQ(run(dir_, {kMosquittoPasswd, "-I", "777", "-b", pw, "carol", "c"}).code, 0);
  EXPECT_TRUE(load("pw").check("alice", "secret")) << "mosquitto_passwd's file loads here";
  EXPECT_TRUE(load("pw").check("bob", "b"));
  EXPECT_TRUE(load("pw").check("carol", "c"));
  EXPECT_EQ(tool({"-b", pw, "dave", "d"}).code, 0);
  // mosquitto_passwd edits a file petrel_passwd wrote, and the result still loads.
  EXPECT_EQ(run(dir_, {kMosquittoPasswd, "-b", pw, "eve", "e"}).code, 0);
  EXPECT_EQ(run(dir_, {kMosquittoPasswd, "-D", pw, "bob"}).code, 0);
  PasswordFile f = load("pw");
  EXPECT_TRUE(f.check("dave", "d"));
  EXPECT_TRUE(f.check("eve", "e"));
  EXPECT_FALSE(f.contains("bob"));
}

}  // namespace
}  // namespace petrel::auth
