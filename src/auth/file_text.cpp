#include "auth/file_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace petrel::auth {

Result<std::string> read_text_file(const std::string& path) {
  auto fail = [&path](int e) { return make_error(0, path + ": cannot read: " + std::strerror(e)); };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    return fail(e);
  }
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return fail(e);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
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
