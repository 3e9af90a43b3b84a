#include "persist/store.h"

#include <future>
#include <map>

namespace petrel::persist {

SessionHeader SessionHeader::of(const SessionRecord& s) {
  SessionHeader h;
  h.client_id = s.client_id;
  h.username = s.username;
  h.protocol_version = s.protocol_version;
  h.expiry_interval = s.expiry_interval;
  h.disconnected_wall_s = s.disconnected_wall_s;
  h.will = s.will;
  h.will_due_wall_s = s.will_due_wall_s;
  return h;
}

namespace {

// Outgoing records that share a non-zero message_id share one stored message.
void add_session(Batch& b, const SessionRecord& s,
                 std::map<uint64_t, std::shared_ptr<const MessageRecord>>& shared) {
  b.erase_session(s.client_id);
  b.put_session(SessionHeader::of(s));
  for (const auto& sub : s.subscriptions) b.put_subscription(s.client_id, sub);
  for (uint16_t id : s.qos2_incoming) b.add_qos2_incoming(s.client_id, id);
  for (const auto& o : s.outgoing) {
    OutgoingEntry e;
    e.seq = o.seq;
    e.msg.id = o.message_id;
    if (o.message_id != 0) {
      auto& rec = shared[o.message_id];
      if (!rec) rec = std::make_shared<const MessageRecord>(o.msg);
      e.msg.record = rec;
    } else {
      e.msg.record = std::make_shared<const MessageRecord>(o.msg);
    }
    e.qos = o.qos;
    e.retain = o.retain;
    e.subscription_ids = o.subscription_ids;
    e.packet_id = o.packet_id;
    e.state = o.state;
    b.append_outgoing(s.client_id, std::move(e));
  }
}

}  // namespace

void Batch::replace_session(const SessionRecord& s) {
  std::map<uint64_t, std::shared_ptr<const MessageRecord>> shared;
  add_session(*this, s, shared);
}

void Batch::add_snapshot(const Snapshot& snap) {
  for (const auto& r : snap.retained) put_retained(r);
  std::map<uint64_t, std::shared_ptr<const MessageRecord>> shared;
  for (const auto& s : snap.sessions) add_session(*this, s, shared);
  for (const auto& [bridge, queue] : snap.bridge_queues) {
    for (const auto& q : queue) bridge_push(bridge, q.seq, q.msg);
  }
}

bool Store::write(Batch batch) {
  std::promise<bool> done;
  auto result = done.get_future();
  submit(std::move(batch), [&done](bool ok) { done.set_value(ok); });
  return result.get();
}

}  // namespace petrel::persist
