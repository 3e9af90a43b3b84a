// Mosquitto 2.1's persist-sqlite plugin database (schema 1.0 and 1.1), read with Debian's
// SQLite through a read-only connection. Tables and the columns read:
//   base_msgs     store_id, expiry_time (unix s), topic, payload, payloadlen, qos, retain,
//                 properties (JSON: [{"identifier":"content-type","value":"..."}, ...])
//   retains       topic, store_id
//   clients       client_id, username, session_expiry_time (unix s),
//                 session_expiry_interval (u32 stored as a signed int: -1 = never),
//                 will_delay_time (unix s), will_delay_interval
//   subscriptions client_id, topic, subscription_options (the MQTT 5 options byte),
//                 subscription_identifier
//   client_msgs   client_id, store_id, direction, mid, qos, retain, state,
//                 subscription_identifier; in rowid order (the order Mosquitto restores)
//   wills         client_id, topic, payload, payloadlen, qos, retain, properties
//   version_info  component 'database_schema': major, minor, patch
// The file is never written and nothing is created beside it: a database closed cleanly
// (no -wal file, or an empty one) is opened as immutable; one with a -wal file still
// holding transactions is copied with it into a private temporary directory first, so that
// SQLite can read those transactions without touching the original.
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <system_error>

#include "persist/mosquitto_import_internal.h"

namespace petrel::persist::mosq {

namespace {

namespace fs = std::filesystem;
using Err = std::optional<std::string>;

// ---- connection -----------------------------------------------------------------------

struct Db {
  sqlite3* h = nullptr;
  ~Db() { sqlite3_close_v2(h); }
};

class Stmt {
 public:
  ~Stmt() { sqlite3_finalize(s_); }
  Err prepare(Db& db, const char* sql) {
    if (sqlite3_prepare_v2(db.h, sql, -1, &s_, nullptr) == SQLITE_OK) return std::nullopt;
    return std::string(sqlite3_errmsg(db.h));
  }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// A private copy of the database (and its -wal file), removed on destruction.
class TempCopy {
 public:
  ~TempCopy() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  Err make(const std::string& path, const std::string& wal) {
    std::error_code ec;
    std::string tmpl = (fs::temp_directory_path(ec) / "petrel-import-XXXXXX").string();
    if (ec || ::mkdtemp(tmpl.data()) == nullptr) return std::string("cannot create a temporary directory");
    dir_ = tmpl;
    db_ = (dir_ / "db").string();
    fs::copy_file(path, db_, ec);
    if (!ec) fs::copy_file(wal, db_ + "-wal", ec);
    if (ec) return "cannot copy it with its -wal file to " + dir_.string() + ": " + ec.message();
    return std::nullopt;
  }
  const std::string& db() const { return db_; }

 private:
  fs::path dir_;
  std::string db_;
};

bool nonempty_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && fs::file_size(p, ec) > 0 && !ec;
}

std::string file_uri(const std::string& path) {
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).string();
  std::string uri = "file:";
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char ch : ec ? path : abs) {
    if (std::isalnum(ch) || std::strchr("/-._~", ch)) {
      uri += char(ch);
    } else {
      uri += '%';
      uri += kHex[ch >> 4];
      uri += kHex[ch & 15];
    }
  }
  return uri + "?immutable=1";
}

// SQLite reads a page cut short as if the missing bytes were zeros, so a file truncated
// inside its last page can look whole: its size must be whole pages, and at least the size
// its header gives (when that is valid: change counter == version-valid-for number).
Err check_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[100] = {};
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return std::string("truncated: shorter than an SQLite header");
  auto be32 = [&](size_t at) { return uint32_t(h[at]) << 24 | uint32_t(h[at + 1]) << 16 | uint32_t(h[at + 2]) << 8 | h[at + 3]; };
  uint64_t page = uint64_t(h[16]) << 8 | h[17];
  if (page == 1) page = 65536;
  if (page < 512 || (page & (page - 1)) != 0) return "damaged: SQLite page size " + std::to_string(page);
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return "cannot read: " + ec.message();
  if (size % page != 0) return "truncated: not a whole number of " + std::to_string(page) + "-byte SQLite pages";
  if (be32(24) == be32(92) && uint64_t(be32(28)) * page > size) {
    return "truncated: " + std::to_string(size / page) + " of its " + std::to_string(be32(28)) + " SQLite pages";
  }
  return std::nullopt;
}

Err open_readonly(const std::string& path, Db& db, TempCopy& copy) {
  if (auto e = check_size(path)) return e;
  const std::string wal = path + "-wal";
  if (nonempty_file(path + "-journal"))
    return "has a rollback journal (" + path + "-journal) from an interrupted write; not Mosquitto's (it uses WAL)";
  int rc = 0;
  if (nonempty_file(wal)) {
    if (auto e = copy.make(path, wal)) return e;
    rc = sqlite3_open_v2(copy.db().c_str(), &db.h, SQLITE_OPEN_READONLY, nullptr);
  } else {
    rc = sqlite3_open_v2(file_uri(path).c_str(), &db.h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  }
  if (rc != SQLITE_OK) return std::string("cannot open with SQLite: ") + (db.h ? sqlite3_errmsg(db.h) : sqlite3_errstr(rc));
  sqlite3_extended_result_codes(db.h, 1);
  return std::nullopt;
}

Err query_error(Db& db, std::string_view what) {
  return "damaged (" + std::string(what) + ": " + sqlite3_errmsg(db.h) + ")";
}

Err check_integrity(Db& db) {
  Stmt st;
  if (auto e = st.prepare(db, "PRAGMA quick_check")) return "damaged or not a database (SQLite: " + *e + ")";
  const int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW) return query_error(db, "integrity check");
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
  if (!text || std::strcmp(text, "ok") != 0) {
    std::string what = text ? text : "no answer";
    std::replace(what.begin(), what.end(), '\n', ' ');
    return "damaged (SQLite's integrity check: " + what + ")";
  }
  return std::nullopt;
}

Err check_tables(Db& db) {
  Stmt st;
  if (auto e = st.prepare(db, "SELECT name FROM sqlite_master WHERE type='table'")) return query_error(db, "schema");
  std::set<std::string> tables;
  int rc = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    if (t) tables.insert(t);
  }
  if (rc != SQLITE_DONE) return query_error(db, "schema");
  if (!tables.count("base_msgs") && !tables.count("clients") && !tables.count("client_msgs"))
    return std::string("an SQLite database, but not Mosquitto's persist-sqlite (no base_msgs, clients or client_msgs table)");
  for (const char* t : {"base_msgs", "retains", "clients", "subscriptions", "client_msgs", "wills", "version_info"}) {
    if (!tables.count(t)) return "not a complete Mosquitto persist-sqlite database: no table " + std::string(t);
  }
  return std::nullopt;
}

Err check_version(Db& db) {
  Stmt st;
  if (st.prepare(db, "SELECT major, minor, patch FROM version_info WHERE component='database_schema'"))
    return query_error(db, "version_info");
  if (sqlite3_step(st.get()) != SQLITE_ROW) return std::string("version_info has no database_schema version");
  const int64_t v[3] = {sqlite3_column_int64(st.get(), 0), sqlite3_column_int64(st.get(), 1),
                        sqlite3_column_int64(st.get(), 2)};
  if (v[0] != 1 || (v[1] != 0 && v[1] != 1)) {
    return "persist-sqlite database_schema version " + std::to_string(v[0]) + "." + std::to_string(v[1]) +
           "." + std::to_string(v[2]) + " is not supported (this importer reads 1.0 and 1.1, Mosquitto 2.1)";
  }
  return std::nullopt;
}

// ---- columns --------------------------------------------------------------------------

// Reads the columns of one row, keeping the first problem.
class Row {
 public:
  Row(sqlite3_stmt* s, std::string table) : s_(s), table_(std::move(table)) {}
  int64_t integer(int col, int64_t min, int64_t max) {
    const int type = sqlite3_column_type(s_, col);
    if (type == SQLITE_NULL) return clamp_ok(0, col, min, max);
    if (type != SQLITE_INTEGER) return bad(col, "is not an integer"), 0;
    return clamp_ok(sqlite3_column_int64(s_, col), col, min, max);
  }
  // Text columns (STRING columns have numeric affinity, so "123" may come back as a number:
  // SQLite converts it back to the same text, as Mosquitto reads it).
  std::string text(int col, bool required = false) {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) {
      if (required) bad(col, "is missing");
      return {};
    }
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    const int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(p, size_t(n)) : std::string();
  }
  std::string blob(int col) {
    const void* p = sqlite3_column_blob(s_, col);
    const int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), size_t(n)) : std::string();
  }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  void fail(std::string what) {
    if (!err_) err_ = table_ + ": " + std::move(what);
  }
  const Err& error() const { return err_; }

 private:
  int64_t clamp_ok(int64_t v, int col, int64_t min, int64_t max) {
    if (v < min || v > max) bad(col, "is out of range (" + std::to_string(v) + ")");
    return v;
  }
  void bad(int col, const std::string& what) {
    const char* name = sqlite3_column_name(s_, col);
    fail(std::string("column ") + (name ? name : "?") + " " + what);
  }
  sqlite3_stmt* s_;
  std::string table_;
  Err err_;
};

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxSubId = 268'435'455;

// Mosquitto binds its u32 session expiry interval with sqlite3_bind_int: UINT32_MAX is -1.
uint32_t as_u32(int64_t v) { return uint32_t(v < 0 ? v + (int64_t(1) << 32) : v); }

// ---- properties -----------------------------------------------------------------------

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// MQTT 5 properties Petrel does not forward with a message (or that the JSON carries without
// a value, like message-expiry-interval whose end is expiry_time): accepted and left out.
bool known_not_forwarded(std::string_view id) {
  static const std::set<std::string_view> kNames = {
      "message-expiry-interval", "subscription-identifier", "topic-alias", "session-expiry-interval",
      "assigned-client-identifier", "server-keep-alive", "authentication-method",
      "authentication-data", "request-problem-information", "will-delay-interval",
      "request-response-information", "response-information", "server-reference", "reason-string",
      "receive-maximum", "topic-alias-maximum", "maximum-qos", "retain-available",
      "maximum-packet-size", "wildcard-subscription-available",
      "subscription-identifier-available", "shared-subscription-available"};
  return kNames.count(id) != 0;
}

Err set_string(std::optional<std::string>& field, const boost::json::value* v, std::string_view id) {
  if (!v || !v->is_string()) return "property " + std::string(id) + " without a string value";
  if (field) return "property " + std::string(id) + " twice";
  field = std::string(v->get_string());
  return std::nullopt;
}

Err property_from_json(const boost::json::object& o, protocol::Properties& p) {
  const boost::json::value* idv = o.if_contains("identifier");
  if (!idv || !idv->is_string()) return std::string("a property without an identifier");
  const std::string_view id = idv->get_string();
  const boost::json::value* v = o.if_contains("value");
  if (id == "content-type") return set_string(p.content_type, v, id);
  if (id == "response-topic") return set_string(p.response_topic, v, id);
  if (id == "payload-format-indicator") {
    const bool zero = v && ((v->is_int64() && v->get_int64() == 0) || (v->is_uint64() && v->get_uint64() == 0));
    const bool one = v && ((v->is_int64() && v->get_int64() == 1) || (v->is_uint64() && v->get_uint64() == 1));
    if (!zero && !one) return std::string("payload-format-indicator is not 0 or 1");
    if (p.payload_format_indicator) return std::string("property payload-format-indicator twice");
    p.payload_format_indicator = uint8_t(one ? 1 : 0);
    return std::nullopt;
  }
  if (id == "correlation-data") {
    std::optional<std::string> hex;
    if (auto e = set_string(hex, v, id)) return e;
    if (hex->size() % 2 != 0) return std::string("correlation-data is not hexadecimal");
    std::string bin;
    for (size_t i = 0; i < hex->size(); i += 2) {
      const int hi = hex_value((*hex)[i]), lo = hex_value((*hex)[i + 1]);
      if (hi < 0 || lo < 0) return std::string("correlation-data is not hexadecimal");
      bin += char(hi << 4 | lo);
    }
    if (p.correlation_data) return std::string("property correlation-data twice");
    p.correlation_data = std::move(bin);
    return std::nullopt;
  }
  if (id == "user-property") {
    const boost::json::value* name = o.if_contains("name");
    if (!name || !name->is_string() || !v || !v->is_string()) return std::string("user-property without a name and value");
    p.user_properties.emplace_back(std::string(name->get_string()), std::string(v->get_string()));
    return std::nullopt;
  }
  if (known_not_forwarded(id)) return std::nullopt;
  return "unknown property " + std::string(id);
}

// The properties column: NULL or a JSON array of {"identifier", "value"[, "name"]} objects.
Err props_from_json(Row& row, int col, std::string& out) {
  out.clear();
  if (row.is_null(col)) return std::nullopt;
  const std::string text = row.text(col);
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(text, ec);
  if (ec || !doc.is_array()) return std::string("properties are not a JSON array");
  protocol::Properties p;
  for (const auto& item : doc.get_array()) {
    if (!item.is_object()) return std::string("properties hold something other than an object");
    if (auto e = property_from_json(item.get_object(), p)) return e;
  }
  return encode_forwarded(p, out);
}

// ---- tables ---------------------------------------------------------------------------

// Runs sql and calls on_row(Row&) -> Err for each row; stops at the first error.
template <class F>
Err each_row(Db& db, const char* table, const char* sql, F on_row) {
  Stmt st;
  if (auto e = st.prepare(db, sql)) return std::string(table) + ": " + *e;
  int rc = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    Row row(st.get(), table);
    Err e = on_row(row);
    if (row.error()) return row.error();
    if (e) return std::string(table) + ": " + *e;
  }
  if (rc != SQLITE_DONE) return query_error(db, table);
  return std::nullopt;
}

// payload + payloadlen (which Mosquitto trusts for the payload's length: they must agree).
Err payload(Row& row, int payload_col, int len_col, std::string& out) {
  out = row.blob(payload_col);
  const int64_t len = row.integer(len_col, 0, 268'435'455);
  if (!row.is_null(len_col) && size_t(len) != out.size())
    return "payloadlen " + std::to_string(len) + " but a payload of " + std::to_string(out.size()) + " bytes";
  return std::nullopt;
}

Err read_base_msgs(Db& db, Records& out) {
  return each_row(db, "base_msgs",
                  "SELECT store_id, expiry_time, topic, payload, payloadlen, qos, retain, properties, source_id, "
                  "source_username, source_port FROM base_msgs",
                  [&](Row& row) -> Err {
                    const int64_t id = row.integer(0, kI64Min, kI64Max);
                    const std::string what = "message " + std::to_string(id) + ": ";
                    BaseMsg m;
                    m.expiry_time = row.integer(1, 0, kI64Max);
                    m.topic = row.text(2, true);
                    if (auto e = payload(row, 3, 4, m.payload)) return what + *e;
                    m.qos = uint8_t(row.integer(5, 0, 2));
                    m.retain = row.integer(6, 0, 1) != 0;
                    if (auto e = props_from_json(row, 7, m.props)) return what + *e;
                    m.source_id = row.text(8);
                    m.source_username = row.text(9);
                    m.source_port = uint16_t(row.integer(10, 0, 65535));
                    if (row.error()) return std::nullopt;
                    if (!out.msgs.emplace(uint64_t(id), std::move(m)).second) return what + "appears twice";
                    return std::nullopt;
                  });
}

Err read_retains(Db& db, Records& out) {
  return each_row(db, "retains", "SELECT topic, store_id FROM retains ORDER BY topic", [&](Row& row) -> Err {
    Retain r;
    r.topic = row.text(0, true);
    r.store_id = uint64_t(row.integer(1, kI64Min, kI64Max));
    if (r.topic.empty() && !row.error()) return std::string("a retained message with an empty topic");
    out.retains.push_back(std::move(r));
    return std::nullopt;
  });
}

Err read_clients(Db& db, Records& out) {
  return each_row(db, "clients",
                  "SELECT client_id, username, session_expiry_time, session_expiry_interval, "
                  "will_delay_time, will_delay_interval FROM clients",
                  [&](Row& row) -> Err {
                    Client c;
                    c.id = row.text(0, true);
                    c.username = row.text(1);
                    c.session_expiry_time = row.integer(2, 0, kI64Max);
                    c.session_expiry_interval = as_u32(row.integer(3, std::numeric_limits<int32_t>::min(),
                                                                   std::numeric_limits<uint32_t>::max()));
                    c.will_delay_time = row.integer(4, 0, kI64Max);
                    c.will_delay_interval = as_u32(row.integer(5, std::numeric_limits<int32_t>::min(),
                                                               std::numeric_limits<uint32_t>::max()));
                    out.clients.push_back(std::move(c));
                    return std::nullopt;
                  });
}

Err read_subscriptions(Db& db, Records& out) {
  return each_row(db, "subscriptions",
                  "SELECT client_id, topic, subscription_options, subscription_identifier FROM subscriptions",
                  [&](Row& row) -> Err {
                    Sub s;
                    s.client_id = row.text(0, true);
                    s.filter = row.text(1, true);
                    s.options = uint8_t(row.integer(2, 0, 255));
                    s.identifier = uint32_t(row.integer(3, 0, kMaxSubId));
                    out.subs.push_back(std::move(s));
                    return std::nullopt;
                  });
}

Err read_client_msgs(Db& db, Records& out) {
  return each_row(db, "client_msgs",
                  "SELECT client_id, store_id, direction, mid, qos, retain, state, subscription_identifier "
                  "FROM client_msgs ORDER BY rowid",
                  [&](Row& row) -> Err {
                    ClientMsg m;
                    m.client_id = row.text(0, true);
                    m.store_id = uint64_t(row.integer(1, kI64Min, kI64Max));
                    m.direction = uint8_t(row.integer(2, 0, 255));
                    m.mid = uint16_t(row.integer(3, 0, 65535));
                    m.qos = uint8_t(row.integer(4, 0, 255));
                    m.retain = row.integer(5, 0, 1) != 0;
                    m.state = uint8_t(row.integer(6, 0, 255));
                    if (const int64_t id = row.integer(7, 0, kMaxSubId)) m.subscription_ids.push_back(uint32_t(id));
                    out.client_msgs.push_back(std::move(m));
                    return std::nullopt;
                  });
}

Err read_wills(Db& db, Records& out) {
  return each_row(db, "wills",
                  "SELECT client_id, topic, payload, payloadlen, qos, retain, properties FROM wills",
                  [&](Row& row) -> Err {
                    Will w;
                    w.client_id = row.text(0, true);
                    const std::string what = "the will of '" + w.client_id + "': ";
                    w.msg.topic = row.text(1, true);
                    if (auto e = payload(row, 2, 3, w.msg.payload)) return what + *e;
                    w.msg.qos = uint8_t(row.integer(4, 0, 2));
                    w.msg.retain = row.integer(5, 0, 1) != 0;
                    if (auto e = props_from_json(row, 6, w.msg.props)) return what + *e;
                    out.wills.push_back(std::move(w));
                    return std::nullopt;
                  });
}

}  // namespace

std::optional<std::string> read_persist_sqlite(const std::string& path, Records& out) {
  Db db;
  TempCopy copy;
  if (auto e = open_readonly(path, db, copy)) return e;
  for (auto step : {check_integrity, check_tables, check_version}) {
    if (auto e = step(db)) return e;
  }
  for (auto table : {read_base_msgs, read_retains, read_clients, read_subscriptions, read_client_msgs, read_wills}) {
    if (auto e = table(db, out)) return e;
  }
  return std::nullopt;
}

}  // namespace petrel::persist::mosq
