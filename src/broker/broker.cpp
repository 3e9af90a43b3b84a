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

std::shared_ptr<BridgeLink> Broker::bridge_link(const std::string& local_client_id) {
  std::lock_guard lk(bridge_links_mu_);
  auto& link = bridge_links_[local_client_id];
  if (!link) link = std::make_shared<BridgeLink>();
  return link;
}

StatusCounters Broker::snapshot() {
  StatusCounters c;
  c.uptime_s = (clock_.now_ms() - start_ms_) / 1000;
  c.started_at = start_wall_;
  using S = WorkerStats;
  c.msgs_received = total(&S::msgs_received);
  c.msgs_sent = total(&S::msgs_sent);
  c.pub_received = total(&S::pub_received);
  c.pub_sent = total(&S::pub_sent);
  c.pub_dropped = total(&S::pub_dropped);
  c.pub_bytes_received = total(&S::pub_bytes_received);
  c.pub_bytes_sent = total(&S::pub_bytes_sent);
  c.bytes_received = total(&S::bytes_received);
  c.bytes_sent = total(&S::bytes_sent);
  c.clients_connected = total(&S::clients_connected);
  c.sessions = total(&S::sessions);
  c.clients_maximum = clients_maximum();
  c.clients_expired = total(&S::clients_expired);
  c.connections = total(&S::connections);
  c.sockets_opened = total(&S::sockets_opened);
  c.connects = total(&S::connects);
  c.dropped_queue_full = total(&S::dropped_queue_full);
  c.dropped_expired = total(&S::dropped_expired);
  c.dropped_too_large = total(&S::dropped_too_large);
  c.dropped_qos0_congested = total(&S::dropped_qos0_congested);
  c.refused_auth = total(&S::refused_auth);
  c.refused_other = total(&S::refused_other);
  c.publish_denied = total(&S::publish_denied);
  c.subscriptions = trie_.count();
  c.shared_subscriptions = trie_.shared_count();
  c.retained_count = retained_->count();
  c.retained_bytes = retained_->bytes();
  return c;
}

void Broker::note_connected(uint64_t now_connected) {
  uint64_t cur = clients_max_.load(std::memory_order_relaxed);
  while (now_connected > cur && !clients_max_.compare_exchange_weak(cur, now_connected)) {
  }
}

}  // namespace petrel::broker
