// WorkerCore: routing a message to its subscribers, delivery, queues and in-flight windows.
#include <algorithm>

#include "broker/worker_core.h"
#include "protocol/reason_codes.h"

namespace petrel::broker {

using protocol::PacketType;

namespace {
// Output queued for one client above which it counts as congested: QoS 0 is dropped for
// it and QoS 1/2 wait in its session queue (bounded by max_queued_*). The network layer
// pauses publishers well below this (512 KiB), so only a slow consumer that no longer
// holds publishers back reaches it.
constexpr size_t kCongestedBytes = 4u << 20;
// Queued messages of a connected client above which publishers are held back, and the
// length at which they are let go again: 1024 and 256, or half and an eighth of
// max_queued_messages / max_queued_bytes when those are lower, so that a queue is held
// back well before its limit would drop anything (with the default limit of 1000
// messages the mark used to sit above the limit, and overload dropped instead).
constexpr size_t kQueuePressureHigh = 1024;

size_t queue_pressure_high(const config::Config& cfg) {
  size_t high = kQueuePressureHigh;
  if (cfg.max_queued_messages > 0) high = std::min(high, size_t(cfg.max_queued_messages) / 2);
  return high;
}

bool queue_over_high(const Session& s, const config::Config& cfg) {
  if (s.queue.size() > queue_pressure_high(cfg)) return true;
  return cfg.max_queued_bytes > 0 && s.queued_bytes > cfg.max_queued_bytes / 2;
}

bool queue_under_low(const Session& s, const config::Config& cfg) {
  if (s.queue.size() > queue_pressure_high(cfg) / 4) return false;
  return cfg.max_queued_bytes == 0 || s.queued_bytes <= cfg.max_queued_bytes / 8;
}
// Topics whose matches a worker remembers; past this the cache starts over.
constexpr size_t kRouteCacheMax = 16384;

void merge_targets(std::vector<uint32_t>& ids, uint32_t id) {
  if (id && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}
}  // namespace

bool WorkerCore::congested(const Session* s) const {
  return s->link->pending_bytes() > kCongestedBytes;
}

size_t WorkerCore::route(const protocol::Publish& p, std::string_view topic, uint64_t origin, Session* from) {
  // The clock is read only when the message needs it (expiry or a retained copy).
  const uint32_t expiry = p.message_expiry_interval.value_or(0);
  const int64_t now = expiry || p.retain ? broker_.clock().now_ms() : 0;
  const int64_t expiry_at = expiry ? now + int64_t(expiry) * 1000 : 0;
  MessageRef msg;
  MsgView view{topic, p.forward_props, p.payload, expiry_at, expiry, 0, p.qos, p.retain, origin};

  if (p.retain) {
    // The broker's own $SYS messages are made again at start, never stored.
    const bool journal = store_ && !(origin == 0 && topic.starts_with("$SYS/"));
    if (journal) route_durable_ = true;
    if (p.payload.empty()) {
      broker_.retained().erase(topic);  // [MQTT-3.3.1-10]
      if (journal) journal_retained(topic, nullptr);
    } else {
      auto r = std::make_shared<RetainedMessage>();
      r->topic.assign(topic);
      r->payload.assign(p.payload);
      r->forward_props.assign(p.forward_props);
      r->qos = p.qos;
      r->expiry_at_ms = expiry_at;
      r->expiry_interval = expiry;
      r->stored_at_ms = now;
      r->source = retain_source_of(from);
      if (journal) journal_retained(topic, r.get());
      broker_.retained().set(std::move(r));
    }
  }

  match_targets(topic, from);
  view.serial = ++serial_;
  // A delivery's QoS is at most the published one; upgrade_outgoing_qos (non-standard)
  // lets the subscription's QoS stand.
  const uint8_t qos_cap = cfg_->upgrade_outgoing_qos ? 2 : p.qos;
  size_t delivered = 0;
  for (size_t i = 0; i < targets_.size();) {
    // One delivery per session: overlapping subscriptions merge into the highest QoS and
    // carry every subscription identifier [MQTT-3.3.4-3,4]. A no-local subscription of
    // the publisher itself does not count [MQTT-3.8.3-3].
    const SessionKey key = targets_[i].key;
    const bool self = key == origin;
    bool any = false;
    uint8_t qos = 0;
    bool rap = false;
    bool durable = false;
    scratch_ids_.clear();
    for (; i < targets_.size() && targets_[i].key == key; ++i) {
      const Target& x = targets_[i];
      if (self && x.no_local) continue;
      any = true;
      qos = std::max(qos, x.qos);
      rap = rap || x.retain_as_published;
      durable = durable || x.durable;
      merge_targets(scratch_ids_, x.sub_id);
    }
    if (!any) continue;
    qos = std::min(qos, qos_cap);
    const bool retain = rap && p.retain;  // [MQTT-3.3.1-12,13]
    const int w = session_worker(key);
    ++delivered;
    // The last target takes this function's reference instead of a copy of it (one
    // atomic increment and decrement less per message with a single subscriber).
    const bool last = i == targets_.size();
    if (w == index_) {
      if (Session* s = lookup(key)) deliver_local(s, view, msg, qos, retain, scratch_ids_, last);
    } else {
      if (durable && qos > 0 && store_) {
        // Stored by that worker: an acknowledgement held for it waits for its batch too.
        route_durable_ = true;
        hold_to_[w] = 1;
      }
      Delivery d;
      d.msg = share(view, msg, last);
      d.key = key;
      d.qos = qos;
      d.retain = retain;
      d.sub_ids = scratch_ids_;
      outgoing_[w].push_back(std::move(d));
      ++outgoing_count_;
    }
  }
  return delivered;
}

void WorkerCore::match_targets(std::string_view topic, Session* from) {
  SubscriptionTrie& trie = broker_.trie();
  const uint64_t gen = trie.generation();
  if (gen != route_gen_) {
    route_cache_.clear();
    route_gen_ = gen;
    ++route_epoch_;
  }
  using Entry = decltype(route_cache_)::value_type;
  // A publisher usually publishes to the topic it published to last: its hint skips the
  // hash lookup.
  if (from && from->route_hint_epoch == route_epoch_) {
    const auto* e = static_cast<const Entry*>(from->route_hint);
    if (e->first == topic) {
      targets_ = e->second;
      return;
    }
  }
  if (auto it = route_cache_.find(topic); it != route_cache_.end()) {
    targets_ = it->second;
    if (from) {
      from->route_hint = &*it;
      from->route_hint_epoch = route_epoch_;
    }
    return;
  }
  targets_.clear();
  bool any_shared = false;
  trie.match(topic, [&](const Match& m) {
    any_shared = any_shared || m.shared;
    targets_.push_back({m.key, m.opts.qos, m.opts.retain_as_published, m.opts.no_local, m.opts.durable,
                        m.opts.subscription_id});
  });
  if (targets_.size() > 1) {
    std::sort(targets_.begin(), targets_.end(), [](const Target& a, const Target& b) { return a.key < b.key; });
  }
  if (any_shared) return;
  if (route_cache_.size() >= kRouteCacheMax) route_cache_.clear();
  auto [it, inserted] = route_cache_.emplace(std::string(topic), targets_);
  ++route_epoch_;  // an insert may move every entry
  if (from) {
    from->route_hint = &*it;
    from->route_hint_epoch = route_epoch_;
  }
}

const MessageRef& WorkerCore::materialize(const MsgView& v, MessageRef& msg) {
  if (!msg) {
    msg = MessageRef(Message::create(v.topic, v.props, v.payload, v.qos, v.retain, v.expiry_at_ms,
                                     v.expiry_interval, v.origin));
  }
  return msg;
}

MessageRef WorkerCore::share(const MsgView& v, MessageRef& msg, bool last) {
  materialize(v, msg);
  if (last) return std::move(msg);
  return msg;
}

void WorkerCore::deliver_local(Session* s, const MsgView& v, MessageRef& msg, uint8_t qos,
                               bool retain, const std::vector<uint32_t>& sub_ids, bool last) {
  const config::Config& cfg = *cfg_;
  // Read access is checked per delivery, so a reloaded ACL governs existing
  // subscriptions and retained messages alike.
  if (acl_denies(s, v.topic, Access::kRead)) return;
  if (!s->online()) {
    if (qos > 0 || cfg.queue_qos0_messages) enqueue(s, share(v, msg, last), qos, retain, sub_ids);
    return;
  }
  if (qos == 0) {
    if (congested(s) || s->closing) {
      stats_.pub_dropped.add();
      stats_.dropped_qos0_congested.add();
      return;
    }
    send_publish(s, v, 0, retain, 0, false, sub_ids);
    return;
  }
  // Behind queued messages even when the window has room (the pump stopped for congestion
  // or the byte budget): a newcomer never overtakes them [MQTT-4.6.0-6], which Mosquitto
  // 2.0.11 gets wrong (tests: *Overtake*, CoreOrder).
  if (window_full(s, v.payload.size()) || !s->queue.empty() || congested(s)) {
    enqueue(s, share(v, msg, last), qos, retain, sub_ids);
    return;
  }
  uint16_t pid = next_packet_id(s);
  if (!send_publish(s, v, qos, retain, pid, false, sub_ids)) return;
  InflightOut e;
  e.msg = share(v, msg, last);
  e.seq = s->last_seq;
  e.packet_id = pid;
  e.qos = qos;
  e.retain = retain;
  e.sub_ids = sub_ids;
  if (s->durable) {
    e.store_seq = ++s->store_seq;
    journal_append(s, e.msg, e.store_seq, qos, retain, sub_ids, pid, true);
    route_durable_ = true;
  }
  s->inflight_bytes += v.payload.size();
  s->inflight.push_back(std::move(e));
}

bool WorkerCore::window_full(const Session* s, size_t payload) const {
  // max_inflight_messages / the client's receive maximum, and max_inflight_bytes (which
  // never blocks a message when nothing is in flight, or nothing would ever move).
  if (s->inflight.size() >= s->send_window) return true;
  const uint64_t max_bytes = cfg_->max_inflight_bytes;
  return max_bytes && !s->inflight.empty() && s->inflight_bytes + payload > max_bytes;
}

void WorkerCore::inflight_erase(Session* s, size_t i) {
  InflightOut& e = s->inflight[i];
  if (e.msg) s->inflight_bytes -= e.msg->payload().size();
  journal_remove(s, e.store_seq);
  s->inflight.erase(i);
  ++s->completed_out;
}

uint16_t WorkerCore::next_packet_id(Session* s) {
  for (;;) {
    uint16_t id = s->next_packet_id++;
    if (s->next_packet_id == 0) s->next_packet_id = 1;
    const uint64_t seq = s->next_seq++;
    // Ids are considered in a fixed cycle and every one considered counts in seq, so an
    // id can only collide with an entry at least 65535 steps old; in-flight entries are
    // ordered by seq, so unless the oldest is that old no scan is needed [MQTT-2.2.1-4].
    bool used = false;
    if (!s->inflight.empty() && s->inflight.front().seq + 65535 <= seq) {
      for (size_t i = 0; i < s->inflight.size() && !used; ++i) used = s->inflight[i].packet_id == id;
    }
    if (!used) {
      s->last_seq = seq;
      return id;
    }
  }
}

bool WorkerCore::send_publish(Session* s, const MsgView& v, uint8_t qos, bool retain,
                              uint16_t packet_id, bool dup, const std::vector<uint32_t>& sub_ids) {
  const bool v5 = s->is_v5();
  std::optional<uint32_t> remaining;
  if (v.expiry_at_ms) {
    int64_t left = v.expiry_at_ms - broker_.clock().now_ms();
    if (left <= 0) {  // expired while waiting: never delivered
      stats_.pub_dropped.add();
      stats_.dropped_expired.add();
      return false;
    }
    remaining = static_cast<uint32_t>((left + 999) / 1000);
  }
  std::string& out = s->link->out();
  const size_t start = out.size();
  // A connection with topic aliases gets its own encoding (the alias differs per client).
  // So does one under a mount_point (the topic loses its prefix).
  const bool cacheable = sub_ids.empty() && !s->client_max_packet && !s->out_aliases && s->mount_point.empty();
  const int layout = (v5 ? 3 : 0) + qos;
  if (cacheable && cache_serial_ == v.serial && v.serial != 0 && cache_[layout].valid) {
    // Encoded once for this (message, version family, QoS): copy and patch.
    const auto& c = cache_[layout];
    size_t base = out.size();
    out.append(c.bytes);
    out[base] = static_cast<char>((out[base] & ~0x09) | (dup ? 0x08 : 0) | (retain ? 0x01 : 0));
    if (qos) {
      out[base + c.pid_off] = static_cast<char>(packet_id >> 8);
      out[base + c.pid_off + 1] = static_cast<char>(packet_id & 0xff);
    }
  } else {
    protocol::Publish p;
    p.dup = dup;
    p.qos = qos;
    p.retain = retain;
    p.topic = v.topic;
    if (!s->mount_point.empty() && p.topic.size() > s->mount_point.size() && p.topic.starts_with(s->mount_point))
      p.topic.remove_prefix(s->mount_point.size());
    p.packet_id = packet_id;
    p.message_expiry_interval = remaining;
    p.forward_props = v.props;
    p.payload = v.payload;
    if (v5 && !sub_ids.empty()) p.subscription_identifiers = sub_ids;
    const size_t full = s->client_max_packet ? protocol::publish_size(p, s->version) : 0;
    if (s->client_max_packet && full > s->client_max_packet) {
      stats_.pub_dropped.add();  // [MQTT-3.1.2-25]: never send a larger packet; as if sent
      stats_.dropped_too_large.add();
      return false;
    }
    // An alias makes the packet smaller, or 3 bytes larger when it is a new mapping: only
    // aliased when that still fits (a mapping is recorded only when it is sent).
    if (s->out_aliases && (!s->client_max_packet || full + 3 <= s->client_max_packet)) {
      OutAliases::Use a = s->out_aliases->use(p.topic);
      if (a.alias) {
        p.topic_alias = a.alias;
        if (a.known) p.topic = {};
      }
    }
    size_t base = out.size();
    size_t pid_at = protocol::encode_publish(p, s->version, out);
    if (cacheable && v.serial != 0) {
      if (cache_serial_ != v.serial) {
        for (auto& c : cache_) c.valid = false;
        cache_serial_ = v.serial;
      }
      auto& c = cache_[layout];
      c.bytes.assign(out, base, std::string::npos);
      c.pid_off = qos ? pid_at - base : 0;
      c.valid = true;
    }
  }
  // A QoS 2 PUBLISH to a stored session goes out once its record (with this packet id) is
  // stored: after a crash the session must know every id the client may hold. What
  // follows it to that client waits behind it.
  hold_behind(s, start, qos == 2);
  s->link->mark_dirty();
  stats_.pub_sent.add();
  stats_.msgs_sent.add();
  stats_.pub_bytes_sent.add(v.payload.size());
  return true;
}

void WorkerCore::enqueue(Session* s, MessageRef msg, uint8_t qos, bool retain,
                         const std::vector<uint32_t>& sub_ids) {
  const config::Config& cfg = *cfg_;
  if ((cfg.max_queued_messages > 0 && s->queue.size() >= size_t(cfg.max_queued_messages)) ||
      (cfg.max_queued_bytes > 0 && s->queued_bytes + msg->payload().size() > cfg.max_queued_bytes)) {
    stats_.pub_dropped.add();
    stats_.dropped_queue_full.add();
    // A bridge's local session is its out-queue: what it drops counts in the bridge's
    // status and metrics, and is a warning (acknowledged messages that will not reach the
    // remote). Logged once per episode (until the queue is half empty again).
    if (s->bridge_link) s->bridge_link->dropped.fetch_add(1, std::memory_order_relaxed);
    if (s->queue_drops++ == 0) {
      PETREL_LOG(broker_.log(), s->bridge_link ? kLogWarning : kLogNotice,
                 "Outgoing messages are being dropped for {} {}: its queue is full ({} messages, {} bytes; "
                 "max_queued_messages {}, max_queued_bytes {}).",
                 s->bridge_link ? "bridge session" : "client", s->client_id, s->queue.size(),
                 s->queued_bytes, cfg.max_queued_messages, cfg.max_queued_bytes);
    }
    return;
  }
  s->queued_bytes += msg->payload().size();
  uint64_t seq = 0;
  if (s->durable) {
    seq = ++s->store_seq;
    journal_append(s, msg, seq, qos, retain, sub_ids, 0, false);
    if (qos > 0) route_durable_ = true;
  }
  s->queue.push_back(QueuedMsg{std::move(msg), qos, retain, sub_ids, seq});
  // A bridge whose remote is down drains nothing: holding publishers back would only
  // stall them, so its queue fills to its bound instead (drops counted and logged above).
  if (s->online() && !s->queue_pressure && queue_over_high(*s, cfg) &&
      !(s->bridge_link && !s->bridge_link->remote_up.load(std::memory_order_relaxed))) {
    s->queue_pressure = true;
    s->link->set_queue_pressure(true);
  }
}

void WorkerCore::pump_queue(Session* s) {
  while (s->online() && !s->closing && !s->queue.empty() && !congested(s)) {
    QueuedMsg& q = s->queue.front();
    if (q.qos > 0 && window_full(s, q.msg->payload().size())) break;
    MessageRef msg = std::move(q.msg);
    uint8_t qos = q.qos;
    bool retain = q.retain;
    const uint64_t store_seq = q.store_seq;
    std::vector<uint32_t> ids = std::move(q.sub_ids);
    s->queued_bytes -= msg->payload().size();
    s->queue.pop_front();
    if (s->queue_drops && s->queue.size() * 2 <= size_t(std::max<int64_t>(cfg_->max_queued_messages, 0))) {
      // Half empty again: the next overflow is a new episode, logged again.
      PETREL_LOG(broker_.log(), s->bridge_link ? kLogWarning : kLogNotice,
                 "Messages are queued for {} again ({} dropped while its queue was full).", s->client_id,
                 s->queue_drops);
      s->queue_drops = 0;
    }
    if (s->queue_pressure && queue_under_low(*s, *cfg_)) {
      s->queue_pressure = false;
      s->link->set_queue_pressure(false);
    }
    MsgView v = view_of(*msg);
    if (qos == 0) {
      send_publish(s, v, 0, retain, 0, false, ids);
      journal_remove(s, store_seq);
      continue;
    }
    uint16_t pid = next_packet_id(s);
    if (!send_publish(s, v, qos, retain, pid, false, ids)) {
      journal_remove(s, store_seq);  // expired, or too large for this client
      continue;
    }
    journal_sent(s, store_seq, pid, false);
    InflightOut e;
    e.msg = std::move(msg);
    e.seq = s->last_seq;
    e.packet_id = pid;
    e.qos = qos;
    e.retain = retain;
    e.sub_ids = std::move(ids);
    e.store_seq = s->durable ? store_seq : 0;
    s->inflight_bytes += e.msg->payload().size();
    s->inflight.push_back(std::move(e));
  }
  // Retained messages of new subscriptions come after the queue (they wait in their own
  // list rather than in it, so max_queued_* never drops them).
  if (!s->retained_pending.empty() && s->queue.empty()) send_retained_chunk(s);
}

void WorkerCore::on_drained(Session* s) {
  if (s && s->online()) pump_queue(s);
}

void WorkerCore::resend_inflight(Session* s) {
  // [MQTT-4.4.0-1]: on a resumed session, re-send unacknowledged PUBLISH (DUP set) and
  // PUBREL packets in their original order.
  for (size_t i = 0; i < s->inflight.size();) {
    InflightOut& e = s->inflight[i];
    if (e.released) {
      protocol::encode_ack(PacketType::kPubrel, e.packet_id, 0, s->version, s->link->out());
      s->link->mark_dirty();
      ++i;
      continue;
    }
    if (!send_publish(s, view_of(*e.msg), e.qos, e.retain, e.packet_id, true, e.sub_ids)) {
      inflight_erase(s, i);  // expired or too large for the new connection
      continue;
    }
    ++i;
  }
}

MsgView WorkerCore::view_of(const Message& m) {
  return MsgView{m.topic(), m.props(), m.payload(), m.expiry_at_ms(), m.expiry_interval(), 0,
                 m.qos(), m.retain(), m.origin()};
}

void WorkerCore::deliver_batch(std::vector<Delivery>& batch, std::shared_ptr<DurableHold> hold) {
  const size_t journaled = batch_.size();
  for (auto& d : batch) {
    Session* s = lookup(d.key);
    if (!s) continue;
    if (d.msg.get() != last_batch_msg_) {
      last_batch_msg_ = d.msg.get();
      ++serial_;
    }
    MsgView v = view_of(*d.msg);
    v.serial = serial_;
    deliver_local(s, v, d.msg, d.qos, d.retain, d.sub_ids);
  }
  last_batch_msg_ = nullptr;
  batch.clear();
  // The sender's acknowledgements wait for what these deliveries stored (nothing stored:
  // the hold is dropped here).
  if (hold && batch_.size() > journaled) batch_holds_.push_back(std::move(hold));
}

void WorkerCore::end_of_turn() {
  outgoing_count_ = 0;
  flush_journal(false);
  for (size_t w = 0; w < outgoing_.size(); ++w) {
    if (outgoing_[w].empty()) continue;
    std::vector<Delivery> b;
    b.swap(outgoing_[w]);
    std::shared_ptr<DurableHold> hold;
    if (!hold_to_.empty() && hold_to_[w]) {
      hold_to_[w] = 0;
      hold = turn_hold_;
    }
    hub_.send_batch(static_cast<int>(w), std::move(b), std::move(hold));
  }
  turn_hold_.reset();
}

RetainSourcePtr WorkerCore::retain_source_of(Session* s) {
  if (!s || s->listener == kInternalListener) return nullptr;
  if (!s->retain_source) {
    s->retain_source = std::make_shared<const RetainSource>(RetainSource{s->client_id, s->username, s->listener});
  }
  return s->retain_source;
}

void WorkerCore::publish_internal(std::string_view topic, std::string_view payload, bool retain) {
  protocol::Publish p;
  p.topic = topic;
  p.payload = payload;
  p.retain = retain;
  route(p, topic, 0);
}

void WorkerCore::publish_will(Session* s, protocol::Will& w) {
  std::string props;
  protocol::encode_forward_props(w.props, props);
  protocol::Publish p;
  p.qos = w.qos;
  p.retain = w.retain && cfg_->retain_available;
  p.topic = w.topic;
  p.payload = w.payload;
  p.forward_props = props;
  p.message_expiry_interval = w.props.message_expiry_interval;
  PETREL_LOG(broker_.log(), kLogDebug, "Publishing will of {} on {}.", s->client_id, w.topic);
  route(p, w.topic, s->key, s);  // s: the will's publisher, if it is retained
}

}  // namespace petrel::broker
