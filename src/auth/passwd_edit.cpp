#include "auth/passwd_edit.h"

#include <functional>

#include "auth/file_text.h"

namespace petrel::auth {
namespace {

Error corrupt(int n) {
  return make_error(0, "Corrupt password file at line " + std::to_string(n) + ".");
}

struct UserLine {
  std::string_view user;
  std::string_view secret;
};

// Splits a user line; false when it is blank or a comment (not a user line).
bool split_user_line(std::string_view line, UserLine& out, bool& bad) {
  bad = false;
  std::string_view t = trim(line);
  if (t.empty() || t.front() == '#') return false;
  size_t colon = t.find(':');
  if (colon == std::string_view::npos) {
    bad = true;
    return false;
  }
  out.user = trim(t.substr(0, colon));
  out.secret = trim(t.substr(colon + 1));
  bad = out.user.empty() || out.secret.empty();
  return !bad;
}

// Calls f(n, line, user_line_or_null) for each line; stops at the first corrupt line.
Result<void> walk(std::string_view text,
                  const std::function<Result<void>(int, std::string_view, const UserLine*)>& f) {
  Result<void> status;
  for_each_line(text, [&](int n, std::string_view line) {
    if (!status) return;
    UserLine u;
    bool bad = false;
    bool is_user = split_user_line(line, u, bad);
    if (bad) {
      status = corrupt(n);
      return;
    }
    status = f(n, line, is_user ? &u : nullptr);
  });
  return status;
}

void append_line(std::string& out, std::string_view line) {
  out.append(line);
  out += '\n';
}

}  // namespace

std::string password_line(std::string_view user, const PasswordHash& hash) {
  std::string s(user);
  s += ':';
  s += encode_password_hash(hash);
  s += '\n';
  return s;
}

Result<void> check_username(std::string_view user) {
  if (user.size() > 65535)
    return make_error(0, "Username must be less than 65536 characters long.");
  for (char c : user) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return make_error(0, "Username must not contain control characters.");
  }
  if (user.find(':') != std::string_view::npos) {
    return make_error(0, "Username must not contain the ':' character.");
  }
  return {};
}

Result<std::string> upsert_user(std::string_view text, std::string_view user, std::string_view line,
                                bool* replaced) {
  std::string out;
  bool done = false;
  auto r = walk(text, [&](int, std::string_view raw, const UserLine* u) -> Result<void> {
    if (u && !done && u->user == user) {
      out.append(line);
      if (out.empty() || out.back() != '\n') out += '\n';
      done = true;
    } else {
      append_line(out, raw);
    }
    return {};
  });
  if (!r) return r.error();
  if (!done) {
    out.append(line);
    if (out.back() != '\n') out += '\n';
  }
  if (replaced) *replaced = done;
  return out;
}

Result<std::string> delete_user(std::string_view text, std::string_view user, bool* found) {
  std::string out;
  bool seen = false;
  auto r = walk(text, [&](int, std::string_view raw, const UserLine* u) -> Result<void> {
    if (u && u->user == user) {
      seen = true;
    } else {
      append_line(out, raw);
    }
    return {};
  });
  if (!r) return r.error();
  if (found) *found = seen;
  return out;
}

Result<std::string> hash_plain_passwords(std::string_view text, const HashParams& params) {
  std::string out;
  auto r = walk(text, [&](int, std::string_view raw, const UserLine* u) -> Result<void> {
    if (!u || looks_hashed(u->secret)) {
      append_line(out, raw);
      return {};
    }
    auto h = hash_password(u->secret, params);
    if (!h) return make_error(0, "Unable to hash password.");
    out += password_line(u->user, *h);
    return {};
  });
  if (!r) return r.error();
  return out;
}

}  // namespace petrel::auth
