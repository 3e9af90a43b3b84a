// WorkerCore: packets from connected clients (everything but CONNECT).
#include <fmt/format.h>

#include <algorithm>

#include "broker/worker_core.h"
#include "protocol/reason_codes.h"
#include "protocol/topic.h"

namespace petrel::broker {

using protocol::PacketType;
using protocol::Version;
namespace rc = protocol::rc;

namespace {

// $SYS/broker/connection/<client id>/state: the one $SYS topic clients may publish, as in
// Mosquitto — other brokers' bridges announce themselves there (retained 1/0 and a will).
bool bridge_state_topic(std::string_view topic) {
  constexpr std::string_view kPrefix = "$SYS/broker/connection/", kSuffix = "/state";
  if (!topic.starts_with(kPrefix) || !topic.ends_with(kSuffix)) return false;
  const auto id = topic.substr(kPrefix.size(), topic.size() - kPrefix.size() - kSuffix.size());
  return topic.size() > kPrefix.size() + kSuffix.size() && id.find('/') == std::string_view::npos;
}
void strip_optional(protocol::Ack& a) { a.reason_string.clear(); a.user_properties.clear(); }
void strip_optional(protocol::Disconnect& d) { d.props.reason_string.reset(); d.props.user_properties.clear(); }
}  // namespace

template <class P>
void WorkerCore::append_within_max(Session* s, P& pkt) {
  // [MQTT-3.4.2-2], [MQTT-3.14.2-3]: a reason string (or user property) that would make
  // the packet exceed the client's Maximum Packet Size is left out.
  std::string& out = s->link->out();
  const size_t base = out.size();
  protocol::encode(pkt, s->version, out);
  if (s->client_max_packet && out.size() - base > s->client_max_packet) {
    out.resize(base);
    strip_optional(pkt);
    protocol::encode(pkt, s->version, out);
  }
}
template void WorkerCore::append_within_max(Session*, protocol::Ack&);
template void WorkerCore::append_within_max(Session*, protocol::Disconnect&);

bool WorkerCore::on_frame(Session* s, uint8_t header, std::string_view body) {
  if (!s || s->closing || !s->online()) return false;
  s->last_rx_ms = broker_.clock().now_ms();
  stats_.msgs_received.add();
  const auto type = static_cast<PacketType>(header >> 4);
  if (type == PacketType::kPublish) return handle_publish(s, header, body);
  if (type >= PacketType::kPuback && type <= PacketType::kPubcomp) {
    auto a = protocol::decode_ack(header, body, s->version);
    if (!a) return protocol_violation(s, a.error().code ? a.error().code : rc::kMalformedPacket, a.error().message);
    return handle_ack(s, *a);
  }
  switch (type) {
    case PacketType::kConnect:
      return protocol_violation(s, rc::kProtocolError, "second CONNECT");  // [MQTT-3.1.0-2]
    case PacketType::kConnack:
    case PacketType::kSuback:
    case PacketType::kUnsuback:
    case PacketType::kPingresp:
      return protocol_violation(s, rc::kProtocolError,
                                fmt::format("{} is sent by servers only", protocol::packet_type_name(type)));
    default:
      break;
  }
  auto decoded = protocol::decode(header, body, s->version);
  if (!decoded) return protocol_violation(s, decoded.error().code ? decoded.error().code : rc::kMalformedPacket, decoded.error().message);
  protocol::Packet& pkt = *decoded;
  switch (type) {
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
      return handle_ack(s, std::get<protocol::Ack>(pkt));
    case PacketType::kSubscribe:
      return handle_subscribe(s, std::get<protocol::Subscribe>(pkt));
    case PacketType::kUnsubscribe:
      return handle_unsubscribe(s, std::get<protocol::Unsubscribe>(pkt));
    case PacketType::kPingreq: {
      const size_t from = s->link->out().size();
      protocol::encode_pingresp(s->link->out());
      hold_behind(s, from, false);
      s->link->mark_dirty();
      stats_.msgs_sent.add();
      return true;
    }
    case PacketType::kDisconnect:
      return handle_disconnect(s, std::get<protocol::Disconnect>(pkt));
    case PacketType::kAuth:
      // No enhanced authentication: AUTH without an authentication method in CONNECT is
      // a protocol error [MQTT-4.12.0-1].
      return protocol_violation(s, rc::kProtocolError, "AUTH without authentication method");
    default:
      return protocol_violation(s, rc::kProtocolError,
                                fmt::format("unexpected {} from client", protocol::packet_type_name(type)));
  }
}

bool WorkerCore::protocol_violation(Session* s, uint8_t reason, const std::string& why) {
  PETREL_LOG(broker_.log(), kLogNotice, "Client {} from {} disconnected: {} ({}).", s->client_id,
             s->link->peer(), protocol::reason_code_name(reason), why);
  disconnect_client(s, reason, &why, true);  // [MQTT-3.1.2-8]: the will is published
  return false;
}


void WorkerCore::send_reason_string_ack(Session* s, PacketType t, uint16_t id, uint8_t reason,
                                        const char* why) {
  if (s->is_v5() && s->problem_info && why && reason >= 0x80) {
    protocol::Ack a;
    a.type = t;
    a.packet_id = id;
    a.reason = reason;
    a.reason_string = why;
    append_within_max(s, a);
  } else {
    protocol::encode_ack(t, id, s->is_v5() ? reason : 0, s->version, s->link->out());
  }
  s->link->mark_dirty();
  stats_.msgs_sent.add();
}

bool WorkerCore::handle_publish(Session* s, uint8_t header, std::string_view body) {
  auto decoded = protocol::decode_publish(header, body, s->version, publish_scratch_);
  if (!decoded) return protocol_violation(s, decoded.error().code ? decoded.error().code : rc::kMalformedPacket, decoded.error().message);
  auto& p = *decoded;
  const config::Config& cfg = *cfg_;
  if (!p.subscription_identifiers.empty())
    return protocol_violation(s, rc::kProtocolError, "subscription identifier in PUBLISH");  // [MQTT-3.3.4-6]
  if (p.qos > s->max_qos) return protocol_violation(s, rc::kQosNotSupported, "QoS above max_qos");
  if (p.retain && !cfg.retain_available)
    return protocol_violation(s, rc::kRetainNotSupported, "retain not available");

  std::string_view topic = p.topic;
  if (p.topic_alias) {
    uint16_t a = *p.topic_alias;
    if (a == 0 || a > s->max_topic_alias)  // [MQTT-3.3.2-9]
      return protocol_violation(s, rc::kTopicAliasInvalid, "topic alias out of range");
    if (!topic.empty()) {
      if (s->aliases.size() <= a) s->aliases.resize(size_t(a) + 1);
      s->aliases[a].assign(topic);
    } else {
      if (a >= s->aliases.size() || s->aliases[a].empty())
        return protocol_violation(s, rc::kProtocolError, "unknown topic alias");
      topic = s->aliases[a];
    }
  } else if (topic.empty()) {
    return protocol_violation(s, rc::kProtocolError, "empty topic without alias");
  }
  if (!s->mount_point.empty()) {
    // The client's topics live under its listener's mount_point (aliases stay in the
    // client's own names: they are resolved first).
    if (s->mount_point.size() + topic.size() > 65535)
      return protocol_violation(s, rc::kTopicNameInvalid, "topic too long under the listener's mount_point");
    mount_scratch_.assign(s->mount_point).append(topic);
    topic = mount_scratch_;
  }

  stats_.pub_received.add();
  stats_.pub_bytes_received.add(p.payload.size());

  if (p.qos == 2 && std::find(s->qos2_in.begin(), s->qos2_in.end(), p.packet_id) != s->qos2_in.end()) {
    // Re-sent before our PUBREL arrived: acknowledge again, deliver nothing new (after
    // the first PUBREC when that one is still held for the store).
    ack_or_hold(s, PacketType::kPubrec, p.packet_id, 0, nullptr, false);
    return true;
  }
  if (p.qos > 0 && s->is_v5()) {
    // Flow control (MQTT 5 section 4.9): QoS 1 and 2 PUBLISHes not answered by PUBACK /
    // PUBCOMP yet count against the Receive Maximum the CONNACK gave (QoS 1 ones only
    // while their PUBACK is held for the store); one more is DISCONNECT 0x93.
    const uint16_t recv_max = cfg.max_inflight_messages ? cfg.max_inflight_messages : 65535;
    if (s->qos2_in.size() + s->held_puback >= recv_max)
      return protocol_violation(s, rc::kReceiveMaximumExceeded, "receive maximum exceeded");
  }

  uint8_t ack_reason = 0;
  const char* why = nullptr;
  route_durable_ = false;  // set by route() when the message changed stored state
  if (cfg.message_size_limit && p.payload.size() > cfg.message_size_limit) {
    ack_reason = rc::kQuotaExceeded;
    why = "payload above message_size_limit";
    stats_.pub_dropped.add();
    stats_.dropped_too_large.add();
  } else if (topic.starts_with("$SYS") && s->listener != kInternalListener && !bridge_state_topic(topic)) {
    ack_reason = rc::kNotAuthorized;  // clients do not publish into the broker's tree
    why = "$SYS is read-only";
    stats_.publish_denied.add();
  } else if (acl_denies(s, topic, Access::kWrite)) {
    // v5: PUBACK/PUBREC 0x87; v3: the flow completes and the message is dropped.
    ack_reason = rc::kNotAuthorized;
    why = "not authorised to publish on this topic";
    stats_.publish_denied.add();
    PETREL_LOG(broker_.log(), kLogDebug, "Denied PUBLISH from {} on {}.", s->client_id, topic);
  } else if (broker_.memory_over() && s->listener != kInternalListener && !(p.retain && p.payload.empty())) {
    // memory_limit: refused before it costs anything (clearing a retained message frees
    // memory, so it passes). v5: 0x97; 3.x has no refusal, so the client is disconnected
    // and sends it again once it reconnects (as Mosquitto does).
    stats_.pub_dropped.add();
    if (p.qos == 0) return true;
    if (!s->is_v5()) {
      PETREL_LOG(broker_.log(), kLogNotice, "Client {} from {} disconnected: the broker is over memory_limit.",
                 s->client_id, s->link->peer());
      disconnect_client(s, rc::kQuotaExceeded, nullptr, true);  // the will is published [MQTT-3.1.2-8]
      return false;
    }
    ack_reason = rc::kQuotaExceeded;
    why = "the broker is over its memory_limit";
  } else if (store_ && p.qos > 0 && !store_->healthy() && would_store(p, topic, s)) {
    // The store fails (disk full): a message it would have to hold is refused before it
    // goes anywhere. v5: 0x97; 3.x has no refusal, so no acknowledgement (the client
    // sends it again after it reconnects).
    if (!s->is_v5()) {
      stats_.pub_dropped.add();
      return true;
    }
    ack_reason = rc::kQuotaExceeded;
    why = "the broker cannot store messages now";
    stats_.pub_dropped.add();
  } else if (cfg.enable_control_api && topic == "$CONTROL/broker/v1") {
    handle_control(s, p.payload);  // consumed: answered on .../response, not routed
  } else {
    size_t n = route(p, topic, s->key, s);
    if (n == 0) ack_reason = rc::kNoMatchingSubscribers;
  }

  // persistence_sync commit: acknowledged once what the message changed is stored.
  if (p.qos == 1) {
    ack_or_hold(s, PacketType::kPuback, p.packet_id, ack_reason, why, route_durable_);
  } else if (p.qos == 2) {
    if (ack_reason < 0x80) {
      s->qos2_in.push_back(p.packet_id);
      journal_qos2(s, p.packet_id, true);
    }
    ack_or_hold(s, PacketType::kPubrec, p.packet_id, ack_reason, why, route_durable_ || s->durable);
  }
  return true;
}

bool WorkerCore::handle_ack(Session* s, const protocol::Ack& a) {
  auto find = [&](uint8_t qos, bool released) -> size_t {
    for (size_t i = 0; i < s->inflight.size(); ++i) {
      const auto& e = s->inflight[i];
      if (e.packet_id == a.packet_id && e.qos == qos && e.released == released) return i;
    }
    return SIZE_MAX;
  };
  switch (a.type) {
    case PacketType::kPuback: {
      size_t i = find(1, false);
      if (i != SIZE_MAX) { inflight_erase(s, i); pump_queue(s); }
      return true;
    }
    case PacketType::kPubrec: {
      size_t i = find(2, false);
      if (i == SIZE_MAX) {
        if (find(2, true) == SIZE_MAX && s->is_v5()) {
          protocol::encode_ack(PacketType::kPubrel, a.packet_id, rc::kPacketIdentifierNotFound, s->version, s->link->out());
        } else {
          protocol::encode_ack(PacketType::kPubrel, a.packet_id, 0, s->version, s->link->out());
        }
        s->link->mark_dirty();
        return true;
      }
      if (a.reason >= 0x80) {  // the receiver refused: the flow ends here
        inflight_erase(s, i);
        pump_queue(s);
        return true;
      }
      s->inflight[i].released = true;
      const uint64_t stored = s->inflight[i].store_seq;
      journal_sent(s, stored, a.packet_id, true);
      // The message itself is no longer needed, nor does it count against the bytes.
      s->inflight_bytes -= s->inflight[i].msg->payload().size();
      s->inflight[i].msg.reset();
      // After a PUBREL the PUBLISH is never sent again (3.1.1 [MQTT-4.3.3-1]): a stored session's
      // PUBREL waits until its record says released.
      ack_or_hold(s, PacketType::kPubrel, a.packet_id, 0, nullptr, s->durable && stored != 0);
      return true;
    }
    case PacketType::kPubrel: {
      auto it = std::find(s->qos2_in.begin(), s->qos2_in.end(), a.packet_id);
      uint8_t reason = 0;
      if (it != s->qos2_in.end()) {
        *it = s->qos2_in.back();
        s->qos2_in.pop_back();
        journal_qos2(s, a.packet_id, false);
      } else if (s->is_v5()) {
        reason = rc::kPacketIdentifierNotFound;
      }
      // A stored session's PUBCOMP waits until its id is gone from the store: after a
      // restart a stale id would make the next message with that id a duplicate.
      ack_or_hold(s, PacketType::kPubcomp, a.packet_id, reason, nullptr, s->durable && reason == 0);
      return true;
    }
    case PacketType::kPubcomp: {
      size_t i = find(2, true);
      if (i != SIZE_MAX) { inflight_erase(s, i); pump_queue(s); }
      return true;
    }
    default:
      return true;
  }
}

// A filter from a client of a listener with a mount_point, in the broker's names: the
// mount point goes before the filter, or after "$share/<group>/" in a shared one.
static void mount_filter(const std::string& mount_point, std::string& filter) {
  std::string_view group, inner;
  if (protocol::split_shared(filter, group, inner)) {
    const size_t at = filter.size() - inner.size();
    filter.insert(at, mount_point);
  } else {
    filter.insert(0, mount_point);
  }
}

bool WorkerCore::handle_subscribe(Session* s, protocol::Subscribe& sub) {
  protocol::Suback ack;
  ack.packet_id = sub.packet_id;
  uint32_t sub_id = sub.props.subscription_identifiers.empty() ? 0 : sub.props.subscription_identifiers[0];
  struct Retained { std::string filter; SubOptions opts; };
  std::vector<Retained> want_retained;
  bool changed = false;
  // [MQTT-4.7.1-1], [MQTT-4.7.3-1]: a filter that breaks the syntax (empty, '#' not last,
  // a wildcard sharing a level, too deep) makes the packet malformed [MQTT-4.13.1-1]: the
  // connection closes (v5: DISCONNECT 0x81 first), nothing of the packet is applied.
  for (auto& t : sub.topics) {
    if (!protocol::valid_filter_syntax(t.filter))
      return protocol_violation(s, rc::kMalformedPacket, "malformed topic filter in SUBSCRIBE");
  }
  if (!s->mount_point.empty())
    for (auto& t : sub.topics) mount_filter(s->mount_point, t.filter);
  for (auto& t : sub.topics) {
    // Well formed but not a valid shared subscription ("$share/g", "$share//f"): refused.
    if (!protocol::valid_topic_filter(t.filter)) {
      ack.reasons.push_back(s->is_v5() ? rc::kTopicFilterInvalid : rc::kV3SubackFailure);
      continue;
    }
    std::string_view group, inner;
    const bool shared = protocol::split_shared(t.filter, group, inner);
    if (shared && t.no_local)  // [MQTT-3.8.3-4]
      return protocol_violation(s, rc::kProtocolError, "no local on a shared subscription");
    // The ACL judges the topics the filter can match: a shared subscription's without
    // its "$share/group/" prefix. Refused: v5 0x87, v3.1.1 0x80 (v3.1 has no failure
    // code; it gets 0x80 as well).
    if (acl_denies(s, shared ? inner : std::string_view(t.filter), Access::kSubscribe)) {
      ack.reasons.push_back(s->is_v5() ? rc::kNotAuthorized : rc::kV3SubackFailure);
      continue;
    }
    SubOptions o;
    o.qos = std::min(t.qos, s->max_qos);
    o.no_local = t.no_local;
    o.retain_as_published = t.retain_as_published;
    if (s->bridge && !s->is_v5()) {
      // An incoming v3 bridge (protocol level with bit 7, Mosquitto's try_private): its
      // own messages are not sent back and retain flags pass through as published, so
      // brokers bridged both ways do not loop and retained state propagates (Mosquitto
      // 2.0 sets the same two options for such a session). Set here, the publish path
      // pays nothing. A v5 bridge asks for these options itself.
      o.no_local = true;
      o.retain_as_published = true;
    }
    o.retain_handling = t.retain_handling;
    o.subscription_id = sub_id;
    o.durable = s->durable;
    bool is_new = broker_.trie().subscribe(s->key, t.filter, o);
    auto it = std::find_if(s->subs.begin(), s->subs.end(), [&](const SessionSub& x) { return x.filter == t.filter; });
    if (it == s->subs.end()) {
      s->subs.push_back({t.filter, o});
      journal_subscription(s, s->subs.back());
    } else {
      it->opts = o;
      journal_subscription(s, *it);
    }
    changed = true;
    if (shared) broker_.trie().set_shared_online(s->key, t.filter, true);
    ack.reasons.push_back(o.qos);
    PETREL_LOG(broker_.log(), kLogSubscribe, "{} {} {}", s->client_id, int(o.qos), t.filter);
    // [MQTT-3.3.1-9..11] retain handling; shared subscriptions get no retained messages.
    if (!shared && (o.retain_handling == 0 || (o.retain_handling == 1 && is_new)))
      want_retained.push_back({t.filter, o});
  }
  const size_t from = s->link->out().size();
  protocol::encode(ack, s->version, s->link->out());
  hold_behind(s, from, changed);
  s->link->mark_dirty();
  stats_.msgs_sent.add();
  for (auto& r : want_retained) deliver_retained(s, r.filter, r.opts);
  return true;
}

bool WorkerCore::handle_unsubscribe(Session* s, protocol::Unsubscribe& u) {
  protocol::Unsuback ack;
  ack.packet_id = u.packet_id;
  for (auto& f : u.filters) {
    if (!protocol::valid_filter_syntax(f))  // as in SUBSCRIBE
      return protocol_violation(s, rc::kMalformedPacket, "malformed topic filter in UNSUBSCRIBE");
  }
  if (!s->mount_point.empty())
    for (auto& f : u.filters) mount_filter(s->mount_point, f);
  bool changed = false;
  for (auto& f : u.filters) {
    auto it = std::find_if(s->subs.begin(), s->subs.end(), [&](const SessionSub& x) { return x.filter == f; });
    bool existed = it != s->subs.end();
    if (existed) {
      broker_.trie().unsubscribe(s->key, f);
      s->subs.erase(it);
      journal_unsubscription(s, f);
      changed = true;
      cancel_retained(s, f);  // no more of its retained messages either [MQTT-3.10.4-2]
    }
    if (s->is_v5()) ack.reasons.push_back(existed ? rc::kSuccess : rc::kNoSubscriptionExisted);
    PETREL_LOG(broker_.log(), kLogUnsubscribe, "{} {}", s->client_id, f);
  }
  const size_t from = s->link->out().size();
  protocol::encode(ack, s->version, s->link->out());
  hold_behind(s, from, changed);
  s->link->mark_dirty();
  stats_.msgs_sent.add();
  return true;
}

bool WorkerCore::handle_disconnect(Session* s, const protocol::Disconnect& d) {
  if (s->is_v5() && d.props.session_expiry_interval) {
    if (s->expiry_interval == 0 && *d.props.session_expiry_interval != 0)  // [MQTT-3.14.2-2]
      return protocol_violation(s, rc::kProtocolError, "session expiry set after 0");
    s->expiry_interval = *d.props.session_expiry_interval;
  }
  Link* link = s->link;
  if (cfg_->connection_messages)
    PETREL_LOG(broker_.log(), kLogNotice, "Client {} disconnected.", s->client_id);
  s->closing = true;
  // [MQTT-3.14.4-3], [MQTT-3.1.2-10]: only reason 0x00 discards the will; any other v5
  // reason (0x04 "with will", or an error the client reports) publishes it.
  end_connection(s, s->is_v5() && d.reason != rc::kSuccess);
  link->close(true);
  return false;
}

}  // namespace petrel::broker
