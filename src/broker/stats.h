#pragma once
// Counters for $SYS. Each worker owns one WorkerStats and is its only writer (relaxed
// load+store, no locked instructions on the hot path); the $SYS publisher sums them.
#include <atomic>
#include <cstdint>

namespace petrel::broker {

struct alignas(64) WorkerStats {
  struct Counter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
    uint64_t get() const { return v.load(std::memory_order_relaxed); }
  };
  Counter msgs_received, msgs_sent;        // all MQTT packets
  Counter pub_received, pub_sent, pub_dropped;
  Counter pub_bytes_received, pub_bytes_sent;
  Counter bytes_received, bytes_sent;      // filled by the network layer
  Counter clients_connected;               // gauge
  Counter sessions;                        // gauge: every session, connected or not
  Counter clients_expired;
  Counter connections;                     // gauge: open sockets (incl. before CONNECT)
  Counter sockets_opened;                  // total accepted
  Counter connects;                        // CONNECTs accepted
  // Why messages were dropped (each also counts in pub_dropped) and why CONNECTs and
  // PUBLISHes were refused: for /metrics. Counted only on those (rare) paths.
  Counter dropped_queue_full, dropped_expired, dropped_too_large, dropped_qos0_congested;
  Counter refused_auth;      // CONNACK 0x86 / 0x87 from authentication (and anonymous refused)
  Counter refused_other;     // any other CONNACK refusal
  Counter publish_denied;    // PUBLISH refused by the ACL or into $SYS
};

}  // namespace petrel::broker
