#include "app/persistence.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <variant>

#include "app/runtime.h"
#include "persist/mosquitto_import.h"
#include "persist/sqlite_store_repair.h"

namespace petrel::app {

namespace {

// What a file is, by its first bytes (never by its name).
enum class FileKind { kMissing, kUnreadable, kMosquittoDb, kSqlite, kOther };

FileKind sniff(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? FileKind::kMissing : FileKind::kUnreadable;
  std::ifstream f(path, std::ios::binary);
  if (!f) return FileKind::kUnreadable;
  char head[16] = {};
  f.read(head, sizeof head);
  const auto n = static_cast<size_t>(f.gcount());
  // Mosquitto 2.0's mosquitto.db starts with 15 magic bytes: 00 B5 00 "mosquitto db".
  static constexpr char kMosquittoMagic[] = "\x00\xB5\x00mosquitto db";
  if (n >= 15 && std::memcmp(head, kMosquittoMagic, 15) == 0) return FileKind::kMosquittoDb;
  static constexpr char kSqliteMagic[] = "SQLite format 3";  // and its NUL: 16 bytes
  if (n == 16 && std::memcmp(head, kSqliteMagic, 16) == 0) return FileKind::kSqlite;
  return FileKind::kOther;
}

std::string conf_or_placeholder(const std::string& config_path) {
  return config_path.empty() ? std::string("CONF") : config_path;
}

std::string import_hint(const std::string& config_path, const std::string& file) {
  return fmt::format("petrel -c {} --import-mosquitto {}", conf_or_placeholder(config_path), file);
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The store file a command works on: FILE when given, else the one the configuration names.
std::optional<std::string> target_store(const std::string& given, const char* flag, const CommandLine& cl,
                                        const std::string& config_path, Logger& log) {
  if (!given.empty()) return given;
  if (config_path.empty()) {
    std::fprintf(stderr, "petrel: %s needs FILE, or -c CONF to work on the store that CONF names\n", flag);
    return std::nullopt;
  }
  auto cfg = Runtime::load(cl, config_path, log);
  if (!cfg) {
    std::fprintf(stderr, "%s: configuration has errors.\n", config_path.c_str());
    return std::nullopt;
  }
  return config::persistence_path(cfg->persistence);
}

}  // namespace

Result<std::unique_ptr<persist::SqliteStore>> open_store(const config::PersistenceSettings& p, Logger* log,
                                                         const std::string& config_path) {
  const std::string path = config::persistence_path(p);
  persist::StoreOptions options;
  options.sync = p.sync == config::PersistenceSync::kInterval ? persist::SyncMode::kInterval
                                                               : persist::SyncMode::kCommit;
  options.interval = std::chrono::milliseconds(p.sync_interval_ms);
  options.logger = log;
  auto store = persist::SqliteStore::open(path, options);
  if (store) return store;
  std::string message = store.error().message;
  const FileKind kind = sniff(path);
  if (kind == FileKind::kMosquittoDb) {
    message += fmt::format(". It is a Mosquitto 2.0 persistence file: Petrel never uses one as its store. Import "
                           "it with `{}`, into a store of Petrel's own (persistence_file, default petrel.db)",
                           import_hint(config_path, path));
  } else if (message.find("is not a SQLite database") != std::string::npos ||
             message.find("not a Petrel store") != std::string::npos) {
    message += fmt::format(". If it is Mosquitto's persistence file (mosquitto.db, or Mosquitto 2.1's "
                           "mosquitto.sqlite3), import it with `{}`, into a store of Petrel's own "
                           "(persistence_file, default petrel.db)",
                           import_hint(config_path, path));
  }
  return make_error(store.error().code, std::move(message));
}

std::string mosquitto_file_notice(const std::string& store_path, const std::string& config_path) {
  if (exists(store_path)) return {};
  const std::string dir = dir_of(store_path);
  for (const char* name : {"mosquitto.db", "mosquitto.sqlite3"}) {
    const std::string candidate = dir == "." ? std::string(name) : (dir == "/" ? "/" : dir + "/") + name;
    if (candidate == store_path || !exists(candidate)) continue;
    return fmt::format("Persistence: {} is Mosquitto's persistence file; Petrel does not read it by itself and "
                       "starts with an empty store in {}. To bring its sessions and retained messages over, stop "
                       "petrel and run: {}",
                       candidate, store_path, import_hint(config_path, candidate));
  }
  return {};
}

std::vector<std::string> check_persistence_paths(const config::PersistenceSettings& p,
                                                 const std::string& config_path) {
  if (!config::persistence_active(p)) return {};
  const std::string path = config::persistence_path(p);
  const std::string dir = dir_of(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return {fmt::format("persistence file {}: directory {} does not exist", path, dir)};
    return {fmt::format("persistence file {}: cannot use directory {}: {}", path, dir, std::strerror(errno))};
  }
  if (!S_ISDIR(st.st_mode)) return {fmt::format("persistence file {}: {} is not a directory", path, dir)};
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return {fmt::format("persistence file {}: directory {} is not writable ({})", path, dir, std::strerror(errno))};
  }
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {fmt::format("persistence file {} is a directory", path)};
    if (!S_ISREG(st.st_mode)) return {fmt::format("persistence file {} is not a regular file", path)};
    if (sniff(path) == FileKind::kMosquittoDb) {
      return {fmt::format("persistence file {} is a Mosquitto 2.0 persistence file: Petrel never uses one as its "
                          "store. Import it with `{}`, into a store of Petrel's own (persistence_file, default "
                          "petrel.db)",
                          path, import_hint(config_path, path))};
    }
  }
  return {};
}

// ---- petrel -c CONF --import-mosquitto FILE ----------------------------------------------

int import_mosquitto_command(const CommandLine& cl, const std::string& config_path, Logger& log) {
  const std::string& file = cl.import_mosquitto;
  if (config_path.empty()) {
    std::fprintf(stderr,
                 "petrel: --import-mosquitto needs -c CONF: the configuration whose persistence settings name "
                 "Petrel's store; nothing was imported.\n");
    return 1;
  }
  auto cfg = Runtime::load(cl, config_path, log);
  if (!cfg) {
    std::fprintf(stderr, "%s: configuration has errors; nothing was imported.\n", config_path.c_str());
    return 1;
  }
  const config::PersistenceSettings& p = cfg->persistence;
  if (!p.enabled) {
    std::fprintf(stderr,
                 "petrel: %s has persistence off: set `persistence true` (and persistence_location) so that Petrel "
                 "has a store to import %s into; nothing was imported.\n",
                 config_path.c_str(), file.c_str());
    return 1;
  }
  if (p.sync == config::PersistenceSync::kOff) {
    std::fprintf(stderr,
                 "petrel: %s has `persistence_sync off`, which keeps no store: set persistence_sync commit (or "
                 "interval MS) to import %s; nothing was imported.\n",
                 config_path.c_str(), file.c_str());
    return 1;
  }
  const std::string store_path = config::persistence_path(p);
  std::error_code ec;
  if (std::filesystem::equivalent(file, store_path, ec)) {
    std::fprintf(stderr, "petrel: %s is the store file that %s names itself; nothing was imported.\n", file.c_str(),
                 config_path.c_str());
    return 1;
  }
  const FileKind kind = sniff(file);
  const char* format = kind == FileKind::kSqlite ? "Mosquitto 2.1 persist-sqlite" : "Mosquitto 2.0 mosquitto.db";

  // Read the whole file first: a damaged one is refused before the store is touched.
  auto imported = persist::import_mosquitto(file, static_cast<int64_t>(std::time(nullptr)));
  if (const auto* e = std::get_if<persist::ImportError>(&imported)) {
    std::fprintf(stderr, "petrel: cannot import %s; nothing was imported.\n", e->message.c_str());
    return 1;
  }
  const persist::Snapshot& snap = std::get<persist::Snapshot>(imported);

  config::PersistenceSettings commit = p;  // write() waits for the commit either way
  commit.sync = config::PersistenceSync::kCommit;
  auto store = open_store(commit, &log, config_path);
  if (!store) {
    std::fprintf(stderr, "petrel: Error: %s; nothing was imported.\n", store.error().message.c_str());
    return 1;
  }
  // One batch: all of it or nothing. A session of the same client id already in the store
  // is replaced whole.
  persist::Batch batch;
  size_t subscriptions = 0, queued = 0;
  for (const auto& s : snap.sessions) {
    batch.replace_session(s);
    subscriptions += s.subscriptions.size();
    queued += s.outgoing.size();
  }
  for (const auto& r : snap.retained) batch.put_retained(r);
  size_t bridge_queued = 0;
  for (const auto& [name, queue] : snap.bridge_queues) {
    for (const auto& q : queue) batch.bridge_push(name, 0, q.msg);
    bridge_queued += queue.size();
  }
  const bool ok = batch.empty() || (*store)->write(std::move(batch));
  (*store)->close();
  if (!ok) {
    std::fprintf(stderr, "petrel: Error: cannot write what %s holds into %s (see the line above); nothing was "
                 "imported.\n", file.c_str(), store_path.c_str());
    return 1;
  }
  std::printf("Imported %s (%s) into %s: %zu session%s (%zu subscription%s, %zu queued message%s), %zu retained "
              "message%s%s.\n",
              file.c_str(), format, store_path.c_str(), snap.sessions.size(), snap.sessions.size() == 1 ? "" : "s",
              subscriptions, subscriptions == 1 ? "" : "s", queued, queued == 1 ? "" : "s", snap.retained.size(),
              snap.retained.size() == 1 ? "" : "s",
              bridge_queued ? fmt::format(", {} bridge queued messages", bridge_queued).c_str() : "");
  return 0;
}

// ---- petrel --persistence-check [FILE] / --persistence-recover [FILE] ---------------------

int persistence_check_command(const CommandLine& cl, const std::string& config_path, Logger& log) {
  auto path = target_store(*cl.persistence_check, "--persistence-check", cl, config_path, log);
  if (!path) return 1;
  const persist::CheckReport report = persist::check_store_file(*path);
  if (report.ok) std::printf("persistence file %s: ", path->c_str());
  std::fputs(report.text().c_str(), stdout);
  return report.ok ? 0 : 1;
}

int persistence_recover_command(const CommandLine& cl, const std::string& config_path, Logger& log) {
  auto path = target_store(*cl.persistence_recover, "--persistence-recover", cl, config_path, log);
  if (!path) return 1;
  if (!exists(*path)) {
    std::fprintf(stderr, "petrel: persistence file %s does not exist; nothing to recover.\n", path->c_str());
    return 1;
  }
  if (sniff(*path) == FileKind::kMosquittoDb) {
    std::fprintf(stderr,
                 "petrel: %s is a Mosquitto 2.0 persistence file, not a damaged Petrel store: import it with `%s`; "
                 "nothing was moved.\n",
                 path->c_str(), import_hint(config_path, *path).c_str());
    return 1;
  }
  // A store in use by a running petrel must not be moved from under it (the broker would
  // go on writing into the moved file and start empty next time).
  const persist::CheckReport check = persist::check_store_file(*path);
  if (check.problem.find("in use by another process") != std::string::npos) {
    std::fprintf(stderr, "petrel: %s: stop it before recovering; nothing was moved.\n", check.problem.c_str());
    return 1;
  }
  // A SQLite database that is positively someone else's (Mosquitto 2.1's persist-sqlite
  // file, another application's) is not a damaged store: it is left where it is.
  if (check.problem.find("not a Petrel store") != std::string::npos ||
      check.problem.find("of another application") != std::string::npos) {
    std::fprintf(stderr,
                 "petrel: %s: --persistence-recover repairs Petrel's own store only (a Mosquitto file is imported "
                 "with `%s`); nothing was moved.\n",
                 check.problem.c_str(), import_hint(config_path, *path).c_str());
    return 1;
  }
  if (check.ok) {
    std::printf("persistence file %s is sound: nothing to recover, nothing was moved.\n%s", path->c_str(),
                check.text().c_str());
    return 0;
  }
  persist::StoreOptions options;
  options.logger = &log;
  auto recovered = persist::recover_store_file(*path, options);
  if (!recovered) {
    std::fprintf(stderr, "petrel: %s\n", recovered.error().message.c_str());
    return 1;
  }
  std::printf("persistence file %s: %s", path->c_str(), recovered->text().c_str());
  return 0;
}

}  // namespace petrel::app
