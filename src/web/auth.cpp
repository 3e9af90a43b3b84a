#include "web/auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "auth/base64.h"
#include "web/json.h"

namespace petrel::web {
namespace {

// 32 random bytes, base64url without padding (43 characters).
Result<std::string> random_token() {
  std::array<uint8_t, 32> bytes;
  if (RAND_bytes(bytes.data(), int(bytes.size())) != 1) return make_error(0, "no random bytes for a session token");
  std::string s = auth::base64_encode(bytes, false);
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return s;
}

// The session table's key for a token.
std::string token_key(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md;
  unsigned int len = 0;
  if (EVP_Digest(token.data(), token.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

bool same_hash(const auth::PasswordHash& a, const auth::PasswordHash& b) {
  return a.kind == b.kind && a.iterations == b.iterations && a.memory_kib == b.memory_kib && a.lanes == b.lanes &&
         a.version == b.version && a.salt == b.salt && a.hash == b.hash;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of the session cookie among all Cookie headers, "" when absent.
std::string_view session_cookie(const Request& req) {
  for (const auto& [name, value] : req.headers) {
    if (!iequals(name, "Cookie")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = trim_spaces(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == kSessionCookie) return pair.substr(eq + 1);
    }
  }
  return {};
}

}  // namespace

std::string printable_user(std::string_view user) {
  std::string out;
  for (char c : user.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (user.size() > 64) out += "...";
  return out;
}

Response rate_limited_response(int64_t retry_after_s) {
  Response r = error_response(429, "too many failed logins; try again later");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

Auth::Auth(AuthOptions options, const Clock* clock)
    : options_(options), clock_(clock ? *clock : system_clock_), limiter_(options.rate) {}

Result<void> Auth::set_password_file(const std::string& path) {
  auto users = auth::PasswordFile::load(path);
  if (!users) return users.error();
  // Stricter than the broker's (which skips a bad line and blocks its user): the admin's
  // file is used only when every line is understood, so a typo cannot lock the admin out
  // of a running broker; the users loaded before stay.
  if (!users->problems().empty()) {
    std::string all;
    for (const auto& p : users->problems()) all += (all.empty() ? "" : "\n") + p;
    return make_error(0, std::move(all));
  }
  set_users(std::move(*users));
  return {};
}

void Auth::set_users(auth::PasswordFile users) {
  auto next = std::make_shared<const auth::PasswordFile>(std::move(users));
  std::lock_guard lock(mu_);
  // A session survives only when its user is still there with the same password.
  std::erase_if(sessions_, [&](const auto& kv) {
    const auth::PasswordHash* now = next->find(kv.second.user);
    const auth::PasswordHash* before = users_ ? users_->find(kv.second.user) : nullptr;
    return now == nullptr || before == nullptr || !same_hash(*now, *before);
  });
  users_ = std::move(next);
}

void Auth::set_audit(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(audit_mu_);
  audit_ = std::move(sink);
}

void Auth::audit(std::string_view line) const {
  std::lock_guard lock(audit_mu_);
  if (audit_) audit_(line);
}

Auth::Session* Auth::live_session(std::string_view token, int64_t now) {
  if (token.empty()) return nullptr;
  auto it = sessions_.find(token_key(token));
  if (it == sessions_.end()) return nullptr;
  Session& s = it->second;
  if (now - s.last_used_ms >= options_.session_idle.count() || now - s.created_ms >= options_.session_lifetime.count()) {
    sessions_.erase(it);
    return nullptr;
  }
  s.last_used_ms = now;
  return &s;
}

Response Auth::unauthorized(const Request& req) const {
  Response r = error_response(401, "authentication required");
  // The admin page's fetch() calls say who they are: a native login dialog popping up
  // over the page's own form would be wrong there.
  if (!iequals(req.header("X-Requested-With"), "petrel-ui")) {
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Petrel\"");
  }
  return r;
}

std::optional<Response> Auth::authenticate(Request& req) {
  std::string_view authorization = trim_spaces(req.header("Authorization"));
  if (!authorization.empty()) {
    const size_t space = authorization.find(' ');
    const std::string_view scheme = authorization.substr(0, space);
    const std::string_view credentials =
        space == std::string_view::npos ? std::string_view{} : trim_spaces(authorization.substr(space + 1));
    if (iequals(scheme, "Basic")) {
      if (int64_t wait = login_retry_after_s(req.peer)) return rate_limited_response(wait);
      std::string pair;
      if (auto decoded = auth::base64_decode(credentials)) {
        pair.assign(decoded->begin(), decoded->end());
        OPENSSL_cleanse(decoded->data(), decoded->size());
      }
      const size_t colon = pair.find(':');
      const std::string_view user = std::string_view(pair).substr(0, colon);
      bool ok = false;
      if (colon == std::string::npos) record_login(false, user, req.peer, true);  // malformed: still a failure
      else ok = check_login(user, std::string_view(pair).substr(colon + 1), req.peer, true);
      if (ok) {
        req.user = std::string(user);
        req.via = AuthVia::kBasic;
      }
      OPENSSL_cleanse(pair.data(), pair.size());
      if (!ok) return unauthorized(req);
      return std::nullopt;
    }
    if (iequals(scheme, "Bearer")) {
      std::lock_guard lock(mu_);
      const Session* s = live_session(credentials, clock_.now_ms());
      if (s == nullptr) return unauthorized(req);
      req.user = s->user;
      req.via = AuthVia::kBearer;
      req.session_token = std::string(credentials);
      return std::nullopt;
    }
    return unauthorized(req);
  }
  const std::string_view cookie = session_cookie(req);
  std::lock_guard lock(mu_);
  const Session* s = live_session(cookie, clock_.now_ms());
  if (s == nullptr) return unauthorized(req);
  req.user = s->user;
  req.via = AuthVia::kCookie;
  req.session_token = std::string(cookie);
  return std::nullopt;
}

bool Auth::csrf_ok(const Request& req) const {
  if (req.via != AuthVia::kCookie) return true;
  const std::string expected = csrf_token(req.session_token);
  const std::string_view got = req.header(kCsrfHeader);
  return !expected.empty() && got.size() == expected.size() && CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0;
}

int64_t Auth::login_retry_after_s(std::string_view peer) const {
  std::lock_guard lock(mu_);
  return limiter_.retry_after_s(peer, clock_.now_ms());
}

bool Auth::check_login(std::string_view user, std::string_view password, std::string_view peer, bool basic) {
  std::shared_ptr<const auth::PasswordFile> users;
  {
    std::lock_guard lock(mu_);
    users = users_;
  }
  // Hashing takes a while by design: not under the lock.
  const bool ok = users != nullptr && users->check(user, password);
  record_login(ok, user, peer, basic);
  return ok;
}

void Auth::record_login(bool ok, std::string_view user, std::string_view peer, bool basic) {
  int64_t lock_ms = 0;
  {
    std::lock_guard lock(mu_);
    if (ok) limiter_.success(peer);
    else lock_ms = limiter_.failure(peer, clock_.now_ms());
  }
  if (!ok) {
    audit(fmt::format("admin: failed login for '{}' from {}{}", printable_user(user), peer, basic ? " (basic auth)" : ""));
  }
  if (lock_ms > 0) audit(fmt::format("admin: too many failed logins from {}: locked for {} s", peer, lock_ms / 1000));
}

Result<NewSession> Auth::create_session(std::string_view user) {
  auto token = random_token();
  auto csrf = random_token();
  if (!token || !csrf) return make_error(0, "no random bytes for a session token");
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  if (sessions_.size() >= options_.max_sessions) {
    std::erase_if(sessions_, [&](const auto& kv) {
      return now - kv.second.last_used_ms >= options_.session_idle.count() ||
             now - kv.second.created_ms >= options_.session_lifetime.count();
    });
  }
  if (sessions_.size() >= options_.max_sessions && !sessions_.empty()) {
    auto lru = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used_ms < b.second.last_used_ms;
    });
    sessions_.erase(lru);
  }
  sessions_[token_key(*token)] = Session{std::string(user), *csrf, now, now};
  return NewSession{std::move(*token), std::move(*csrf), options_.session_idle.count() / 1000};
}

std::string Auth::csrf_token(std::string_view session_token) const {
  if (session_token.empty()) return {};
  std::lock_guard lock(mu_);
  auto it = sessions_.find(token_key(session_token));
  return it == sessions_.end() ? std::string() : it->second.csrf_token;
}

void Auth::end_session(std::string_view session_token) {
  if (session_token.empty()) return;
  std::lock_guard lock(mu_);
  sessions_.erase(token_key(session_token));
}

void Auth::end_sessions_of(std::string_view user) {
  std::lock_guard lock(mu_);
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.user == user; });
}

size_t Auth::session_count() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace petrel::web
