#pragma once
// Broker: the process-wide state every worker shares — the subscription trie (shared
// lock on match), the retained store, the per-worker counters and the injected clock and
// logger. Everything else (sessions, QoS state, connections) belongs to one WorkerCore.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/retained_store.h"
#include "broker/stats.h"
#include "broker/subscription_trie.h"
#include "common/bridge_link.h"
#include "common/clock.h"
#include "common/log.h"

namespace petrel::broker {

// One status snapshot: every counter summed over the workers, the gauges and the table
// sizes. $SYS, the admin API's status and /metrics all read this (Broker::snapshot).
struct StatusCounters {
  int64_t uptime_s = 0;
  int64_t started_at = 0;  // unix seconds
  uint64_t msgs_received = 0, msgs_sent = 0;  // every MQTT packet
  uint64_t pub_received = 0, pub_sent = 0, pub_dropped = 0;
  uint64_t pub_bytes_received = 0, pub_bytes_sent = 0;
  uint64_t bytes_received = 0, bytes_sent = 0;
  uint64_t clients_connected = 0, sessions = 0, clients_maximum = 0, clients_expired = 0;
  uint64_t connections = 0, sockets_opened = 0, connects = 0;
  uint64_t dropped_queue_full = 0, dropped_expired = 0, dropped_too_large = 0, dropped_qos0_congested = 0;
  uint64_t refused_auth = 0, refused_other = 0, publish_denied = 0;
  uint64_t subscriptions = 0, shared_subscriptions = 0, retained_count = 0, retained_bytes = 0;
};

class Broker {
 public:
  Broker(Logger& log, const Clock& clock, int workers);

  Logger& log() { return log_; }
  const Clock& clock() const { return clock_; }
  int workers() const { return static_cast<int>(stats_.size()); }
  SubscriptionTrie& trie() { return trie_; }
  RetainedStore& retained() { return *retained_; }
  WorkerStats& stats(int worker) { return *stats_[worker]; }
  int64_t start_ms() const { return start_ms_; }
  int64_t start_wall() const { return start_wall_; }

  // The worker that owns sessions with this client id (a fixed hash, so a reconnect,
  // a takeover and a persistent session always meet on one worker, lock-free).
  int home_worker(std::string_view client_id) const;

  // Sum of one counter over all workers.
  uint64_t total(WorkerStats::Counter WorkerStats::*c) const;
  void note_connected(uint64_t now_connected);  // tracks clients/maximum
  uint64_t clients_maximum() const { return clients_max_.load(std::memory_order_relaxed); }
  // Every session of every worker, connected or not (global_max_clients). A worker about
  // to create a session for a new client id reserves it first: false when `limit` sessions
  // exist already (limit < 0: no limit). Sessions created without a reservation (restore,
  // a clean start replacing an existing session) are counted with add_session().
  bool reserve_session(int64_t limit) {
    int64_t n = sessions_.load(std::memory_order_relaxed);
    do {
      if (limit >= 0 && n >= limit) return false;
    } while (!sessions_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
  }
  void add_session() { sessions_.fetch_add(1, std::memory_order_relaxed); }
  void remove_session() { sessions_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t sessions() const { return sessions_.load(std::memory_order_relaxed); }
  // memory_limit: worker 0 measures the heap a few times a second (note_heap); while it is
  // over the limit every worker refuses new messages and connections (memory_over).
  bool memory_over() const { return memory_over_.load(std::memory_order_relaxed); }
  void set_memory_over(bool on) { memory_over_.store(on, std::memory_order_relaxed); }
  void note_heap(uint64_t bytes) {
    heap_.store(bytes, std::memory_order_relaxed);
    if (bytes > heap_max_.load(std::memory_order_relaxed)) heap_max_.store(bytes, std::memory_order_relaxed);
  }
  uint64_t heap() const { return heap_.load(std::memory_order_relaxed); }
  uint64_t heap_maximum() const { return heap_max_.load(std::memory_order_relaxed); }
  // Any thread: relaxed reads of every worker's counters (a consistent-enough picture).
  StatusCounters snapshot();
  // The link shared with the bridge whose local session has this client id (created by
  // the first caller: the bridge when it starts, or the core when its local client
  // connects). Any thread; called when a bridge starts and when it connects locally.
  std::shared_ptr<BridgeLink> bridge_link(const std::string& local_client_id);

 private:
  Logger& log_;
  const Clock& clock_;
  SubscriptionTrie trie_;
  std::unique_ptr<RetainedStore> retained_;
  std::vector<std::unique_ptr<WorkerStats>> stats_;
  int64_t start_ms_;
  int64_t start_wall_;
  std::atomic<uint64_t> clients_max_{0};
  std::atomic<int64_t> sessions_{0};
  std::atomic<bool> memory_over_{false};
  std::atomic<uint64_t> heap_{0}, heap_max_{0};  // written by worker 0 only
  std::mutex bridge_links_mu_;
  std::map<std::string, std::shared_ptr<BridgeLink>, std::less<>> bridge_links_;
};

inline int session_worker(SessionKey k) { return static_cast<int>(k >> 56); }
inline uint32_t session_slot(SessionKey k) { return static_cast<uint32_t>(k >> 32) & 0xffffffu; }
inline uint32_t session_gen(SessionKey k) { return static_cast<uint32_t>(k); }
inline SessionKey make_session_key(int worker, uint32_t slot, uint32_t gen) {
  return (uint64_t(worker) << 56) | (uint64_t(slot & 0xffffffu) << 32) | gen;
}

}  // namespace petrel::broker
