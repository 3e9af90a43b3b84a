// Disk full and write errors: the failing batches get ok=false and change nothing, the store
// logs once per episode, keeps running, and works again when space returns; what was
// committed before is never lost. Two simulations: the store's own size limit (SQLite's
// max_page_count, SQLITE_FULL) in this process, and RLIMIT_FSIZE (writes past the limit
// fail with EFBIG, SQLITE_IOERR) in a forked child.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "store_test_util.h"

namespace petrel::persist {
namespace store_full_test {

using namespace petrel::persist::testing;

Batch retained(const std::string& prefix, int n, size_t size) {
  Batch b;
  for (int i = 0; i < n; ++i) b.put_retained(message(prefix + std::to_string(i), std::string(size, 'x')));
  return b;
}

size_t lines(const Logger& log, uint32_t level, const std::string& needle) {
  size_t n = 0;
  for (const auto& r : log.recent(0, level, 1000)) n += r.text.find(needle) != std::string::npos;
  return n;
}

TEST(SqliteStoreFull, ASizeLimitFailsBatchesLogsOnceAndRecovers) {
  TempDir dir;
  const std::string path = dir.file("full.db");
  Logger log;
  LogSettings ls;
  ls.levels = kLogAll;
  ls.dests = kDestTopic;  // kept in log.recent() only
  log.configure(ls);
  StoreOptions o;
  o.logger = &log;
  {
    auto store = open_store(path, o);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->write(retained("base/", 20, 1000)));
    store->set_max_file_bytes(1);  // no growth from here: the database is "full"
    for (int episode = 0; episode < 2; ++episode) {
      std::vector<int> results;
      for (int k = 0; k < 3; ++k) {
        store->submit(retained("lost" + std::to_string(episode) + std::to_string(k) + "/", 50, 4000),
                      [&](bool ok) { results.push_back(ok); });
      }
      EXPECT_FALSE(store->write(retained("lost/", 50, 4000)));
      EXPECT_EQ(results, (std::vector<int>{0, 0, 0}));
      EXPECT_FALSE(store->healthy());
      EXPECT_FALSE(store->stats().healthy);
      EXPECT_GE(store->stats().failed_commits, 1u);
      EXPECT_EQ(lines(log, kLogError, "cannot write"), size_t(episode + 1)) << "one error line per episode";
      // Space returns: the next batch commits.
      store->set_max_file_bytes(0);
      ASSERT_TRUE(store->write(retained("after" + std::to_string(episode) + "/", 5, 1000)));
      EXPECT_TRUE(store->healthy());
      EXPECT_EQ(lines(log, kLogNotice, "works again"), size_t(episode + 1));
      store->set_max_file_bytes(1);
    }
    EXPECT_EQ(store->stats().failed_batches, 8u);
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  auto snap = store->load();
  ASSERT_TRUE(snap);
  size_t base = 0, after = 0, lost = 0;
  for (const auto& r : snap->retained) {
    base += r.msg.topic.rfind("base/", 0) == 0;
    after += r.msg.topic.rfind("after", 0) == 0;
    lost += r.msg.topic.rfind("lost", 0) == 0;
  }
  EXPECT_EQ(base, 20u);
  EXPECT_EQ(after, 10u);
  EXPECT_EQ(lost, 0u);
}

// The child's verdicts, one byte each.
enum : char { kBaseOk = 'b', kFailed = 'f', kUnhealthy = 'u', kRecovered = 'r', kHealthy = 'h' };

[[noreturn]] void fsize_child(const std::string& path, int out_fd) {
  ::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead of killing us
  std::string verdict;
  {
    auto r = SqliteStore::open(path);
    if (!r) ::_exit(3);
    auto& store = *r;
    if (store->write(retained("base/", 20, 1000))) verdict += kBaseOk;
    off_t biggest = 0;
    for (const std::string& f : {path, path + "-wal"}) {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0) biggest = std::max(biggest, st.st_size);
    }
    rlimit lim{};
    ::getrlimit(RLIMIT_FSIZE, &lim);
    rlimit small = lim;
    small.rlim_cur = rlim_t(biggest + 16 * 1024);
    ::setrlimit(RLIMIT_FSIZE, &small);
    if (!store->write(retained("lost/", 200, 4000))) verdict += kFailed;
    if (!store->healthy()) verdict += kUnhealthy;
    ::setrlimit(RLIMIT_FSIZE, &lim);
    if (store->write(retained("after/", 5, 1000))) verdict += kRecovered;
    if (store->healthy()) verdict += kHealthy;
    store->close();
  }
  (void)!::write(out_fd, verdict.data(), verdict.size());
  ::_exit(0);
}

TEST(SqliteStoreFull, AFileSizeLimitFailsWritesWithoutLosingCommittedData) {
  TempDir dir;
  const std::string path = dir.file("fsize.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    fsize_child(path, fds[1]);
  }
  ::close(fds[1]);
  std::string verdict;
  char buf[64];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) verdict.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(verdict, std::string({kBaseOk, kFailed, kUnhealthy, kRecovered, kHealthy}));

  auto store = open_store(path);  // quick_check at open: sound
  ASSERT_TRUE(store);
  auto snap = store->load();
  ASSERT_TRUE(snap);
  size_t base = 0, after = 0, lost = 0;
  for (const auto& r : snap->retained) {
    base += r.msg.topic.rfind("base/", 0) == 0;
    after += r.msg.topic.rfind("after/", 0) == 0;
    lost += r.msg.topic.rfind("lost/", 0) == 0;
  }
  EXPECT_EQ(base, 20u);
  EXPECT_EQ(after, 5u);
  EXPECT_EQ(lost, 0u);
}

}  // namespace store_full_test
}  // namespace petrel::persist
