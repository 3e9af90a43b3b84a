// Authentication, sessions, CSRF and login rate limiting, over real HTTP.
#include <gtest/gtest.h>

#include "test_support.h"

namespace petrel::web::test {
namespace {

class AuthTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    router_.add("GET", "/api/thing", [](Request& req, std::shared_ptr<web::Reply> reply) {
      reply->send(json_response(200, {{"user", req.user}, {"via", auth_via_name(req.via)}}));
    });
    router_.add("POST", "/api/thing", [](Request& req, std::shared_ptr<web::Reply> reply) {
      reply->send(json_response(200, {{"changed", true}}));
    });
    start();
  }
  static Headers cookie(const std::string& token) { return {{"Cookie", "theme=dark; petrel_session=" + token}}; }
};

TEST_F(AuthTest, MissingCredentialsGet401WithBasicChallenge) {
  Answer r = get("/api/thing");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json()["error"], "authentication required");
  EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"Petrel\"");
}

TEST_F(AuthTest, TheUiHeaderSuppressesTheBrowserDialog) {
  Answer r = get("/api/thing", {{"X-Requested-With", "petrel-ui"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate"), "");
}

TEST_F(AuthTest, BasicRightAndWrong) {
  Answer ok = get("/api/thing", {{"Authorization", basic("admin", "secret")}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.json()["user"], "admin");
  EXPECT_EQ(ok.json()["via"], "basic");
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "wrong")}}).status, 401);
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("nobody", "secret")}}).status, 401);
  EXPECT_EQ(get("/api/thing", {{"Authorization", "Basic !!!"}}).status, 401);
  EXPECT_EQ(get("/api/thing", {{"Authorization", "Digest x"}}).status, 401);
  // Basic needs no CSRF token: a browser never adds it to a request on its own.
  EXPECT_EQ(post("/api/thing", {{"Authorization", basic("admin", "secret")}}).status, 200);
}

TEST_F(AuthTest, LoginCookieAndCsrf) {
  Answer r = post("/api/petrel/v1/login", {{"Content-Type", "application/json"}},
                  R"({"username":"admin","password":"secret"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = r.json();
  EXPECT_EQ(o["username"], "admin");
  const std::string token(o["token"].as_string()), csrf(o["csrf_token"].as_string());
  EXPECT_EQ(token.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
  EXPECT_NE(token, csrf);
  EXPECT_EQ(o["expires_in"], 1800);
  EXPECT_EQ(r.header("Set-Cookie"), "petrel_session=" + token + "; Path=/; HttpOnly; SameSite=Strict");

  Answer g = get("/api/thing", cookie(token));
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.json()["via"], "cookie");

  Answer no_csrf = post("/api/thing", cookie(token));
  EXPECT_EQ(no_csrf.status, 403);
  EXPECT_EQ(no_csrf.json()["error"], "missing or wrong CSRF token");
  Headers wrong = cookie(token);
  wrong.emplace_back("X-CSRF-Token", csrf.substr(1) + "x");
  EXPECT_EQ(post("/api/thing", wrong).status, 403);
  Headers right = cookie(token);
  right.emplace_back("X-CSRF-Token", csrf);
  EXPECT_EQ(post("/api/thing", right).status, 200);

  Answer s = get("/api/petrel/v1/session", cookie(token));
  EXPECT_EQ(s.json()["username"], "admin");
  EXPECT_EQ(std::string(s.json()["csrf_token"].as_string()), csrf);
  EXPECT_EQ(s.json()["via"], "cookie");
}

TEST_F(AuthTest, BearerNeedsNoCsrf) {
  auto [token, csrf] = login("admin", "secret");
  Answer r = post("/api/thing", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(get("/api/petrel/v1/session", {{"Authorization", "Bearer " + token}}).json()["via"], "bearer");
  EXPECT_EQ(get("/api/thing", {{"Authorization", "Bearer " + token + "x"}}).status, 401);
}

TEST_F(AuthTest, LoginFailures) {
  Answer wrong = post("/api/petrel/v1/login", {{"Content-Type", "application/json"}},
                      R"({"username":"admin","password":"nope"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json()["error"], "wrong username or password");
  EXPECT_EQ(wrong.header("Set-Cookie"), "");
  EXPECT_EQ(wrong.header("WWW-Authenticate"), "");

  Answer bad = post("/api/petrel/v1/login", {{"Content-Type", "application/json"}}, R"({"username":)");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(std::string(bad.json()["error"].as_string()).find("body is not valid JSON"), std::string::npos) << bad.body;
  EXPECT_EQ(post("/api/petrel/v1/login", {{"Content-Type", "application/json"}}, "[1]").json()["error"],
            "body must be a JSON object");
  Answer missing = post("/api/petrel/v1/login", {{"Content-Type", "application/json"}}, R"({"username":"admin"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.json()["fields"].as_array().at(0).as_object().at("field"), "password");
  // A form post from another site cannot carry this content type without asking first.
  EXPECT_EQ(post("/api/petrel/v1/login", {{"Content-Type", "application/x-www-form-urlencoded"}},
                 "username=admin&password=secret")
                .status,
            415);
}

TEST_F(AuthTest, AuditLinesNeverHoldPasswords) {
  login("admin", "secret");
  post("/api/petrel/v1/login", {{"Content-Type", "application/json"}}, R"({"username":"x","password":"guess1"})");
  get("/api/thing", {{"Authorization", basic("y", "guess2")}});
  auto [token, csrf] = login("bob", "hunter2");
  post("/api/petrel/v1/logout", {{"Cookie", "petrel_session=" + token}, {"X-CSRF-Token", csrf}});
  const auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "admin: login by 'admin' from 127.0.0.1");
  EXPECT_EQ(lines[1], "admin: failed login for 'x' from 127.0.0.1");
  EXPECT_EQ(lines[2], "admin: failed login for 'y' from 127.0.0.1 (basic auth)");
  EXPECT_EQ(lines[3], "admin: login by 'bob' from 127.0.0.1");
  EXPECT_EQ(lines[4], "admin: logout by 'bob' from 127.0.0.1");
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("secret"), std::string::npos);
    EXPECT_EQ(l.find("guess"), std::string::npos);
    EXPECT_EQ(l.find("hunter2"), std::string::npos);
  }
}

TEST_F(AuthTest, LogoutEndsTheSession) {
  auto [token, csrf] = login("admin", "secret");
  auto [other, other_csrf] = login("admin", "secret");
  ASSERT_EQ(get("/api/thing", cookie(token)).status, 200);
  // Logout is state-changing: the cookie alone is not enough.
  EXPECT_EQ(post("/api/petrel/v1/logout", cookie(token)).status, 403);
  Headers h = cookie(token);
  h.emplace_back("X-CSRF-Token", csrf);
  Answer out = post("/api/petrel/v1/logout", h);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.header("Set-Cookie"), "petrel_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  EXPECT_EQ(get("/api/thing", cookie(token)).status, 401);
  EXPECT_EQ(get("/api/thing", {{"Authorization", "Bearer " + token}}).status, 401);
  // Only the session logged out from ends; the user's other login goes on.
  EXPECT_EQ(get("/api/thing", cookie(other)).status, 200);
}

TEST_F(AuthTest, IdleSessionsExpireAndUseKeepsThemAlive) {
  auto [token, csrf] = login("admin", "secret");
  clock_.advance(20min);
  ASSERT_EQ(get("/api/thing", cookie(token)).status, 200);
  clock_.advance(20min);  // 40 min since login, 20 since the last use
  ASSERT_EQ(get("/api/thing", cookie(token)).status, 200);
  clock_.advance(30min);
  EXPECT_EQ(get("/api/thing", cookie(token)).status, 401);
  EXPECT_EQ(auth_.session_count(), 0u);
}

TEST_F(AuthTest, SessionsEndAtTheirAbsoluteLifetime) {
  auto [token, csrf] = login("admin", "secret");
  for (int i = 0; i < 24; ++i) {  // used every 29 minutes for 11.6 hours
    clock_.advance(29min);
    ASSERT_EQ(get("/api/thing", cookie(token)).status, 200) << i;
  }
  clock_.advance(29min);  // 12.1 hours
  EXPECT_EQ(get("/api/thing", cookie(token)).status, 401);
}

TEST_F(AuthTest, ReloadingUsersEndsSessionsOfRemovedOrChangedUsers) {
  auto [admin, admin_csrf] = login("admin", "secret");
  auto [bob, bob_csrf] = login("bob", "hunter2");
  // admin's line is kept byte for byte; bob is gone.
  std::ifstream in(password_file_);
  std::string first;
  std::getline(in, first);
  dir_.write("passwd", first + "\n");
  ASSERT_TRUE(auth_.set_password_file(password_file_).ok());
  EXPECT_EQ(get("/api/thing", cookie(bob)).status, 401);
  EXPECT_EQ(get("/api/thing", cookie(admin)).status, 200);

  // A new password for admin ends admin's session too.
  dir_.write("passwd", password_lines({{"admin", "changed"}}));
  ASSERT_TRUE(auth_.set_password_file(password_file_).ok());
  EXPECT_EQ(get("/api/thing", cookie(admin)).status, 401);
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "changed")}}).status, 200);

  // A broken file keeps the users that were loaded.
  dir_.write("passwd", "admin:plaintext\n");
  auto bad = auth_.set_password_file(password_file_);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "changed")}}).status, 200);
  EXPECT_FALSE(auth_.set_password_file(dir_.path("missing")).ok());
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "changed")}}).status, 200);
}

TEST_F(AuthTest, FailedLoginsAreRateLimitedPerAddress) {
  for (int i = 0; i < 5; ++i) {
    Answer r = get("/api/thing", {{"Authorization", basic("admin", "wrong")}});
    ASSERT_EQ(r.status, 401) << i;
  }
  // Locked: even the right password is not checked now.
  Answer locked = get("/api/thing", {{"Authorization", basic("admin", "secret")}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(locked.header("Retry-After"), "60");
  Answer login_locked = post("/api/petrel/v1/login", {{"Content-Type", "application/json"}},
                             R"({"username":"admin","password":"secret"})");
  EXPECT_EQ(login_locked.status, 429);
  clock_.advance(30s);
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "secret")}}).header("Retry-After"), "30");

  // After the lock, the next failure locks for twice as long.
  clock_.advance(31s);
  EXPECT_EQ(post("/api/petrel/v1/login", {{"Content-Type", "application/json"}},
                 R"({"username":"admin","password":"wrong"})")
                .status,
            401);
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "secret")}}).header("Retry-After"), "120");

  // A success clears the address: five failures are answered normally again.
  clock_.advance(121s);
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "secret")}}).status, 200);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(get("/api/thing", {{"Authorization", basic("admin", "x")}}).status, 401) << i;
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "secret")}}).status, 200);

  // Sessions are not password checks: a locked address keeps using its session.
  auto [token, csrf] = login("admin", "secret");
  for (int i = 0; i < 5; ++i) get("/api/thing", {{"Authorization", basic("admin", "x")}});
  EXPECT_EQ(get("/api/thing", {{"Authorization", basic("admin", "secret")}}).status, 429);
  EXPECT_EQ(get("/api/thing", cookie(token)).status, 200);
}

TEST(LoginRateLimiter, LocksDoubleUpToTheCapAndTheTableIsBounded) {
  RateLimits limits;
  limits.max_addresses = 3;
  LoginRateLimiter l(limits);
  int64_t now = 0;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(l.failure("a", now), 0);
  EXPECT_EQ(l.failure("a", now), 60'000);
  int64_t lock = 60'000;
  for (int i = 0; i < 6; ++i) {
    now += lock;
    EXPECT_EQ(l.retry_after_s("a", now), 0);
    lock = std::min<int64_t>(lock * 2, 15 * 60'000);
    EXPECT_EQ(l.failure("a", now), lock) << i;
  }
  EXPECT_EQ(lock, 15 * 60'000);
  EXPECT_EQ(l.retry_after_s("a", now + 1), 900);

  // Failures spread over more than a window never lock.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(l.failure("b", now + i * 20'000), 0) << i;

  // Room for three addresses: the one untouched longest goes.
  l.failure("c", now + 300'000);
  l.failure("d", now + 400'000);
  EXPECT_EQ(l.tracked(), 3u);
  EXPECT_EQ(l.retry_after_s("a", now + 400'000), 0);  // "a" was evicted (with its lock)
}

}  // namespace
}  // namespace petrel::web::test
