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

void parse_line(int n, std::string_view raw, std::string_view file, Diagnostics& diag,
                std::unordered_map<std::string, PasswordHash, StringHash, std::equal_to<>>& users,
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
  if (hash.empty()) return diag.error(n, "user '" + std::string(user) + "' has no password hash");
  if (!looks_hashed(hash) && !hash.starts_with("$")) {
    diag.error(n, "the password of user '" + std::string(user) +
                      "' is plain text; hash the file with `petrel_passwd -U " + std::string(file) +
                      "`");
    return;
  }
  auto parsed = parse_password_hash(hash);
  if (!parsed) {
    diag.error(n, "user '" + std::string(user) + "': " + parsed.error().message);
    return;
  }
  auto [it, fresh] = first_line.emplace(std::string(user), n);
  if (!fresh) {
    diag.error(n, "user '" + std::string(user) + "' is already defined on line " +
                      std::to_string(it->second));
    return;
  }
  users.emplace(std::string(user), std::move(parsed).value());
}

}  // namespace

Result<PasswordFile> PasswordFile::parse(std::string_view text, std::string_view name) {
  PasswordFile f;
  Diagnostics diag(name);
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> first_line;
  for_each_line(text, [&](int n, std::string_view line) {
    parse_line(n, line, name, diag, f.users_, first_line);
  });
  if (!diag.ok()) return diag.to_error();
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
  if (!h) {
    (void)verify_password(decoy_hash(), password);
    return false;
  }
  return verify_password(*h, password);
}

}  // namespace petrel::auth
