#pragma once
// What the main thread and the event-loop threads share: the run phase (main thread
// writes, loops read once per turn and are woken through their eventfd), the first error,
// and per-thread counters each loop publishes once per turn (no atomic per message).
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace petrel::bench {

// In order; a loop that misses a phase runs the entry actions of every phase it skipped.
enum class Phase : int {
  kInit, kConnect, kSubscribe, kWarmup, kMeasure, kDrain, kRetainSubscribe, kCleanup, kDisconnect, kDone
};

struct Counters {
  uint64_t sent = 0;       // PUBLISH packets generated
  uint64_t received = 0;   // PUBLISH packets delivered to subscribers (duplicates included)
  uint64_t acked = 0;      // QoS 1/2 publishes completed (PUBACK / PUBCOMP)
  uint64_t inflight = 0;   // QoS 1/2 publishes not yet completed
  uint64_t connected = 0;  // CONNACKs accepted
  uint64_t subscribed = 0; // SUBACKs accepted
  uint64_t pings = 0, pongs = 0;
  int64_t first_connect_ns = 0, last_connack_ns = 0;   // connect phase span
  int64_t subscribe_ns = 0, last_receive_ns = 0;       // retained: SUBSCRIBE sent, last message in
};

// One per loop thread, on its own cache lines; written only by its loop.
struct alignas(64) SharedCounters {
  std::atomic<uint64_t> sent{0}, received{0}, acked{0}, inflight{0}, connected{0}, subscribed{0}, pings{0},
      pongs{0};
  std::atomic<int64_t> first_connect_ns{0}, last_connack_ns{0}, subscribe_ns{0}, last_receive_ns{0};
  std::atomic<int> phase{0};  // the last phase this loop has entered (its actions done)
  void publish(const Counters& c);
  Counters load() const;
};

class Control {
 public:
  Phase phase() const { return Phase(phase_.load(std::memory_order_acquire)); }
  void set_phase(Phase p);  // and wakes every loop
  void add_wake_fd(int fd) { wake_fds_.push_back(fd); }
  void wake_all() const;
  // Records the first error; the main thread stops the run when it sees one.
  void fail(std::string message);
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string error() const;

 private:
  std::atomic<int> phase_{int(Phase::kInit)};
  std::atomic<bool> failed_{false};
  mutable std::mutex mu_;
  std::string error_;
  std::vector<int> wake_fds_;
};

}  // namespace petrel::bench
