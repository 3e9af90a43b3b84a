#pragma once
// Line-oriented reading shared by the password, PSK and ACL file parsers: the whole file
// as text, then one callback per line with its 1-based number, so every error can be
// reported as `file:line: what is wrong`.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace petrel::auth {

// The file's bytes, or an error "PATH: cannot read: REASON".
Result<std::string> read_text_file(const std::string& path);

// Spaces, tabs, CR and LF removed from both ends.
std::string_view trim(std::string_view s);

// Calls f(line_number, line) for each line of text, without its "\n" or "\r\n".
template <class F>
void for_each_line(std::string_view text, F&& f) {
  int number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(++number, line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// Collects `file:line: message` errors while a file is parsed.
class Diagnostics {
 public:
  explicit Diagnostics(std::string_view file) : file_(file) {}
  void error(int line, std::string_view message);
  void warning(int line, std::string_view message);
  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  std::vector<std::string>& warnings() { return warnings_; }
  // All errors, one per line, as an Error for Result<T>.
  Error to_error() const;

 private:
  std::string file_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

// Transparent hashing so unordered_map<std::string, T> can be searched with a
// string_view without building a std::string (no allocation on the lookup path).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace petrel::auth
