// import_mosquitto(): tells the two formats apart by their first bytes, hands the file to its
// reader, and maps the records read to a Snapshot. Every failure becomes one ImportError that
// names the file.
#include "persist/mosquitto_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <utility>

#include "persist/mosquitto_import_internal.h"

namespace petrel::persist {

namespace {

// Mosquitto 2.0's header: 15 magic bytes, then a CRC field (always written as 0) and the
// big-endian format version.
constexpr std::string_view kDbMagic{"\x00\xB5\x00mosquitto db", 15};
// Every SQLite 3 database starts with these 16 bytes (the file format's header string).
constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};

ImportError fail(const std::string& path, std::string_view what) {
  return ImportError{path, path + ": " + std::string(what)};
}

// Reads the file, or its first `limit` bytes (its size comes from the file system, never
// from its content).
std::optional<std::string> read_file(const std::string& path, std::string& out,
                                     size_t limit = SIZE_MAX) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string("cannot open: ") + std::strerror(errno);
  struct stat st {};
  std::optional<std::string> err;
  if (::fstat(fd, &st) != 0) {
    err = std::string("cannot read: ") + std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    err = "is a directory, not a file";
  } else if (!S_ISREG(st.st_mode)) {
    err = "is not a regular file";
  } else {
    out.resize(std::min(size_t(st.st_size), limit));
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) { err = std::string("cannot read: ") + std::strerror(errno); break; }
      if (n == 0) break;  // shrank while reading
      got += size_t(n);
    }
    out.resize(got);
  }
  ::close(fd);
  return err;
}

std::variant<Snapshot, ImportError> import_one(const std::string& path, int64_t now_wall_s) {
  std::string bytes;
  if (auto err = read_file(path, bytes, kSqliteMagic.size())) return fail(path, *err);
  if (bytes.empty()) return fail(path, "empty file (not a Mosquitto persistence file)");

  mosq::Records records;
  std::optional<std::string> err;
  if (std::string_view(bytes).starts_with(kDbMagic)) {
    err = read_file(path, bytes);
    if (!err) err = mosq::read_mosquitto_db(bytes, records);
  } else if (std::string_view(bytes).starts_with(kSqliteMagic)) {
    err = mosq::read_persist_sqlite(path, records);  // SQLite reads the file itself
  } else if (bytes.size() < kDbMagic.size() &&
             std::string_view(kDbMagic).starts_with(std::string_view(bytes))) {
    err = "truncated: the file ends inside the mosquitto.db header";
  } else {
    err = "not a Mosquitto persistence file (neither a mosquitto.db nor an SQLite database)";
  }
  if (err) return fail(path, *err);

  Snapshot snap;
  if (auto e = mosq::build_snapshot(std::move(records), now_wall_s, snap)) return fail(path, *e);
  return snap;
}

}  // namespace

std::variant<Snapshot, ImportError> import_mosquitto(const std::string& path, int64_t now_wall_s) {
  try {
    return import_one(path, now_wall_s);
  } catch (const std::exception& e) {  // out of memory for a file larger than memory
    return fail(path, std::string("cannot import: ") + e.what());
  }
}

}  // namespace petrel::persist
