#pragma once
// MessageStore: a bridge's outgoing queue — messages for `out` rules that the remote has
// not acknowledged yet, in order. A message stays in the store from the moment the local
// broker hands it to the bridge until the remote completes its QoS flow (QoS 0: until it
// is written), so a lost connection, a failover or a bridge restart on reload loses
// nothing that was queued. The in-memory implementation is here; a durable one (SQLite,
// surviving restarts and power loss) implements the same interface later.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "client/client.h"

namespace petrel::bridge {

struct StoredMessage {
  uint64_t seq = 0;
  client::OutMessage msg;
};

struct StoreLimits {
  size_t max_messages = 0;  // 0 = unlimited
  size_t max_bytes = 0;     // topic + payload bytes; 0 = unlimited
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;
  // Appends; false (and nothing stored) when the limits are reached.
  virtual bool push(client::OutMessage msg) = 0;
  // The oldest message not yet handed out since the last rewind(); nullptr when none.
  // Marks it as handed out.
  virtual const StoredMessage* take_next() = 0;
  // The remote completed this message: it leaves the store.
  virtual void ack(uint64_t seq) = 0;
  // Every stored message counts as not handed out again (a new remote connection that
  // has none of them in flight).
  virtual void rewind() = 0;
  virtual size_t size() const = 0;        // stored (handed out or not)
  virtual size_t pending() const = 0;     // not handed out yet
  virtual size_t bytes() const = 0;
  virtual void set_limits(StoreLimits limits) = 0;
};

class MemoryStore final : public MessageStore {
 public:
  explicit MemoryStore(StoreLimits limits = {}) : limits_(limits) {}
  bool push(client::OutMessage msg) override;
  const StoredMessage* take_next() override;
  void ack(uint64_t seq) override;
  void rewind() override { next_ = 0; }
  size_t size() const override { return entries_.size() - acked_inside_; }
  size_t pending() const override { return entries_.size() - next_; }
  size_t bytes() const override { return bytes_; }
  void set_limits(StoreLimits limits) override { limits_ = limits; }

 private:
  struct Entry {
    StoredMessage m;
    bool acked = false;
  };
  StoreLimits limits_;
  std::deque<Entry> entries_;  // acked entries are popped from the front as they complete
  size_t next_ = 0;            // index of the first entry not handed out
  size_t acked_inside_ = 0;    // acked entries not at the front yet (QoS 0 overtaking QoS 1)
  size_t bytes_ = 0;
  uint64_t next_seq_ = 1;
};

}  // namespace petrel::bridge
