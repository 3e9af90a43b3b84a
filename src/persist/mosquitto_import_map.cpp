// From Mosquitto's records to Petrel's model: the meaning of Mosquitto's message states,
// expiry, delivery order and the protocol version (which neither format stores), decided
// once for both formats. Anything that does not hold together (a message id nothing defines,
// a value out of range, a client twice) fails the whole import.
#include <algorithm>
#include <limits>
#include <set>
#include <unordered_map>

#include "persist/mosquitto_import_internal.h"
#include "protocol/codec.h"
#include "protocol/topic.h"
#include "protocol/utf8.h"

namespace petrel::persist::mosq {

namespace {

constexpr uint32_t kNeverExpires = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxString = 65535;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool valid_string(std::string_view s) { return s.size() <= kMaxString && protocol::valid_mqtt_utf8(s); }

std::optional<std::string> check_message(const BaseMsg& m, std::string_view what) {
  if (!protocol::valid_topic_name(m.topic) || !protocol::valid_mqtt_utf8(m.topic))
    return std::string(what) + " has an invalid topic " + quoted(m.topic);
  if (m.qos > 2) return std::string(what) + " has QoS " + std::to_string(m.qos);
  if (m.expiry_time < 0) return std::string(what) + " has a negative expiry time";
  return std::nullopt;
}

bool expired(const BaseMsg& m, int64_t now) { return m.expiry_time != 0 && m.expiry_time <= now; }

// Neither format keeps the original Message Expiry Interval, only the time it ends; what is
// left of it now is what Mosquitto itself would forward after a restart.
MessageRecord to_record(const BaseMsg& m, int64_t now) {
  MessageRecord r;
  r.topic = m.topic;
  r.payload = m.payload;
  r.props = m.props;
  r.qos = m.qos;
  r.retain = m.retain;
  r.expiry_wall_s = m.expiry_time;
  if (m.expiry_time != 0) {
    int64_t left = 0;
    if (__builtin_sub_overflow(m.expiry_time, now, &left)) left = kNeverExpires;
    r.expiry_interval = uint32_t(std::clamp<int64_t>(left, 1, kNeverExpires));
  }
  return r;
}

// An outgoing message from its Mosquitto state. Returns false when the state is not one an
// outgoing message can be in.
bool out_state(const ClientMsg& cm, OutgoingRecord& o) {
  switch (cm.state) {
    case state::kQueued:
    case state::kPublishQos0:
      o.state = OutgoingRecord::State::kQueued;
      return true;
    case state::kPublishQos1:    // to be sent (perhaps again after a reconnect)
    case state::kWaitForPuback:
    case state::kPublishQos2:
    case state::kWaitForPubrec:
      // Keep its packet id: at QoS 2 the client may already hold it under that id.
      o.state = cm.qos > 0 && cm.mid != 0 ? OutgoingRecord::State::kSent
                                          : OutgoingRecord::State::kQueued;
      o.packet_id = o.state == OutgoingRecord::State::kSent ? cm.mid : 0;
      return true;
    case state::kResendPubrel:
    case state::kWaitForPubcomp:
      if (cm.qos != 2 || cm.mid == 0) return false;
      o.state = OutgoingRecord::State::kReleased;
      o.packet_id = cm.mid;
      return true;
    default:
      return false;
  }
}

std::optional<std::string> check_subscription(const Sub& s, SubscriptionRecord& r) {
  const std::string what = "subscription " + quoted(s.filter) + " of " + quoted(s.client_id);
  if (!protocol::valid_topic_filter(s.filter) || !protocol::valid_mqtt_utf8(s.filter))
    return what + " is not a valid topic filter";
  r.filter = s.filter;
  r.qos = s.options & 0x03;
  r.no_local = (s.options & 0x04) != 0;
  r.retain_as_published = (s.options & 0x08) != 0;
  r.retain_handling = (s.options >> 4) & 0x03;
  r.identifier = s.identifier;
  if (r.qos > 2 || r.retain_handling > 2 || (s.options & 0xC0) != 0)
    return what + " has invalid options " + std::to_string(s.options);
  if (s.identifier > 268'435'455) return what + " has identifier " + std::to_string(s.identifier);
  return std::nullopt;
}

// Neither format records the protocol version. A session that never expires is how
// Mosquitto keeps an MQTT 3.1.1 clean-session-false client; anything MQTT 5 only (another
// expiry, subscription options or identifiers, a will delay) makes it 5. A 3.1 client is
// indistinguishable from a 3.1.1 one.
uint8_t infer_version(const SessionRecord& s) {
  if (s.expiry_interval != kNeverExpires) return 5;
  for (const auto& sub : s.subscriptions) {
    if (sub.identifier || sub.no_local || sub.retain_as_published || sub.retain_handling) return 5;
  }
  for (const auto& o : s.outgoing) {
    if (!o.subscription_ids.empty()) return 5;
  }
  if (s.will && (s.will->delay_interval || !s.will->msg.props.empty())) return 5;
  return 4;
}

}  // namespace

std::optional<std::string> encode_forwarded(const protocol::Properties& p, std::string& out) {
  for (const auto* s : {&p.content_type, &p.response_topic}) {
    if (*s && !valid_string(**s)) return std::string("a property string is too long or not UTF-8");
  }
  if (p.correlation_data && p.correlation_data->size() > kMaxString) return std::string("correlation data too long");
  if (p.payload_format_indicator && *p.payload_format_indicator > 1) return std::string("bad payload format indicator");
  if (p.response_topic && !protocol::valid_topic_name(*p.response_topic)) return std::string("bad response topic");
  for (const auto& [k, v] : p.user_properties) {
    if (!valid_string(k) || !valid_string(v)) return std::string("a user property is too long or not UTF-8");
  }
  out.clear();
  protocol::encode_forward_props(p, out);
  return std::nullopt;
}

namespace {

using Err = std::optional<std::string>;

// Builds the snapshot one kind of record at a time; each step returns the first problem.
class Builder {
 public:
  Builder(Records& r, int64_t now, Snapshot& out) : r_(r), now_(now), out_(out) {}

  Err messages() {
    for (const auto& [id, m] : r_.msgs) {
      if (auto e = check_message(m, "message " + std::to_string(id))) return e;
    }
    return std::nullopt;
  }

  // Retained messages, by topic.
  Err retained() {
    std::set<std::string> topics;
    for (const auto& ret : r_.retains) {
      const BaseMsg* m = find_msg(ret.store_id);
      if (!m) return "retained message " + std::to_string(ret.store_id) + " is not in the file";
      const std::string& topic = ret.topic.empty() ? m->topic : ret.topic;
      if (!protocol::valid_topic_name(topic) || !protocol::valid_mqtt_utf8(topic))
        return "retained message with an invalid topic " + quoted(topic);
      if (!topics.insert(topic).second) return "two retained messages for " + quoted(topic);
      if (expired(*m, now_)) continue;
      RetainedRecord rec{to_record(*m, now_)};
      rec.msg.topic = topic;
      rec.msg.retain = true;
      if (!valid_string(m->source_id) || !valid_string(m->source_username))
        return "retained message " + quoted(topic) + " has a publisher whose client id or user name is not valid";
      rec.source_client_id = m->source_id;
      rec.source_username = m->source_username;
      rec.source_port = m->source_port;
      out_.retained.push_back(std::move(rec));
    }
    std::sort(out_.retained.begin(), out_.retained.end(),
              [](const auto& a, const auto& b) { return a.msg.topic < b.msg.topic; });
    return std::nullopt;
  }

  // Sessions, by client id.
  Err sessions() {
    std::sort(r_.clients.begin(), r_.clients.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    for (size_t i = 0; i < r_.clients.size(); ++i) {
      const Client& c = r_.clients[i];
      if (c.id.empty() || !valid_string(c.id)) return "client id " + quoted(c.id) + " is not valid";
      if (!valid_string(c.username)) return "user name of " + quoted(c.id) + " is not valid";
      if (!by_id_.emplace(c.id, i).second) return "client " + quoted(c.id) + " appears twice";
      if (c.session_expiry_time < 0 || c.will_delay_time < 0) return "client " + quoted(c.id) + " has a negative time";
      SessionRecord s;
      s.client_id = c.id;
      s.username = c.username;
      s.expiry_interval = c.session_expiry_interval;
      // Mosquitto keeps when the session ends; its last connection ended one interval before.
      if (c.session_expiry_time > 0 && c.session_expiry_interval != kNeverExpires &&
          c.session_expiry_time >= int64_t(c.session_expiry_interval))
        s.disconnected_wall_s = c.session_expiry_time - int64_t(c.session_expiry_interval);
      out_.sessions.push_back(std::move(s));  // out_.sessions[i] is r_.clients[i]
    }
    return std::nullopt;
  }

  Err subscriptions() {
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& sub : r_.subs) {
      SessionRecord* s = session(sub.client_id);
      if (!s) return "subscription " + quoted(sub.filter) + " of " + quoted(sub.client_id) + ", which has no session";
      SubscriptionRecord rec;
      if (auto e = check_subscription(sub, rec)) return e;
      if (!seen.emplace(sub.client_id, sub.filter).second)
        return "two subscriptions to " + quoted(rec.filter) + " for " + quoted(sub.client_id);
      s->subscriptions.push_back(std::move(rec));
    }
    return std::nullopt;
  }

  Err client_msgs() {
    for (const auto& cm : r_.client_msgs) {
      SessionRecord* s = session(cm.client_id);
      const std::string what = "a message held for " + quoted(cm.client_id);
      if (!s) return what + ", which has no session";
      const BaseMsg* m = find_msg(cm.store_id);
      if (!m) return what + " refers to message " + std::to_string(cm.store_id) + ", which is not in the file";
      if (cm.qos > 2) return what + " has QoS " + std::to_string(cm.qos);
      if (cm.state < state::kPublishQos0 || cm.state > state::kQueued)
        return what + " has an unknown state " + std::to_string(cm.state);
      if (cm.direction == kDirIn) {
        // A QoS 2 PUBLISH from the client, acknowledged with PUBREC: its id must stay known
        // so that a resent PUBLISH is not delivered twice. (Mosquitto would publish the
        // message on PUBREL; the model has no place for that, see docs/persistence-import.md.)
        // Those not acknowledged yet are left for the client to send again.
        auto& in = s->qos2_incoming;
        if (cm.state == state::kWaitForPubrel && cm.mid != 0 && std::find(in.begin(), in.end(), cm.mid) == in.end())
          in.push_back(cm.mid);
        continue;
      }
      if (cm.direction != kDirOut) return what + " has an unknown direction " + std::to_string(cm.direction);
      OutgoingRecord o;
      if (!out_state(cm, o)) return what + " is in state " + std::to_string(cm.state) + ", impossible for it";
      // An expired message is dropped unless only its PUBREL is still owed.
      if (expired(*m, now_) && o.state != OutgoingRecord::State::kReleased) continue;
      o.msg = to_record(*m, now_);
      o.qos = cm.qos;
      o.retain = cm.retain;
      for (uint32_t id : cm.subscription_ids) {
        if (id == 0 || id > 268'435'455) return what + " has subscription identifier " + std::to_string(id);
      }
      o.subscription_ids = cm.subscription_ids;
      s->outgoing.push_back(std::move(o));
    }
    return std::nullopt;
  }

  Err wills() {
    for (const auto& w : r_.wills) {
      auto it = by_id_.find(w.client_id);
      // The will of a client without a persistent session: Mosquitto publishes it when it
      // loads; the model only holds wills of sessions (see docs/persistence-import.md).
      if (it == by_id_.end()) continue;
      if (auto e = check_message(w.msg, "the will of " + quoted(w.client_id))) return e;
      const Client& c = r_.clients[it->second];
      SessionRecord& s = out_.sessions[it->second];
      s.will = WillRecord{to_record(w.msg, now_), c.will_delay_interval};
      // When Mosquitto did not note the time (the client was connected), the delay starts now.
      int64_t due = c.will_delay_time;
      if (due == 0 && __builtin_add_overflow(now_, int64_t(c.will_delay_interval), &due)) due = now_;
      s.will_due_wall_s = due;
    }
    return std::nullopt;
  }

  Err finish() {
    for (auto& s : out_.sessions) {
      // In flight first (in the order they were sent), then the queued ones.
      std::stable_partition(s.outgoing.begin(), s.outgoing.end(), [](const OutgoingRecord& o) {
        return o.state != OutgoingRecord::State::kQueued;
      });
      std::set<uint16_t> ids;
      for (const auto& o : s.outgoing) {
        if (o.packet_id != 0 && !ids.insert(o.packet_id).second)
          return "two messages in flight to " + quoted(s.client_id) + " with packet id " + std::to_string(o.packet_id);
      }
      std::sort(s.subscriptions.begin(), s.subscriptions.end(),
                [](const auto& a, const auto& b) { return a.filter < b.filter; });
      s.protocol_version = infer_version(s);
    }
    return std::nullopt;
  }

 private:
  const BaseMsg* find_msg(uint64_t id) const {
    auto it = r_.msgs.find(id);
    return it == r_.msgs.end() ? nullptr : &it->second;
  }
  SessionRecord* session(const std::string& id) {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &out_.sessions[it->second];
  }

  Records& r_;
  int64_t now_;
  Snapshot& out_;
  std::unordered_map<std::string, size_t> by_id_;  // index in r_.clients and out_.sessions
};

}  // namespace

std::optional<std::string> build_snapshot(Records&& r, int64_t now, Snapshot& out) {
  out = Snapshot{};
  Builder b(r, now, out);
  for (auto step : {&Builder::messages, &Builder::retained, &Builder::sessions, &Builder::subscriptions,
                    &Builder::client_msgs, &Builder::wills, &Builder::finish}) {
    if (auto e = (b.*step)()) {
      out = Snapshot{};
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace petrel::persist::mosq
