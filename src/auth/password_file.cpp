#include "auth/password_file.h"

namespace petrel::auth {
namespace {

// Stands in for an unknown user's hash so that refusing one takes as long as refusing a
// wrong password for a listed user with the default hash.
const PasswordHash& decoy_hash() {
  static const PasswordHash h = [] {
    HashParams p;
    static const uint8_t kSalt[12] = {'p', 'e', 't', 'r', 'e', 'l', '-', 'd', 'e', 'c', 'o', 'y'};
    auto r = hash_password_with_salt("decoy", p, kSalt);
    return r ? std::move(r).value() : PasswordHash{};
  }();
  return h;
}

using Users = std::unordered_map<std::string, PasswordHash, StringHash, std::equal_to<>>;
using Blocked = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// Parses one line into users; a bad line is reported to diag and its user (when the line
// names one) goes into blocked.
void parse_line(int n, std::string_view raw, std::string_view file, Diagnostics& diag,
                Users& users, Blocked& blocked,
                std::unordered_map<std::string, int, StringHash, std::equal_to<>>& first_line) {
  std::string_view line = trim(raw);
  if (line.empty() || line.front() == '#') return;
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    diag.error(n, "expected 'username:hash'");
    return;
  }
  std::string_view user = trim(line.substr(0, colon));
  std::string_view hash = trim(line.substr(colon + 1));
  if (user.empty()) return diag.error(n, "empty username");
  const std::string who = "user '" + std::string(user) + "'";
  auto bad = [&](const std::string& what) {
    diag.error(n, what + "; " + who + " cannot log in");
    blocked.emplace(user);
    users.erase(std::string(user));
  };
  if (hash.empty()) return bad(who + " has no password hash");
  if (!looks_hashed(hash) && !hash.starts_with("$")) {
    return bad("the password of " + who + " is plain text (hash the file with `petrel_passwd -U " +
               std::string(file) + "`)");
  }
  auto parsed = parse_password_hash(hash);
  if (!parsed) return bad(who + ": " + parsed.error().message);
  auto [it, fresh] = first_line.emplace(std::string(user), n);
  if (!fresh) return bad(who + " is already defined on line " + std::to_string(it->second));
  if (!blocked.contains(user)) users.emplace(std::string(user), std::move(parsed).value());
}

}  // namespace

Result<PasswordFile> PasswordFile::parse(std::string_view text, std::string_view name) {
  PasswordFile f;
  Diagnostics diag(name);
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> first_line;
  for_each_line(text, [&](int n, std::string_view line) {
    parse_line(n, line, name, diag, f.users_, f.blocked_, first_line);
  });
  f.problems_ = diag.errors();
  return f;
}

Result<PasswordFile> PasswordFile::load(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse(*text, path);
}

const PasswordHash* PasswordFile::find(std::string_view user) const {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second;
}

bool PasswordFile::check(std::string_view user, std::string_view password) const {
  const PasswordHash* h = find(user);
  if (!h || password.empty()) {
    (void)verify_password(decoy_hash(), password);
    return false;
  }
  return verify_password(*h, password);
}

}  // namespace petrel::auth
