#pragma once
// SqliteStore: the durable Store, one SQLite 3 database file in WAL mode written by one
// store thread. It owns the connection, the thread and the queue of submitted batches.
//
// Group commit: the thread takes every pending batch (up to StoreOptions::group_max_ops
// operations), applies them with prepared statements in ONE transaction, commits, then runs
// their callbacks in submission order. Under SyncMode::kCommit it starts the next
// transaction as soon as the previous one is on disk, so the more the callers submit, the
// more each fsync carries; under kInterval it waits for the interval first.
//
// What a commit guarantees: journal_mode=WAL with synchronous=FULL, so COMMIT returns only
// after the WAL frames of the transaction were written and fsynced (fdatasync). A
// transaction whose callback said ok survives kill -9 and power loss (given a disk that
// honours flushes); one that did not commit is absent as a whole after a crash (no batch is
// ever half applied). Checkpoints (WAL -> database file, fsynced) run on the store thread
// when the WAL passes StoreOptions::checkpoint_wal_bytes and at close().
//
// Errors while writing (disk full, I/O error, the max_file_bytes limit): the transaction is
// rolled back, every batch in it gets ok=false and changed nothing; the store logs once per
// episode, keeps running, tries again with the next batches, and logs when a commit works
// again. Committed data is never touched by a failed transaction (the WAL only appends).
//
// The file is locked exclusively (PRAGMA locking_mode=EXCLUSIVE, no -shm file) for the
// store's lifetime: a second process opening it gets a clear "in use" error.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "persist/store.h"

struct sqlite3;

namespace petrel::persist {

// Rows per table (for tests and --persistence-check); -1 where the table cannot be read.
struct TableCounts {
  int64_t retained = -1;
  int64_t sessions = -1;
  int64_t subscriptions = -1;
  int64_t outgoing = -1;
  int64_t messages = -1;          // distinct stored messages behind the outgoing rows
  int64_t qos2_incoming = -1;
  int64_t bridge_queued = -1;
  int64_t dangling_outgoing = -1; // outgoing rows whose message is missing (0 when sound)
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when missing) the store file at `path` and starts its thread. Errors
  // name the file: its directory missing, not a directory or not writable; the file not
  // writable, not a SQLite database, a SQLite database that is not a Petrel store
  // (application id, schema version table), written by a newer Petrel (schema version),
  // damaged (PRAGMA quick_check, when options.check_at_open), or in use by another process.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, StoreOptions options = {});
  ~SqliteStore() override;  // close()

  Result<Snapshot> load() override;
  void submit(Batch batch, DurableCallback on_durable) override;
  void flush(DurableCallback on_durable) override;
  uint64_t new_message_id() override { return next_message_id_.fetch_add(1, std::memory_order_relaxed); }
  bool healthy() const override { return healthy_.load(std::memory_order_relaxed); }
  bool backlogged() const override { return backlogged_.load(std::memory_order_relaxed); }
  StoreStats stats() const override;
  void close() override;

  const std::string& path() const { return path_; }
  TableCounts counts();
  // The database's size limit (0: none), applied before the next transaction. Below the
  // current size it stops growth where it is.
  void set_max_file_bytes(uint64_t bytes);

  struct Writer;  // the connection's statements and the per-transaction state (sqlite_store.cpp)

 private:
  struct Pending {
    Batch batch;
    DurableCallback done;
    std::chrono::steady_clock::time_point at;
  };
  SqliteStore(std::string path, StoreOptions options);
  void run();
  void process(std::deque<Pending>& group);
  void log(uint32_t level, const std::string& text) const;

  const std::string path_;
  const StoreOptions options_;
  std::unique_ptr<Writer> writer_;      // used under db_mu_
  std::mutex db_mu_;                    // the connection: the store thread, load(), counts()

  std::mutex mu_;                       // the queue
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  size_t pending_ops_ = 0;
  bool stopping_ = false;
  bool flush_requested_ = false;  // flush(): commit without waiting for the interval
  bool closed_ = false;                 // under mu_: submit() refuses
  std::thread thread_;

  std::atomic<uint64_t> next_message_id_{1};
  std::atomic<bool> healthy_{true};
  std::atomic<bool> backlogged_{false};  // pending_ops_ passed 2x group_max_ops (mu_ sets it)
  bool read_failed_ = false;  // load() found an error (db_mu_)
  std::atomic<uint64_t> max_file_bytes_;
  std::atomic<bool> max_file_bytes_changed_{false};
  std::atomic<uint64_t> in_flight_{0};  // submitted, callback not run yet
  mutable std::mutex stats_mu_;
  StoreStats stats_;
};

}  // namespace petrel::persist
