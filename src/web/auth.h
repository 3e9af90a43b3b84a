#pragma once
// Auth: who may use the admin API, checked by the server before routing (public routes
// skip it). Owns the users (a Mosquitto password file), the login sessions with their CSRF
// tokens, and the per-address login rate limiter. Thread-safe: the server thread checks
// requests while the app reloads the password file from another.
//
// Credentials, in this order: `Authorization: Basic` (as Mosquitto 2.1's http_api),
// `Authorization: Bearer <token>`, or the cookie `petrel_session=<token>`. Tokens are 32
// random bytes in base64url; only their SHA-256 is kept, so the session table holds no
// usable secret. A session ends after `session_idle` without use, after
// `session_lifetime` in all, at logout, and when a new user list drops its user or
// changes their password. A state-changing request that authenticated by cookie (which a
// browser attaches on its own, even to a request another site makes it send) must also
// carry the session's CSRF token in X-CSRF-Token; Basic and Bearer need none.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/password_file.h"
#include "common/clock.h"
#include "common/result.h"
#include "web/rate_limiter.h"
#include "web/request.h"

namespace petrel::web {

class Router;

inline constexpr std::string_view kSessionCookie = "petrel_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct AuthOptions {
  std::chrono::milliseconds session_idle{30 * 60'000};
  std::chrono::milliseconds session_lifetime{12 * 3600'000};
  size_t max_sessions = 1024;  // the least recently used goes when a login needs room
  RateLimits rate;
};

struct NewSession {
  std::string token;
  std::string csrf_token;
  int64_t expires_in_s = 0;  // the idle timeout: how long it stays valid unused
};

class Auth {
 public:
  // clock: nullptr = the system clock. Must outlive the Auth.
  explicit Auth(AuthOptions options = {}, const Clock* clock = nullptr);

  // Loads the users; on error the previous users stay and the error is returned.
  Result<void> set_password_file(const std::string& path);
  void set_users(auth::PasswordFile users);
  // Receives one line per login, failed login and logout (never a password); handlers
  // report their changes through audit() too.
  void set_audit(std::function<void(std::string_view line)> sink);
  void audit(std::string_view line) const;

  // Authenticates a request to a non-public route: fills req.user, req.via and
  // req.session_token and returns nullopt, or returns the response to send instead
  // (401, or 429 for a locked address).
  std::optional<Response> authenticate(Request& req);
  // True when req (authenticated by cookie) carries its session's CSRF token.
  bool csrf_ok(const Request& req) const;

  // For the login route. Seconds the address must wait, 0 when it may try.
  int64_t login_retry_after_s(std::string_view peer) const;
  // Checks a password; a failure counts against peer and is audited (basic: it came as
  // Basic credentials rather than through the login route).
  bool check_login(std::string_view user, std::string_view password, std::string_view peer, bool basic);
  Result<NewSession> create_session(std::string_view user);
  // The CSRF token of the session, "" when it has none.
  std::string csrf_token(std::string_view session_token) const;
  void end_session(std::string_view session_token);
  // Ends every session of user ("log out everywhere").
  void end_sessions_of(std::string_view user);
  size_t session_count() const;

 private:
  struct Session {
    std::string user;
    std::string csrf_token;
    int64_t created_ms = 0;
    int64_t last_used_ms = 0;
  };
  using SessionTable = std::unordered_map<std::string, Session, auth::StringHash, std::equal_to<>>;
  // The session of token when it is still valid (touching it), else nullptr (erasing it).
  Session* live_session(std::string_view token, int64_t now);  // requires mu_
  // Counts a failure against peer (audited) or clears it.
  void record_login(bool ok, std::string_view user, std::string_view peer, bool basic);
  Response unauthorized(const Request& req) const;
  Response too_many(int64_t retry_after_s) const;

  const AuthOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const auth::PasswordFile> users_;
  SessionTable sessions_;  // key: SHA-256 of the token
  LoginRateLimiter limiter_;
  mutable std::mutex audit_mu_;
  std::function<void(std::string_view)> audit_;
};

// The built-in public and session routes:
//   POST /api/petrel/v1/login   {"username","password"} -> session, cookie (public)
//   POST /api/petrel/v1/logout  ends the session it came with, clears the cookie
//   GET  /api/petrel/v1/session {"username","csrf_token","via"}
void add_auth_routes(Router& router, Auth& auth);

// 429 {"error":"too many failed logins; try again later"} with Retry-After.
Response rate_limited_response(int64_t retry_after_s);

// A user name as it may appear in a log line: printable ASCII, at most 64 characters.
std::string printable_user(std::string_view user);

}  // namespace petrel::web
