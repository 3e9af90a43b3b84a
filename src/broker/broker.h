#pragma once
// Broker: the process-wide state every worker shares — the subscription trie (shared
// lock on match), the retained store, the per-worker counters and the injected clock and
// logger. Everything else (sessions, QoS state, connections) belongs to one WorkerCore.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "broker/retained_store.h"
#include "broker/stats.h"
#include "broker/subscription_trie.h"
#include "common/clock.h"
#include "common/log.h"

namespace petrel::broker {

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

 private:
  Logger& log_;
  const Clock& clock_;
  SubscriptionTrie trie_;
  std::unique_ptr<RetainedStore> retained_;
  std::vector<std::unique_ptr<WorkerStats>> stats_;
  int64_t start_ms_;
  int64_t start_wall_;
  std::atomic<uint64_t> clients_max_{0};
};

inline int session_worker(SessionKey k) { return static_cast<int>(k >> 56); }
inline uint32_t session_slot(SessionKey k) { return static_cast<uint32_t>(k >> 32) & 0xffffffu; }
inline uint32_t session_gen(SessionKey k) { return static_cast<uint32_t>(k); }
inline SessionKey make_session_key(int worker, uint32_t slot, uint32_t gen) {
  return (uint64_t(worker) << 56) | (uint64_t(slot & 0xffffffu) << 32) | gen;
}

}  // namespace petrel::broker
