#include "persist/sqlite_store_repair.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>

#include "persist/sqlite_store_db.h"

namespace petrel::persist {

using sqlite::Stmt;

namespace {

std::string count_text(int64_t n) { return n < 0 ? std::string("unreadable") : std::to_string(n); }

std::string counts_text(const TableCounts& c) {
  return fmt::format(
      "  retained messages: {}\n  sessions: {} (subscriptions {}, outgoing messages {}, stored messages {}, QoS 2 "
      "ids {})\n  bridge queued messages: {}\n",
      count_text(c.retained), count_text(c.sessions), count_text(c.subscriptions), count_text(c.outgoing),
      count_text(c.messages), count_text(c.qos2_incoming), count_text(c.bridge_queued));
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

}  // namespace

std::string CheckReport::text() const {
  std::string out = ok ? "ok\n" : fmt::format("NOT OK: {}\n", problem);
  if (!quick_check.empty() && !(quick_check.size() == 1 && quick_check[0] == "ok")) {
    out += "  PRAGMA quick_check:\n";
    for (const auto& l : quick_check) out += "    " + l + "\n";
  }
  if (counts.retained >= 0 || counts.sessions >= 0 || counts.bridge_queued >= 0) out += counts_text(counts);
  return out;
}

CheckReport check_store_file(const std::string& path) {
  CheckReport r;
  auto db = sqlite::open_file(path, false);
  if (!db) {
    r.problem = db.error().message;
    return r;
  }
  sqlite3* d = db->get();
  if (auto v = sqlite::identify(d, path); !v) {
    r.problem = v.error().message;
    // Go on reading only when this is a Petrel store whose schema version is damaged.
    Stmt s;
    if (s.prepare(d, "PRAGMA application_id", false) != SQLITE_OK || s.step() != SQLITE_ROW ||
        s.int64(0) != sqlite::kApplicationId || r.problem.find("newer Petrel") != std::string::npos) {
      return r;
    }
  } else if (*v == 0) {
    r.problem = fmt::format("persistence file {} is an empty SQLite database (no store was created in it yet)", path);
    return r;
  }
  r.quick_check = sqlite::quick_check(d, 20);
  r.counts = sqlite::count_rows(d);
  const bool sound = r.quick_check.size() == 1 && r.quick_check[0] == "ok";
  if (r.problem.empty() && !sound) {
    r.problem = fmt::format("persistence file {} is damaged (PRAGMA quick_check: {}); `petrel --persistence-recover "
                            "{}` moves it aside and keeps what is readable",
                            path, r.quick_check[0], path);
  }
  if (r.problem.empty() && r.counts.dangling_outgoing > 0) {
    r.problem = fmt::format("persistence file {}: {} outgoing messages refer to a message that is not stored", path,
                            r.counts.dangling_outgoing);
  }
  r.ok = r.problem.empty();
  return r;
}

std::string RecoverReport::text() const {
  std::string out = fmt::format("moved the damaged file to {}\nkept in the new store:\n{}", moved_to, counts_text(kept));
  if (found.retained >= 0 || found.sessions >= 0 || found.outgoing >= 0) {
    out += "the damaged file's counts said:\n" + counts_text(found);
  }
  for (const auto& p : problems) out += "  lost: " + p + "\n";
  return out;
}

namespace {

// Reads a table (or a range of it) by an integer key, ascending, keeping every row that
// can be read. A read that fails (a damaged page) is resumed past the damaged keys: the
// smallest key bound above the failure whose read starts cleanly is found by probing
// 1, 2, 4, ... keys ahead, then bisecting back, so a damaged leaf costs only its own rows.
struct Damage {
  int ranges = 0;         // damaged key ranges skipped
  std::string error;      // the first error seen
  void add(const Damage& o) {
    ranges += o.ranges;
    if (error.empty()) error = o.error;
  }
};

class KeyScan {
 public:
  // `sql` has ?1 = exclusive lower key bound and returns the key as column 0; `bind`
  // binds any other parameters.
  template <class Bind, class Row>
  static Damage run(sqlite3* db, const std::string& sql, Bind bind, Row on_row) {
    Damage d;
    Stmt s;
    if (s.prepare(db, sql, false) != SQLITE_OK) {
      d.ranges = 1;
      d.error = sqlite::errmsg(db);
      return d;
    }
    auto start = [&](int64_t after) {
      s.reset();
      s.bind(1, after);
      bind(s);
      return s.step();
    };
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    int64_t after = -1;
    for (int round = 0; round < 10'000; ++round) {
      int rc = start(after);
      while (rc == SQLITE_ROW) {
        after = s.int64(0);
        on_row(s);
        rc = s.step();
      }
      if (rc == SQLITE_DONE) break;
      ++d.ranges;
      if (d.error.empty()) d.error = sqlite::errmsg(db);
      // `after` fails; find a bound above it that starts cleanly.
      int64_t lo = after, hi = after, step = 1;
      bool found = false;
      while (!found) {
        hi = lo > kMax - step ? kMax : lo + step;
        const int prc = start(hi);
        if (prc == SQLITE_ROW || prc == SQLITE_DONE) {
          found = true;
        } else if (hi == kMax) {
          break;
        } else {
          lo = hi;
          step = step > kMax / 2 ? kMax : step * 2;
        }
      }
      if (!found) break;
      while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        const int prc = start(mid);
        if (prc == SQLITE_ROW || prc == SQLITE_DONE) {
          hi = mid;
        } else {
          lo = mid;
        }
      }
      after = hi;
    }
    s.reset();
    return d;
  }
};

void note(std::vector<std::string>& problems, const std::string& what, const Damage& d) {
  if (d.ranges) problems.push_back(fmt::format("{}: {} damaged range(s) skipped ({})", what, d.ranges, d.error));
}

// Every readable record of the damaged store, with its ids (so shared messages stay shared).
Snapshot read_what_remains(sqlite3* db, std::vector<std::string>& problems) {
  Snapshot snap;
  const std::string cols = sqlite::kMessageCols;
  auto none = [](Stmt&) {};
  // A store of schema version 1 has no publisher columns: its retained messages have none.
  const bool sources = sqlite::has_column(db, "retained", "source_client_id");
  note(problems, "retained messages",
       KeyScan::run(db,
                    "SELECT rowid, " + cols + (sources ? std::string(", ") + sqlite::kRetainedSourceCols : "") +
                        " FROM retained WHERE rowid > ?1 ORDER BY rowid",
                    none, [&](const Stmt& s) {
                      snap.retained.push_back(sources ? sqlite::read_retained(s, 1)
                                                      : RetainedRecord{sqlite::read_message(s, 1)});
                    }));

  std::vector<int64_t> session_ids;
  const Damage sessions = KeyScan::run(
      db,
      fmt::format("SELECT {} FROM sessions WHERE id > ?1 ORDER BY id", sqlite::kSessionCols),
      none,
      [&](const Stmt& s) {
        SessionRecord r = sqlite::read_session(s);
        session_ids.push_back(s.int64(0));
        snap.sessions.push_back(std::move(r));
      });
  note(problems, "sessions (with what they held)", sessions);

  Stmt msg;
  const bool msg_ok =
      msg.prepare(db, "SELECT " + cols + " FROM messages WHERE id = ?1", false) == SQLITE_OK;
  std::map<int64_t, std::optional<MessageRecord>> messages;  // by id; nullopt: unreadable
  uint64_t lost_outgoing = 0;
  Damage subs, qos2, outgoing;
  int subs_sessions = 0, qos2_sessions = 0, outgoing_sessions = 0;
  for (size_t i = 0; i < snap.sessions.size(); ++i) {
    SessionRecord& r = snap.sessions[i];
    const int64_t sid = session_ids[i];
    auto bind_sid = [sid](Stmt& s) { s.bind(2, sid); };
    {
      Stmt s;
      int rc = s.prepare(db,
                         "SELECT filter, qos, no_local, retain_as_published, retain_handling, identifier FROM "
                         "subscriptions WHERE session_id = ?1 ORDER BY filter",
                         false);
      if (rc == SQLITE_OK) {
        s.bind(1, sid);
        while ((rc = s.step()) == SQLITE_ROW) {
          SubscriptionRecord sub;
          sub.filter = s.str(0);
          sub.qos = uint8_t(s.int64(1));
          sub.no_local = s.int64(2) != 0;
          sub.retain_as_published = s.int64(3) != 0;
          sub.retain_handling = uint8_t(s.int64(4));
          sub.identifier = uint32_t(s.int64(5));
          r.subscriptions.push_back(std::move(sub));
        }
      }
      if (rc != SQLITE_DONE) {  // keyed by text: what follows the damage is lost
        ++subs_sessions;
        subs.add(Damage{1, sqlite::errmsg(db)});
      }
    }
    const Damage q = KeyScan::run(
        db, "SELECT packet_id FROM qos2_incoming WHERE session_id = ?2 AND packet_id > ?1 ORDER BY packet_id",
        bind_sid, [&](const Stmt& s) { r.qos2_incoming.push_back(uint16_t(s.int64(0))); });
    qos2_sessions += q.ranges ? 1 : 0;
    qos2.add(q);
    const Damage o = KeyScan::run(
        db,
        "SELECT seq, message_id, qos, retain, packet_id, state, subscription_ids FROM outgoing "
        "WHERE session_id = ?2 AND seq > ?1 ORDER BY seq",
        bind_sid,
        [&](const Stmt& s) {
          OutgoingRecord o;
          o.seq = uint64_t(s.int64(0));
          o.message_id = uint64_t(s.int64(1));
          o.qos = uint8_t(s.int64(2));
          o.retain = s.int64(3) != 0;
          o.packet_id = uint16_t(s.int64(4));
          o.state = OutgoingRecord::State(uint8_t(s.int64(5)));
          o.subscription_ids = sqlite::decode_ids(s.str(6));
          r.outgoing.push_back(std::move(o));
        });
    outgoing_sessions += o.ranges ? 1 : 0;
    outgoing.add(o);
    // Each outgoing record needs its message.
    std::vector<OutgoingRecord> kept;
    for (auto& o : r.outgoing) {
      auto [it, fresh] = messages.try_emplace(int64_t(o.message_id));
      if (fresh && msg_ok) {
        msg.reset();
        msg.bind(1, int64_t(o.message_id));
        if (msg.step() == SQLITE_ROW) it->second = sqlite::read_message(msg, 0);
      }
      if (!it->second) {
        ++lost_outgoing;
        continue;
      }
      o.msg = *it->second;
      kept.push_back(std::move(o));
    }
    r.outgoing = std::move(kept);
  }
  msg.reset();
  note(problems, fmt::format("subscriptions of {} session(s)", subs_sessions), subs);
  note(problems, fmt::format("QoS 2 ids of {} session(s)", qos2_sessions), qos2);
  note(problems, fmt::format("outgoing messages of {} session(s)", outgoing_sessions), outgoing);
  if (lost_outgoing) problems.push_back(fmt::format("{} outgoing messages whose message is unreadable", lost_outgoing));

  std::map<std::string, std::vector<BridgeQueuedRecord>> queues;
  note(problems, "bridge queues",
       KeyScan::run(db, "SELECT rowid, bridge, seq, " + cols + " FROM bridge_queue WHERE rowid > ?1 ORDER BY rowid",
                    none, [&](const Stmt& s) {
                      BridgeQueuedRecord q;
                      q.seq = uint64_t(s.int64(2));
                      q.msg = sqlite::read_message(s, 3);
                      snap.bridge_queues[s.str(1)].push_back(std::move(q));
                    }));
  for (auto& [name, q] : snap.bridge_queues) {
    std::stable_sort(q.begin(), q.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  }
  return snap;
}

std::string utc_stamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

Result<RecoverReport> recover_store_file(const std::string& path, StoreOptions options) {
  if (!exists(path)) return make_error(0, fmt::format("persistence file {} does not exist", path));
  RecoverReport report;
  std::string aside = path + ".damaged-" + utc_stamp();
  for (int n = 1; exists(aside); ++n) aside = path + ".damaged-" + utc_stamp() + "-" + std::to_string(n);
  // Move the file with its WAL (the WAL belongs to it: left beside a new file it would be
  // replayed into that one).
  std::vector<std::pair<std::string, std::string>> moved;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string from = path + suffix, to = aside + suffix;
    if (!exists(from)) continue;
    if (std::rename(from.c_str(), to.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      for (auto it = moved.rbegin(); it != moved.rend(); ++it) std::rename(it->second.c_str(), it->first.c_str());
      return make_error(0, fmt::format("persistence file {}: cannot move {} to {}: {}", path, from, to, why));
    }
    moved.emplace_back(from, to);
  }
  report.moved_to = aside;

  Snapshot snap;
  auto db = sqlite::open_file(aside, false);
  if (!db) {
    report.problems.push_back(fmt::format("everything: {}", db.error().message));
  } else {
    Stmt s;
    int64_t app = -1;
    if (s.prepare(db->get(), "PRAGMA application_id", false) == SQLITE_OK && s.step() == SQLITE_ROW) app = s.int64(0);
    s.reset();
    if (app != sqlite::kApplicationId) {
      report.problems.push_back(app < 0 ? fmt::format("everything: the file header is unreadable ({})",
                                                      sqlite::errmsg(db->get()))
                                        : std::string("everything: it is not a Petrel store"));
    } else {
      report.found = sqlite::count_rows(db->get());
      snap = read_what_remains(db->get(), report.problems);
    }
    db->reset();
  }

  options.check_at_open = false;
  auto store = SqliteStore::open(path, options);
  if (!store) {
    return make_error(0, fmt::format("moved {} to {}, but cannot create a new store: {}", path, aside,
                                     store.error().message));
  }
  Batch batch;
  batch.add_snapshot(snap);
  if (!(*store)->write(std::move(batch))) {
    return make_error(0, fmt::format("moved {} to {}, but cannot write the recovered records to the new store",
                                     path, aside));
  }
  report.kept = (*store)->counts();
  (*store)->close();
  return report;
}

}  // namespace petrel::persist
