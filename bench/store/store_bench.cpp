// store_bench: the durable store under a broker-like load, without the broker.
//
// W worker threads each play a broker worker serving pairs of QoS 1 clients with persistent
// sessions: every loop turn a worker submits one small batch holding the messages its
// publishers sent in that turn (each appended to its subscriber's session, a shared message
// row each) and the removals for the messages its subscribers acknowledged (those of an
// earlier turn), with a callback that counts the messages durable (where the broker would
// send the PUBACKs). Publishers have a window of messages in flight, as MQTT clients do,
// so a worker waits when its window is full (the acknowledgements are held back).
//
//   store_bench [--messages N] [--sessions N] [--workers N] [--per-batch N] [--window N]
//               [--payload BYTES] [--mode commit|interval] [--interval MS] [--no-acks] [--dir DIR]
//               [--cache-kib N] [--checkpoint-mib N] [--queued] [--keep]
//
// Reports messages/s acknowledged-and-durable, commits/s, records/s, bytes written per
// message (WAL frames + checkpoints), operations per commit, submit-to-durable latency, and
// the directory's fsync floor (fdatasync calls per second on a 4 KiB write), the process's
// CPU time per message (the machine may be busy: wall-clock rates then understate), and,
// when messages are left in the store (--no-acks), how long a reopen (quick_check) and
// load() of them take. With --keep the store file is left in DIR (store_bench.db), e.g. to
// time a broker's restart with a million queued messages (bench/restart); --queued writes
// the records as an offline session's queue (state queued, no packet id) instead of sent
// ones awaiting their acknowledgement.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "persist/sqlite_store.h"

using namespace petrel::persist;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  uint64_t messages = 200'000;
  int sessions = 10;
  int workers = 2;
  int per_batch = 16;
  int window = 1000;  // messages in flight (not durable yet) per worker
  size_t payload = 64;
  SyncMode mode = SyncMode::kCommit;
  int interval_ms = 1000;
  bool acks = true;
  bool queued = false;  // records of offline sessions' queues (state queued, no packet id)
  std::string dir = "/tmp";
  bool keep = false;
  size_t cache_kib = StoreOptions{}.cache_kib;
  uint64_t checkpoint_mib = StoreOptions{}.checkpoint_wal_bytes >> 20;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--no-acks") {
      o.acks = false;
    } else if (a == "--queued") {
      o.queued = true;
    } else if (a == "--keep") {
      o.keep = true;
    } else if ((a == "--messages") && (v = next())) {
      o.messages = std::strtoull(v, nullptr, 10);
    } else if (a == "--sessions" && (v = next())) {
      o.sessions = std::max(1, std::atoi(v));
    } else if (a == "--workers" && (v = next())) {
      o.workers = std::max(1, std::atoi(v));
    } else if (a == "--per-batch" && (v = next())) {
      o.per_batch = std::max(1, std::atoi(v));
    } else if (a == "--window" && (v = next())) {
      o.window = std::max(1, std::atoi(v));
    } else if (a == "--payload" && (v = next())) {
      o.payload = std::strtoull(v, nullptr, 10);
    } else if (a == "--mode" && (v = next())) {
      o.mode = std::string(v) == "interval" ? SyncMode::kInterval : SyncMode::kCommit;
    } else if (a == "--interval" && (v = next())) {
      o.interval_ms = std::max(1, std::atoi(v));
    } else if (a == "--cache-kib" && (v = next())) {
      o.cache_kib = std::strtoull(v, nullptr, 10);
    } else if (a == "--checkpoint-mib" && (v = next())) {
      o.checkpoint_mib = std::strtoull(v, nullptr, 10);
    } else if (a == "--dir" && (v = next())) {
      o.dir = v;
    } else {
      std::fprintf(stderr, "store_bench: unknown or incomplete option %s (see the comment at the top of "
                           "bench/store/store_bench.cpp)\n", a.c_str());
      return false;
    }
  }
  return true;
}

// fdatasync calls per second on a 4 KiB overwrite in `dir`, for ~0.5 s.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double fsync_floor(const std::string& dir) {
  const std::string path = dir + "/store_bench_fsync.tmp";
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  char block[4096];
  std::memset(block, 'f', sizeof block);
  int n = 0;
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::milliseconds(500)) {
    if (::pwrite(fd, block, sizeof block, 0) != ssize_t(sizeof block) || ::fdatasync(fd) != 0) break;
    ++n;
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  ::unlink(path.c_str());
  return n / s;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 2;
  const std::string path = o.dir + "/store_bench.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  StoreOptions so;
  so.sync = o.mode;
  so.interval = std::chrono::milliseconds(o.interval_ms);
  so.cache_kib = o.cache_kib;
  so.checkpoint_wal_bytes = o.checkpoint_mib << 20;
  auto opened = SqliteStore::open(path, so);
  if (!opened) {
    std::fprintf(stderr, "store_bench: %s\n", opened.error().message.c_str());
    return 1;
  }
  std::unique_ptr<SqliteStore> store = std::move(*opened);
  {
    Batch b;
    for (int s = 0; s < o.sessions; ++s) {
      SessionHeader h;
      h.client_id = "sub-" + std::to_string(s);
      h.protocol_version = 4;
      h.expiry_interval = UINT32_MAX;
      b.put_session(h);
      SubscriptionRecord sub;
      sub.filter = "bench/" + std::to_string(s);
      sub.qos = 1;
      b.put_subscription(h.client_id, sub);
    }
    store->write(std::move(b));
  }
  const StoreStats base = store->stats();

  std::atomic<uint64_t> durable{0};
  std::mutex submitted_mu;
  Clock::time_point submitted_at{};  // when the last worker submitted its last message
  std::mutex lat_mu;
  std::vector<double> latencies_us;  // one sample per batch
  const std::string payload(o.payload, 'x');
  const uint64_t per_worker = o.messages / uint64_t(o.workers);
  const auto t0 = Clock::now();
  const double cpu0 = cpu_seconds();

  auto worker = [&](int w) {
    struct Window {
      std::mutex mu;
      std::condition_variable cv;
      int in_flight = 0;
    } win;
    std::vector<std::pair<std::string, uint64_t>> to_ack;  // delivered last turn: acked this turn
    std::vector<uint64_t> seq(size_t(o.sessions), 0);
    std::vector<double> lat;
    uint64_t sent = 0;
    std::mutex lat_local_mu;
    while (sent < per_worker) {
      const int n = int(std::min<uint64_t>(uint64_t(o.per_batch), per_worker - sent));
      {
        // Under `interval` the broker acknowledges at once: no window.
        std::unique_lock lk(win.mu);
        if (o.mode == SyncMode::kCommit) win.cv.wait(lk, [&] { return win.in_flight + n <= o.window; });
        win.in_flight += n;
      }
      Batch b;
      for (auto& [client, s] : to_ack) b.remove_outgoing(client, s);
      to_ack.clear();
      for (int k = 0; k < n; ++k, ++sent) {
        // Worker w serves the sessions with index % workers == w (a session lives on one worker).
        const int s = int((sent * uint64_t(o.workers) + uint64_t(w)) % uint64_t(o.sessions));
        MessageRecord m;
        m.topic = "bench/" + std::to_string(s);
        m.payload = payload;
        m.qos = 1;
        OutgoingEntry e;
        e.seq = ++seq[size_t(s)];
        e.msg = SharedMessage{store->new_message_id(), std::make_shared<const MessageRecord>(std::move(m))};
        e.qos = 1;
        e.state = o.queued ? OutgoingRecord::State::kQueued : OutgoingRecord::State::kSent;
        e.packet_id = o.queued ? 0 : uint16_t(1 + e.seq % 65535);
        std::string client = "sub-" + std::to_string(s);
        if (o.acks) to_ack.emplace_back(client, e.seq);
        b.append_outgoing(std::move(client), std::move(e));
      }
      const auto at = Clock::now();
      store->submit(std::move(b), [&, n, at](bool ok) {
        if (!ok) std::fprintf(stderr, "store_bench: a batch failed\n");
        durable.fetch_add(uint64_t(n), std::memory_order_relaxed);
        {
          std::lock_guard lk(lat_local_mu);
          lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - at).count());
        }
        std::lock_guard lk(win.mu);
        win.in_flight -= n;
        win.cv.notify_one();
      });
    }
    {
      std::lock_guard lk(submitted_mu);
      submitted_at = std::max(submitted_at, Clock::now());
    }
    if (!to_ack.empty()) {
      Batch b;
      for (auto& [client, s] : to_ack) b.remove_outgoing(client, s);
      store->write(std::move(b));
    }
    std::unique_lock lk(win.mu);
    win.cv.wait(lk, [&] { return win.in_flight == 0; });
    std::lock_guard lk2(lat_local_mu);
    std::lock_guard lk3(lat_mu);
    latencies_us.insert(latencies_us.end(), lat.begin(), lat.end());
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < o.workers; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  const StoreStats st = store->stats();
  const TableCounts counts = store->counts();
  store->close();
  double open_ms = 0, load_ms = 0, open_cpu = 0, load_cpu = 0;
  size_t loaded = 0;
  if (counts.outgoing > 0) {
    const auto r0 = Clock::now();
    const double c0 = cpu_seconds();
    auto again = SqliteStore::open(path, so);
    const auto r1 = Clock::now();
    const double c1 = cpu_seconds();
    open_cpu = (c1 - c0) * 1000;
    if (again) {
      auto snap = (*again)->load();
      if (snap) {
        for (const auto& sess : snap->sessions) loaded += sess.outgoing.size();
      }
      load_ms = std::chrono::duration<double, std::milli>(Clock::now() - r1).count();
      load_cpu = (cpu_seconds() - c1) * 1000;
    }
    open_ms = std::chrono::duration<double, std::milli>(r1 - r0).count();
  }
  const double floor = fsync_floor(o.dir);
  if (!o.keep)
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[std::min(latencies_us.size() - 1, size_t(p * double(latencies_us.size())))];
  };
  const uint64_t msgs = durable.load();
  const uint64_t commits = st.commits - base.commits;
  const uint64_t records = st.records - base.records;
  const uint64_t bytes = st.bytes_written - base.bytes_written;
  std::printf("store_bench: %llu QoS 1 messages, %d sessions, %d workers, %d messages per submit, window %d, "
              "payload %zu B, %s%s, %s\n",
              (unsigned long long)msgs, o.sessions, o.workers, o.per_batch, o.window, o.payload,
              o.mode == SyncMode::kCommit ? "commit" : "interval", o.acks ? ", subscribers acknowledge" : ", no acks",
              path.c_str());
  if (o.mode == SyncMode::kCommit) {
    std::printf("  durable messages/s  %.0f\n", double(msgs) / secs);
  } else {
    std::printf("  accepted messages/s %.0f (acknowledged at once; all durable %.2f s after the start)\n",
                double(msgs) / std::chrono::duration<double>(submitted_at - t0).count(), secs);
  }
  std::printf("  commits/s           %.0f (%.1f messages, %.1f records per commit)\n", double(commits) / secs,
              commits ? double(msgs) / double(commits) : 0.0, commits ? double(records) / double(commits) : 0.0);
  std::printf("  records/s           %.0f\n", double(records) / secs);
  std::printf("  bytes written/msg   %.0f (WAL %.0f + checkpoints %.0f; %llu checkpoints)\n", double(bytes) / double(msgs),
              double(st.wal_bytes - base.wal_bytes) / double(msgs),
              double(st.checkpoint_bytes - base.checkpoint_bytes) / double(msgs), (unsigned long long)st.checkpoints);
  std::printf("  submit->durable     p50 %.2f ms, p99 %.2f ms, max %.2f ms (commit max %.2f ms)\n", pct(0.5) / 1000,
              pct(0.99) / 1000, latencies_us.empty() ? 0.0 : latencies_us.back() / 1000, double(st.max_commit_us) / 1000);
  std::printf("  CPU per message     %.2f us in the store thread, %.2f us in the whole process (%.2f s CPU in %.2f s)\n",
              double(st.thread_cpu_us - base.thread_cpu_us) / double(msgs), cpu * 1e6 / double(msgs), cpu, secs);
  std::printf("  left in the store   %lld outgoing, %lld messages\n", (long long)counts.outgoing, (long long)counts.messages);
  if (counts.outgoing > 0) {
    std::printf("  reopen              open with quick_check %.0f ms (%.0f ms CPU), load() %.0f ms (%.0f ms CPU) of %zu "
                "outgoing records\n",
                open_ms, open_cpu, load_ms, load_cpu, loaded);
  }
  std::printf("  disk floor          %.0f fdatasync/s in %s (so %.0f commits/s is %.2fx the floor)\n", floor,
              o.dir.c_str(), double(commits) / secs, floor > 0 ? double(commits) / secs / floor : 0.0);
  return 0;
}
