// import_mosquitto(): the files real Mosquitto 2.0.11 and 2.1.2 brokers wrote
// (persist/fixtures, see their README in the shared fixtures), variants of them written here
// (states, expiry, wills, options), and damaged or foreign files, each of which must give an
// ImportError naming the file and nothing else.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "persist/mosquitto_import.h"
#include "protocol/codec.h"

namespace petrel::persist {
namespace mosquitto_import_test {

namespace fs = std::filesystem;

const std::string kFixtures = PETREL_PERSIST_FIXTURES;
const std::string kDb = kFixtures + "/mosquitto-2.0.11.db";
const std::string kSqlite = kFixtures + "/mosquitto-2.1.2.sqlite3";
// A minute after the fixtures were written (2026-12-06 21:04 UTC), so none of it expired.
constexpr int64_t kNow = 1'796'591'100;
constexpr uint32_t kNever = std::numeric_limits<uint32_t>::max();

// ---- helpers --------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "petrel-import-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(t.data()), nullptr);
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  // A new file each time: rewriting one in place waits for the disk (ext4 flushes a file
  // truncated and written again), 1000 times slower over the thousands of variants here.
  fs::remove(path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

Snapshot import_ok(const std::string& path, int64_t now = kNow) {
  auto r = import_mosquitto(path, now);
  if (auto* e = std::get_if<ImportError>(&r)) {
    ADD_FAILURE() << "import failed: " << e->message;
    return {};
  }
  return std::get<Snapshot>(std::move(r));
}

// The import fails, names the file (in both fields) and, when given, says `what`.
void expect_error(const std::string& path, const std::string& what = "", int64_t now = kNow) {
  auto r = import_mosquitto(path, now);
  const auto* e = std::get_if<ImportError>(&r);
  ASSERT_NE(e, nullptr) << path << " was imported; expected an error about '" << what << "'";
  EXPECT_EQ(e->file, path);
  EXPECT_EQ(e->message.rfind(path + ": ", 0), 0u) << e->message;
  if (!what.empty()) {
    EXPECT_NE(e->message.find(what), std::string::npos) << e->message;
  }
}

// Runs SQL on a (copied) database, read-write.
void sql(const std::string& db, const std::string& statements) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, statements.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in: " << statements;
  sqlite3_free(err);
  sqlite3_close(h);
}

std::string forward_props(const protocol::Properties& p) {
  std::string out;
  protocol::encode_forward_props(p, out);
  return out;
}

// The properties the fixture's cmd/config was published with, in Petrel's encoding.
std::string config_props() {
  protocol::Properties p;
  p.content_type = "application/json";
  p.user_properties = {{"origin", "fixture"}};
  return forward_props(p);
}

MessageRecord msg(std::string topic, std::string payload, uint8_t qos, bool retain, std::string props = "") {
  MessageRecord m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  m.props = std::move(props);
  m.qos = qos;
  m.retain = retain;
  return m;
}

OutgoingRecord queued(MessageRecord m, uint8_t qos) {
  OutgoingRecord o;
  o.msg = std::move(m);
  o.qos = qos;
  return o;
}

const SessionRecord* find_session(const Snapshot& s, const std::string& id) {
  for (const auto& sess : s.sessions) {
    if (sess.client_id == id) return &sess;
  }
  return nullptr;
}

std::vector<std::string> payloads(const SessionRecord& s) {
  std::vector<std::string> out;
  for (const auto& o : s.outgoing) out.push_back(o.msg.payload);
  return out;
}

// What the fixtures' README says both files hold.
void expect_readme_state(const Snapshot& s) {
  ASSERT_EQ(s.retained.size(), 3u);
  EXPECT_EQ(s.retained[0].msg, msg("cmd/config", R"({"rate":5})", 2, true, config_props()));
  EXPECT_EQ(s.retained[1].msg, msg("plant/line1/temp", "21.5", 1, true));
  EXPECT_EQ(s.retained[2].msg, msg("plant/line2/state", "running", 0, true));
  // Each kept its publisher (check_retain_source): mosquitto_pub's generated client id,
  // no user name, the port of the listener it used.
  for (const auto& r : s.retained) {
    EXPECT_TRUE(r.source_client_id.starts_with("auto-")) << r.source_client_id;
    EXPECT_EQ(r.source_client_id.size(), 41u) << r.source_client_id;
    EXPECT_EQ(r.source_username, "");
    EXPECT_NE(r.source_port, 0);
  }
  EXPECT_NE(s.retained[0].source_client_id, s.retained[1].source_client_id);  // one mosquitto_pub each

  ASSERT_EQ(s.sessions.size(), 2u);
  const SessionRecord& a = s.sessions[0];
  EXPECT_EQ(a.client_id, "sess-a");
  EXPECT_EQ(a.username, "");
  EXPECT_EQ(a.protocol_version, 4);
  EXPECT_EQ(a.expiry_interval, kNever);  // MQTT 3.1.1, clean session false
  EXPECT_EQ(a.disconnected_wall_s, 0);
  ASSERT_EQ(a.subscriptions.size(), 1u);
  EXPECT_EQ(a.subscriptions[0], (SubscriptionRecord{"plant/#", 1}));
  const std::vector<OutgoingRecord> a_out = {
      queued(msg("plant/line1/temp", "21.5", 1, true), 1),
      queued(msg("plant/line1/count", "q1", 1, false), 1),
      queued(msg("plant/line1/count", "q2", 1, false), 1),
      queued(msg("plant/line1/count", "q3", 1, false), 1)};
  EXPECT_EQ(a.outgoing, a_out);
  EXPECT_TRUE(a.qos2_incoming.empty());
  EXPECT_FALSE(a.will);

  const SessionRecord& b = s.sessions[1];
  EXPECT_EQ(b.client_id, "sess-b");
  EXPECT_EQ(b.protocol_version, 5);
  EXPECT_EQ(b.expiry_interval, 3600u);
  ASSERT_EQ(b.subscriptions.size(), 1u);
  EXPECT_EQ(b.subscriptions[0], (SubscriptionRecord{"cmd/+", 2}));
  const std::vector<OutgoingRecord> b_out = {
      queued(msg("cmd/config", R"({"rate":5})", 2, true, config_props()), 2),
      queued(msg("cmd/restart", "r1", 2, false), 2),
      queued(msg("cmd/restart", "r2", 2, false), 2)};
  EXPECT_EQ(b.outgoing, b_out);
  EXPECT_TRUE(b.qos2_incoming.empty());
  EXPECT_FALSE(b.will);
  EXPECT_TRUE(s.bridge_queues.empty());
}

// ---- mosquitto.db chunks, for writing variants --------------------------------------

struct ChunkAt {
  uint32_t type = 0;
  size_t body = 0;  // offset of the body in the file
  uint32_t length = 0;
};

uint32_t be32(const std::string& b, size_t at) {
  return uint32_t(uint8_t(b[at])) << 24 | uint32_t(uint8_t(b[at + 1])) << 16 |
         uint32_t(uint8_t(b[at + 2])) << 8 | uint8_t(b[at + 3]);
}

std::vector<ChunkAt> chunks(const std::string& b) {
  std::vector<ChunkAt> out;
  for (size_t pos = 23; pos + 8 <= b.size();) {
    ChunkAt c{be32(b, pos), pos + 8, be32(b, pos + 4)};
    out.push_back(c);
    pos = c.body + c.length;
  }
  return out;
}

// The first chunk of `type` whose body contains `needle`.
ChunkAt find_chunk(const std::string& b, uint32_t type, const std::string& needle) {
  for (const auto& c : chunks(b)) {
    if (c.type == type && b.substr(c.body, c.length).find(needle) != std::string::npos) return c;
  }
  ADD_FAILURE() << "no chunk " << type << " with " << needle;
  return {};
}

void put_le64(std::string& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + size_t(i)] = char(v >> (8 * i));
}

constexpr uint32_t kBaseMsg = 2, kClientMsg = 3, kRetain = 4, kSub = 5, kClient = 6;

// ---- the fixtures ---------------------------------------------------------------------

TEST(MosquittoImport, Db20FixtureHoldsWhatTheReadmeSays) {
  const Snapshot s = import_ok(kDb);
  expect_readme_state(s);
  // Mosquitto 2.0 keeps when sess-b's session ends (disconnect + 3600 s).
  EXPECT_EQ(s.sessions[1].disconnected_wall_s, 1'796'594'657 - 3600);
}

TEST(MosquittoImport, Sqlite21FixtureHoldsWhatTheReadmeSays) {
  const Snapshot s = import_ok(kSqlite);
  expect_readme_state(s);
  EXPECT_EQ(s.sessions[1].disconnected_wall_s, 1'796'594'639 - 3600);
}

TEST(MosquittoImport, BothFormatsGiveTheSameState) {
  Snapshot a = import_ok(kDb), b = import_ok(kSqlite);
  // The publishers differ (each file was made by its own run of mosquitto_pub).
  for (auto* s : {&a, &b}) {
    for (auto& r : s->retained) r.source_client_id.clear(), r.source_port = 0;
  }
  EXPECT_EQ(a.retained, b.retained);
  for (auto* s : {&a, &b}) {
    for (auto& sess : s->sessions) sess.disconnected_wall_s = 0;
  }
  EXPECT_EQ(a.sessions, b.sessions);
}

TEST(MosquittoImport, PropertiesAreThePublishPropertyBlockWithoutItsLength) {
  const Snapshot s = import_ok(kDb);
  const std::string expected = std::string("\x03\x00\x10", 3) + "application/json" +
                               std::string("\x26\x00\x06", 3) + "origin" + std::string("\x00\x07", 2) + "fixture";
  EXPECT_EQ(s.retained[0].msg.props, expected);
  auto parsed = protocol::parse_properties(expected, protocol::PacketType::kPublish);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->content_type, "application/json");
  EXPECT_EQ(parsed->user_properties, (protocol::UserProperties{{"origin", "fixture"}}));
}

TEST(MosquittoImport, NeitherFileIsChangedNorGetsCompanions) {
  TempDir dir;
  for (const auto& src : {kDb, kSqlite}) {
    const std::string copy = dir.file(fs::path(src).filename().string());
    fs::copy_file(src, copy);
    const std::string before = read_bytes(copy);
    import_ok(copy);
    EXPECT_EQ(read_bytes(copy), before);
  }
  // No -wal, -shm or journal left beside the SQLite database.
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"mosquitto-2.0.11.db", "mosquitto-2.1.2.sqlite3"}));
}

TEST(MosquittoImport, DetectedByContentNotByName) {
  TempDir dir;
  fs::copy_file(kDb, dir.file("state.sqlite3"));
  fs::copy_file(kSqlite, dir.file("mosquitto.db"));
  expect_readme_state(import_ok(dir.file("state.sqlite3")));
  expect_readme_state(import_ok(dir.file("mosquitto.db")));
}

// ---- 2.0 variants ---------------------------------------------------------------------

TEST(MosquittoImport, DbInFlightMessagesComeFirstWithTheirPacketIds) {
  TempDir dir;
  std::string b = read_bytes(kDb);
  // sess-a's q2 (mid 3) was sent and waits for its PUBACK.
  const ChunkAt base = find_chunk(b, kBaseMsg, "q2");
  uint64_t q2_id = 0;
  for (int i = 7; i >= 0; --i) q2_id = q2_id << 8 | uint8_t(b[base.body + size_t(i)]);
  for (const auto& c : chunks(b)) {
    if (c.type != kClientMsg) continue;
    uint64_t id = 0;
    for (int i = 7; i >= 0; --i) id = id << 8 | uint8_t(b[c.body + size_t(i)]);
    if (id == q2_id) b[c.body + 13] = 3;  // state: wait for PUBACK
  }
  write_bytes(dir.file("m.db"), b);
  const Snapshot s = import_ok(dir.file("m.db"));
  const SessionRecord* a = find_session(s, "sess-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(payloads(*a), (std::vector<std::string>{"q2", "21.5", "q1", "q3"}));
  EXPECT_EQ(a->outgoing[0].state, OutgoingRecord::State::kSent);
  EXPECT_EQ(a->outgoing[0].packet_id, 3);
  EXPECT_EQ(a->outgoing[1].state, OutgoingRecord::State::kQueued);
  EXPECT_EQ(a->outgoing[1].packet_id, 0);
}

TEST(MosquittoImport, DbMessageExpiryBecomesWallTimeAndWhatIsLeftOfTheInterval) {
  TempDir dir;
  std::string b = read_bytes(kDb);
  const ChunkAt r2 = find_chunk(b, kBaseMsg, "r2");
  put_le64(b, r2.body + 8, uint64_t(kNow + 600));
  write_bytes(dir.file("m.db"), b);

  const Snapshot s = import_ok(dir.file("m.db"));
  const SessionRecord* sb = find_session(s, "sess-b");
  ASSERT_NE(sb, nullptr);
  ASSERT_EQ(payloads(*sb), (std::vector<std::string>{R"({"rate":5})", "r1", "r2"}));
  EXPECT_EQ(sb->outgoing[2].msg.expiry_wall_s, kNow + 600);
  EXPECT_EQ(sb->outgoing[2].msg.expiry_interval, 600u);
  EXPECT_EQ(sb->outgoing[1].msg.expiry_wall_s, 0);

  // Expired by the time of the import: left out, as Mosquitto drops it when loading.
  const Snapshot later = import_ok(dir.file("m.db"), kNow + 600);
  EXPECT_EQ(payloads(*find_session(later, "sess-b")), (std::vector<std::string>{R"({"rate":5})", "r1"}));
}

// ---- 2.1 variants ---------------------------------------------------------------------

// A writable copy of the 2.1 fixture in dir.
std::string sqlite_copy(const TempDir& dir) {
  const std::string p = dir.file("mosquitto.sqlite3");
  fs::copy_file(kSqlite, p);
  return p;
}

TEST(MosquittoImport, SqliteStatesOrderAndIncomingQos2) {
  TempDir dir;
  const std::string db = sqlite_copy(dir);
  sql(db,
      // sess-a's q2 waits for its PUBACK; sess-b's r1 has been released (waits for PUBCOMP)
      "UPDATE client_msgs SET state=3 WHERE client_id='sess-a' AND cmsg_id=3;"
      "UPDATE client_msgs SET state=9 WHERE client_id='sess-b' AND cmsg_id=2;"
      // sess-b sent a QoS 2 PUBLISH with id 42, acknowledged with PUBREC; another (43) not yet
      "INSERT INTO client_msgs VALUES('sess-b', 4, 1337335097193722, 0, 0, 42, 2, 0, 7, 0);"
      "INSERT INTO client_msgs VALUES('sess-b', 5, 1337335097193722, 0, 0, 43, 2, 0, 10, 0);");
  const Snapshot s = import_ok(db);
  const SessionRecord* a = find_session(s, "sess-a");
  const SessionRecord* b = find_session(s, "sess-b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(payloads(*a), (std::vector<std::string>{"q2", "21.5", "q1", "q3"}));
  EXPECT_EQ(a->outgoing[0].state, OutgoingRecord::State::kSent);
  EXPECT_EQ(a->outgoing[0].packet_id, 3);
  EXPECT_EQ(payloads(*b), (std::vector<std::string>{"r1", R"({"rate":5})", "r2"}));
  EXPECT_EQ(b->outgoing[0].state, OutgoingRecord::State::kReleased);
  EXPECT_EQ(b->outgoing[0].packet_id, 2);
  EXPECT_EQ(b->qos2_incoming, (std::vector<uint16_t>{42}));
}

TEST(MosquittoImport, SqliteSubscriptionOptionsAndIdentifiers) {
  TempDir dir;
  const std::string db = sqlite_copy(dir);
  // QoS 2, no local, retain as published, retain handling 2; identifier 9, which the
  // queued messages carry too.
  sql(db,
      "UPDATE subscriptions SET subscription_options=46, subscription_identifier=9 WHERE client_id='sess-b';"
      "UPDATE client_msgs SET subscription_identifier=9 WHERE client_id='sess-b';");
  const Snapshot s = import_ok(db);
  const SessionRecord* b = find_session(s, "sess-b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->subscriptions.size(), 1u);
  const SubscriptionRecord expected{"cmd/+", 2, true, true, 2, 9};
  EXPECT_EQ(b->subscriptions[0], expected);
  for (const auto& o : b->outgoing) EXPECT_EQ(o.subscription_ids, (std::vector<uint32_t>{9}));
}

TEST(MosquittoImport, SqliteWillOfAPersistentSession) {
  TempDir dir;
  const std::string db = sqlite_copy(dir);
  sql(db,
      "UPDATE clients SET will_delay_interval=30, will_delay_time=1796591069 WHERE client_id='sess-b';"
      "INSERT INTO wills VALUES('sess-b', X'676F6E65', 'status/sess-b', 4, 1, 1,"
      " '[{\"identifier\":\"payload-format-indicator\",\"value\":1},"
      "{\"identifier\":\"response-topic\",\"value\":\"status/ack\"},"
      "{\"identifier\":\"correlation-data\",\"value\":\"00FF10\"},"
      "{\"identifier\":\"user-property\",\"name\":\"k\",\"value\":\"v1\"},"
      "{\"identifier\":\"user-property\",\"name\":\"k\",\"value\":\"v2\"},"
      "{\"identifier\":\"message-expiry-interval\"}]');"
      // the will of a client without a session: Mosquitto publishes it at once; not imported
      "INSERT INTO wills VALUES('gone', X'78', 'status/gone', 1, 0, 0, NULL);");
  const Snapshot s = import_ok(db);
  const SessionRecord* b = find_session(s, "sess-b");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->will);
  protocol::Properties p;
  p.payload_format_indicator = 1;
  p.response_topic = "status/ack";
  p.correlation_data = std::string("\x00\xFF\x10", 3);
  p.user_properties = {{"k", "v1"}, {"k", "v2"}};
  EXPECT_EQ(b->will->msg, msg("status/sess-b", "gone", 1, true, forward_props(p)));
  EXPECT_EQ(b->will->delay_interval, 30u);
  EXPECT_EQ(b->will_due_wall_s, 1'796'591'069);
  EXPECT_EQ(s.sessions.size(), 2u);
}

TEST(MosquittoImport, SqliteRetainedPublisherWithAUserName) {
  TempDir dir;
  const std::string db = sqlite_copy(dir);
  sql(db, "UPDATE base_msgs SET source_id='dev-7', source_username='plant', source_port=8883 "
          "WHERE topic='plant/line1/temp';");
  Snapshot s = import_ok(db);
  ASSERT_EQ(s.retained.size(), 3u);
  EXPECT_EQ(s.retained[1].source_client_id, "dev-7");
  EXPECT_EQ(s.retained[1].source_username, "plant");
  EXPECT_EQ(s.retained[1].source_port, 8883);
  // A message without a source (NULL columns) has none: it is never checked.
  sql(db, "UPDATE base_msgs SET source_id=NULL, source_username=NULL, source_port=NULL "
          "WHERE topic='plant/line1/temp';");
  s = import_ok(db);
  EXPECT_EQ(s.retained[1].source_client_id, "");
  EXPECT_EQ(s.retained[1].source_port, 0);
}

TEST(MosquittoImport, SqliteExpiry) {
  TempDir dir;
  const std::string db = sqlite_copy(dir);
  sql(db, "UPDATE base_msgs SET expiry_time=" + std::to_string(kNow + 90) + " WHERE topic='plant/line2/state';");
  Snapshot s = import_ok(db);
  ASSERT_EQ(s.retained.size(), 3u);
  EXPECT_EQ(s.retained[2].msg.expiry_wall_s, kNow + 90);
  EXPECT_EQ(s.retained[2].msg.expiry_interval, 90u);
  s = import_ok(db, kNow + 91);
  ASSERT_EQ(s.retained.size(), 2u);
  EXPECT_EQ(s.retained[1].msg.topic, "plant/line1/temp");
}

TEST(MosquittoImport, SqliteTransactionsStillInTheWalAreReadFromACopy) {
  TempDir dir;
  const std::string db = sqlite_copy(dir);
  // A writer that has not checkpointed: the new retained message is only in the -wal file.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h,
                         "PRAGMA wal_autocheckpoint=0;"
                         "INSERT INTO base_msgs VALUES(7, 0, 'plant/line3/temp', X'3139', NULL, NULL, 2, 0, 0, 0, 1, NULL);"
                         "INSERT INTO retains VALUES('plant/line3/temp', 7);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_GT(fs::file_size(db + "-wal"), 0u);
  const std::vector<std::string> files = dir.listing();
  const std::string wal_before = read_bytes(db + "-wal"), db_before = read_bytes(db);

  const Snapshot s = import_ok(db);
  ASSERT_EQ(s.retained.size(), 4u);
  EXPECT_EQ(s.retained[3].msg, msg("plant/line3/temp", "19", 0, true));
  EXPECT_EQ(dir.listing(), files);
  EXPECT_EQ(read_bytes(db + "-wal"), wal_before);
  EXPECT_EQ(read_bytes(db), db_before);
  sqlite3_close(h);
}

// ---- damaged, foreign and missing files -----------------------------------------------

TEST(MosquittoImport, EveryTruncationOfTheDbFails) {
  TempDir dir;
  const std::string full = read_bytes(kDb);
  std::set<size_t> boundaries;
  for (const auto& c : chunks(full)) boundaries.insert(c.body + c.length);
  const std::string path = dir.file("t.db");
  int failed = 0;
  for (size_t len = 0; len < full.size(); ++len) {
    write_bytes(path, full.substr(0, len));
    if (boundaries.count(len)) {
      // Ends exactly after a chunk: the format has no end marker, count or checksum, so this
      // is a complete file with fewer chunks. It must still not crash nor invent anything.
      auto r = import_mosquitto(path, kNow);
      if (auto* snap = std::get_if<Snapshot>(&r)) {
        size_t held = 0;
        for (const auto& sess : snap->sessions) held += sess.outgoing.size() + sess.subscriptions.size();
        EXPECT_LE(snap->retained.size() + held, 3u + 7u + 2u);
      }
      continue;
    }
    expect_error(path);
    ++failed;
  }
  EXPECT_GT(failed, 1200);
}

TEST(MosquittoImport, FlippedBytesInTheDbFail) {
  TempDir dir;
  const std::string full = read_bytes(kDb);
  const ChunkAt config = find_chunk(full, kBaseMsg, "application/json");
  const ChunkAt q1 = find_chunk(full, kBaseMsg, "q1");
  const ChunkAt cmsg = find_chunk(full, kClientMsg, "sess-a");
  const ChunkAt sub = find_chunk(full, kSub, "plant/#");
  const ChunkAt client = find_chunk(full, kClient, "sess-b");
  const ChunkAt retain = chunks(full).back();
  ASSERT_EQ(retain.type, kRetain);
  const size_t props = config.body + full.substr(config.body, config.length).find("application/json") - 3;
  const std::vector<std::pair<size_t, std::string>> cases = {
      {1, "not a Mosquitto persistence file"},     // magic
      {22, "format version 249"},                   // version 6 -> 0xF9
      {q1.body - 5, "unknown chunk type"},          // chunk type
      {q1.body - 4, "truncated or damaged"},        // chunk length, high byte
      {q1.body - 1, "damaged"},                     // chunk length, low byte
      {q1.body + 17, "damaged"},                    // payload length
      {q1.body + 27, "damaged"},                    // topic length
      {q1.body + 30, "QoS"},                        // QoS
      {props, "bad properties"},                    // content type -> unknown property
      {props - 1, "property length"},               // property block length
      {cmsg.body, "not in the file"},               // store id
      {cmsg.body + 11, "damaged"},                  // client id length
      {cmsg.body + 13, "unknown state"},            // state
      {cmsg.body + 15, "unknown direction"},        // direction
      {sub.body + 8, "QoS"},                        // subscription QoS
      {sub.body + 9, "unknown options"},            // subscription options
      {sub.body + 12, "no session"},                // client id of the subscription
      {client.body + 15, "damaged"},                // client id length
      {retain.body + 1, "not in the file"},         // retained message id
  };
  const std::string path = dir.file("f.db");
  for (const auto& [at, what] : cases) {
    SCOPED_TRACE("byte " + std::to_string(at));
    std::string b = full;
    b[at] = char(b[at] ^ 0xFF);
    write_bytes(path, b);
    expect_error(path, what);
  }
}

TEST(MosquittoImport, AnyFlippedByteInTheDbNeverCrashes) {
  // Payload and topic bytes cannot be told from intended ones (Mosquitto writes no
  // checksum); everything else fails. Either way: no crash, and an error names the file.
  TempDir dir;
  const std::string full = read_bytes(kDb);
  const std::string path = dir.file("f.db");
  int failed = 0;
  for (size_t at = 0; at < full.size(); ++at) {
    std::string b = full;
    b[at] = char(b[at] ^ 0xFF);
    write_bytes(path, b);
    auto r = import_mosquitto(path, kNow);
    if (auto* e = std::get_if<ImportError>(&r)) {
      EXPECT_EQ(e->file, path);
      ++failed;
    }
  }
  EXPECT_GT(failed, int(full.size()) / 3);
}

TEST(MosquittoImport, RandomlyMangledFilesNeverCrash) {
  // Several bytes at once, some of them lengths set to large values, in both formats.
  TempDir dir;
  uint64_t x = 0x9E3779B97F4A7C15u;
  auto next = [&x] { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; };
  for (const auto& src : {kDb, kSqlite}) {
    const std::string full = read_bytes(src);
    const std::string path = dir.file("m" + fs::path(src).extension().string());
    const int rounds = src == kDb ? 3000 : 300;
    for (int i = 0; i < rounds; ++i) {
      std::string b = full;
      const int n = 1 + int(next() % 4);
      for (int k = 0; k < n; ++k) {
        const size_t at = src == kDb ? next() % b.size() : 4096 + next() % (b.size() - 4096);
        b[at] = char(next() % 3 == 0 ? 0xFF : next());
      }
      write_bytes(path, b);
      auto r = import_mosquitto(path, kNow);
      if (auto* e = std::get_if<ImportError>(&r)) {
        EXPECT_EQ(e->file, path);
      }
    }
  }
}

TEST(MosquittoImport, OtherDbVersionsAreRefusedByNumber) {
  TempDir dir;
  for (uint8_t v : {2, 5, 7}) {
    std::string b = read_bytes(kDb);
    b[22] = char(v);
    const std::string path = dir.file("v" + std::to_string(v) + ".db");
    write_bytes(path, b);
    expect_error(path, "format version " + std::to_string(v) + " is not supported");
  }
}

TEST(MosquittoImport, EmptyTextMissingAndDirectory) {
  TempDir dir;
  write_bytes(dir.file("empty.db"), "");
  expect_error(dir.file("empty.db"), "empty file");
  write_bytes(dir.file("notes.txt"), "persistence true\npersistence_location /var/lib/mosquitto/\n");
  expect_error(dir.file("notes.txt"), "not a Mosquitto persistence file");
  expect_error(dir.file("missing.db"), "cannot open");
  expect_error(dir.file(""), "directory");
}

TEST(MosquittoImport, ForeignSqliteDatabases) {
  TempDir dir;
  const std::string other = dir.file("other.sqlite3");
  sql(other, "CREATE TABLE users(name TEXT, mail TEXT); INSERT INTO users VALUES('a', 'b');");
  expect_error(other, "not Mosquitto's persist-sqlite");

  const std::string partial = dir.file("partial.sqlite3");
  fs::copy_file(kSqlite, partial);
  sql(partial, "DROP TABLE wills;");
  expect_error(partial, "no table wills");

  const std::string unversioned = dir.file("unversioned.sqlite3");
  fs::copy_file(kSqlite, unversioned);
  sql(unversioned, "DELETE FROM version_info;");
  expect_error(unversioned, "no database_schema version");

  const std::string newer = dir.file("newer.sqlite3");
  fs::copy_file(kSqlite, newer);
  sql(newer, "UPDATE version_info SET major=2, minor=0, patch=0;");
  expect_error(newer, "database_schema version 2.0.0 is not supported");

  const std::string renamed = dir.file("renamed.sqlite3");
  fs::copy_file(kSqlite, renamed);
  sql(renamed, "ALTER TABLE client_msgs RENAME COLUMN state TO status;");
  expect_error(renamed, "no such column: state");
}

TEST(MosquittoImport, DamagedSqliteRows) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"UPDATE base_msgs SET properties='not json' WHERE topic='cmd/config';", "not a JSON array"},
      {"UPDATE base_msgs SET properties='[{\"identifier\":\"content-type\",\"value\":5}]';", "without a string value"},
      {"UPDATE base_msgs SET properties='[{\"identifier\":\"colour\",\"value\":\"red\"}]';", "unknown property colour"},
      {"UPDATE base_msgs SET properties='[{\"identifier\":\"correlation-data\",\"value\":\"0G\"}]';", "not hexadecimal"},
      {"UPDATE base_msgs SET payloadlen=99 WHERE topic='cmd/config';", "payloadlen 99"},
      {"UPDATE base_msgs SET qos=3 WHERE topic='cmd/config';", "column qos is out of range"},
      {"UPDATE base_msgs SET topic='a/+' WHERE topic='cmd/config';", "invalid topic"},
      {"UPDATE base_msgs SET store_id=1 WHERE payload=X'7231';", "not in the file"},
      {"UPDATE retains SET store_id=5;", "retained message 5 is not in the file"},
      {"UPDATE client_msgs SET state=12 WHERE cmsg_id=1;", "unknown state 12"},
      {"UPDATE client_msgs SET state='queued';", "column state is not an integer"},
      {"UPDATE client_msgs SET client_id='nobody' WHERE cmsg_id=1;", "no session"},
      {"UPDATE subscriptions SET subscription_options=51;", "invalid options"},
      {"UPDATE subscriptions SET topic='a/#/b';", "not a valid topic filter"},
      {"UPDATE clients SET client_id=NULL WHERE client_id='sess-a';", "column client_id is missing"},
      {"UPDATE base_msgs SET source_port=70000 WHERE topic='cmd/config';", "column source_port is out of range"},
      {"UPDATE base_msgs SET source_id=CAST(X'C0AF' AS TEXT) WHERE topic='cmd/config';",
       "has a publisher whose client id or user name is not valid"},
  };
  int n = 0;
  for (const auto& [statements, what] : cases) {
    SCOPED_TRACE(statements);
    const std::string db = dir.file("d" + std::to_string(n++) + ".sqlite3");
    fs::copy_file(kSqlite, db);
    sql(db, statements);
    expect_error(db, what);
  }
}

TEST(MosquittoImport, TruncatedAndFlippedSqliteFilesFail) {
  TempDir dir;
  const std::string full = read_bytes(kSqlite);
  const std::string path = dir.file("t.sqlite3");
  for (size_t len : {16, 100, 1000, 4096, 4097, 8192, 30000, 61440, 65535}) {
    SCOPED_TRACE("length " + std::to_string(len));
    write_bytes(path, full.substr(0, len));
    expect_error(path);
  }
  // The page size, a b-tree page's type, its cell count, the schema's root page.
  for (size_t at : {16, 4096, 4099, 103}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    std::string b = full;
    b[at] = char(b[at] ^ 0xFF);
    write_bytes(path, b);
    expect_error(path);
  }
}

}  // namespace mosquitto_import_test
}  // namespace petrel::persist
