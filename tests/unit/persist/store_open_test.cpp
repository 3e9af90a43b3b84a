// SqliteStore::open: clear errors naming the file for every way a persistence file can be
// unusable (missing or unwritable directory, text file, foreign or newer SQLite database,
// a file in use), and a new file is created when there is none.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "store_test_util.h"

namespace petrel::persist {
namespace store_open_test {

using namespace petrel::persist::testing;

std::string open_error(const std::string& path) {
  auto r = SqliteStore::open(path);
  if (r) return "(opened)";
  return r.error().message;
}

void make_sqlite(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(SqliteStoreOpen, CreatesANewFileAndReopensIt) {
  TempDir dir;
  const std::string path = dir.file("new.db");
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    auto snap = store->load();
    ASSERT_TRUE(snap);
    EXPECT_TRUE(snap->sessions.empty());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_NE(::stat((path + "-wal").c_str(), &st), 0) << "close() leaves no WAL behind";
  EXPECT_TRUE(open_store(path));
}

TEST(SqliteStoreOpen, AnEmptyFileBecomesAStore) {
  TempDir dir;
  const std::string path = dir.file("empty.db");
  std::ofstream(path).close();
  EXPECT_TRUE(open_store(path));
}

TEST(SqliteStoreOpen, AMissingDirectoryIsNamed) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/petrel.db");
  const std::string e = open_error(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("does not exist"), std::string::npos) << e;
}

TEST(SqliteStoreOpen, APathThroughAFileIsNotADirectory) {
  TempDir dir;
  std::ofstream(dir.file("plain")).close();
  const std::string path = dir.file("plain/petrel.db");
  const std::string e = open_error(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("is not a directory"), std::string::npos) << e;
}

TEST(SqliteStoreOpen, AReadOnlyDirectoryIsRefused) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root: permissions are not enforced (the non-directory path test covers the "
                    "unusable-directory error)";
  }
  TempDir dir;
  const std::string sub = dir.file("ro");
  ASSERT_EQ(::mkdir(sub.c_str(), 0555), 0);
  const std::string e = open_error(sub + "/petrel.db");
  EXPECT_NE(e.find("not writable"), std::string::npos) << e;
  EXPECT_NE(e.find(sub), std::string::npos) << e;
}

TEST(SqliteStoreOpen, ATextFileIsNotADatabase) {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  std::ofstream(path) << "persistence true\npersistence_location /var/lib/mosquitto/\n";
  const std::string e = open_error(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("is not a SQLite database"), std::string::npos) << e;
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "persistence true") << "the file must be left alone";
}

TEST(SqliteStoreOpen, AnotherApplicationsDatabaseIsRefused) {
  TempDir dir;
  const std::string plain = dir.file("plain.sqlite3");
  make_sqlite(plain, "CREATE TABLE msg_store(id INTEGER PRIMARY KEY, payload BLOB)");
  std::string e = open_error(plain);
  EXPECT_NE(e.find(plain), std::string::npos) << e;
  EXPECT_NE(e.find("not a Petrel store"), std::string::npos) << e;

  const std::string other = dir.file("other.sqlite3");
  make_sqlite(other, "PRAGMA application_id = 1234; CREATE TABLE t(x)");
  e = open_error(other);
  EXPECT_NE(e.find("another application"), std::string::npos) << e;
  EXPECT_NE(e.find("0x000004d2"), std::string::npos) << e;
}

TEST(SqliteStoreOpen, ANewerSchemaVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.file("newer.db");
  ASSERT_TRUE(open_store(path));
  make_sqlite(path, "UPDATE petrel_meta SET value = 99 WHERE key = 'schema_version'");
  const std::string e = open_error(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("schema version 99"), std::string::npos) << e;
  EXPECT_NE(e.find("newer Petrel"), std::string::npos) << e;
}

int64_t schema_version(const std::string& path) {
  sqlite3* db = nullptr;
  int64_t v = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT value FROM petrel_meta WHERE key = 'schema_version'", -1, &s, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return v;
}

TEST(SqliteStoreOpen, AVersion1StoreIsUpgradedAndKeepsWhatItHolds) {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    Batch b;
    b.put_retained(message("old/t", "kept"));
    ASSERT_TRUE(store->write(std::move(b)));
  }
  // The file as a Petrel of schema version 1 left it: retained messages without publishers.
  make_sqlite(path,
              "ALTER TABLE retained DROP COLUMN source_port; ALTER TABLE retained DROP COLUMN source_client_id; "
              "ALTER TABLE retained DROP COLUMN source_username; "
              "UPDATE petrel_meta SET value = 1 WHERE key = 'schema_version'");
  ASSERT_EQ(schema_version(path), 1);
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    auto snap = store->load();
    ASSERT_TRUE(snap);
    ASSERT_EQ(snap->retained.size(), 1u);
    EXPECT_EQ(snap->retained[0].msg.payload, "kept");
    EXPECT_EQ(snap->retained[0].source_client_id, "");  // none: never checked
    RetainedRecord r{message("new/t", "v")};
    r.source_client_id = "dev-1";
    r.source_username = "plant";
    r.source_port = 8883;
    Batch b;
    b.put_retained(r);
    ASSERT_TRUE(store->write(std::move(b)));
  }
  EXPECT_EQ(schema_version(path), 2);
  auto store = open_store(path);
  ASSERT_TRUE(store);
  auto snap = store->load();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->retained.size(), 2u);
  EXPECT_EQ(snap->retained[0].source_client_id, "dev-1");  // "new/t" sorts first
  EXPECT_EQ(snap->retained[0].source_username, "plant");
  EXPECT_EQ(snap->retained[0].source_port, 8883);
  EXPECT_EQ(snap->retained[1].msg.payload, "kept");
}

TEST(SqliteStoreOpen, AMissingSchemaVersionIsDamage) {
  TempDir dir;
  const std::string path = dir.file("nover.db");
  ASSERT_TRUE(open_store(path));
  make_sqlite(path, "DELETE FROM petrel_meta");
  const std::string e = open_error(path);
  EXPECT_NE(e.find("damaged"), std::string::npos) << e;
}

TEST(SqliteStoreOpen, AFileInUseByAnotherStoreIsRefused) {
  TempDir dir;
  const std::string path = dir.file("busy.db");
  auto first = open_store(path);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->write(Batch{}));
  Batch b;
  b.put_retained(message("x", "y"));
  ASSERT_TRUE(first->write(std::move(b)));
  // Another process (a child) must not get it.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = SqliteStore::open(path);
    const std::string e = r ? "(opened)" : r.error().message;
    (void)!::write(fds[1], e.data(), e.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string e;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) e.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_NE(e.find("in use by another process"), std::string::npos) << e;
  // And the first store still works.
  Batch c;
  c.put_retained(message("x2", "y"));
  EXPECT_TRUE(first->write(std::move(c)));
}

}  // namespace store_open_test
}  // namespace petrel::persist
