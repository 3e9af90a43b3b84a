// FileSecurity: CONNECT decisions (anonymous, password file, certificate identity),
// topic decisions per listener, and loading every file with every error reported.
#include <gtest/gtest.h>

#include "auth/file_security.h"
#include "temp_dir.h"

namespace petrel::auth {
namespace {

using broker::Access;
using broker::ClientIdentity;

// mosquitto_passwd 2.0.11: alice/secret ($7$), dave/hunter2 ($6$).
constexpr std::string_view kPasswd =
    "alice:$7$101$aJP8igrEAOY4uwWX$+e04F21CeodO/gCsNMQ66jVVzcWD8BzJAEewINHWU8sdamxZXLxbpttdNjsGwOUuBg0kh1a4wfOSEisZgEjU6g==\n"
    "dave:$6$2FqyEmVzgthXMBLr$r8Brx8OPxtiTg7QtUZsY88RJ30ydGPRkHtKDykHFI0xDY3SK7o0IGF4TgFTQavkS5j1kwoUmCeFAFTbi6KCbbA==\n";

ClientIdentity client(std::optional<std::string_view> user, std::optional<std::string_view> pw,
                      int listener = 0) {
  ClientIdentity id;
  id.listener = listener;
  id.client_id = "cid";
  id.username = user;
  id.password = pw;
  id.peer = "127.0.0.1:5000";
  return id;
}

config::Config one_listener(const config::SecuritySettings& s) {
  config::Config c;
  c.security = s;
  config::Listener l;
  l.security = s;
  c.listeners.push_back(l);
  return c;
}

std::shared_ptr<const FileSecurity> build(const config::Config& c, SecurityOptions o = {}) {
  SecurityLoad load = load_security(c, o);
  EXPECT_TRUE(load.errors.empty()) << load.errors.front();
  return load.security;
}

uint8_t auth(const FileSecurity& s, const ClientIdentity& id) {
  std::string name = "untouched";
  uint8_t rc = s.authenticate(id, name);
  if (!id.cert_cn.empty() || !id.cert_subject.empty() || !id.psk_identity.empty()) return rc;
  EXPECT_EQ(name, "untouched") << "only identity listeners set the user name";
  return rc;
}

TEST(FileSecurity, AnonymousOnlyWhenAllowed) {
  config::SecuritySettings s;
  s.allow_anonymous = true;
  auto open = build(one_listener(s));
  EXPECT_EQ(auth(*open, client(std::nullopt, std::nullopt)), 0);
  EXPECT_EQ(auth(*open, client("anyone", "x")), 0) << "no password_file, anonymous allowed";
  EXPECT_FALSE(open->has_acl());
  EXPECT_TRUE(open->allowed(0, "cid", "", "a/b", Access::kWrite));

  s.allow_anonymous = false;
  auto closed = build(one_listener(s));
  EXPECT_EQ(auth(*closed, client(std::nullopt, std::nullopt)), 0x87);
  // Mosquitto 2.0.11 refuses a user name nothing can check when anonymous is off.
  EXPECT_EQ(auth(*closed, client("anyone", "x")), 0x87);
}

TEST(FileSecurity, PasswordFile) {
  test::TempDir dir;
  config::SecuritySettings s;
  s.password_file = dir.write("passwd", kPasswd);
  for (bool anon : {false, true}) {
    s.allow_anonymous = anon;
    auto sec = build(one_listener(s));
    EXPECT_EQ(auth(*sec, client("alice", "secret")), 0);
    EXPECT_EQ(auth(*sec, client("dave", "hunter2")), 0);
    EXPECT_EQ(auth(*sec, client("alice", "hunter2")), 0x86) << "wrong password";
    EXPECT_EQ(auth(*sec, client("alice", std::nullopt)), 0x86) << "no password";
    EXPECT_EQ(auth(*sec, client("alice", "")), 0x86) << "empty password";
    EXPECT_EQ(auth(*sec, client("mallory", "secret")), 0x86) << "unknown user";
    EXPECT_EQ(auth(*sec, client(std::nullopt, std::nullopt)), anon ? 0 : 0x87);
    EXPECT_EQ(auth(*sec, client(std::nullopt, "secret")), anon ? 0 : 0x87);
  }
}

TEST(FileSecurity, MosquittoReasonCodeOption) {
  test::TempDir dir;
  config::SecuritySettings s;
  s.password_file = dir.write("passwd", kPasswd);
  SecurityOptions o;
  o.bad_credentials_reason = 0x87;  // what Mosquitto 2.0.11 sends
  auto sec = build(one_listener(s), o);
  EXPECT_EQ(auth(*sec, client("alice", "bad")), 0x87);
  EXPECT_EQ(auth(*sec, client("alice", "secret")), 0);
}

config::Config identity_config(const config::SecuritySettings& s, bool subject = false) {
  config::Config c = one_listener(s);
  c.listeners[0].require_certificate = true;
  (subject ? c.listeners[0].use_subject_as_username : c.listeners[0].use_identity_as_username) = true;
  return c;
}

ClientIdentity with_cert(std::string_view cn, std::string_view subject) {
  ClientIdentity id = client("ignored", "ignored");
  id.cert_cn = cn;
  id.cert_subject = subject;
  return id;
}

TEST(FileSecurity, CertificateIdentityReplacesTheUserName) {
  config::SecuritySettings s;  // allow_anonymous false, no files
  auto sec = build(identity_config(s));
  std::string name;
  EXPECT_EQ(sec->authenticate(with_cert("sensor-7", "CN=sensor-7,O=Acme"), name), 0);
  EXPECT_EQ(name, "sensor-7");
  name.clear();
  EXPECT_EQ(sec->authenticate(with_cert("", ""), name), 0x86) << "no certificate";
  EXPECT_EQ(sec->authenticate(with_cert("", "O=Acme"), name), 0x87) << "certificate without CN";
  EXPECT_TRUE(name.empty());

  ClientIdentity psk = client(std::nullopt, std::nullopt);
  psk.psk_identity = "gateway";
  EXPECT_EQ(sec->authenticate(psk, name), 0);
  EXPECT_EQ(name, "gateway") << "a PSK identity serves as the user name";

  auto subj = build(identity_config(s, true));
  EXPECT_EQ(subj->authenticate(with_cert("sensor-7", "CN=sensor-7,O=Acme"), name), 0);
  EXPECT_EQ(name, "CN=sensor-7,O=Acme");
  EXPECT_EQ(subj->authenticate(with_cert("", ""), name), 0x86);
}

TEST(FileSecurity, CertificateIdentityIgnoresThePasswordFileLikeMosquitto) {
  test::TempDir dir;
  config::SecuritySettings s;
  s.password_file = dir.write("passwd", kPasswd);
  auto sec = build(identity_config(s));
  std::string name;
  EXPECT_EQ(sec->authenticate(with_cert("stranger", "CN=stranger"), name), 0);
  EXPECT_EQ(name, "stranger");
}

TEST(FileSecurity, PetrelIdentityMustBeKnown) {
  test::TempDir dir;
  SecurityOptions strict;
  strict.identity_must_be_known = true;
  std::string name;

  config::SecuritySettings none;  // no files: any CA-signed identity
  EXPECT_EQ(build(identity_config(none), strict)->authenticate(with_cert("x", "CN=x"), name), 0);

  config::SecuritySettings pw;
  pw.password_file = dir.write("passwd", kPasswd);
  auto by_pw = build(identity_config(pw), strict);
  EXPECT_EQ(by_pw->authenticate(with_cert("alice", "CN=alice"), name), 0);
  EXPECT_EQ(by_pw->authenticate(with_cert("stranger", "CN=stranger"), name), 0x87);

  config::SecuritySettings acl;
  acl.acl_file = dir.write("acl", "user sensor-7\ntopic write sensors/7/#\n");
  auto by_acl = build(identity_config(acl), strict);
  name.clear();
  EXPECT_EQ(by_acl->authenticate(with_cert("sensor-7", "CN=sensor-7"), name), 0);
  EXPECT_EQ(name, "sensor-7");
  EXPECT_TRUE(by_acl->allowed(0, "c", name, "sensors/7/t", Access::kWrite));
  EXPECT_FALSE(by_acl->allowed(0, "c", name, "sensors/8/t", Access::kWrite));
  name.clear();
  EXPECT_EQ(by_acl->authenticate(with_cert("sensor-8", "CN=sensor-8"), name), 0x87);
  EXPECT_TRUE(name.empty());
}

TEST(FileSecurity, AclPerListenerOrShared) {
  test::TempDir dir;
  std::string acl = dir.write("acl", "topic read pub/#\nuser alice\ntopic alice/#\n");
  config::Config c;
  c.per_listener_settings = true;
  c.listeners.resize(2);
  c.listeners[0].security.acl_file = acl;
  c.listeners[0].security.allow_anonymous = true;
  c.listeners[1].security.allow_anonymous = true;  // no ACL on this one
  auto sec = build(c);
  EXPECT_TRUE(sec->has_acl());
  EXPECT_TRUE(sec->allowed(0, "c", "", "pub/x", Access::kRead));
  EXPECT_FALSE(sec->allowed(0, "c", "", "pub/x", Access::kWrite));
  EXPECT_TRUE(sec->allowed(0, "c", "alice", "alice/x", Access::kWrite));
  EXPECT_TRUE(sec->allowed(1, "c", "", "anything", Access::kWrite)) << "no acl_file there";

  c.per_listener_settings = false;
  c.security.acl_file = acl;
  auto shared = build(c);
  EXPECT_FALSE(shared->allowed(1, "c", "", "pub/x", Access::kWrite));
  EXPECT_FALSE(shared->allowed(-1, "c", "", "pub/x", Access::kWrite)) << "unknown -> global";
}

TEST(FileSecurity, PskKeysPerListener) {
  test::TempDir dir;
  config::SecuritySettings s;
  s.psk_file = dir.write("psk", "test:00a1b2\n");
  auto sec = build(one_listener(s));
  ASSERT_NE(sec->psk_key(0, "test"), nullptr);
  EXPECT_EQ(*sec->psk_key(0, "test"), (std::vector<uint8_t>{0x00, 0xa1, 0xb2}));
  EXPECT_EQ(sec->psk_key(0, "other"), nullptr);
}

TEST(FileSecurity, ReportsEveryBrokenFileAndKeepsNothing) {
  test::TempDir dir;
  config::Config c;
  c.per_listener_settings = true;
  c.listeners.resize(3);
  c.listeners[0].security.password_file = dir.write("pw", "alice:plain\nbob:$6$x\n");
  c.listeners[0].security.acl_file = dir.write("acl", "topic read a/#/b\n");
  c.listeners[1].security.psk_file = dir.write("psk", "id:xyz\n");
  c.listeners[1].security.acl_file = dir.path("missing");
  c.listeners[2].security.password_file = c.listeners[0].security.password_file;  // shared
  SecurityLoad load = load_security(c);
  EXPECT_EQ(load.security, nullptr);
  ASSERT_EQ(load.errors.size(), 3u);
  // Bad password file lines are not errors (their users cannot log in), reported once
  // for the shared file.
  ASSERT_EQ(load.line_problems.size(), 2u) << "the shared file is reported once";
  EXPECT_TRUE(load.line_problems[0].starts_with(dir.path("pw") + ":1: ")) << load.line_problems[0];
  EXPECT_TRUE(load.line_problems[1].starts_with(dir.path("pw") + ":2: ")) << load.line_problems[1];

  auto r = make_security(c);
  ASSERT_FALSE(r);
  const std::string& m = r.error().message;
  EXPECT_NE(m.find(dir.path("acl") + ":1: "), std::string::npos) << m;
  EXPECT_NE(m.find(dir.path("psk") + ":1: "), std::string::npos) << m;
  EXPECT_NE(m.find("missing: cannot read"), std::string::npos) << m;
}

TEST(FileSecurity, ReloadBuildsANewInstanceTheOldOneStays) {
  test::TempDir dir;
  config::SecuritySettings s;
  s.password_file = dir.write("passwd", kPasswd);
  auto first = make_security(one_listener(s));
  ASSERT_TRUE(first);
  dir.write("passwd", "alice:broken\n");
  std::vector<std::string> warnings;
  auto second = make_security(one_listener(s), {}, &warnings);
  ASSERT_TRUE(second) << "a bad line blocks its user, not the file";
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(warnings[0].starts_with(dir.path("passwd") + ":1: ")) << warnings[0];
  std::string name;
  EXPECT_NE((*second)->authenticate(client("alice", "secret"), name), 0) << "alice is blocked";
  EXPECT_EQ((*first)->authenticate(client("alice", "secret"), name), 0) << "old one unchanged";
  SecurityLoad warn = load_security(one_listener([&] {
    config::SecuritySettings a;
    a.acl_file = dir.write("acl", "pattern read public/#\n");
    return a;
  }()));
  ASSERT_EQ(warn.warnings.size(), 1u);
  EXPECT_NE(warn.security, nullptr);
}

}  // namespace
}  // namespace petrel::auth
