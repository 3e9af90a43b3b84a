// WorkerCore: the durable store's journal. Every change of persistent state made on this
// worker (a session with an expiry: its header, subscriptions, outgoing messages and
// incoming QoS 2 ids; retained messages) is recorded in this turn's persist::Batch, which
// end_of_turn submits to the store thread. Nothing here waits for the disk. Under
// persistence_sync commit, the acknowledgement of a QoS 1/2 PUBLISH that changed stored
// state (here, or on another worker its deliveries went to) is held in this turn's
// HeldTurn until every batch carrying those changes is committed (DurableHold), and held
// turns are released in order, so acknowledgements keep the order of their PUBLISHes.
// Clean sessions and QoS 0 traffic to online subscribers never touch the store.
#include <algorithm>

#include "broker/worker_core.h"
#include "protocol/reason_codes.h"

namespace petrel::broker {

using protocol::PacketType;
namespace rc = protocol::rc;
using persist::OutgoingRecord;

namespace {
uint8_t version_number(protocol::Version v) { return static_cast<uint8_t>(v); }

}  // namespace

void WorkerCore::set_store(persist::Store* store, bool hold_acks, int64_t open_batch_ms) {
  open_batch_ms_ = open_batch_ms;
  store_ = store;
  hold_acks_ = store != nullptr && hold_acks;
  hold_to_.assign(outgoing_.size(), 0);
}

int64_t WorkerCore::wall_of(int64_t mono_ms) const {
  if (mono_ms == 0) return 0;
  const int64_t left_ms = mono_ms - broker_.clock().now_ms();
  return broker_.clock().wall_seconds() + (left_ms >= 0 ? (left_ms + 999) / 1000 : left_ms / 1000);
}

persist::SessionHeader WorkerCore::header_of(const Session* s) const {
  persist::SessionHeader h;
  h.client_id = s->client_id;
  h.username = s->username;
  h.protocol_version = version_number(s->version);
  h.expiry_interval = s->expiry_interval;
  // While connected: 0, so a session found after a crash counts its expiry from the load.
  h.disconnected_wall_s = s->online() ? 0 : broker_.clock().wall_seconds();
  // A connected client's will is stored too (due 0: from when the broker finds it after a
  // crash, which ended that connection without DISCONNECT); an offline session's delayed
  // will with the time it is due.
  const protocol::Will* will = s->delayed_will ? s->delayed_will.get() : s->online() ? s->will.get() : nullptr;
  if (will) {
    const protocol::Will& w = *will;
    persist::WillRecord r;
    r.msg.topic = w.topic;
    r.msg.payload = w.payload;
    protocol::encode_forward_props(w.props, r.msg.props);
    r.msg.qos = w.qos;
    r.msg.retain = w.retain;
    r.msg.expiry_interval = w.props.message_expiry_interval.value_or(0);
    r.delay_interval = w.props.will_delay_interval.value_or(0);
    h.will = std::move(r);
    h.will_due_wall_s = s->delayed_will ? wall_of(s->will_at_ms) : 0;
  }
  return h;
}

namespace {
persist::SessionRecord record_from(const persist::SessionHeader& h) {
  persist::SessionRecord r;
  r.client_id = h.client_id;
  r.username = h.username;
  r.protocol_version = h.protocol_version;
  r.expiry_interval = h.expiry_interval;
  r.disconnected_wall_s = h.disconnected_wall_s;
  r.will = h.will;
  r.will_due_wall_s = h.will_due_wall_s;
  return r;
}
}  // namespace

persist::SessionRecord WorkerCore::record_of(const Session* s) const {
  persist::SessionRecord r = record_from(header_of(s));
  for (const SessionSub& sub : s->subs) {
    r.subscriptions.push_back({sub.filter, sub.opts.qos, sub.opts.no_local, sub.opts.retain_as_published,
                               sub.opts.retain_handling, sub.opts.subscription_id});
  }
  auto add = [&](const Message* m, uint64_t seq, uint8_t qos, bool retain, const std::vector<uint32_t>& ids,
                 uint16_t pid, OutgoingRecord::State st) {
    OutgoingRecord o;
    if (m) {
      o.msg.topic.assign(m->topic());
      o.msg.payload.assign(m->payload());
      o.msg.props.assign(m->props());
      o.msg.qos = m->qos();
      o.msg.retain = m->retain();
      o.msg.expiry_wall_s = wall_of(m->expiry_at_ms());
      o.msg.expiry_interval = m->expiry_interval();
      o.message_id = m->store_id().load(std::memory_order_acquire);
    }
    o.qos = qos;
    o.retain = retain;
    o.subscription_ids = ids;
    o.packet_id = pid;
    o.state = st;
    o.seq = seq;
    r.outgoing.push_back(std::move(o));
  };
  for (size_t i = 0; i < s->inflight.size(); ++i) {
    const InflightOut& e = s->inflight[i];
    if (!e.store_seq) continue;
    add(e.msg.get(), e.store_seq, e.qos, e.retain, e.sub_ids, e.packet_id,
        e.released ? OutgoingRecord::State::kReleased : OutgoingRecord::State::kSent);
  }
  for (size_t i = 0; i < s->queue.size(); ++i) {
    const QueuedMsg& q = s->queue[i];
    if (!q.store_seq) continue;
    add(q.msg.get(), q.store_seq, q.qos, q.retain, q.sub_ids, 0, OutgoingRecord::State::kQueued);
  }
  r.qos2_incoming = s->qos2_in;
  std::sort(r.qos2_incoming.begin(), r.qos2_incoming.end());
  return r;
}

std::shared_ptr<const persist::MessageRecord> WorkerCore::message_record(const Message& m) {
  const uint64_t id = m.store_id().load(std::memory_order_acquire);
  if (id != 0 && id == record_id_ && record_) return record_;
  auto r = std::make_shared<persist::MessageRecord>();
  r->topic.assign(m.topic());
  r->payload.assign(m.payload());
  r->props.assign(m.props());
  r->qos = m.qos();
  r->retain = m.retain();
  r->expiry_wall_s = wall_of(m.expiry_at_ms());
  r->expiry_interval = m.expiry_interval();
  record_ = std::move(r);
  record_id_ = id;
  return record_;
}

persist::SharedMessage WorkerCore::shared_message(const Message& m) {
  // One id per message, whichever worker journals it first: the store writes its content
  // once however many sessions (on however many workers) hold it.
  std::atomic<uint64_t>& slot = m.store_id();
  uint64_t id = slot.load(std::memory_order_acquire);
  if (id == 0) {
    const uint64_t fresh = store_->new_message_id();
    id = slot.compare_exchange_strong(id, fresh, std::memory_order_acq_rel) ? fresh : id;
  }
  return {id, message_record(m)};
}

void WorkerCore::mark_subscriptions_durable(Session* s) {
  for (SessionSub& sub : s->subs) {
    if (sub.opts.durable == s->durable) continue;
    sub.opts.durable = s->durable;
    broker_.trie().subscribe(s->key, sub.filter, sub.opts);
  }
}

void WorkerCore::journal_connect(Session* s) {
  ++s->conn_id;
  s->held_puback = 0;
  if (!store_) return;
  // Stored: clients' sessions with an expiry, and the bridges' local sessions (internal
  // connections) with one, whose queues are the bridges' out-queues (a bridge acknowledges
  // a message only once the remote has it); never the admin's own connections.
  const bool client = s->listener != kAdminListener;
  const bool want = s->expiry_interval > 0 && client;
  if (s->will_stored && (want || !s->will)) {
    // A session kept only for its connection's will no longer is (stored in full now, or
    // this connection has no will).
    touched(s);
    ++s->journal_epoch;
    batch_.erase_session(s->client_id);
    s->will_stored = false;
  }
  if (!want && client && s->will) {
    // A session that ends with its connection, kept in the store for its will alone: a
    // crash ends the connection without DISCONNECT, so the will is published after the
    // restart (the session, found with expiry 0, then ends). Erased when the connection
    // ends (destroy_session).
    if (s->durable) journal_not_durable(s);
    touched(s);
    ++s->journal_epoch;
    batch_.replace_session(record_from(header_of(s)));
    s->will_stored = true;
    return;
  }
  if (want && !s->durable) {
    // Becomes persistent (new, or resumed with an expiry now): written whole.
    s->durable = true;
    mark_subscriptions_durable(s);
    for (size_t i = 0; i < s->inflight.size(); ++i) {
      InflightOut& e = s->inflight[i];
      if (e.msg && !e.store_seq) e.store_seq = ++s->store_seq;
    }
    for (size_t i = 0; i < s->queue.size(); ++i) s->queue[i].store_seq = ++s->store_seq;
    touched(s);
    persist::SessionRecord r = record_of(s);
    // Records of messages shared with other sessions keep their store id (0: the store
    // numbers it; such a message is then stored once more for this session).
    ++s->journal_epoch;
    batch_.replace_session(r);
  } else if (want) {
    journal_header(s);
  } else if (s->durable) {
    journal_not_durable(s);
  }
}

void WorkerCore::journal_not_durable(Session* s) {
  touched(s);
  ++s->journal_epoch;
  batch_.erase_session(s->client_id);
  s->durable = false;
  mark_subscriptions_durable(s);
  for (size_t i = 0; i < s->inflight.size(); ++i) s->inflight[i].store_seq = 0;
  for (size_t i = 0; i < s->queue.size(); ++i) s->queue[i].store_seq = 0;
}

void WorkerCore::touched(Session* s) {
  if (s->journal_batch == batch_no_) return;
  s->journal_batch = batch_no_;
  batch_clients_.push_back(s->client_id);
}

void WorkerCore::journal_header(Session* s) {
  if (!s->durable) return;
  touched(s);
  batch_.put_session(header_of(s));
}

void WorkerCore::journal_subscription(Session* s, const SessionSub& sub) {
  if (!s->durable) return;
  touched(s);
  batch_.put_subscription(s->client_id, {sub.filter, sub.opts.qos, sub.opts.no_local, sub.opts.retain_as_published,
                                         sub.opts.retain_handling, sub.opts.subscription_id});
}

void WorkerCore::journal_unsubscription(Session* s, const std::string& filter) {
  if (!s->durable) return;
  touched(s);
  batch_.erase_subscription(s->client_id, filter);
}

void WorkerCore::journal_append(Session* s, const MessageRef& m, uint64_t seq, uint8_t qos, bool retain,
                                const std::vector<uint32_t>& sub_ids, uint16_t packet_id, bool sent) {
  touched(s);
  batch_appends_.emplace_back(s->key, seq);
  persist::OutgoingEntry e;
  e.seq = seq;
  e.qos = qos;
  e.retain = retain;
  e.subscription_ids = sub_ids;
  e.packet_id = packet_id;
  e.state = sent ? OutgoingRecord::State::kSent : OutgoingRecord::State::kQueued;
  // The message is copied at submission (flush_journal), if the record still exists then.
  open_index_[OpenKey{s->key, seq}] = OpenRef{open_appends_.size(), s->journal_epoch};
  open_appends_.push_back(OpenAppend{batch_.size(), m});
  batch_.append_outgoing(s->client_id, std::move(e));
}

WorkerCore::OpenAppend* WorkerCore::open_append(Session* s, uint64_t seq, bool take) {
  if (open_index_.empty()) return nullptr;
  auto it = open_index_.find(OpenKey{s->key, seq});
  if (it == open_index_.end()) return nullptr;
  // A whole-session record (replace or erase) came after the append: it holds the record
  // as it was then, so what follows must be written as it comes.
  OpenAppend* a = it->second.epoch == s->journal_epoch ? &open_appends_[it->second.index] : nullptr;
  if (take || !a) open_index_.erase(it);
  return a;
}

void WorkerCore::journal_sent(Session* s, uint64_t seq, uint16_t packet_id, bool released) {
  if (!s->durable || !seq) return;
  const auto state = released ? OutgoingRecord::State::kReleased : OutgoingRecord::State::kSent;
  if (OpenAppend* a = open_append(s, seq, false)) {
    auto& e = std::get<persist::op::AppendOutgoing>(batch_.op_at(a->op)).entry;
    e.packet_id = packet_id;
    e.state = state;
    return;
  }
  touched(s);
  batch_.update_outgoing(s->client_id, seq, packet_id, state);
}

void WorkerCore::journal_remove(Session* s, uint64_t seq) {
  if (!s->durable || !seq) return;
  if (OpenAppend* a = open_append(s, seq, true)) {
    // Appended and removed before the store saw either: neither is written.
    batch_.cancel(a->op);
    a->msg.reset();
    ++cancelled_ops_;
    return;
  }
  touched(s);
  batch_.remove_outgoing(s->client_id, seq);
}

void WorkerCore::journal_qos2(Session* s, uint16_t packet_id, bool add) {
  if (!s->durable) return;
  touched(s);
  if (add) batch_.add_qos2_incoming(s->client_id, packet_id);
  else batch_.remove_qos2_incoming(s->client_id, packet_id);
}

void WorkerCore::journal_retained(std::string_view topic, const RetainedMessage* r) {
  batch_topics_.emplace_back(topic);
  if (!r) {
    batch_.erase_retained(std::string(topic));
    return;
  }
  persist::RetainedRecord rec;
  persist::MessageRecord& m = rec.msg;
  m.topic = r->topic;
  m.payload = r->payload;
  m.props = r->forward_props;
  m.qos = r->qos;
  m.retain = true;
  m.expiry_wall_s = wall_of(r->expiry_at_ms);
  m.expiry_interval = r->expiry_interval;
  if (r->source) {
    rec.source_client_id = r->source->client_id;
    rec.source_username = r->source->username;
    // The listener is found again by its port after a restart (as Mosquitto does).
    const config::Listener* l = listener_config(r->source->listener);
    rec.source_port = l ? l->port : 0;
  }
  batch_.put_retained(std::move(rec));
}

WorkerCore::HeldTurn& WorkerCore::hold_turn() {
  if (!turn_hold_) {
    turn_hold_ = std::make_shared<DurableHold>(hub_, index_, ++turn_seq_);
    held_.push_back(HeldTurn{turn_seq_, {}, false, true});
  }
  return held_.back();
}

void WorkerCore::ack_or_hold(Session* s, PacketType t, uint16_t id, uint8_t reason, const char* why,
                             bool must_hold) {
  // kInterval: acknowledged at once, unless the store has fallen behind (backlogged): then
  // held as under commit until the batch is written, so the backlog stays bounded.
  // Anything held already: this one waits behind it (acknowledgements keep their order).
  const bool hold = hold_acks_ || store_backlogged_;
  if (!holding() && (!hold || !must_hold)) {
    send_reason_string_ack(s, t, id, reason, why);
    return;
  }
  hold_turn().acks.push_back(HeldAck{s->key, s->conn_id, id, t, reason, why, {}});
  if (t == PacketType::kPuback) ++s->held_puback;
  if (t == PacketType::kPubrel) ++s->held_out;
  s->link->mark_dirty();  // the turn ends (and submits) even when nothing else was written
}

void WorkerCore::hold_output(Session* s, size_t from) {
  std::string& out = s->link->out();
  HeldAck a{s->key, s->conn_id, 0, PacketType::kPublish, 0, nullptr, out.substr(from)};
  out.resize(from);
  hold_turn().acks.push_back(std::move(a));
  ++s->held_out;
}

bool WorkerCore::would_store(const protocol::Publish& p, std::string_view topic, Session* from) {
  if (p.retain) return true;
  match_targets(topic, from);
  for (const Target& t : targets_)
    if (t.durable && t.qos > 0) return true;
  return false;
}

void WorkerCore::drop_refused() {
  std::vector<std::pair<SessionKey, uint64_t>> appends;
  {
    std::lock_guard lk(failed_->mu);
    appends.swap(failed_->appends);
  }
  size_t dropped = 0;
  for (auto [key, seq] : appends) {
    Session* s = lookup(key);
    if (!s) continue;
    for (size_t i = 0; i < s->queue.size(); ++i) {
      if (s->queue[i].store_seq != seq) continue;
      s->queued_bytes -= s->queue[i].msg->payload().size();
      s->queue.erase(i);
      ++dropped;
      break;
    }
  }
  if (dropped) stats_.pub_dropped.add(dropped);
}

void WorkerCore::turn_durable(uint64_t turn, bool ok) {
  if (turn == 0) {  // a batch failed: what it queued was refused
    drop_refused();
    return;
  }
  for (HeldTurn& h : held_) {
    if (h.turn != turn) continue;
    h.done = true;
    h.ok = ok;
    break;
  }
  while (!held_.empty() && held_.front().done) {
    HeldTurn h = std::move(held_.front());
    held_.pop_front();
    if (!h.ok && !store_failed_logged_) {
      store_failed_logged_ = true;
      PETREL_LOG(broker_.log(), kLogError,
                 "Messages refused: the store could not write them (v5 publishers get 0x97, "
                 "3.x publishers no acknowledgement).");
    } else if (h.ok && store_failed_logged_) {
      store_failed_logged_ = false;
      PETREL_LOG(broker_.log(), kLogNotice, "Messages are stored and acknowledged again.");
    }
    for (const HeldAck& a : h.acks) {
      Session* s = lookup(a.key);
      // The connection that sent the PUBLISH is gone: the client sends it again when it
      // resumes its session (QoS 1: again; QoS 2: its id is known, PUBREC comes at once).
      if (!s || s->conn_id != a.conn_id) continue;
      if (a.type == PacketType::kPuback && s->held_puback > 0) --s->held_puback;
      const bool out = !a.bytes.empty() || a.type == PacketType::kPubrel;
      if (out && s->held_out > 0) --s->held_out;
      if (!s->online() || s->closing) continue;
      if (!a.bytes.empty()) {
        // A PUBLISH to the client: sent either way (memory has the message; a failed
        // batch's session is written again once the store writes).
        s->link->out() += a.bytes;
        s->link->mark_dirty();
        continue;
      }
      if (h.ok || a.reason >= 0x80 || a.type == PacketType::kPubcomp || a.type == PacketType::kPubrel) {
        send_reason_string_ack(s, a.type, a.packet_id, a.reason, a.why);
        continue;
      }
      // Not stored: refused. v5 says so (a refused PUBREC ends the flow: its id is
      // free again); 3.x has no way to, so no acknowledgement: the client sends it again
      // when it reconnects (QoS 2: its id is still known, so it is not delivered twice).
      // Memory kept what was routed; the batch's sessions are written again whole once
      // the store writes again (resync_failed).
      if (a.type == PacketType::kPubrec && s->is_v5()) {
        auto it = std::find(s->qos2_in.begin(), s->qos2_in.end(), a.packet_id);
        if (it != s->qos2_in.end()) {
          *it = s->qos2_in.back();
          s->qos2_in.pop_back();
        }
      }
      if (s->is_v5()) send_reason_string_ack(s, a.type, a.packet_id, rc::kQuotaExceeded, "the broker could not store it");
    }
  }
}

void WorkerCore::flush_journal(bool force) {
  if (!store_) return;
  store_backlogged_ = !hold_acks_ && store_->backlogged();  // for the next turn's acks
  if (!force && open_batch_ms_ > 0 && !hold_acks_ && !batch_.empty() && batch_holds_.empty() && !turn_hold_ && !store_backlogged_ &&
      batch_.size() < kOpenBatchOps) {
    // persistence_sync interval and nothing waits on this batch: left open a little, so
    // that what is acknowledged meanwhile cancels out (open_append) instead of being
    // written and erased.
    const int64_t now = broker_.clock().now_ms();
    if (batch_opened_ms_ == 0) batch_opened_ms_ = now;
    if (now - batch_opened_ms_ < open_batch_ms_) return;
  }
  batch_opened_ms_ = 0;
  const bool healthy = store_->healthy();
  if (failed_->any.load(std::memory_order_acquire) && healthy) resync_failed();
  if (!healthy && index_ == 0 && batch_.empty()) {
    // Refusing everything that would be stored submits nothing: a small write once a
    // second tells when the disk takes writes again.
    const int64_t now = broker_.clock().now_ms();
    if (now >= next_probe_ms_) {
      next_probe_ms_ = now + 1000;
      batch_.probe(++probes_);
    }
  }
  std::vector<std::shared_ptr<DurableHold>> holds = std::move(batch_holds_);
  batch_holds_.clear();
  if (turn_hold_) holds.push_back(turn_hold_);
  if (batch_.empty()) return;  // the holds go with this function's references
  // The messages of the appends still standing are copied for the store now (each once,
  // shared by the sessions holding it); the cancelled ones go.
  for (OpenAppend& a : open_appends_) {
    if (!a.msg) continue;
    std::get<persist::op::AppendOutgoing>(batch_.op_at(a.op)).entry.msg = shared_message(*a.msg);
  }
  open_appends_.clear();
  open_index_.clear();
  if (cancelled_ops_) {
    batch_.compact();
    cancelled_ops_ = 0;
    if (batch_.empty()) {
      ++batch_no_;
      batch_clients_.clear();
      batch_topics_.clear();
      batch_appends_.clear();
      return;
    }
  }
  persist::Batch b = std::move(batch_);
  batch_ = persist::Batch();
  ++batch_no_;
  // kInterval with acknowledgements held (the store is behind): written now, not at the
  // end of the interval, so the held acks wait one commit as under kCommit.
  const bool urgent = !hold_acks_ && !holds.empty();
  store_->submit(std::move(b), [holds = std::move(holds), clients = std::move(batch_clients_),
                                topics = std::move(batch_topics_), appends = std::move(batch_appends_),
                                failed = failed_, hub = &hub_, worker = index_](bool ok) mutable {
    if (!ok) {
      for (auto& h : holds) h->fail();
      {
        std::lock_guard lk(failed->mu);
        failed->clients.insert(failed->clients.end(), clients.begin(), clients.end());
        failed->topics.insert(failed->topics.end(), topics.begin(), topics.end());
        failed->appends.insert(failed->appends.end(), appends.begin(), appends.end());
        failed->any.store(true, std::memory_order_release);
      }
      hub->post_durable(worker, 0, false);  // drop what it queued (drop_refused)
    }
    holds.clear();  // the last reference tells the worker (DurableHold)
  });
  batch_clients_.clear();
  batch_topics_.clear();
  batch_appends_.clear();
  if (urgent) store_->flush({});
}

void WorkerCore::resync_failed() {
  std::vector<std::string> clients, topics;
  {
    std::lock_guard lk(failed_->mu);
    clients.swap(failed_->clients);
    topics.swap(failed_->topics);
    failed_->any.store(false, std::memory_order_release);
  }
  std::sort(clients.begin(), clients.end());
  clients.erase(std::unique(clients.begin(), clients.end()), clients.end());
  for (const std::string& id : clients) {
    Session* s = by_id_.find(id);
    if (s && s->durable) {
      touched(s);
      ++s->journal_epoch;
      batch_.replace_session(record_of(s));
    } else if (s && s->will_stored) {
      touched(s);
      ++s->journal_epoch;
      batch_.replace_session(record_from(header_of(s)));
    } else {
      batch_.erase_session(id);
    }
  }
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  const int64_t now = broker_.clock().now_ms();
  for (const std::string& t : topics) {
    RetainedPtr r;
    for (auto& m : broker_.retained().snapshot(t, now))
      if (m->topic == t) r = m;
    journal_retained(t, r.get());
  }
  PETREL_LOG(broker_.log(), kLogNotice, "Store: {} session{} and {} retained topic{} written again after a failed write.",
             clients.size(), clients.size() == 1 ? "" : "s", topics.size(), topics.size() == 1 ? "" : "s");
}
}  // namespace petrel::broker
