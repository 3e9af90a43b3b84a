#include "persist/sqlite_store.h"

#include <fmt/format.h>

#include <time.h>

#include <algorithm>

#include "common/log.h"
#include "persist/sqlite_store_db.h"
#include "persist/sqlite_store_writer.h"

namespace petrel::persist {

using sqlite::Stmt;

SqliteStore::SqliteStore(std::string path, StoreOptions options)
    : path_(std::move(path)), options_(options), max_file_bytes_(options.max_file_bytes) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, StoreOptions options) {
  auto db = sqlite::open_file(path, true);
  if (!db) return db.error();
  sqlite3* d = db->get();
  auto version = sqlite::identify(d, path);
  if (!version) return version.error();
  if (auto r = sqlite::configure(d, path, options.cache_kib); !r) return r.error();
  if (*version == 0) {
    if (auto r = sqlite::create_schema(d, path); !r) return r.error();
  } else if (auto up = sqlite::upgrade_schema(d, path, *version); !up) {
    return up.error();
  } else if (!up->empty() && options.logger) {
    PETREL_LOG(*options.logger, kLogNotice, "{}", *up);
  }
  // A store its last petrel closed cleanly (every batch committed, the marker written
  // last) is not checked again: quick_check reads the whole file, about a second per
  // million stored messages here. After a crash or a power loss it runs. The marker goes
  // before anything else is written, so a crash from now on leaves none.
  const bool closed_cleanly = *version != 0 && sqlite::clean_close_marked(d);
  if (*version != 0 && options.check_at_open && !closed_cleanly) {
    auto lines = sqlite::quick_check(d, 5);
    if (lines.size() != 1 || lines[0] != "ok") {
      std::string what;
      for (const auto& l : lines) what += (what.empty() ? "" : "; ") + l;
      return make_error(0, fmt::format("persistence file {} is damaged (PRAGMA quick_check: {}); `petrel "
                                       "--persistence-recover {}` moves it aside and keeps what is readable",
                                       path, what, path));
    }
  }
  if (closed_cleanly && sqlite::exec(d, "DELETE FROM petrel_meta WHERE key = 'clean_close'") != SQLITE_OK) {
    return make_error(0, fmt::format("persistence file {}: cannot write: {}", path, sqlite::errmsg(d)));
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options));
  auto w = std::make_unique<Writer>();
  w->db = std::move(*db);
  w->path = path;
  w->next_message_id = &store->next_message_id_;
  w->logger = options.logger;
  if (int rc = w->prepare_all(); rc != SQLITE_OK) {
    return make_error(0, fmt::format("persistence file {}: cannot prepare the store's statements: {}", path,
                                     sqlite::errmsg(w->db.get())));
  }
  if (int rc = w->load_session_ids(); rc != SQLITE_OK) {
    return make_error(0, fmt::format("persistence file {}: cannot read: {}", path, sqlite::errmsg(w->db.get())));
  }
  {
    Stmt s;
    if (s.prepare(w->db.get(), "SELECT coalesce(max(id), 0) FROM messages", false) != SQLITE_OK ||
        s.step() != SQLITE_ROW) {
      return make_error(0, fmt::format("persistence file {}: cannot read: {}", path, sqlite::errmsg(w->db.get())));
    }
    store->next_message_id_.store(uint64_t(s.int64(0)) + 1);
  }
  store->writer_ = std::move(w);
  store->max_file_bytes_changed_ = options.max_file_bytes != 0;
  store->thread_ = std::thread([s = store.get()] { s->run(); });
  return store;
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::log(uint32_t level, const std::string& text) const {
  if (options_.logger && options_.logger->enabled(level)) options_.logger->write(level, text);
}

void SqliteStore::submit(Batch batch, DurableCallback on_durable) {
  std::unique_lock lk(mu_);
  if (closed_) {
    lk.unlock();
    if (on_durable) on_durable(false);
    return;
  }
  const bool was_empty = pending_.empty();
  const size_t before = pending_ops_;
  pending_ops_ += batch.size();
  const auto at = options_.sync == SyncMode::kInterval ? std::chrono::steady_clock::now()
                                                       : std::chrono::steady_clock::time_point{};
  pending_.push_back(Pending{std::move(batch), std::move(on_durable), at});
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  // The store thread sleeps only while nothing is pending (kCommit), or until the interval
  // ends or group_max_ops are pending (kInterval).
  const bool wake = was_empty || (before < options_.group_max_ops && pending_ops_ >= options_.group_max_ops);
  if (pending_ops_ > 2 * options_.group_max_ops) backlogged_.store(true, std::memory_order_relaxed);
  lk.unlock();
  if (wake) cv_.notify_one();
}

void SqliteStore::flush(DurableCallback on_durable) {
  {
    std::lock_guard lk(mu_);
    flush_requested_ = true;
  }
  submit(Batch{}, std::move(on_durable));
  cv_.notify_one();
}

void SqliteStore::run() {
  std::deque<Pending> group;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !pending_.empty() || stopping_; });
      // Behind (backlogged) means group_max_ops or more are pending: written at once.
      if (options_.sync == SyncMode::kInterval && !stopping_) {
        const auto deadline = pending_.front().at + options_.interval;
        cv_.wait_until(lk, deadline,
                       [&] { return stopping_ || flush_requested_ || pending_ops_ >= options_.group_max_ops; });
      }
      const bool flushing = flush_requested_;
      if (pending_.empty()) break;  // stopping, everything written
      // Whole batches up to group_max_ops operations (at least one batch).
      size_t ops = 0;
      while (!pending_.empty() && (group.empty() || ops + pending_.front().batch.size() <= options_.group_max_ops)) {
        ops += pending_.front().batch.size();
        group.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      pending_ops_ -= ops;
      if (pending_ops_ < options_.group_max_ops) backlogged_.store(false, std::memory_order_relaxed);
      // A flush covers everything pending, however many groups that takes (the next ones
      // without waiting for the interval).
      flush_requested_ = flushing && !pending_.empty();
    }
    process(group);
    group.clear();
  }
  std::lock_guard db_lk(db_mu_);
  // A clean end: everything in the database file, the WAL emptied.
  sqlite3_wal_checkpoint_v2(writer_->db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
}

void SqliteStore::process(std::deque<Pending>& group) {
  bool any_ops = false;
  for (const auto& p : group) any_ops = any_ops || !p.batch.empty();
  std::vector<bool> results(group.size(), true);
  if (any_ops) {
    std::lock_guard db_lk(db_mu_);
    Writer& w = *writer_;
    if (max_file_bytes_changed_.exchange(false)) {
      const uint64_t bytes = max_file_bytes_.load();
      const int64_t pages = bytes == 0 ? int64_t{0x7fffffff} : int64_t(bytes / uint64_t(w.page_size));
      sqlite::exec(w.db.get(), fmt::format("PRAGMA max_page_count = {}", std::max<int64_t>(pages, 1)).c_str());
    }
    // One transaction for the group; when it fails for a reason that belongs to one
    // batch's content (not the disk), each batch is tried again on its own so the others
    // still commit.
    struct Outcome {
      uint64_t commits = 0, failed = 0, ops = 0, batches = 0, messages = 0, cancelled = 0, us = 0;
      int last_rc = SQLITE_OK;
      std::string last_err;
    } out;
    auto attempt = [&](auto first, auto last) {
      const auto t0 = std::chrono::steady_clock::now();
      uint64_t ops = 0;
      const int rc = w.write(first, last, ops);
      if (rc == SQLITE_OK) {
        ++out.commits;
        out.ops += ops;
        out.batches += uint64_t(last - first);
        out.messages += w.messages_written;
        out.cancelled += w.cancelled;
      } else {
        out.last_err = sqlite::errmsg(w.db.get());
        w.abandon();
        ++out.failed;
      }
      out.last_rc = rc;
      out.us = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
      return rc;
    };
    const int rc = attempt(group.begin(), group.end());
    if (rc != SQLITE_OK) {
      const int primary = rc & 0xff;
      const bool whole_store = primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_NOMEM ||
                               primary == SQLITE_CORRUPT || primary == SQLITE_BUSY || primary == SQLITE_CANTOPEN ||
                               primary == SQLITE_READONLY;
      if (!whole_store && group.size() > 1) {
        for (size_t i = 0; i < group.size(); ++i) {
          results[i] = attempt(group.begin() + i, group.begin() + i + 1) == SQLITE_OK;
        }
      } else {
        std::fill(results.begin(), results.end(), false);
      }
    }
    const bool ok_now = out.last_rc == SQLITE_OK;
    const bool was_healthy = healthy_.exchange(ok_now);
    if (was_healthy && !ok_now) {
      log(kLogError, fmt::format("persistence: cannot write {}: {} (code {}); the changes of {} batch(es) are "
                                 "refused, the store retries with the next ones (logged once until it recovers)",
                                 path_, out.last_err, out.last_rc, group.size()));
    } else if (!was_healthy && ok_now) {
      log(kLogNotice, fmt::format("persistence: writing {} works again", path_));
    }
    // Checkpoint when the WAL is long (after the callers' commit, never inside it).
    uint64_t ckpt_pages = 0;
    bool checkpointed = false;
    if (ok_now && uint64_t(w.wal_frames) * uint64_t(w.page_size + 24) >= options_.checkpoint_wal_bytes) {
      int log_frames = 0, done_frames = 0;
      if (sqlite3_wal_checkpoint_v2(w.db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames) ==
          SQLITE_OK) {
        ckpt_pages = uint64_t(std::max(done_frames, 0));
        checkpointed = true;
      }
    }
    std::lock_guard slk(stats_mu_);
    stats_.commits += out.commits;
    stats_.failed_commits += out.failed;
    stats_.batches += out.batches;
    stats_.records += out.ops;
    stats_.messages_written += out.messages;
    stats_.cancelled_ops += out.cancelled;
    stats_.orphan_ops = w.orphans;
    stats_.wal_bytes = w.wal_frames_written * uint64_t(w.page_size + 24);
    stats_.checkpoint_bytes += ckpt_pages * uint64_t(w.page_size);
    stats_.checkpoints += checkpointed ? 1 : 0;
    stats_.bytes_written = stats_.wal_bytes + stats_.checkpoint_bytes;
    stats_.last_commit_us = out.us;
    stats_.max_commit_us = std::max(stats_.max_commit_us, out.us);
    timespec cpu{};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0) {
      stats_.thread_cpu_us = uint64_t(cpu.tv_sec) * 1'000'000 + uint64_t(cpu.tv_nsec) / 1000;
    }
  }
  // Committed (or failed) before any callback runs: a caller woken by one sees it.
  in_flight_.fetch_sub(group.size(), std::memory_order_relaxed);
  if (const auto failed = uint64_t(std::count(results.begin(), results.end(), false))) {
    std::lock_guard slk(stats_mu_);
    stats_.failed_batches += failed;
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (!group[i].done) continue;
    try {
      group[i].done(results[i]);
    } catch (const std::exception& e) {
      log(kLogError, fmt::format("persistence: a durability callback threw: {}", e.what()));
    } catch (...) {
      log(kLogError, "persistence: a durability callback threw");
    }
  }
}

void SqliteStore::close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (options_.logger) {
    const StoreStats st = stats();
    PETREL_LOG(*options_.logger, kLogInfo,
               "Store closed: {} commits of {} operations ({} of them appends cancelled by their removal), "
               "{} messages written, {} bytes written.",
               st.commits, st.records, st.cancelled_ops, st.messages_written, st.bytes_written);
  }
  std::lock_guard db_lk(db_mu_);
  // Every batch was committed (the thread ends after the last): the next open may skip
  // its integrity check. Not after a failed write (the disk may be what failed).
  if (writer_ && healthy_.load() && !read_failed_) {
    sqlite::exec(writer_->db.get(), "INSERT OR REPLACE INTO petrel_meta(key, value) VALUES ('clean_close', 1)");
  }
  writer_.reset();  // finalizes the statements and closes the connection
}

Result<Snapshot> SqliteStore::load() {
  std::lock_guard db_lk(db_mu_);
  if (!writer_) return make_error(0, fmt::format("persistence file {}: the store is closed", path_));
  auto snap = sqlite::load_snapshot(writer_->db.get(), path_);
  if (!snap) read_failed_ = true;  // not marked closed cleanly: the next open checks it
  return snap;
}

TableCounts SqliteStore::counts() {
  std::lock_guard db_lk(db_mu_);
  if (!writer_) return {};
  return sqlite::count_rows(writer_->db.get());
}

StoreStats SqliteStore::stats() const {
  std::lock_guard slk(stats_mu_);
  StoreStats s = stats_;
  s.pending_batches = in_flight_.load(std::memory_order_relaxed);
  s.healthy = healthy_.load(std::memory_order_relaxed);
  return s;
}

void SqliteStore::set_max_file_bytes(uint64_t bytes) {
  max_file_bytes_.store(bytes);
  max_file_bytes_changed_.store(true);
}

}  // namespace petrel::persist
