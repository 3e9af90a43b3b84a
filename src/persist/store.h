#pragma once
// The durable store's interface: a Batch of mutations of the persistent state (a plain value,
// built on any thread, no SQLite types) and a Store that writes batches on its own thread
// and says, per batch, when it is durable. The SQLite engine is in sqlite_store.h.
//
// How the broker uses it: a worker records what a packet changed in one Batch and submits it
// with a callback; the store thread takes everything pending, writes it in one transaction
// (group commit), commits, then calls the callbacks in submission order. Under
// `persistence_sync commit` the worker holds the PUBACK/PUBREC until its callback says ok.
// Nothing on a worker waits for the disk: submit() only appends under a mutex and notifies.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "persist/model.h"

namespace petrel {
class Logger;
}

namespace petrel::persist {

// A session without its subscriptions, outgoing messages and QoS 2 ids (each of those has
// its own operations, so a change of one does not rewrite the others).
struct SessionHeader {
  std::string client_id;
  std::string username;
  uint8_t protocol_version = 4;
  uint32_t expiry_interval = 0;
  int64_t disconnected_wall_s = 0;
  std::optional<WillRecord> will;
  int64_t will_due_wall_s = 0;
  bool operator==(const SessionHeader&) const = default;

  static SessionHeader of(const SessionRecord& s);
};

// A message shared by the sessions (and batches) that hold it: `id` names it in the store,
// `record` is its content. Ids come from Store::new_message_id(); every batch that appends a
// message carries its content, and the store writes it once (the first time it sees the id)
// and deletes it when no outgoing record refers to it any more. A fan-out to 1,000 sessions
// therefore writes the payload once, whichever workers' batches the appends come in.
struct SharedMessage {
  uint64_t id = 0;  // 0: a message of its own (the store assigns an id, nothing shares it)
  std::shared_ptr<const MessageRecord> record;
};

// One message appended to a session's outgoing list (OutgoingRecord without a copy of the
// message).
struct OutgoingEntry {
  uint64_t seq = 0;  // ascending per session, never reused while stored (the caller's
                     // counter, which starts after the loaded seqs); 0: the store appends it
                     // after the last one (importers; the caller cannot name it later)
  SharedMessage msg;
  uint8_t qos = 0;
  bool retain = false;
  std::vector<uint32_t> subscription_ids;
  uint16_t packet_id = 0;
  OutgoingRecord::State state = OutgoingRecord::State::kQueued;
};

namespace op {
struct PutRetained { RetainedRecord rec; };                  // by rec.msg.topic; replaces
struct EraseRetained { std::string topic; };
struct PutSession { SessionHeader header; };                 // creates or replaces the header
struct EraseSession { std::string client_id; };              // and everything it holds
struct PutSubscription { std::string client_id; SubscriptionRecord sub; };  // by filter
struct EraseSubscription { std::string client_id; std::string filter; };
struct AppendOutgoing { std::string client_id; OutgoingEntry entry; };
struct UpdateOutgoing { std::string client_id; uint64_t seq; uint16_t packet_id; OutgoingRecord::State state; };
struct RemoveOutgoing { std::string client_id; uint64_t seq; };
struct AddQos2Incoming { std::string client_id; uint16_t packet_id; };
struct RemoveQos2Incoming { std::string client_id; uint16_t packet_id; };
struct BridgePush { std::string bridge; uint64_t seq; std::shared_ptr<const MessageRecord> msg; };
struct BridgeAck { std::string bridge; uint64_t seq; };
struct BridgeClear { std::string bridge; };
// Writes one small row (petrel_meta 'probe'): a batch that tells whether the disk takes
// writes again after a failure, without changing any state.
struct Probe { uint64_t n = 0; };
// What a cancelled operation becomes (Batch::cancel): nothing.
struct Nothing {};
}  // namespace op

using Op = std::variant<op::PutRetained, op::EraseRetained, op::PutSession, op::EraseSession,
                        op::PutSubscription, op::EraseSubscription, op::AppendOutgoing,
                        op::UpdateOutgoing, op::RemoveOutgoing, op::AddQos2Incoming,
                        op::RemoveQos2Incoming, op::BridgePush, op::BridgeAck, op::BridgeClear, op::Probe, op::Nothing>;

// Mutations applied in order, all or nothing. Operations on a session name it by client id
// and need its header (put_session) in this or an earlier batch; the store skips (and
// counts, see StoreStats::orphan_ops) an operation on a session it does not hold.
class Batch {
 public:
  void put_retained(RetainedRecord rec) { ops_.emplace_back(op::PutRetained{std::move(rec)}); }
  void put_retained(MessageRecord msg) { put_retained(RetainedRecord{std::move(msg)}); }  // no source
  void erase_retained(std::string topic) { ops_.emplace_back(op::EraseRetained{std::move(topic)}); }

  void put_session(SessionHeader h) { ops_.emplace_back(op::PutSession{std::move(h)}); }
  void erase_session(std::string client_id) { ops_.emplace_back(op::EraseSession{std::move(client_id)}); }
  void put_subscription(std::string client_id, SubscriptionRecord sub) {
    ops_.emplace_back(op::PutSubscription{std::move(client_id), std::move(sub)});
  }
  void erase_subscription(std::string client_id, std::string filter) {
    ops_.emplace_back(op::EraseSubscription{std::move(client_id), std::move(filter)});
  }

  void append_outgoing(std::string client_id, OutgoingEntry e) {
    ops_.emplace_back(op::AppendOutgoing{std::move(client_id), std::move(e)});
  }
  // Sent (packet id assigned), released (QoS 2 PUBREC received), or back to queued.
  void update_outgoing(std::string client_id, uint64_t seq, uint16_t packet_id, OutgoingRecord::State state) {
    ops_.emplace_back(op::UpdateOutgoing{std::move(client_id), seq, packet_id, state});
  }
  // Acknowledged, expired or dropped.
  void remove_outgoing(std::string client_id, uint64_t seq) {
    ops_.emplace_back(op::RemoveOutgoing{std::move(client_id), seq});
  }

  void add_qos2_incoming(std::string client_id, uint16_t packet_id) {
    ops_.emplace_back(op::AddQos2Incoming{std::move(client_id), packet_id});
  }
  void remove_qos2_incoming(std::string client_id, uint16_t packet_id) {
    ops_.emplace_back(op::RemoveQos2Incoming{std::move(client_id), packet_id});
  }

  // A bridge's out-queue, ordered by seq (the caller's counter, ascending; 0: after the
  // last one). A push with a seq already queued replaces that message.
  void bridge_push(std::string bridge, uint64_t seq, std::shared_ptr<const MessageRecord> msg) {
    ops_.emplace_back(op::BridgePush{std::move(bridge), seq, std::move(msg)});
  }
  void bridge_push(std::string bridge, uint64_t seq, MessageRecord msg) {
    bridge_push(std::move(bridge), seq, std::make_shared<const MessageRecord>(std::move(msg)));
  }
  void bridge_ack(std::string bridge, uint64_t seq) { ops_.emplace_back(op::BridgeAck{std::move(bridge), seq}); }
  void bridge_clear(std::string bridge) { ops_.emplace_back(op::BridgeClear{std::move(bridge)}); }
  void probe(uint64_t n) { ops_.emplace_back(op::Probe{n}); }

  // The whole session as given, whatever the store held under its client id before (to
  // write a session again after a failed batch, or to import one). Outgoing records keep
  // their seq and message_id when non-zero (records sharing an id must hold the same
  // message); zeros are assigned by the store.
  void replace_session(const SessionRecord& s);
  // Everything in `snap` (importers, --persistence-recover): retained, whole sessions,
  // bridge queues. Meant for an empty store.
  void add_snapshot(const Snapshot& snap);

  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  const std::vector<Op>& ops() const { return ops_; }
  // The builder's own corrections before it submits the batch: the operation at `i` (as
  // appended), and cancelling it (an append whose removal followed: neither is written).
  Op& op_at(size_t i) { return ops_[i]; }
  void cancel(size_t i) { ops_[i] = op::Nothing{}; }
  // Drops the cancelled operations, and the room they took (the batch may wait in the store
  // for a whole interval: an Op is 232 bytes).
  void compact() {
    std::erase_if(ops_, [](const Op& o) { return std::holds_alternative<op::Nothing>(o); });
    if (ops_.capacity() > 2 * ops_.size() + 64) ops_.shrink_to_fit();
  }

 private:
  std::vector<Op> ops_;
};

enum class SyncMode {
  // Each commit is durable before its batches' callbacks run (SQLite WAL, synchronous=FULL:
  // the WAL is fsynced at every commit). A commit happens as soon as the store thread is
  // free: whatever was submitted meanwhile is one transaction (group commit).
  kCommit,
  // Commits (still synchronous=FULL) at least every `interval`, and sooner when
  // `group_max_ops` operations are pending; one fsync per commit. Callbacks still run
  // after the commit holding their batch; the broker acknowledges without waiting for them.
  // A power loss loses at most what was submitted in the last interval (plus the commit in
  // progress), never a committed transaction, and never leaves a half-written batch.
  kInterval,
};

struct StoreOptions {
  SyncMode sync = SyncMode::kCommit;
  std::chrono::milliseconds interval{1000};   // kInterval only
  size_t group_max_ops = 65'536;              // a transaction holds about this many operations
                                              // at most (whole batches; kInterval: commit now)
  uint64_t max_file_bytes = 0;                // the database's size limit (0: none); a batch
                                              // that needs more fails as on a full disk
  size_t cache_kib = 8192;                    // SQLite page cache
  uint64_t checkpoint_wal_bytes = 16u << 20;  // checkpoint the WAL into the database past this
  bool check_at_open = true;                  // PRAGMA quick_check in open()
  Logger* logger = nullptr;                   // nullptr: nothing is logged
};

struct StoreStats {
  uint64_t commits = 0;            // transactions committed
  uint64_t failed_commits = 0;     // transactions that failed (their batches got ok=false)
  uint64_t batches = 0;            // batches committed
  uint64_t failed_batches = 0;     // batches whose callback got ok=false
  uint64_t records = 0;            // operations committed
  uint64_t messages_written = 0;   // rows written to the shared messages table
  uint64_t cancelled_ops = 0;      // appends and removals of one outgoing record in one
                                   // transaction: both counted in records, neither written
  uint64_t orphan_ops = 0;         // operations naming a session the store does not hold
  uint64_t wal_bytes = 0;          // written to the WAL (frames: header + page)
  uint64_t checkpoint_bytes = 0;   // copied from the WAL into the database file
  uint64_t bytes_written = 0;      // wal_bytes + checkpoint_bytes (what the disk wears)
  uint64_t checkpoints = 0;
  uint64_t last_commit_us = 0;     // duration of the last commit (BEGIN to fsync done)
  uint64_t max_commit_us = 0;
  uint64_t thread_cpu_us = 0;      // CPU time the store thread used so far
  uint64_t pending_batches = 0;    // submitted, not committed yet
  bool healthy = true;             // the last transaction committed
};

class Store {
 public:
  using DurableCallback = std::function<void(bool ok)>;
  virtual ~Store() = default;

  // The whole persistent state: outgoing records per session in seq order, bridge queues
  // in seq order, retained by topic, sessions by client id, subscriptions by filter, QoS 2
  // ids ascending. Consistent (between two transactions); callable at any time.
  virtual Result<Snapshot> load() = 0;
  // Queues `batch` for the store thread; `on_durable` (may be empty) runs on the store
  // thread once the transaction holding the batch committed (ok=true) or failed (ok=false:
  // nothing of the batch is stored). Callbacks run in submission order; they must be short
  // (post to the caller's thread) and must not call close(). After close(), the callback
  // runs at once with ok=false.
  virtual void submit(Batch batch, DurableCallback on_durable) = 0;
  // Commits whatever is pending now, even under SyncMode::kInterval (SIGUSR1); `on_durable`
  // runs once everything submitted before the call is committed (ok) or failed.
  virtual void flush(DurableCallback on_durable) { submit(Batch{}, std::move(on_durable)); }
  // A fresh id for a SharedMessage (thread-safe, never reused by this store).
  virtual uint64_t new_message_id() = 0;
  // False while writes fail (disk full, I/O error); true again after the next commit.
  virtual bool healthy() const = 0;
  // True while more is waiting for the store thread than it should hold in memory
  // (SqliteStore: twice group_max_ops operations, until under group_max_ops again). The
  // broker then holds acknowledgements as under kCommit, so publishers slow down to what
  // the disk takes instead of the backlog growing without bound (kInterval).
  virtual bool backlogged() const { return false; }
  virtual StoreStats stats() const = 0;
  // Writes everything pending, checkpoints, stops the thread. Idempotent.
  virtual void close() = 0;

  // Submits and waits until durable (startup, importers, tests; never on a worker, never in
  // a callback: the store thread would wait for itself).
  bool write(Batch batch);
};

}  // namespace petrel::persist
