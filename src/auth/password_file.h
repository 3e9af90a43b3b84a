#pragma once
// PasswordFile: the users of a Mosquitto password file (`password_file`), each with its
// decoded hash. Immutable after parse; safe to share between threads.
//
// Format: one `username:hash` per line (hash as in password_hash.h). Blank lines and
// lines starting with '#' are skipped; blanks around the username and the hash are
// ignored, as Mosquitto ignores them. A bad line does not make the file unusable (as with
// Mosquitto): it is reported in problems() as `file:line: what is wrong` (a line without
// ':', an empty username or hash, a duplicate user, a hash that does not decode, a
// plain-text password with the command that hashes the file) and the user named on it,
// if any, cannot log in. The broker logs the problems as warnings; `--test-config`
// reports them as errors. An empty password never logs in (Mosquitto refuses them too),
// whatever the stored hash.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "auth/file_text.h"
#include "auth/password_hash.h"
#include "common/result.h"

namespace petrel::auth {

class PasswordFile {
 public:
  // `name` is the file name used in messages.
  static Result<PasswordFile> parse(std::string_view text, std::string_view name);
  static Result<PasswordFile> load(const std::string& path);

  bool contains(std::string_view user) const { return users_.find(user) != users_.end(); }
  // `file:line: message` for every line that was not understood, in file order.
  const std::vector<std::string>& problems() const { return problems_; }
  // Named on a bad line: never logs in, even if another line defines the user well.
  bool blocked(std::string_view user) const { return blocked_.find(user) != blocked_.end(); }
  const PasswordHash* find(std::string_view user) const;
  // True when user is listed and password matches. An unknown user costs one hash of the
  // default kind too, so timing does not tell which users exist.
  bool check(std::string_view user, std::string_view password) const;
  size_t size() const { return users_.size(); }

 private:
  std::unordered_map<std::string, PasswordHash, StringHash, std::equal_to<>> users_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> blocked_;
  std::vector<std::string> problems_;
};

}  // namespace petrel::auth
