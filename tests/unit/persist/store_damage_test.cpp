// A damaged store file: open() refuses it naming the file and the way out (after a crash;
// a store closed cleanly is not checked at open, and load() refuses it instead),
// check_store_file() reports quick_check's findings and the counts, and
// recover_store_file() moves it aside and keeps every record that is still readable.
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "persist/sqlite_store_repair.h"
#include "store_test_util.h"

namespace petrel::persist {
namespace store_damage_test {

using namespace petrel::persist::testing;

constexpr int kSessions = 200, kPerSession = 5, kRetained = 300, kQueued = 200;

Snapshot fill(const std::string& path) {
  auto store = open_store(path);
  if (!store) return {};
  Batch b;
  for (int s = 0; s < kSessions; ++s) {
    const std::string id = "client-" + std::to_string(s);
    SessionHeader h = session(id);
    h.username = "u";
    h.protocol_version = 5;
    h.expiry_interval = 3600;
    b.put_session(h);
    b.put_subscription(id, subscription("t/" + std::to_string(s) + "/#", 1));
    b.add_qos2_incoming(id, uint16_t(s + 1));
    for (int k = 1; k <= kPerSession; ++k) {
      OutgoingEntry e;
      e.seq = uint64_t(k);
      e.msg = SharedMessage{store->new_message_id(),
                            shared(message("t/" + std::to_string(s), std::string(600, char('a' + k))))};
      e.qos = 1;
      b.append_outgoing(id, e);
    }
  }
  for (int r = 0; r < kRetained; ++r) b.put_retained(message("r/" + std::to_string(r), std::string(300, 'r')));
  for (int q = 1; q <= kQueued; ++q) b.bridge_push("remote", uint64_t(q), message("q", std::string(300, 'q')));
  EXPECT_TRUE(store->write(std::move(b)));
  auto snap = store->load();
  EXPECT_TRUE(snap);
  return snap ? *snap : Snapshot{};
}

// Overwrites one leaf page of `table` (the middle one) with garbage.
void damage_leaf(const std::string& path, const char* table) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  const std::string sql =
      std::string("SELECT pageno FROM dbstat WHERE name = '") + table + "' AND pagetype = 'leaf' ORDER BY pageno";
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::vector<int64_t> pages;
  while (sqlite3_step(st) == SQLITE_ROW) pages.push_back(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  ASSERT_GE(pages.size(), 3u) << table;
  const int64_t page = pages[pages.size() / 2];
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp((page - 1) * 4096 + 8);  // past the page header's first bytes: the cells are garbage
  std::mt19937 rng{unsigned(page)};
  std::string junk(4000, '\0');
  for (auto& c : junk) c = char(rng());
  f.write(junk.data(), std::streamsize(junk.size()));
  ASSERT_TRUE(f.good());
}

TEST(SqliteStoreDamage, OpenRefusesCheckReportsRecoverKeepsWhatIsReadable) {
  TempDir dir;
  const std::string path = dir.file("petrel.db");
  const Snapshot before = fill(path);
  ASSERT_EQ(before.sessions.size(), size_t(kSessions));
  {
    const CheckReport sound = check_store_file(path);
    EXPECT_TRUE(sound.ok) << sound.text();
    EXPECT_EQ(sound.counts.outgoing, kSessions * kPerSession);
    EXPECT_EQ(sound.counts.retained, kRetained);
  }
  damage_leaf(path, "messages");
  damage_leaf(path, "outgoing");
  damage_leaf(path, "retained");

  // Closed cleanly before the damage (bit rot, another program): open() skips its
  // integrity check, load() reads every table and refuses the file the same way.
  {
    auto opened = SqliteStore::open(path);
    ASSERT_TRUE(opened) << opened.error().message;
    auto loaded = (*opened)->load();
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find(path), std::string::npos) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find("damaged"), std::string::npos) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find("--persistence-recover"), std::string::npos) << loaded.error().message;
    (*opened)->close();  // a failed load leaves the store unmarked: the next open checks it
  }
  auto r = SqliteStore::open(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("damaged"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("--persistence-recover"), std::string::npos) << r.error().message;

  const CheckReport check = check_store_file(path);
  EXPECT_FALSE(check.ok);
  EXPECT_NE(check.problem.find("damaged"), std::string::npos) << check.text();
  ASSERT_FALSE(check.quick_check.empty());
  EXPECT_NE(check.quick_check[0], "ok");
  EXPECT_EQ(check.counts.sessions, kSessions) << check.text();  // the sessions table is intact
  EXPECT_NE(check.text().find("quick_check"), std::string::npos);

  auto rec = recover_store_file(path);
  ASSERT_TRUE(rec) << rec.error().message;
  const RecoverReport& report = *rec;
  std::printf("%s", report.text().c_str());
  struct stat st {};
  EXPECT_EQ(::stat(report.moved_to.c_str(), &st), 0) << report.moved_to;
  EXPECT_NE(report.moved_to.find(path + ".damaged-"), std::string::npos);
  EXPECT_FALSE(report.problems.empty());
  // Something of each damaged table is lost, most of it is kept, the rest is whole.
  EXPECT_EQ(report.kept.sessions, kSessions);
  EXPECT_EQ(report.kept.subscriptions, kSessions);
  EXPECT_EQ(report.kept.qos2_incoming, kSessions);
  EXPECT_EQ(report.kept.bridge_queued, kQueued);
  // At most what one 4 KiB leaf holds is lost per damaged table: ~12 retained rows of 300
  // bytes, ~270 outgoing rows of ~15 bytes, 6 messages of 600 bytes.
  EXPECT_LT(report.kept.retained, kRetained);
  EXPECT_GE(report.kept.retained, kRetained - 15);
  EXPECT_LT(report.kept.outgoing, kSessions * kPerSession);
  EXPECT_GE(report.kept.outgoing, kSessions * kPerSession - 280);
  EXPECT_EQ(report.kept.messages, report.kept.outgoing);
  EXPECT_EQ(report.kept.dangling_outgoing, 0);

  // The new file is sound and holds only records equal to the originals.
  auto store = open_store(path);
  ASSERT_TRUE(store);
  auto after = store->load();
  ASSERT_TRUE(after);
  std::map<std::string, const SessionRecord*> orig;
  for (const auto& s : before.sessions) orig[s.client_id] = &s;
  size_t outgoing = 0;
  for (const auto& s : after->sessions) {
    ASSERT_TRUE(orig.count(s.client_id));
    const SessionRecord& o = *orig[s.client_id];
    EXPECT_EQ(s.subscriptions, o.subscriptions);
    EXPECT_EQ(s.qos2_incoming, o.qos2_incoming);
    size_t k = 0;
    for (const auto& rec_o : s.outgoing) {  // a subsequence of the original, in order
      while (k < o.outgoing.size() && o.outgoing[k].seq != rec_o.seq) ++k;
      ASSERT_LT(k, o.outgoing.size()) << s.client_id << " seq " << rec_o.seq;
      EXPECT_TRUE(rec_o == o.outgoing[k]);
      ++outgoing;
    }
  }
  EXPECT_EQ(int64_t(outgoing), report.kept.outgoing);
  std::map<std::string, MessageRecord> orig_retained;
  for (const auto& r2 : before.retained) orig_retained[r2.msg.topic] = r2.msg;
  for (const auto& r2 : after->retained) EXPECT_TRUE(orig_retained[r2.msg.topic] == r2.msg);
  EXPECT_TRUE(after->bridge_queues == before.bridge_queues);
}

TEST(SqliteStoreDamage, RecoveringATextFileMovesItAsideAndStartsEmpty) {
  TempDir dir;
  const std::string path = dir.file("petrel.db");
  std::ofstream(path) << "this is not a database, but it is long enough to look like a header..........\n";
  const CheckReport check = check_store_file(path);
  EXPECT_FALSE(check.ok);
  EXPECT_NE(check.problem.find("not a SQLite database"), std::string::npos) << check.problem;
  auto rec = recover_store_file(path);
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->kept.sessions, 0);
  ASSERT_FALSE(rec->problems.empty());
  std::ifstream moved(rec->moved_to);
  std::string line;
  std::getline(moved, line);
  EXPECT_EQ(line.substr(0, 11), "this is not");
  EXPECT_TRUE(open_store(path));
}

TEST(SqliteStoreDamage, CheckAndRecoverOfAMissingFileSayItIsMissing) {
  TempDir dir;
  const std::string path = dir.file("none.db");
  const CheckReport check = check_store_file(path);
  EXPECT_FALSE(check.ok);
  EXPECT_NE(check.problem.find("does not exist"), std::string::npos) << check.problem;
  auto rec = recover_store_file(path);
  ASSERT_FALSE(rec);
  EXPECT_NE(rec.error().message.find("does not exist"), std::string::npos);
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "recover must not create a store where there was none";
}

TEST(SqliteStoreDamage, AfterACrashOpenChecksTheFileAgain) {
  TempDir dir;
  const std::string path = dir.file("petrel.db");
  fill(path);  // closed cleanly: marked
  // A petrel that opens the store and dies (kill -9, power loss) without closing it.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = SqliteStore::open(path);
    ::_exit(store ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  damage_leaf(path, "messages");
  auto r = SqliteStore::open(path);
  ASSERT_FALSE(r) << "the mark of the clean close went with the open that followed it";
  EXPECT_NE(r.error().message.find("quick_check"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("--persistence-recover"), std::string::npos) << r.error().message;
}

}  // namespace store_damage_test
}  // namespace petrel::persist
