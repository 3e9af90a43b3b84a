// kill -9 at a random moment: a child process submits batches from two threads (each its
// own stream of every kind of change) and reports each callback through a pipe; the parent
// kills it with SIGKILL, reopens the file and checks that every batch whose callback fired
// is there, and that the store holds exactly the state after some prefix of each stream
// (no half-applied batch, no gap). Seeded; several rounds.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "store_test_util.h"

namespace petrel::persist {
namespace store_crash_test {

using namespace petrel::persist::testing;

constexpr int kStreams = 2;

BatchStream make_stream(uint64_t seed, int t) {
  return BatchStream(seed * 7919 + uint64_t(t), "s" + std::to_string(t) + "-", uint64_t(t + 1) * 1'000'000'000);
}

// The child: never returns.
[[noreturn]] void child(const std::string& path, uint64_t seed, int out_fd) {
  auto r = SqliteStore::open(path);
  if (!r) ::_exit(3);
  std::unique_ptr<SqliteStore> store = std::move(*r);
  const uint32_t ready = 0xffffffff;
  if (::write(out_fd, &ready, 4) != 4) ::_exit(4);
  std::vector<std::thread> threads;
  static std::atomic<int> in_flights[kStreams];
  for (int t = 0; t < kStreams; ++t) {
    threads.emplace_back([&, t] {
      BatchStream stream = make_stream(seed, t);
      std::atomic<int>& in_flight = in_flights[t];
      for (uint32_t i = 0; i < 1'000'000; ++i) {
        while (in_flight.load() > 32) std::this_thread::sleep_for(std::chrono::microseconds(50));
        ++in_flight;
        store->submit(stream.next(), [&in_flight, out_fd, t, i](bool ok) {
          if (ok) {
            const uint32_t word = uint32_t(t) << 28 | i;
            if (::write(out_fd, &word, 4) != 4) ::_exit(5);
          }
          --in_flight;
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST(SqliteStoreCrash, EveryAcknowledgedBatchSurvivesKillDashNine) {
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t seed = 20261207u + uint64_t(round);
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir dir;
    const std::string path = dir.file("crash.db");
    std::mt19937_64 rng(seed);
    // The kill comes once this many batches were acknowledged (whatever the machine's
    // speed), plus up to 3 ms: the first rounds during the first transactions.
    const int64_t kill_at_acks = round < 2 ? 0 : 1 + int64_t(rng() % 300);
    const auto kill_delay = std::chrono::microseconds(rng() % 3000);

    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      child(path, seed, fds[1]);
    }
    ::close(fds[1]);
    int64_t acked[kStreams];
    std::fill(std::begin(acked), std::end(acked), -1);
    bool ready = false, killed = false, armed = false;
    std::string partial;
    // A safety net: a child that never gets there is killed after 20 s anyway.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (!killed && now >= deadline) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
      pollfd p{fds[0], POLLIN, 0};
      const int wait_ms = killed ? 1000 : int(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()));
      if (::poll(&p, 1, wait_ms) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // the child is gone
      partial.append(buf, size_t(n));
      size_t at = 0;
      for (; at + 4 <= partial.size(); at += 4) {
        uint32_t word;
        std::memcpy(&word, partial.data() + at, 4);
        if (word == 0xffffffff) {
          ready = true;
        } else {
          const int t = int(word >> 28);
          const int64_t i = int64_t(word & 0x0fffffff);
          ASSERT_LT(t, kStreams);
          EXPECT_EQ(i, acked[t] + 1) << "callbacks out of order";
          acked[t] = i;
        }
      }
      partial.erase(0, at);
      if (ready && !armed && acked[0] + acked[1] + 2 >= kill_at_acks) {
        armed = true;
        deadline = std::min(deadline, std::chrono::steady_clock::now() + kill_delay);
      }
    }
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(ready) << "the child did not open the store (status " << status << ")";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

    auto store = open_store(path);  // quick_check runs at open: the file is sound
    ASSERT_TRUE(store);
    auto snap = store->load();
    ASSERT_TRUE(snap) << snap.error().message;
    // Which prefix of each stream the store holds: the marker session says.
    int64_t held[kStreams];
    std::fill(std::begin(held), std::end(held), -1);
    for (const auto& s : snap->sessions) {
      for (int t = 0; t < kStreams; ++t) {
        if (s.client_id == "s" + std::to_string(t) + "-marker") held[t] = s.disconnected_wall_s;
      }
    }
    Model model;
    for (int t = 0; t < kStreams; ++t) {
      EXPECT_GE(held[t], acked[t]) << "stream " << t << ": an acknowledged batch is missing";
      BatchStream stream = make_stream(seed, t);
      for (int64_t i = 0; i <= held[t]; ++i) model.apply(stream.next());
    }
    expect_same(*snap, model.snapshot(), "after kill -9");
    EXPECT_EQ(store->counts().messages, int64_t(model.live_messages()));
    EXPECT_EQ(store->counts().dangling_outgoing, 0);
    std::printf("[ round %d ] seed %llu, kill after %lld acknowledged: acknowledged %lld + %lld batches, stored "
                "%lld + %lld\n",
                round, (unsigned long long)seed, (long long)kill_at_acks, (long long)acked[0] + 1, (long long)acked[1] + 1,
                (long long)held[0] + 1, (long long)held[1] + 1);
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace store_crash_test
}  // namespace petrel::persist
