#pragma once
// BridgeLink: what a bridge and the broker core share about the bridge's out-queue (its
// local session, named by the local client id). The bridge says whether its remote is
// connected; the core counts what it drops from that session's queue. Both sides hold it
// by shared_ptr, any thread reads and writes it (relaxed atomics: flags and counters).
#include <atomic>
#include <cstdint>

namespace petrel {

struct BridgeLink {
  // The bridge's remote connection is up. While it is down nothing drains the queue, so
  // holding publishers back would only stall them: the queue fills to its bound instead.
  std::atomic<bool> remote_up{false};
  // Messages the broker dropped from the bridge's local session because its queue was
  // full (max_queued_messages / max_queued_bytes); part of the bridge's dropped count.
  std::atomic<uint64_t> dropped{0};
};

}  // namespace petrel
