#include "auth/file_text.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace petrel::auth {

Result<std::string> read_text_file(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int e = errno;
    return make_error(0, path + ": cannot read: " + (e ? std::strerror(e) : "cannot open"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(0, path + ": cannot read: I/O error");
  return ss.str();
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kBlank = " \t\r\n";
  size_t b = s.find_first_not_of(kBlank);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kBlank);
  return s.substr(b, e - b + 1);
}

void Diagnostics::error(int line, std::string_view message) {
  errors_.push_back(file_ + ":" + std::to_string(line) + ": " + std::string(message));
}

void Diagnostics::warning(int line, std::string_view message) {
  warnings_.push_back(file_ + ":" + std::to_string(line) + ": " + std::string(message));
}

Error Diagnostics::to_error() const {
  std::string all;
  for (const auto& e : errors_) {
    if (!all.empty()) all += '\n';
    all += e;
  }
  return make_error(0, std::move(all));
}

}  // namespace petrel::auth
