#include "control.h"

#include <unistd.h>

namespace petrel::bench {

void SharedCounters::publish(const Counters& c) {
  constexpr auto r = std::memory_order_relaxed;
  sent.store(c.sent, r);
  received.store(c.received, r);
  acked.store(c.acked, r);
  inflight.store(c.inflight, r);
  connected.store(c.connected, r);
  subscribed.store(c.subscribed, r);
  pings.store(c.pings, r);
  pongs.store(c.pongs, r);
  first_connect_ns.store(c.first_connect_ns, r);
  last_connack_ns.store(c.last_connack_ns, r);
  subscribe_ns.store(c.subscribe_ns, r);
  last_receive_ns.store(c.last_receive_ns, std::memory_order_release);
}

Counters SharedCounters::load() const {
  constexpr auto r = std::memory_order_relaxed;
  Counters c;
  c.last_receive_ns = last_receive_ns.load(std::memory_order_acquire);
  c.sent = sent.load(r);
  c.received = received.load(r);
  c.acked = acked.load(r);
  c.inflight = inflight.load(r);
  c.connected = connected.load(r);
  c.subscribed = subscribed.load(r);
  c.pings = pings.load(r);
  c.pongs = pongs.load(r);
  c.first_connect_ns = first_connect_ns.load(r);
  c.last_connack_ns = last_connack_ns.load(r);
  c.subscribe_ns = subscribe_ns.load(r);
  return c;
}

void Control::set_phase(Phase p) {
  phase_.store(int(p), std::memory_order_release);
  wake_all();
}

void Control::wake_all() const {
  for (int fd : wake_fds_) {
    uint64_t one = 1;
    ssize_t r = ::write(fd, &one, sizeof one);
    (void)r;
  }
}

void Control::fail(std::string message) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (failed_.load(std::memory_order_relaxed)) return;
    error_ = std::move(message);
    failed_.store(true, std::memory_order_release);
  }
  wake_all();
}

std::string Control::error() const {
  std::lock_guard<std::mutex> lk(mu_);
  return error_;
}

}  // namespace petrel::bench
