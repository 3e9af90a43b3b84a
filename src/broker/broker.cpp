#include "broker/broker.h"

#include <functional>

namespace petrel::broker {

Broker::Broker(Logger& log, const Clock& clock, int workers)
    : log_(log), clock_(clock), retained_(make_memory_retained_store()),
      start_ms_(clock.now_ms()), start_wall_(clock.wall_seconds()) {
  if (workers < 1) workers = 1;
  for (int i = 0; i < workers; ++i) stats_.push_back(std::make_unique<WorkerStats>());
}

int Broker::home_worker(std::string_view client_id) const {
  if (stats_.size() == 1) return 0;
  // FNV-1a: stable across runs and cheap; only the spread over a few workers matters.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : client_id) { h ^= c; h *= 1099511628211ull; }
  return static_cast<int>(h % stats_.size());
}

uint64_t Broker::total(WorkerStats::Counter WorkerStats::*c) const {
  uint64_t sum = 0;
  for (const auto& s : stats_) sum += ((*s).*c).get();
  return sum;
}

void Broker::note_connected(uint64_t now_connected) {
  uint64_t cur = clients_max_.load(std::memory_order_relaxed);
  while (now_connected > cur && !clients_max_.compare_exchange_weak(cur, now_connected)) {
  }
}

}  // namespace petrel::broker
