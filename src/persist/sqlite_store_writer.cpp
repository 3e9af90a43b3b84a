#include "persist/sqlite_store_writer.h"

#include <fmt/format.h>

#include "common/log.h"

namespace petrel::persist {

using sqlite::Stmt;

namespace {

// A step that must finish (DONE); an error code otherwise.
int done(int rc) { return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc; }

void bind_message(Stmt& s, int first, const MessageRecord& m) {
  s.bind(first, m.qos);
  s.bind(first + 1, m.retain ? 1 : 0);
  s.bind(first + 2, m.expiry_wall_s);
  s.bind(first + 3, int64_t(m.expiry_interval));
  s.bind_text(first + 4, m.topic);
  s.bind_blob(first + 5, m.props);
  s.bind_blob(first + 6, m.payload);
}

int wal_hook(void* arg, sqlite3*, const char*, int frames) {
  auto* w = static_cast<SqliteStore::Writer*>(arg);
  // The WAL restarts from its beginning after a complete checkpoint.
  w->wal_frames_written += frames >= w->wal_frames ? uint64_t(frames - w->wal_frames) : uint64_t(frames);
  w->wal_frames = frames;
  return SQLITE_OK;
}

}  // namespace

int SqliteStore::Writer::prepare_all() {
  sqlite3* d = db.get();
  const std::string msg_cols = sqlite::kMessageCols;
  struct Def {
    Stmt* s;
    std::string sql;
  };
  const Def defs[] = {
      {&begin, "BEGIN"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      {&put_retained, "INSERT OR REPLACE INTO retained(" + msg_cols + ", " + sqlite::kRetainedSourceCols +
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
      {&erase_retained, "DELETE FROM retained WHERE topic = ?1"},
      {&put_session,
       "INSERT INTO sessions(client_id, username, protocol_version, expiry_interval, disconnected_wall_s, "
       "has_will, will_due_wall_s, will_delay_interval, will_qos, will_retain, will_expiry_wall_s, "
       "will_expiry_interval, will_topic, will_props, will_payload) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
       "ON CONFLICT(client_id) DO UPDATE SET username = excluded.username, "
       "protocol_version = excluded.protocol_version, expiry_interval = excluded.expiry_interval, "
       "disconnected_wall_s = excluded.disconnected_wall_s, has_will = excluded.has_will, "
       "will_due_wall_s = excluded.will_due_wall_s, will_delay_interval = excluded.will_delay_interval, "
       "will_qos = excluded.will_qos, will_retain = excluded.will_retain, "
       "will_expiry_wall_s = excluded.will_expiry_wall_s, will_expiry_interval = excluded.will_expiry_interval, "
       "will_topic = excluded.will_topic, will_props = excluded.will_props, will_payload = excluded.will_payload "
       "RETURNING id"},
      {&erase_session_row, "DELETE FROM sessions WHERE id = ?1"},
      {&erase_session_subs, "DELETE FROM subscriptions WHERE session_id = ?1"},
      {&erase_session_outgoing, "DELETE FROM outgoing WHERE session_id = ?1 RETURNING message_id"},
      {&erase_session_qos2, "DELETE FROM qos2_incoming WHERE session_id = ?1"},
      {&put_sub,
       "INSERT OR REPLACE INTO subscriptions(session_id, filter, qos, no_local, retain_as_published, "
       "retain_handling, identifier) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&erase_sub, "DELETE FROM subscriptions WHERE session_id = ?1 AND filter = ?2"},
      {&insert_outgoing,
       "INSERT INTO outgoing(session_id, seq, message_id, qos, retain, packet_id, state, subscription_ids) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING"},
      {&max_outgoing_seq, "SELECT coalesce(max(seq), 0) FROM outgoing WHERE session_id = ?1"},
      {&update_outgoing, "UPDATE outgoing SET packet_id = ?3, state = ?4 WHERE session_id = ?1 AND seq = ?2"},
      {&find_outgoing, "SELECT message_id FROM outgoing WHERE session_id = ?1 AND seq = ?2"},
      {&remove_outgoing, "DELETE FROM outgoing WHERE session_id = ?1 AND seq = ?2"},
      {&add_qos2, "INSERT OR IGNORE INTO qos2_incoming(session_id, packet_id) VALUES (?1, ?2)"},
      {&remove_qos2, "DELETE FROM qos2_incoming WHERE session_id = ?1 AND packet_id = ?2"},
      {&bridge_push,
       "INSERT OR REPLACE INTO bridge_queue(bridge, seq, " + msg_cols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
      {&bridge_max_seq, "SELECT coalesce(max(seq), 0) FROM bridge_queue WHERE bridge = ?1"},
      {&bridge_ack, "DELETE FROM bridge_queue WHERE bridge = ?1 AND seq = ?2"},
      {&bridge_clear, "DELETE FROM bridge_queue WHERE bridge = ?1"},
      {&probe, "INSERT OR REPLACE INTO petrel_meta(key, value) VALUES ('probe', ?1)"},
      // No RETURNING on the per-message statements: it costs an ephemeral table per run.
      {&msg_insert,
       "INSERT OR IGNORE INTO messages(id, refs, " + msg_cols + ") VALUES (?8, ?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&msg_add_refs, "UPDATE messages SET refs = refs + ?2 WHERE id = ?1"},
      {&msg_delete_if_unreferenced, "DELETE FROM messages WHERE id = ?1 AND refs + ?2 <= 0"},
  };
  for (const auto& d2 : defs) {
    if (int rc = d2.s->prepare(d, d2.sql); rc != SQLITE_OK) return rc;
  }
  sqlite3_wal_hook(d, wal_hook, this);
  Stmt ps;
  if (ps.prepare(d, "PRAGMA page_size", false) == SQLITE_OK && ps.step() == SQLITE_ROW) page_size = int(ps.int64(0));
  return SQLITE_OK;
}

int SqliteStore::Writer::load_session_ids() {
  sessions.clear();
  Stmt s;
  int rc = s.prepare(db.get(), "SELECT client_id, id FROM sessions", false);
  if (rc != SQLITE_OK) return rc;
  while ((rc = s.step()) == SQLITE_ROW) sessions.emplace(s.str(0), s.int64(1));
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int64_t SqliteStore::Writer::session_id(const std::string& client_id) {
  auto it = sessions.find(client_id);
  if (it != sessions.end()) return it->second;
  if (orphans++ == 0 && logger) {
    PETREL_LOG(*logger, kLogWarning, "persistence: a change for session '{}', which the store does not hold, was "
               "skipped (its header was never stored)", client_id);
  }
  return 0;
}

void SqliteStore::Writer::note_message(uint64_t id, const std::shared_ptr<const MessageRecord>& rec, int64_t delta) {
  auto& c = ref_changes[id];
  c.delta += delta;
  if (rec && !c.record) c.record = rec;
}

int SqliteStore::Writer::apply(const op::PutRetained& o) {
  bind_message(put_retained, 1, o.rec.msg);
  put_retained.bind_text(8, o.rec.source_client_id);
  put_retained.bind_text(9, o.rec.source_username);
  put_retained.bind(10, int64_t(o.rec.source_port));
  return done(put_retained.run());
}

int SqliteStore::Writer::apply(const op::EraseRetained& o) {
  erase_retained.bind_text(1, o.topic);
  return done(erase_retained.run());
}

int SqliteStore::Writer::apply(const op::PutSession& o) {
  const SessionHeader& h = o.header;
  Stmt& s = put_session;
  s.bind_text(1, h.client_id);
  s.bind_text(2, h.username);
  s.bind(3, h.protocol_version);
  s.bind(4, int64_t(h.expiry_interval));
  s.bind(5, h.disconnected_wall_s);
  static const WillRecord kNoWill;
  const WillRecord& w = h.will ? *h.will : kNoWill;
  s.bind(6, h.will ? 1 : 0);
  s.bind(7, h.will ? h.will_due_wall_s : 0);
  s.bind(8, int64_t(w.delay_interval));
  bind_message(s, 9, w.msg);
  int rc = s.step();
  if (rc == SQLITE_ROW) {
    sessions[h.client_id] = s.int64(0);
    rc = s.step();
  }
  s.reset();
  return done(rc);
}

int SqliteStore::Writer::apply(const op::EraseSession& o) {
  auto it = sessions.find(o.client_id);
  if (it == sessions.end()) return SQLITE_OK;  // nothing stored: erasing is done
  const int64_t sid = it->second;
  erase_session_outgoing.bind(1, sid);
  int rc;
  while ((rc = erase_session_outgoing.step()) == SQLITE_ROW) note_message(uint64_t(erase_session_outgoing.int64(0)), nullptr, -1);
  erase_session_outgoing.reset();
  if (rc != SQLITE_DONE) return rc;
  for (Stmt* s : {&erase_session_subs, &erase_session_qos2, &erase_session_row}) {
    s->bind(1, sid);
    if ((rc = done(s->run())) != SQLITE_OK) return rc;
  }
  sessions.erase(it);
  return SQLITE_OK;
}

int SqliteStore::Writer::apply(const op::PutSubscription& o) {
  const int64_t sid = session_id(o.client_id);
  if (sid == 0) return SQLITE_OK;
  Stmt& s = put_sub;
  s.bind(1, sid);
  s.bind_text(2, o.sub.filter);
  s.bind(3, o.sub.qos);
  s.bind(4, o.sub.no_local ? 1 : 0);
  s.bind(5, o.sub.retain_as_published ? 1 : 0);
  s.bind(6, o.sub.retain_handling);
  s.bind(7, int64_t(o.sub.identifier));
  return done(s.run());
}

int SqliteStore::Writer::apply(const op::EraseSubscription& o) {
  const int64_t sid = session_id(o.client_id);
  if (sid == 0) return SQLITE_OK;
  erase_sub.bind(1, sid);
  erase_sub.bind_text(2, o.filter);
  return done(erase_sub.run());
}

int SqliteStore::Writer::apply(const op::AppendOutgoing& o) {
  const int64_t sid = session_id(o.client_id);
  if (sid == 0) return SQLITE_OK;
  const OutgoingEntry& e = o.entry;
  int64_t seq = int64_t(e.seq);
  if (seq == 0) {
    max_outgoing_seq.bind(1, sid);
    const int rc = max_outgoing_seq.step();
    seq = rc == SQLITE_ROW ? max_outgoing_seq.int64(0) + 1 : 0;
    max_outgoing_seq.reset();
    if (rc != SQLITE_ROW) return rc;
  }
  uint64_t mid = e.msg.id;
  if (mid == 0) {
    mid = next_message_id->fetch_add(1, std::memory_order_relaxed);
  } else {
    // An id chosen outside this store's counter (an import): later ids must not collide.
    uint64_t next = next_message_id->load(std::memory_order_relaxed);
    while (next <= mid && !next_message_id->compare_exchange_weak(next, mid + 1, std::memory_order_relaxed)) {
    }
  }
  const std::string ids = sqlite::encode_ids(e.subscription_ids);
  Stmt& s = insert_outgoing;
  auto bind_all = [&] {
    s.bind(1, sid);
    s.bind(2, seq);
    s.bind(3, int64_t(mid));
    s.bind(4, e.qos);
    s.bind(5, e.retain ? 1 : 0);
    s.bind(6, e.packet_id);
    s.bind(7, int64_t(e.state));
    if (ids.empty()) {
      s.bind_null(8);
    } else {
      s.bind_blob(8, ids);
    }
  };
  bind_all();
  int rc = done(s.run());
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_changes(db.get()) == 0) {
    // That seq was taken: the new record replaces the old one (and its message reference).
    if ((rc = apply(op::RemoveOutgoing{o.client_id, uint64_t(seq)})) != SQLITE_OK) return rc;
    bind_all();
    if ((rc = done(s.run())) != SQLITE_OK) return rc;
  }
  note_message(mid, e.msg.record, +1);
  return SQLITE_OK;
}

int SqliteStore::Writer::apply(const op::Nothing&) { return SQLITE_OK; }

int SqliteStore::Writer::apply(const op::UpdateOutgoing& o) {
  const int64_t sid = session_id(o.client_id);
  if (sid == 0) return SQLITE_OK;
  Stmt& s = update_outgoing;
  s.bind(1, sid);
  s.bind(2, int64_t(o.seq));
  s.bind(3, o.packet_id);
  s.bind(4, int64_t(o.state));
  return done(s.run());
}

int SqliteStore::Writer::apply(const op::RemoveOutgoing& o) {
  const int64_t sid = session_id(o.client_id);
  if (sid == 0) return SQLITE_OK;
  find_outgoing.bind(1, sid);
  find_outgoing.bind(2, int64_t(o.seq));
  int rc = find_outgoing.step();
  const uint64_t mid = rc == SQLITE_ROW ? uint64_t(find_outgoing.int64(0)) : 0;
  find_outgoing.reset();
  if (rc == SQLITE_DONE) return SQLITE_OK;  // not stored (already removed)
  if (rc != SQLITE_ROW) return rc;
  remove_outgoing.bind(1, sid);
  remove_outgoing.bind(2, int64_t(o.seq));
  if ((rc = done(remove_outgoing.run())) != SQLITE_OK) return rc;
  note_message(mid, nullptr, -1);
  return SQLITE_OK;
}

int SqliteStore::Writer::apply(const op::AddQos2Incoming& o) {
  const int64_t sid = session_id(o.client_id);
  if (sid == 0) return SQLITE_OK;
  add_qos2.bind(1, sid);
  add_qos2.bind(2, o.packet_id);
  return done(add_qos2.run());
}

int SqliteStore::Writer::apply(const op::RemoveQos2Incoming& o) {
  const int64_t sid = session_id(o.client_id);
  if (sid == 0) return SQLITE_OK;
  remove_qos2.bind(1, sid);
  remove_qos2.bind(2, o.packet_id);
  return done(remove_qos2.run());
}

int SqliteStore::Writer::apply(const op::BridgePush& o) {
  if (!o.msg) return SQLITE_OK;
  int64_t seq = int64_t(o.seq);
  if (seq == 0) {
    bridge_max_seq.bind_text(1, o.bridge);
    const int rc = bridge_max_seq.step();
    seq = rc == SQLITE_ROW ? bridge_max_seq.int64(0) + 1 : 0;
    bridge_max_seq.reset();
    if (rc != SQLITE_ROW) return rc;
  }
  Stmt& s = bridge_push;
  s.bind_text(1, o.bridge);
  s.bind(2, seq);
  bind_message(s, 3, *o.msg);
  return done(s.run());
}

int SqliteStore::Writer::apply(const op::BridgeAck& o) {
  bridge_ack.bind_text(1, o.bridge);
  bridge_ack.bind(2, int64_t(o.seq));
  return done(bridge_ack.run());
}

int SqliteStore::Writer::apply(const op::Probe& o) {
  probe.bind(1, int64_t(o.n));
  return done(probe.run());
}

int SqliteStore::Writer::apply(const op::BridgeClear& o) {
  bridge_clear.bind_text(1, o.bridge);
  return done(bridge_clear.run());
}

// Once per message touched in this transaction: a new message is written with its final
// count (not at all when nothing refers to it any more); an existing one has its count
// changed, and is deleted when it reaches zero.
int SqliteStore::Writer::flush_ref_changes() {
  sqlite3* d = db.get();
  for (auto& [id, c] : ref_changes) {
    if (c.delta == 0) continue;
    int rc;
    if (c.delta > 0) {
      if (c.record) {
        Stmt& s = msg_insert;
        bind_message(s, 1, *c.record);
        s.bind(8, int64_t(id));
        s.bind(9, c.delta);
        if ((rc = done(s.run())) != SQLITE_OK) return rc;
        if (sqlite3_changes(d) == 1) {
          ++messages_written;
          continue;
        }
      }
      msg_add_refs.bind(1, int64_t(id));
      msg_add_refs.bind(2, c.delta);
      if ((rc = done(msg_add_refs.run())) != SQLITE_OK) return rc;
      if (sqlite3_changes(d) == 0 && logger) {
        PETREL_LOG(*logger, kLogWarning, "persistence: outgoing records refer to message {}, which is not stored", id);
      }
      continue;
    }
    // Usually the last reference goes: one statement.
    msg_delete_if_unreferenced.bind(1, int64_t(id));
    msg_delete_if_unreferenced.bind(2, c.delta);
    if ((rc = done(msg_delete_if_unreferenced.run())) != SQLITE_OK) return rc;
    if (sqlite3_changes(d) == 1) continue;
    msg_add_refs.bind(1, int64_t(id));
    msg_add_refs.bind(2, c.delta);
    if ((rc = done(msg_add_refs.run())) != SQLITE_OK) return rc;
  }
  ref_changes.clear();
  return SQLITE_OK;
}

// Marks in `skip` the appends whose removal follows in the same transaction, and those
// removals. An append pairs with the removal of its (client, seq) after it; an erased
// session's appends are left to the erase; a seq appended twice is left alone.
template <class It>
void SqliteStore::Writer::find_cancelling_pairs(It first, It last) {
  constexpr size_t kPoisoned = SIZE_MAX;
  open_appends.clear();
  skip.clear();
  for (auto it = first; it != last; ++it) {
    for (const Op& o : it->batch.ops()) {
      const size_t n = skip.size();
      skip.push_back(0);
      if (const auto* a = std::get_if<op::AppendOutgoing>(&o)) {
        if (a->entry.seq != 0) {
          auto [at, fresh] = open_appends.try_emplace(OutKey{a->client_id, a->entry.seq}, n);
          if (!fresh) at->second = kPoisoned;
        } else {  // the seq it gets depends on what is stored: no pair of this client crosses it
          std::erase_if(open_appends, [&](const auto& kv) { return kv.first.client == a->client_id; });
        }
      } else if (const auto* r = std::get_if<op::RemoveOutgoing>(&o)) {
        auto at = open_appends.find(OutKey{r->client_id, r->seq});
        if (at != open_appends.end() && at->second != kPoisoned) {
          skip[at->second] = 1;
          skip[n] = 1;
          cancelled += 2;
          open_appends.erase(at);
        }
      } else if (const auto* e = std::get_if<op::EraseSession>(&o)) {
        std::erase_if(open_appends, [&](const auto& kv) { return kv.first.client == e->client_id; });
      }
    }
  }
}

int SqliteStore::Writer::write(std::deque<Pending>::iterator first, std::deque<Pending>::iterator last,
                               uint64_t& ops) {
  ops = 0;
  messages_written = 0;
  cancelled = 0;
  find_cancelling_pairs(first, last);
  int rc = done(begin.run());
  if (rc != SQLITE_OK) return rc;
  size_t n = 0;
  for (auto it = first; it != last; ++it) {
    for (const Op& o : it->batch.ops()) {
      if (!skip[n++]) {
        rc = std::visit([this](const auto& x) { return apply(x); }, o);
        if (rc != SQLITE_OK) return rc;
      }
      ++ops;
    }
  }
  if ((rc = flush_ref_changes()) != SQLITE_OK) return rc;
  return done(commit.run());
}

// After a failed write: roll back what is still open, forget the transaction's state and
// read the session ids back (the rolled-back transaction may have added or erased some).
void SqliteStore::Writer::abandon() {
  if (!sqlite3_get_autocommit(db.get())) rollback.run();
  ref_changes.clear();
  load_session_ids();
}

}  // namespace petrel::persist
