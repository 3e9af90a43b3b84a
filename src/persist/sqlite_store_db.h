#pragma once
// Internal to petrel_store: small RAII wrappers over the SQLite C API, the schema, and the
// steps of opening a store file (shared by SqliteStore, --persistence-check and
// --persistence-recover). Not for other modules: they see store.h and sqlite_store.h.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "persist/model.h"
#include "persist/sqlite_store.h"

namespace petrel::persist::sqlite {

// "PETR": PRAGMA application_id of a Petrel store (offset 68 of the file header).
constexpr int32_t kApplicationId = 0x50455452;
// The petrel_meta row 'schema_version'. A store with a higher version was written by a
// newer Petrel and is refused; lower versions are migrated at open (upgrade_schema).
// Version 2 added the retained messages' publisher (source_* columns, check_retain_source).
constexpr int64_t kSchemaVersion = 2;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement, reset after each use. Bound text and blobs are SQLITE_STATIC: the
// caller keeps them alive until the statement is reset.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Stmt() { sqlite3_finalize(s_); }

  // SQLITE_OK or the error; `persistent` for statements reused for the store's lifetime.
  int prepare(sqlite3* db, std::string_view sql, bool persistent = true);
  bool valid() const { return s_ != nullptr; }

  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind_text(int i, std::string_view v) { sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_STATIC); }
  // An empty blob is a zero-length blob, never NULL.
  void bind_blob(int i, std::string_view v) { sqlite3_bind_blob(s_, i, v.empty() ? "" : v.data(), int(v.size()), SQLITE_STATIC); }
  void bind_null(int i) { sqlite3_bind_null(s_, i); }

  // SQLITE_ROW, SQLITE_DONE or an error.
  int step() { return sqlite3_step(s_); }
  void reset() { sqlite3_reset(s_); }
  // Steps once and resets: SQLITE_DONE (or SQLITE_ROW) on success.
  int run() {
    int rc = sqlite3_step(s_);
    sqlite3_reset(s_);
    return rc;
  }

  int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string str(int col) const;  // text or blob, byte for byte ("" for NULL)
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

inline bool step_ok(int rc) { return rc == SQLITE_DONE || rc == SQLITE_ROW; }

// Runs SQL text (several statements, no results) ; SQLITE_OK or the error.
int exec(sqlite3* db, const char* sql);
std::string errmsg(sqlite3* db);

// Subscription identifiers as stored (4 bytes little-endian each).
std::string encode_ids(const std::vector<uint32_t>& ids);
std::vector<uint32_t> decode_ids(std::string_view blob);

// Opening, in steps (each error names the file and says what to do):
// the directory and file checks, sqlite3_open_v2, exclusive locking, a first read (not a
// database / in use by another process / damaged).
Result<DbPtr> open_file(const std::string& path, bool create);
// Application id and schema version: 0 for an empty database (a new file), else the
// schema version; an error for a foreign or newer database.
Result<int64_t> identify(sqlite3* db, const std::string& path);
Result<void> create_schema(sqlite3* db, const std::string& path);
// Brings a store of an older schema version up to kSchemaVersion in one transaction (the
// file is unchanged if it fails). Returns what it did, for the log ("" = nothing to do).
Result<std::string> upgrade_schema(sqlite3* db, const std::string& path, int64_t version);
// True when `table` has a column `column` (a damaged file's recovery reads older schemas).
bool has_column(sqlite3* db, const char* table, const char* column);
// WAL, synchronous=FULL, cache, secure_delete=FAST, no automatic checkpoints.
Result<void> configure(sqlite3* db, const std::string& path, size_t cache_kib);
// True when the last petrel to close this store marked it closed cleanly (SqliteStore::close).
bool clean_close_marked(sqlite3* db);
// PRAGMA quick_check's lines (["ok"] when sound); an error line when it cannot run.
std::vector<std::string> quick_check(sqlite3* db, int max_lines = 20);

TableCounts count_rows(sqlite3* db);

// Reads the whole state (SqliteStore::load) in the orders Store::load() promises.
Result<Snapshot> load_snapshot(sqlite3* db, const std::string& path);

// Column lists shared by the writers and readers of message rows.
inline constexpr const char* kMessageCols = "qos, retain, expiry_wall_s, expiry_interval, topic, props, payload";
// Reads kMessageCols starting at column `first`.
MessageRecord read_message(const Stmt& s, int first);
// The retained table's publisher columns (schema version 2) and a row of kMessageCols
// followed by them, starting at column `first`.
inline constexpr const char* kRetainedSourceCols = "source_client_id, source_username, source_port";
RetainedRecord read_retained(const Stmt& s, int first);
// The sessions table's columns (id first) and a row of them as a session without its
// subscriptions, outgoing records and QoS 2 ids (load() and --persistence-recover).
inline constexpr const char* kSessionCols =
    "id, client_id, username, protocol_version, expiry_interval, disconnected_wall_s, has_will, "
    "will_due_wall_s, will_delay_interval, will_qos, will_retain, will_expiry_wall_s, will_expiry_interval, "
    "will_topic, will_props, will_payload";
SessionRecord read_session(const Stmt& s);

}  // namespace petrel::persist::sqlite
