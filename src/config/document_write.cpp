// ConfigDocument::write(): each changed file is replaced atomically (temporary file in the
// same directory, fsync, rename, fsync of the directory) and its previous version is kept
// as FILE.bak. Every temporary file is written before the first rename, so the failures
// that happen in practice (a read-only directory, a full disk) leave every file as it was.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "config/document.h"

namespace petrel::config {

namespace {

struct Pending {
  size_t file = 0;      // index into the document's files
  std::string path;     // as the document names it (for messages)
  std::string real;     // symbolic links resolved: the file that is replaced
  std::string dir;
  std::string tmp;      // the new text, synced
  std::string bak_tmp;  // the previous version, synced ("" for a new file)
};

Error os_error(const std::string& path, const std::string& what, int err) {
  return make_error(0, fmt::format("cannot write '{}': {}: {}", path, what, std::strerror(err)));
}

// A hidden name in `dir` that does not end in ".conf", so an include_dir never reads it.
std::string temp_name(const std::string& dir, const std::string& base, const char* kind) {
  static std::atomic<unsigned> counter{0};
  return fmt::format("{}/.{}.{}-{}-{}", dir, base, kind, ::getpid(), counter++);
}

// Creates `path` holding `data` with `mode` (and `owner`'s owner when allowed), synced.
// Returns 0 or an errno; on failure nothing is left behind.
int write_new_file(const std::string& path, std::string_view data, mode_t mode, const struct stat* owner) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  int err = 0;
  for (size_t off = 0; off < data.size() && err == 0;) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n >= 0) off += static_cast<size_t>(n);
    else if (errno != EINTR) err = errno;
  }
  // Owner before mode: chown clears set-id bits. Only root may give a file away; a
  // failure leaves the file ours, which is all an unprivileged admin can do anyway.
  if (err == 0 && owner) (void)!::fchown(fd, owner->st_uid, owner->st_gid);
  if (err == 0 && ::fchmod(fd, mode) != 0) err = errno;
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) ::unlink(path.c_str());
  return err;
}

int read_all(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  out.clear();
  char buf[65536];
  int err = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    else if (n == 0) break;
    else if (errno != EINTR) {
      err = errno;
      break;
    }
  }
  ::close(fd);
  return err;
}

int sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

Result<void> locate(Pending& p) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path real = p.path;
  if (fs::is_symlink(real, ec)) {
    real = fs::canonical(real, ec);
    if (ec) return os_error(p.path, "cannot resolve the symbolic link", ec.value());
  }
  p.real = real.string();
  p.dir = real.has_parent_path() ? real.parent_path().string() : std::string(".");
  return {};
}

// Writes the temporary files of one changed file. The file on disk must still be what
// the document loaded (or be absent for a new file): an edit made meanwhile by hand or by
// another admin is not silently overwritten.
Result<void> prepare(Pending& p, const std::string& text, bool on_disk, const std::string& loaded) {
  if (auto r = locate(p); !r) return r;
  struct stat st {};
  const bool exists = ::stat(p.real.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return os_error(p.path, "cannot read its status", errno);
  if (exists != on_disk) {
    return make_error(0, fmt::format("cannot write '{}': it {} since the configuration was loaded", p.path,
                                     exists ? "was created" : "was removed"));
  }
  std::string current;
  if (exists) {
    if (int err = read_all(p.real, current)) return os_error(p.path, "cannot read the current version", err);
    if (current != loaded) {
      return make_error(0, fmt::format("cannot write '{}': it changed on disk since the configuration was "
                                       "loaded (load it again and redo the edit)", p.path));
    }
  }
  const mode_t mode = exists ? (st.st_mode & 07777) : 0644;
  const std::string base = std::filesystem::path(p.real).filename().string();
  std::string tmp = temp_name(p.dir, base, "new");
  if (int err = write_new_file(tmp, text, mode, exists ? &st : nullptr)) {
    return os_error(p.path, fmt::format("cannot create a temporary file in '{}'", p.dir), err);
  }
  p.tmp = std::move(tmp);
  if (!exists) return {};
  // A hard link keeps the previous version as it is; a copy where links are not allowed.
  std::string bak = temp_name(p.dir, base, "bak");
  if (::link(p.real.c_str(), bak.c_str()) != 0) {
    if (int err = write_new_file(bak, current, mode, &st)) {
      return os_error(p.path, fmt::format("cannot keep the previous version as '{}.bak'", p.real), err);
    }
  }
  p.bak_tmp = std::move(bak);
  return {};
}

Result<void> commit(const Pending& p) {
  const std::string bak = p.real + ".bak";
  if (!p.bak_tmp.empty() && ::rename(p.bak_tmp.c_str(), bak.c_str()) != 0) {
    return os_error(p.path, fmt::format("cannot create '{}'", bak), errno);
  }
  if (::rename(p.tmp.c_str(), p.real.c_str()) != 0) {
    return os_error(p.path, "cannot rename the temporary file over it", errno);
  }
  if (int err = sync_dir(p.dir)) return os_error(p.path, fmt::format("cannot sync directory '{}'", p.dir), err);
  return {};
}

void remove_temporaries(const std::vector<Pending>& pending) {
  for (const Pending& p : pending) {
    if (!p.tmp.empty()) ::unlink(p.tmp.c_str());  // gone already once renamed
    if (!p.bak_tmp.empty()) ::unlink(p.bak_tmp.c_str());
  }
}

}  // namespace

Result<void> ConfigDocument::write() {
  std::vector<Pending> pending;
  for (size_t i = 0; i < files_.size(); ++i) {
    const std::string text = join(i);
    if (files_[i].on_disk && text == files_[i].loaded) continue;
    Pending p;
    p.file = i;
    p.path = files_[i].path;
    Result<void> r = prepare(p, text, files_[i].on_disk, files_[i].loaded);
    pending.push_back(std::move(p));
    if (!r) {
      remove_temporaries(pending);
      return r;
    }
  }
  for (const Pending& p : pending) {
    if (auto r = commit(p); !r) {
      remove_temporaries(pending);
      return r;
    }
    files_[p.file].loaded = join(p.file);
    files_[p.file].on_disk = true;
  }
  return {};
}

}  // namespace petrel::config
