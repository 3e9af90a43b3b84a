#pragma once
// MessageStore: a bridge's outgoing queue — messages for `out` rules that the remote has
// not acknowledged yet, in order. A message stays in the store from the moment the local
// broker hands it to the bridge until the remote completes its QoS flow (QoS 0: until it
// is written), so a lost connection, a failover or a bridge restart on reload loses
// nothing that was queued. What the local broker delivered at QoS 1/2 is also kept by the
// broker (unacknowledged, in the bridge's local session) until the remote completed it, so
// with a durable store and a persistent local session (local_cleansession false) it
// survives a restart and a crash of this broker too.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "client/client.h"

namespace petrel::bridge {

// The local broker's QoS 1/2 delivery of a message to the bridge, acknowledged only once
// the remote has completed the message (client::ClientOptions::manual_ack): until then the
// broker keeps it in the bridge's local session (in the durable store when there is one).
struct LocalAck {
  uint16_t packet_id = 0;
  uint8_t qos = 0;          // 0: nothing to acknowledge
  uint64_t connection = 0;  // the local client's connection it arrived on
};

struct StoredMessage {
  uint64_t seq = 0;
  client::OutMessage msg;
  LocalAck local;
};

struct StoreLimits {
  size_t max_messages = 0;  // 0 = unlimited
  size_t max_bytes = 0;     // topic + payload bytes; 0 = unlimited
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;
  // Appends; false (and nothing stored) when the limits are reached. A message with a
  // local acknowledgement to give is not counted against them: the local broker's window
  // for the bridge bounds those, and it keeps what it has not handed over yet.
  virtual bool push(client::OutMessage msg, LocalAck local = {}) = 0;
  // The oldest message not yet handed out since the last rewind(); nullptr when none.
  // Marks it as handed out.
  virtual const StoredMessage* take_next() = 0;
  // The remote completed this message: it leaves the store; returns the local
  // acknowledgement it still owes (qos 0: none, or already gone).
  virtual LocalAck ack(uint64_t seq) = 0;
  // The local connection changed. Messages whose local acknowledgement belongs to another
  // connection than `current`: dropped when the local broker sends them again (its session
  // was resumed, `resent`), else kept with nothing to acknowledge. Returns how many.
  virtual size_t forget_local(uint64_t current, bool resent) = 0;
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
  bool push(client::OutMessage msg, LocalAck local = {}) override;
  const StoredMessage* take_next() override;
  LocalAck ack(uint64_t seq) override;
  size_t forget_local(uint64_t current, bool resent) override;
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
