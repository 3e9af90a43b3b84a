#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace petrel::passwd {
namespace {

std::string resolve(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf)) return buf;
  return path;  // does not exist yet
}

bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// The rename itself must reach the disk too (routers lose power).
void sync_directory(const std::string& file) {
  size_t slash = file.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : file.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// For a file we may write in a directory we may not: rewrite it where it is, as
// mosquitto_passwd always does (not atomic, but the only way left).
bool write_in_place(const std::string& target, const std::string& text) {
  int fd = ::open(target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  bool ok = fd >= 0 && write_all(fd, text) && ::fsync(fd) == 0;
  int e = errno;
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "Error occurred updating password file %s: %s.\n", target.c_str(),
                 std::strerror(e));
  }
  return ok;
}

}  // namespace

bool read_file(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

bool write_file_atomic(const std::string& path, const std::string& text) {
  const std::string target = resolve(path);
  struct stat old {};
  const bool existed = ::stat(target.c_str(), &old) == 0;
  std::string tmp = target + ".tmp.XXXXXX";
  mode_t prev = ::umask(077);
  int fd = ::mkstemp(tmp.data());
  ::umask(prev);
  if (fd < 0 && existed && errno == EACCES) return write_in_place(target, text);
  if (fd < 0) {
    std::fprintf(stderr, "Error: Unable to open file %s for writing. %s.\n", target.c_str(),
                 std::strerror(errno));
    return false;
  }
  int e = 0;
  auto step = [&e](bool good) {
    if (!good && e == 0) e = errno;
    return good;
  };
  bool ok = step(write_all(fd, text)) && step(::fsync(fd) == 0);
  if (ok && existed) {
    ok = step(::fchmod(fd, old.st_mode & 07777) == 0);
    // Keeping the owner needs root; otherwise the file belongs to whoever ran us.
    (void)!::fchown(fd, old.st_uid, old.st_gid);
  }
  ok = step(::close(fd) == 0) && ok;
  ok = ok && step(::rename(tmp.c_str(), target.c_str()) == 0);
  if (ok) sync_directory(target);
  if (!ok) {
    ::unlink(tmp.c_str());
    std::fprintf(stderr, "Error occurred updating password file %s: %s.\n", target.c_str(),
                 std::strerror(e));
  }
  return ok;
}

}  // namespace petrel::passwd
