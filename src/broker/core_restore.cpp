// WorkerCore: a stored session brought back at start (the store's snapshot, before any
// client connects): its subscriptions, outgoing messages (shared ones once), QoS 2 ids and
// the will a crash left due.
#include <algorithm>

#include "broker/worker_core.h"

namespace petrel::broker {

using persist::OutgoingRecord;
using protocol::PacketType;

namespace {
protocol::Version version_of(uint8_t n) {
  switch (n) {
    case 3: return protocol::Version::kV31;
    case 5: return protocol::Version::kV5;
    default: return protocol::Version::kV311;
  }
}
}  // namespace

void WorkerCore::restore_session(const persist::SessionRecord& r, std::unordered_map<uint64_t, MessageRef>& shared) {
  const int64_t now_ms = broker_.clock().now_ms();
  const int64_t now_wall = broker_.clock().wall_seconds();
  auto mono_of = [&](int64_t wall_s) -> int64_t {
    if (wall_s == 0) return 0;
    return std::max<int64_t>(1, now_ms + (wall_s - now_wall) * 1000);
  };
  Session* s = new_session(r.client_id);
  s->username = r.username;
  s->version = version_of(r.protocol_version);
  s->clean = false;
  s->expiry_interval = r.expiry_interval;
  s->durable = true;  // it came from the store
  if (r.expiry_interval == UINT32_MAX) {
    s->expire_at_ms = 0;
  } else {
    // Downtime counts towards the expiry; a session whose disconnection time is unknown
    // (the broker stopped while it was connected) counts from now.
    const int64_t since = r.disconnected_wall_s ? r.disconnected_wall_s : now_wall;
    s->expire_at_ms = std::max<int64_t>(1, now_ms + (since + int64_t(r.expiry_interval) - now_wall) * 1000);
  }
  for (const auto& sub : r.subscriptions) {
    SubOptions o;
    o.qos = sub.qos;
    o.no_local = sub.no_local;
    o.retain_as_published = sub.retain_as_published;
    o.retain_handling = sub.retain_handling;
    o.subscription_id = sub.identifier;
    o.durable = true;
    broker_.trie().subscribe(s->key, sub.filter, o);
    if (sub.filter.rfind("$share/", 0) == 0) broker_.trie().set_shared_online(s->key, sub.filter, false);
    s->subs.push_back({sub.filter, o});
  }
  uint16_t max_pid = 0;
  for (const auto& o : r.outgoing) {
    MessageRef msg;
    if (o.state != OutgoingRecord::State::kReleased) {
      if (o.message_id) {
        if (auto it = shared.find(o.message_id); it != shared.end()) msg = it->second;
      }
      if (!msg) {
        const auto& m = o.msg;
        msg = MessageRef(Message::create(m.topic, m.props, m.payload, m.qos, m.retain, mono_of(m.expiry_wall_s),
                                         m.expiry_interval, 0));
        msg->store_id().store(o.message_id);
        if (o.message_id) shared.emplace(o.message_id, msg);
      }
    }
    s->store_seq = std::max(s->store_seq, o.seq);
    if (o.state == OutgoingRecord::State::kQueued) {
      s->queued_bytes += msg->payload().size();
      s->queue.push_back(QueuedMsg{std::move(msg), o.qos, o.retain, o.subscription_ids, o.seq});
      continue;
    }
    InflightOut e;
    e.msg = std::move(msg);
    e.seq = s->next_seq++;
    s->last_seq = e.seq;
    e.packet_id = o.packet_id;
    e.qos = o.qos;
    e.retain = o.retain;
    e.released = o.state == OutgoingRecord::State::kReleased;
    e.sub_ids = o.subscription_ids;
    e.store_seq = o.seq;
    if (e.msg) s->inflight_bytes += e.msg->payload().size();
    max_pid = std::max(max_pid, o.packet_id);
    s->inflight.push_back(std::move(e));
  }
  s->next_packet_id = max_pid == 65535 ? 1 : static_cast<uint16_t>(max_pid + 1);
  s->qos2_in = r.qos2_incoming;
  if (r.will) {
    auto w = std::make_unique<protocol::Will>();
    w->topic = r.will->msg.topic;
    w->payload = r.will->msg.payload;
    w->qos = r.will->msg.qos;
    w->retain = r.will->msg.retain;
    if (!r.will->msg.props.empty()) {
      if (auto p = protocol::parse_properties(r.will->msg.props, PacketType::kPublish)) w->props = std::move(*p);
    }
    if (r.will->msg.expiry_interval) w->props.message_expiry_interval = r.will->msg.expiry_interval;
    if (r.will->delay_interval) w->props.will_delay_interval = r.will->delay_interval;
    if (r.will_due_wall_s) {
      s->will_at_ms = mono_of(r.will_due_wall_s);
    } else {
      // Its connection was open when the broker stopped without closing it (a crash): it
      // ended then, without DISCONNECT, so the will follows the usual rules from now (its
      // delay counts from the restart, as the downtime is not known), bounded by the
      // session's end as in end_connection.
      const uint32_t delay = s->version == protocol::Version::kV5 && s->expiry_interval > 0 ? r.will->delay_interval : 0;
      s->will_at_ms = now_ms + int64_t(delay) * 1000;
      if (s->expire_at_ms && s->will_at_ms > s->expire_at_ms) s->will_at_ms = s->expire_at_ms;
    }
    s->delayed_will = std::move(w);
  }
}

}  // namespace petrel::broker
