#pragma once
// Internal to petrel_store: the store thread's side of SqliteStore (sqlite_store_writer.cpp
// applies operations; sqlite_store.cpp runs the thread and the queue).
#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "persist/sqlite_store.h"
#include "persist/sqlite_store_db.h"

namespace petrel {
class Logger;
}

namespace petrel::persist {

// The connection and everything the store thread needs to apply operations: one prepared
// statement per kind of change (prepared once, reused for the store's lifetime), the map
// from client id to the session's row id, and per transaction the reference-count changes
// of shared messages (applied once per message at the end of the transaction, so a fan-out
// to 1,000 sessions is one message row and one count update).
struct SqliteStore::Writer {
  sqlite::DbPtr db;
  std::string path;
  std::atomic<uint64_t>* next_message_id = nullptr;
  Logger* logger = nullptr;

  sqlite::Stmt begin, commit, rollback;
  sqlite::Stmt put_retained, erase_retained;
  sqlite::Stmt put_session, erase_session_row, erase_session_subs, erase_session_outgoing, erase_session_qos2;
  sqlite::Stmt put_sub, erase_sub;
  sqlite::Stmt insert_outgoing, max_outgoing_seq, update_outgoing, find_outgoing, remove_outgoing;
  sqlite::Stmt add_qos2, remove_qos2;
  sqlite::Stmt bridge_push, bridge_max_seq, bridge_ack, bridge_clear;
  sqlite::Stmt probe;
  sqlite::Stmt msg_insert, msg_add_refs, msg_delete_if_unreferenced;

  std::unordered_map<std::string, int64_t> sessions;  // client id -> sessions.id

  struct RefChange {
    int64_t delta = 0;
    std::shared_ptr<const MessageRecord> record;  // content when some op in this transaction had it
  };
  std::unordered_map<uint64_t, RefChange> ref_changes;

  // An append and the removal of the same outgoing record in one transaction (a subscriber
  // that acknowledged before the commit) cancel out: neither is written, and neither is the
  // message when nothing else holds it. `skip` marks those operations of the transaction.
  struct OutKey {
    std::string_view client;
    uint64_t seq;
    bool operator==(const OutKey&) const = default;
  };
  struct OutKeyHash {
    size_t operator()(const OutKey& k) const { return std::hash<std::string_view>{}(k.client) ^ (k.seq * 0x9e3779b97f4a7c15ull); }
  };
  std::unordered_map<OutKey, size_t, OutKeyHash> open_appends;
  std::vector<uint8_t> skip;

  // Per transaction, for the stats.
  uint64_t messages_written = 0;
  uint64_t cancelled = 0;
  uint64_t orphans = 0;

  // WAL accounting (the WAL hook reports the frames in the WAL after each commit).
  int page_size = 4096;
  int64_t wal_frames = 0;
  uint64_t wal_frames_written = 0;

  int prepare_all();
  int load_session_ids();
  void note_message(uint64_t id, const std::shared_ptr<const MessageRecord>& rec, int64_t delta);
  int64_t session_id(const std::string& client_id);

  int apply(const op::PutRetained& o);
  int apply(const op::EraseRetained& o);
  int apply(const op::PutSession& o);
  int apply(const op::EraseSession& o);
  int apply(const op::PutSubscription& o);
  int apply(const op::EraseSubscription& o);
  int apply(const op::AppendOutgoing& o);
  int apply(const op::Nothing&);
  int apply(const op::UpdateOutgoing& o);
  int apply(const op::RemoveOutgoing& o);
  int apply(const op::AddQos2Incoming& o);
  int apply(const op::RemoveQos2Incoming& o);
  int apply(const op::BridgePush& o);
  int apply(const op::BridgeAck& o);
  int apply(const op::BridgeClear& o);
  int apply(const op::Probe& o);
  int flush_ref_changes();
  template <class It>
  void find_cancelling_pairs(It first, It last);
  // Applies the batches [first, last) in one transaction and commits: SQLITE_OK or the
  // error (then rolled back, nothing of it stored).
  int write(std::deque<Pending>::iterator first, std::deque<Pending>::iterator last, uint64_t& ops);
  void abandon();
};

}  // namespace petrel::persist
