#include "persist/sqlite_store_db.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace petrel::persist::sqlite {

int Stmt::prepare(sqlite3* db, std::string_view sql, bool persistent) {
  sqlite3_finalize(s_);
  s_ = nullptr;
  return sqlite3_prepare_v3(db, sql.data(), int(sql.size()), persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s_,
                            nullptr);
}

std::string Stmt::str(int col) const {
  const void* p = sqlite3_column_blob(s_, col);
  const int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(static_cast<const char*>(p), size_t(n)) : std::string();
}

int exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

std::string errmsg(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

std::string encode_ids(const std::vector<uint32_t>& ids) {
  std::string out;
  out.reserve(ids.size() * 4);
  for (uint32_t v : ids) {
    for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
  }
  return out;
}

std::vector<uint32_t> decode_ids(std::string_view blob) {
  std::vector<uint32_t> ids;
  ids.reserve(blob.size() / 4);
  for (size_t at = 0; at + 4 <= blob.size(); at += 4) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(blob[at + i])) << (8 * i);
    ids.push_back(v);
  }
  return ids;
}

namespace {

Error fail(std::string text) { return make_error(0, std::move(text)); }

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The directory must exist and take new files (the -wal beside the database); the file,
// when it exists, must be a regular file we can read and write.
Result<void> check_path(const std::string& path, bool create) {
  const std::string dir = dir_of(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT) return fail(fmt::format("persistence file {}: directory {} does not exist", path, dir));
    return fail(fmt::format("persistence file {}: cannot use directory {}: {}", path, dir, std::strerror(e)));
  }
  if (!S_ISDIR(st.st_mode)) return fail(fmt::format("persistence file {}: {} is not a directory", path, dir));
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return fail(fmt::format("persistence file {}: directory {} is not writable ({}); the store writes {}-wal beside it",
                            path, dir, std::strerror(errno), path));
  }
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fail(fmt::format("persistence file {} is a directory", path));
    if (!S_ISREG(st.st_mode)) return fail(fmt::format("persistence file {} is not a regular file", path));
    if (::access(path.c_str(), R_OK | W_OK) != 0) {
      return fail(fmt::format("persistence file {} is not writable ({})", path, std::strerror(errno)));
    }
  } else if (errno != ENOENT) {
    return fail(fmt::format("persistence file {}: {}", path, std::strerror(errno)));
  } else if (!create) {
    return fail(fmt::format("persistence file {} does not exist", path));
  }
  return {};
}

// What a failed read of the file means, in words for the operator.
Error read_error(sqlite3* db, int rc, const std::string& path) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return fail(fmt::format("persistence file {} is not a SQLite database ({})", path, errmsg(db)));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return fail(fmt::format("persistence file {} is in use by another process (another petrel with the same "
                              "persistence file?)",
                              path));
    case SQLITE_CORRUPT:
      return fail(fmt::format("persistence file {} is damaged ({}); `petrel --persistence-recover {}` moves it "
                              "aside and keeps what is readable",
                              path, errmsg(db), path));
    default:
      return fail(fmt::format("persistence file {}: cannot read it: {}", path, errmsg(db)));
  }
}

void fsync_dir(const std::string& path) {
  const int fd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

Result<DbPtr> open_file(const std::string& path, bool create) {
  // Process-wide, before SQLite's first use: no memory statistics, which cost a global
  // mutex on every allocation (SQLite's lookaside allocator is compiled out of Debian's
  // build, so it allocates a lot). A no-op if SQLite was initialised already.
  static std::once_flag config_once;
  std::call_once(config_once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  if (auto r = check_path(path, create); !r) return r.error();
  const bool existed = ::access(path.c_str(), F_OK) == 0;
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return fail(fmt::format("persistence file {}: cannot open it: {}", path, errmsg(raw)));
  if (!existed) fsync_dir(path);  // the new file's directory entry survives a power loss
  sqlite3_extended_result_codes(db.get(), 1);
  // Never wait for another process: a store file has one owner.
  sqlite3_busy_timeout(db.get(), 0);
  rc = exec(db.get(), "PRAGMA locking_mode=EXCLUSIVE");
  if (rc != SQLITE_OK) return read_error(db.get(), rc, path);
  // The first read: a text file says "not a database" here, a locked one "busy". The
  // exclusive lock is taken now and held until close (BEGIN EXCLUSIVE in exclusive mode).
  Stmt s;
  rc = s.prepare(db.get(), "SELECT count(*) FROM sqlite_schema", false);
  if (rc == SQLITE_OK) rc = s.run();
  if (!step_ok(rc)) return read_error(db.get(), rc, path);
  rc = exec(db.get(), "BEGIN EXCLUSIVE; COMMIT");
  if (rc != SQLITE_OK) return read_error(db.get(), rc, path);
  return db;
}

Result<int64_t> identify(sqlite3* db, const std::string& path) {
  Stmt s;
  int rc = s.prepare(db, "SELECT count(*) FROM sqlite_schema", false);
  if (rc != SQLITE_OK || (rc = s.step()) != SQLITE_ROW) return read_error(db, rc, path);
  const int64_t objects = s.int64(0);
  s.reset();
  rc = s.prepare(db, "PRAGMA application_id", false);
  if (rc != SQLITE_OK || (rc = s.step()) != SQLITE_ROW) return read_error(db, rc, path);
  const int64_t app = s.int64(0);
  s.reset();
  if (app == 0 && objects == 0) return int64_t{0};
  if (app != kApplicationId) {
    if (app == 0) {
      return fail(fmt::format("persistence file {} is a SQLite database but not a Petrel store (it has no Petrel "
                              "application id and {} schema objects)",
                              path, objects));
    }
    return fail(fmt::format("persistence file {} is a SQLite database of another application (application_id "
                            "0x{:08x}; a Petrel store has 0x{:08x})",
                            path, uint32_t(app), uint32_t(kApplicationId)));
  }
  rc = s.prepare(db, "SELECT value FROM petrel_meta WHERE key = 'schema_version'", false);
  if (rc == SQLITE_OK) rc = s.step();
  if (rc != SQLITE_ROW) {
    return fail(fmt::format("persistence file {} is damaged: its schema version cannot be read ({}); "
                            "`petrel --persistence-recover {}` moves it aside and keeps what is readable",
                            path, rc == SQLITE_DONE ? "no schema_version row" : errmsg(db), path));
  }
  const int64_t version = s.int64(0);
  s.reset();
  if (version > kSchemaVersion) {
    return fail(fmt::format("persistence file {} has schema version {}: it was written by a newer Petrel (this "
                            "one reads versions up to {})",
                            path, version, kSchemaVersion));
  }
  if (version < 1) return fail(fmt::format("persistence file {} is damaged: schema version {}", path, version));
  return version;
}

// Small columns before the large ones (topic, properties, payload): reading a row's
// header fields never walks a long payload's overflow pages.
Result<void> create_schema(sqlite3* db, const std::string& path) {
  const std::string sql = fmt::format(R"sql(
BEGIN;
PRAGMA application_id = {app};
CREATE TABLE petrel_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
INSERT INTO petrel_meta VALUES ('schema_version', {version});
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  refs INTEGER NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL,
  expiry_wall_s INTEGER NOT NULL, expiry_interval INTEGER NOT NULL,
  topic TEXT NOT NULL, props BLOB NOT NULL, payload BLOB NOT NULL);
CREATE TABLE retained(
  topic TEXT NOT NULL UNIQUE,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL,
  expiry_wall_s INTEGER NOT NULL, expiry_interval INTEGER NOT NULL,
  source_port INTEGER NOT NULL DEFAULT 0,
  source_client_id TEXT NOT NULL DEFAULT '', source_username TEXT NOT NULL DEFAULT '',
  props BLOB NOT NULL, payload BLOB NOT NULL);
CREATE TABLE sessions(
  id INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL UNIQUE,
  username TEXT NOT NULL,
  protocol_version INTEGER NOT NULL,
  expiry_interval INTEGER NOT NULL,
  disconnected_wall_s INTEGER NOT NULL,
  has_will INTEGER NOT NULL,
  will_due_wall_s INTEGER NOT NULL,
  will_delay_interval INTEGER NOT NULL,
  will_qos INTEGER NOT NULL, will_retain INTEGER NOT NULL,
  will_expiry_wall_s INTEGER NOT NULL, will_expiry_interval INTEGER NOT NULL,
  will_topic TEXT NOT NULL, will_props BLOB NOT NULL, will_payload BLOB NOT NULL);
CREATE TABLE subscriptions(
  session_id INTEGER NOT NULL,
  filter TEXT NOT NULL,
  qos INTEGER NOT NULL, no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL,
  retain_handling INTEGER NOT NULL, identifier INTEGER NOT NULL,
  PRIMARY KEY (session_id, filter)) WITHOUT ROWID;
CREATE TABLE outgoing(
  session_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL,
  packet_id INTEGER NOT NULL, state INTEGER NOT NULL,
  subscription_ids BLOB,
  PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
CREATE TABLE qos2_incoming(
  session_id INTEGER NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY (session_id, packet_id)) WITHOUT ROWID;
CREATE TABLE bridge_queue(
  bridge TEXT NOT NULL,
  seq INTEGER NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL,
  expiry_wall_s INTEGER NOT NULL, expiry_interval INTEGER NOT NULL,
  topic TEXT NOT NULL, props BLOB NOT NULL, payload BLOB NOT NULL,
  PRIMARY KEY (bridge, seq));
COMMIT;
)sql",
                                      fmt::arg("app", kApplicationId), fmt::arg("version", kSchemaVersion));
  const int rc = exec(db, sql.c_str());
  if (rc != SQLITE_OK) {
    std::string why = errmsg(db);
    exec(db, "ROLLBACK");
    return fail(fmt::format("persistence file {}: cannot create the store's tables: {}", path, why));
  }
  return {};
}

bool has_column(sqlite3* db, const char* table, const char* column) {
  Stmt s;
  if (s.prepare(db, fmt::format("SELECT 1 FROM pragma_table_info('{}') WHERE name = '{}'", table, column), false) !=
      SQLITE_OK) {
    return false;
  }
  return s.step() == SQLITE_ROW;
}

Result<std::string> upgrade_schema(sqlite3* db, const std::string& path, int64_t version) {
  if (version >= kSchemaVersion) return std::string();
  // Version 1 -> 2: the retained messages' publisher. Rows stored before it have none, so
  // check_retain_source does not check them (as Mosquitto does with a message that has no
  // source id).
  const std::string sql = fmt::format(R"sql(
BEGIN;
ALTER TABLE retained ADD COLUMN source_port INTEGER NOT NULL DEFAULT 0;
ALTER TABLE retained ADD COLUMN source_client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE retained ADD COLUMN source_username TEXT NOT NULL DEFAULT '';
UPDATE petrel_meta SET value = {version} WHERE key = 'schema_version';
COMMIT;
)sql",
                                      fmt::arg("version", kSchemaVersion));
  const int rc = exec(db, sql.c_str());
  if (rc != SQLITE_OK) {
    std::string why = errmsg(db);
    exec(db, "ROLLBACK");
    return fail(fmt::format("persistence file {}: cannot upgrade it from schema version {} to {}: {} (the file is "
                            "unchanged)",
                            path, version, kSchemaVersion, why));
  }
  return fmt::format("persistence file {}: upgraded from schema version {} to {} (retained messages now keep "
                     "their publisher, for check_retain_source; those stored before have none)",
                     path, version, kSchemaVersion);
}

Result<void> configure(sqlite3* db, const std::string& path, size_t cache_kib) {
  Stmt s;
  int rc = s.prepare(db, "PRAGMA journal_mode=WAL", false);
  if (rc == SQLITE_OK) rc = s.step();
  if (rc != SQLITE_ROW) return read_error(db, rc, path);
  const std::string mode = s.str(0);
  s.reset();
  if (mode != "wal") return fail(fmt::format("persistence file {}: cannot switch it to WAL mode ({})", path, mode));
  // synchronous=FULL in WAL mode: every COMMIT fsyncs the WAL (the durability promise).
  // secure_delete=FAST: deleted payloads are zeroed only where that costs no extra write.
  // No automatic checkpoint: the store thread checkpoints after a commit (the WAL hook
  // is the store's), so the WAL never grows inside a transaction callers wait for.
  const std::string sql = fmt::format(
      "PRAGMA synchronous=FULL; PRAGMA cache_size=-{}; PRAGMA temp_store=MEMORY; PRAGMA secure_delete=FAST; "
      "PRAGMA wal_autocheckpoint=0; PRAGMA foreign_keys=OFF",
      cache_kib);
  rc = exec(db, sql.c_str());
  if (rc != SQLITE_OK) return read_error(db, rc, path);
  return {};
}

bool clean_close_marked(sqlite3* db) {
  Stmt s;
  return s.prepare(db, "SELECT value FROM petrel_meta WHERE key = 'clean_close'", false) == SQLITE_OK &&
         s.step() == SQLITE_ROW && s.int64(0) == 1;
}

std::vector<std::string> quick_check(sqlite3* db, int max_lines) {
  std::vector<std::string> lines;
  Stmt s;
  int rc = s.prepare(db, fmt::format("PRAGMA quick_check({})", max_lines), false);
  if (rc == SQLITE_OK) {
    while ((rc = s.step()) == SQLITE_ROW) lines.push_back(s.str(0));
  }
  if (rc != SQLITE_DONE) lines.push_back(fmt::format("quick_check could not finish: {}", errmsg(db)));
  s.reset();
  return lines;
}

TableCounts count_rows(sqlite3* db) {
  auto count = [db](const char* sql) -> int64_t {
    Stmt s;
    if (s.prepare(db, sql, false) != SQLITE_OK || s.step() != SQLITE_ROW) return -1;
    return s.int64(0);
  };
  TableCounts c;
  c.retained = count("SELECT count(*) FROM retained");
  c.sessions = count("SELECT count(*) FROM sessions");
  c.subscriptions = count("SELECT count(*) FROM subscriptions");
  c.outgoing = count("SELECT count(*) FROM outgoing");
  c.messages = count("SELECT count(*) FROM messages");
  c.qos2_incoming = count("SELECT count(*) FROM qos2_incoming");
  c.bridge_queued = count("SELECT count(*) FROM bridge_queue");
  c.dangling_outgoing =
      count("SELECT count(*) FROM outgoing WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = message_id)");
  return c;
}

MessageRecord read_message(const Stmt& s, int first) {
  MessageRecord m;
  m.qos = uint8_t(s.int64(first));
  m.retain = s.int64(first + 1) != 0;
  m.expiry_wall_s = s.int64(first + 2);
  m.expiry_interval = uint32_t(s.int64(first + 3));
  m.topic = s.str(first + 4);
  m.props = s.str(first + 5);
  m.payload = s.str(first + 6);
  return m;
}

RetainedRecord read_retained(const Stmt& s, int first) {
  RetainedRecord r{read_message(s, first)};
  r.source_client_id = s.str(first + 7);
  r.source_username = s.str(first + 8);
  const int64_t port = s.int64(first + 9);
  r.source_port = port > 0 && port <= 65535 ? uint16_t(port) : 0;
  return r;
}

SessionRecord read_session(const Stmt& s) {
  SessionRecord r;
  r.client_id = s.str(1);
  r.username = s.str(2);
  r.protocol_version = uint8_t(s.int64(3));
  r.expiry_interval = uint32_t(s.int64(4));
  r.disconnected_wall_s = s.int64(5);
  if (s.int64(6) != 0) {
    r.will_due_wall_s = s.int64(7);
    WillRecord w;
    w.delay_interval = uint32_t(s.int64(8));
    w.msg = read_message(s, 9);
    r.will = std::move(w);
  }
  return r;
}

namespace {

// Runs `sql` and calls on_row for each row; false (with `err`, and `damaged` when SQLite
// found the file damaged) on an error.
template <class F>
bool each_row(sqlite3* db, const std::string& sql, std::string& err, bool& damaged, F on_row) {
  Stmt s;
  int rc = s.prepare(db, sql, false);
  if (rc == SQLITE_OK) {
    while ((rc = s.step()) == SQLITE_ROW) on_row(s);
  }
  if (rc != SQLITE_DONE) {
    err = errmsg(db);
    damaged = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
    return false;
  }
  return true;
}

}  // namespace

Result<Snapshot> load_snapshot(sqlite3* db, const std::string& path) {
  Snapshot snap;
  std::string err;
  bool damaged = false;
  if (exec(db, "BEGIN") != SQLITE_OK) return fail(fmt::format("persistence file {}: cannot read: {}", path, errmsg(db)));
  std::unordered_map<int64_t, size_t> by_id;  // session row id -> index in snap.sessions
  std::unordered_map<int64_t, size_t> outgoing_count;  // session row id -> its outgoing records
  const bool ok =
      each_row(db, fmt::format("SELECT {}, {} FROM retained ORDER BY topic", kMessageCols, kRetainedSourceCols), err, damaged,
               [&](const Stmt& s) { snap.retained.push_back(read_retained(s, 0)); }) &&
      each_row(db, fmt::format("SELECT {} FROM sessions ORDER BY client_id", kSessionCols), err, damaged,
               [&](const Stmt& s) {
                 SessionRecord r = read_session(s);
                 by_id[s.int64(0)] = snap.sessions.size();
                 snap.sessions.push_back(std::move(r));
               }) &&
      each_row(db,
               "SELECT session_id, filter, qos, no_local, retain_as_published, retain_handling, identifier "
               "FROM subscriptions ORDER BY session_id, filter",
               err, damaged,
               [&](const Stmt& s) {
                 auto it = by_id.find(s.int64(0));
                 if (it == by_id.end()) return;
                 SubscriptionRecord sub;
                 sub.filter = s.str(1);
                 sub.qos = uint8_t(s.int64(2));
                 sub.no_local = s.int64(3) != 0;
                 sub.retain_as_published = s.int64(4) != 0;
                 sub.retain_handling = uint8_t(s.int64(5));
                 sub.identifier = uint32_t(s.int64(6));
                 snap.sessions[it->second].subscriptions.push_back(std::move(sub));
               }) &&
      each_row(db, "SELECT session_id, packet_id FROM qos2_incoming ORDER BY session_id, packet_id", err, damaged,
               [&](const Stmt& s) {
                 auto it = by_id.find(s.int64(0));
                 if (it != by_id.end()) snap.sessions[it->second].qos2_incoming.push_back(uint16_t(s.int64(1)));
               }) &&
      each_row(db, "SELECT session_id, count(*) FROM outgoing GROUP BY session_id", err, damaged,
               [&](const Stmt& s) {
                 auto it = by_id.find(s.int64(0));
                 if (it != by_id.end()) snap.sessions[it->second].outgoing.reserve(size_t(s.int64(1)));
               }) &&
      each_row(db,
               fmt::format("SELECT o.session_id, o.seq, o.message_id, o.qos, o.retain, o.packet_id, o.state, "
                           "o.subscription_ids, m.qos, m.retain, m.expiry_wall_s, m.expiry_interval, m.topic, "
                           "m.props, m.payload FROM outgoing o JOIN messages m ON m.id = o.message_id "
                           "ORDER BY o.session_id, o.seq"),
               err, damaged,
               [&](const Stmt& s) {
                 auto it = by_id.find(s.int64(0));
                 if (it == by_id.end()) return;
                 OutgoingRecord o;
                 o.seq = uint64_t(s.int64(1));
                 o.message_id = uint64_t(s.int64(2));
                 o.qos = uint8_t(s.int64(3));
                 o.retain = s.int64(4) != 0;
                 o.packet_id = uint16_t(s.int64(5));
                 o.state = OutgoingRecord::State(uint8_t(s.int64(6)));
                 o.subscription_ids = decode_ids(s.str(7));
                 o.msg = read_message(s, 8);
                 snap.sessions[it->second].outgoing.push_back(std::move(o));
               }) &&
      each_row(db, fmt::format("SELECT bridge, seq, {} FROM bridge_queue ORDER BY bridge, seq", kMessageCols), err, damaged,
               [&](const Stmt& s) {
                 BridgeQueuedRecord q;
                 q.seq = uint64_t(s.int64(1));
                 q.msg = read_message(s, 2);
                 snap.bridge_queues[s.str(0)].push_back(std::move(q));
               });
  exec(db, "COMMIT");
  if (!ok && damaged) {
    // Found while reading (a store closed cleanly is not checked at open).
    return fail(fmt::format("persistence file {} is damaged (SQLite: {}); `petrel --persistence-recover {}` moves it "
                            "aside and keeps what is readable",
                            path, err, path));
  }
  if (!ok) return fail(fmt::format("persistence file {}: cannot read: {}", path, err));
  return snap;
}

}  // namespace petrel::persist::sqlite
