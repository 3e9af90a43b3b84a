#include "net/http_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace petrel::net {

namespace {

std::string http_date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // IMF-fixdate (RFC 9110 section 5.6.7), independent of the locale.
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                     kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string head_of(int status, std::string_view reason, std::string_view type, uint64_t length,
                    std::string_view extra = {}) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nDate: {}\r\nServer: Petrel\r\nConnection: close\r\nContent-Type: {}\r\n"
      "Content-Length: {}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\n{}\r\n",
      status, reason, http_date(), type, length, extra);
}

HttpFiles::Response error_response(bool head_only, int status, std::string_view reason, std::string_view method,
                                   std::string_view target, std::string_view why, std::string_view extra = {}) {
  HttpFiles::Response r;
  r.status = status;
  const std::string body = fmt::format("{} {}\n", status, reason);
  r.head = head_of(status, reason, "text/plain; charset=utf-8", body.size(), extra);
  if (!head_only) r.body = body;
  r.log = fmt::format("{} {} {} ({})", method, target, status, why);
  return r;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one path segment; false when an escape is malformed or the decoded
// segment holds a NUL or a '/' (which would change what the segments mean).
bool decode_segment(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;  // needs two hex digits after it
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0' || c == '/') return false;
    out.push_back(c);
  }
  return true;
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.find('/', dot) != std::string_view::npos) {
    return "application/octet-stream";
  }
  std::string ext(name.substr(dot + 1));
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  struct Type {
    const char* ext;
    const char* type;
  };
  static const Type kTypes[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"}, {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"}, {"json", "application/json"},
      {"map", "application/json"}, {"txt", "text/plain; charset=utf-8"},
      {"svg", "image/svg+xml"}, {"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
      {"gif", "image/gif"}, {"webp", "image/webp"}, {"ico", "image/x-icon"},
      {"wasm", "application/wasm"}, {"woff", "font/woff"}, {"woff2", "font/woff2"},
      {"xml", "application/xml"}, {"pdf", "application/pdf"},
  };
  for (const auto& t : kTypes) {
    if (ext == t.ext) return t.type;
  }
  return "application/octet-stream";
}

std::shared_ptr<const HttpFiles> HttpFiles::open(const std::string& dir, std::string& error) {
  error.clear();
  char resolved[PATH_MAX];
  if (!::realpath(dir.c_str(), resolved)) {
    error = fmt::format("http_dir {}: {}", dir, std::strerror(errno));
    return nullptr;
  }
  struct stat st {};
  if (::stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = fmt::format("http_dir {}: not a directory", dir);
    return nullptr;
  }
  if (::access(resolved, R_OK | X_OK) != 0) {
    error = fmt::format("http_dir {}: cannot be read: {}", dir, std::strerror(errno));
    return nullptr;
  }
  std::string root(resolved);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return std::shared_ptr<const HttpFiles>(new HttpFiles(root == "/" ? std::string() : root));
}

HttpFiles::Response HttpFiles::respond(std::string_view method, std::string_view target) const {
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return error_response(false, 405, "Method Not Allowed", method, target, "only GET and HEAD are served",
                          "Allow: GET, HEAD\r\n");
  }
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path.empty() || path.front() != '/') {
    return error_response(head_only, 400, "Bad Request", method, target, "not an origin-form path");
  }
  std::string rel;
  std::string seg;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view raw = path.substr(start, end - start);
    start = end + 1;
    if (!decode_segment(raw, seg)) {
      return error_response(head_only, 400, "Bad Request", method, target, "malformed path");
    }
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") return error_response(head_only, 403, "Forbidden", method, target, "the path leaves http_dir");
    if (seg.front() == '.') return error_response(head_only, 404, "Not Found", method, target, "hidden file");
    rel += '/';
    rel += seg;
  }
  std::string file = root_ + rel;
  if (file.empty()) file = "/";
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (path.back() != '/') {
      // A directory named without its trailing '/': the page's relative links would
      // resolve against its parent, so send the browser to the right name first.
      const std::string location = std::string(path) + "/" + std::string(target.substr(path.size()));
      return error_response(head_only, 301, "Moved Permanently", method, target, "a directory",
                            fmt::format("Location: {}\r\n", location));
    }
    file += (file.back() == '/' ? "" : "/") + std::string("index.html");
  }
  char resolved[PATH_MAX];
  if (!::realpath(file.c_str(), resolved)) {
    const int e = errno;
    if (e == EACCES) return error_response(head_only, 403, "Forbidden", method, target, std::strerror(e));
    return error_response(head_only, 404, "Not Found", method, target, std::strerror(e));
  }
  const std::string_view real(resolved);
  if (real.size() <= root_.size() || real.compare(0, root_.size(), root_) != 0 || real[root_.size()] != '/') {
    return error_response(head_only, 403, "Forbidden", method, target, "a link leads out of http_dir");
  }
  const int fd = ::open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int e = errno;
    if (e == EACCES) return error_response(head_only, 403, "Forbidden", method, target, std::strerror(e));
    return error_response(head_only, 404, "Not Found", method, target, std::strerror(e));
  }
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error_response(head_only, 404, "Not Found", method, target, "not a regular file");
  }
  Response r;
  r.status = 200;
  r.length = uint64_t(st.st_size);
  r.head = head_of(200, "OK", content_type_for(real), r.length);
  r.log = fmt::format("{} {} 200 ({} bytes)", method, target, r.length);
  if (head_only) {
    ::close(fd);
    r.length = 0;
  } else {
    r.fd = fd;
  }
  return r;
}

}  // namespace petrel::net
