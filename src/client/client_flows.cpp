// Client: inbound packets and the QoS flows in both directions.
#include <boost/asio/post.hpp>

#include "client/client.h"
#include "protocol/codec.h"
#include "protocol/reason_codes.h"

namespace petrel::client {

namespace asio = boost::asio;
using protocol::PacketType;
using protocol::Version;

namespace {

std::string pub_log(const char* verb, bool dup, int qos, bool retain, int mid,
                    std::string_view topic, size_t len) {
  return std::string(verb) + " PUBLISH (d" + std::to_string(dup) + ", q" + std::to_string(qos) +
         ", r" + std::to_string(retain) + ", m" + std::to_string(mid) + ", '" + std::string(topic) +
         "', ... (" + std::to_string(len) + " bytes))";
}

}  // namespace

void Client::handle_packet(uint8_t header, std::string_view body) {
  const auto type = PacketType(header >> 4);
  if (type == PacketType::kPublish) {
    if (state_ != State::kConnected && state_ != State::kDisconnecting)
      return lost({ErrorKind::kProtocol, protocol::rc::kProtocolError, {}, "PUBLISH before CONNACK"});
    return handle_publish(header, body);
  }
  auto decoded = protocol::decode(header, body, opts_.version);
  if (!decoded) {
    return lost({ErrorKind::kProtocol, decoded.error().code, {},
                 "Protocol error from the server: " + decoded.error().message});
  }
  auto& p = *decoded;
  if (state_ == State::kWaitConnack) {
    if (auto* c = std::get_if<protocol::Connack>(&p)) return handle_connack(*c);
    return lost({ErrorKind::kProtocol, protocol::rc::kProtocolError, {}, "Expected CONNACK from the server"});
  }
  if (auto* a = std::get_if<protocol::Ack>(&p)) return handle_ack(*a);
  if (auto* s = std::get_if<protocol::Suback>(&p)) {
    log("Client " + id_for_log() + " received SUBACK");
    auto it = pending_subs_.find(s->packet_id);
    if (it == pending_subs_.end()) return;
    auto done = std::move(it->second);
    pending_subs_.erase(it);
    used_ids_.erase(s->packet_id);
    if (done) done(*s);
    return;
  }
  if (auto* u = std::get_if<protocol::Unsuback>(&p)) {
    log("Client " + id_for_log() + " received UNSUBACK");
    auto it = pending_unsubs_.find(u->packet_id);
    if (it == pending_unsubs_.end()) return;
    auto done = std::move(it->second);
    pending_unsubs_.erase(it);
    used_ids_.erase(u->packet_id);
    if (done) done(*u);
    return;
  }
  if (std::holds_alternative<protocol::Pingresp>(p)) {
    log("Client " + id_for_log() + " received PINGRESP");
    ping_outstanding_ = false;
    return;
  }
  if (auto* d = std::get_if<protocol::Disconnect>(&p)) {
    log("Client " + id_for_log() + " received DISCONNECT (" + std::to_string(d->reason) + ")");
    std::string what = std::string(protocol::reason_code_name(d->reason));
    if (d->props.reason_string) what += ": " + *d->props.reason_string;
    return lost({ErrorKind::kServerDisconnect, d->reason, {}, what});
  }
  if (std::holds_alternative<protocol::Auth>(p)) return;  // no enhanced authentication
  lost({ErrorKind::kProtocol, protocol::rc::kProtocolError, {},
        "Unexpected " + std::string(protocol::packet_type_name(type)) + " from the server"});
}

void Client::handle_publish(uint8_t header, std::string_view body) {
  auto dec = protocol::decode_publish(header, body, opts_.version, publish_scratch_);
  if (!dec) return lost({ErrorKind::kProtocol, dec.error().code, {}, "Bad PUBLISH: " + dec.error().message});
  const auto& p = *dec;
  Message m;
  m.topic.assign(p.topic);
  m.payload.assign(p.payload);
  m.qos = p.qos;
  m.retain = p.retain;
  m.dup = p.dup;
  m.packet_id = p.packet_id;
  if (opts_.version == Version::kV5) {
    auto props = parse_publish_properties(body, p.qos);
    if (!props) return lost({ErrorKind::kProtocol, props.error().code, {}, props.error().message});
    m.props = std::move(*props);
    if (p.topic_alias) {
      if (m.topic.empty()) {
        auto it = aliases_in_.find(*p.topic_alias);
        if (it == aliases_in_.end())
          return lost({ErrorKind::kProtocol, protocol::rc::kTopicAliasInvalid, {}, "Unknown topic alias"});
        m.topic = it->second;
      } else {
        aliases_in_[*p.topic_alias] = m.topic;
      }
    }
  }
  log("Client " + id_for_log() + " " + pub_log("received", m.dup, m.qos, m.retain, m.packet_id, m.topic, m.payload.size()));
  if (m.qos == 0) return deliver(m);
  if (opts_.manual_ack) {
    m.connection = gen_;
    if (m.qos == 2) {
      // Delivered once per connection; after our PUBREC a re-send is only re-acked.
      auto [it, fresh] = incoming_qos2_.try_emplace(m.packet_id);
      if (!fresh) {
        if (it->second.acked) send_ack(PacketType::kPubrec, m.packet_id);
        return;
      }
      it->second.acked = false;
    }
    return deliver(m);
  }
  if (m.qos == 1) {
    send_ack(PacketType::kPuback, m.packet_id);
    return deliver(m);
  }
  // QoS 2: keep it until PUBREL; a DUP re-send of a message already held is only re-acked.
  auto [it, fresh] = incoming_qos2_.try_emplace(m.packet_id);
  if (fresh) it->second.message = std::move(m);
  send_ack(PacketType::kPubrec, p.packet_id);
}

void Client::ack(uint16_t packet_id, uint8_t qos, uint64_t connection) {
  if (!opts_.manual_ack || connection != gen_ || state_ != State::kConnected) return;
  if (qos == 1) return send_ack(PacketType::kPuback, packet_id);
  if (qos != 2) return;
  auto it = incoming_qos2_.find(packet_id);
  if (it == incoming_qos2_.end() || it->second.acked) return;
  it->second.acked = true;
  send_ack(PacketType::kPubrec, packet_id);
}

void Client::deliver(const Message& m) {
  if (h_.on_message) h_.on_message(m);
}

void Client::handle_ack(const protocol::Ack& a) {
  const std::string who = "Client " + id_for_log() + " received ";
  if (a.type == PacketType::kPubrel) {
    log(who + "PUBREL (Mid: " + std::to_string(a.packet_id) + ")");
    send_ack(PacketType::kPubcomp, a.packet_id);
    auto it = incoming_qos2_.find(a.packet_id);
    if (it == incoming_qos2_.end()) return;
    auto msg = std::move(it->second.message);
    incoming_qos2_.erase(it);
    if (msg) deliver(*msg);
    return;
  }
  log(who + std::string(protocol::packet_type_name(a.type)) + " (Mid: " + std::to_string(a.packet_id) +
      ", RC:" + std::to_string(a.reason) + ")");
  auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const Outgoing& o) { return o.id == a.packet_id; });
  if (it == inflight_.end()) {
    // A PUBREC for a message we no longer know: the spec says answer with PUBREL anyway.
    if (a.type == PacketType::kPubrec) send_ack(PacketType::kPubrel, a.packet_id, protocol::rc::kPacketIdentifierNotFound);
    return;
  }
  if (a.type == PacketType::kPubrec && it->flow == Flow::kWaitRec) {
    if (a.reason >= 0x80) return complete(a.packet_id, a.reason);
    it->flow = Flow::kWaitComp;
    return send_ack(PacketType::kPubrel, a.packet_id);
  }
  if ((a.type == PacketType::kPuback && it->flow == Flow::kWaitAck) ||
      (a.type == PacketType::kPubcomp && it->flow == Flow::kWaitComp)) {
    return complete(a.packet_id, a.reason);
  }
}

void Client::complete(uint16_t id, uint8_t reason) {
  auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const Outgoing& o) { return o.id == id; });
  if (it == inflight_.end()) return;
  auto done = std::move(it->done);
  inflight_.erase(it);
  used_ids_.erase(id);
  if (done) done(PublishResult{id, reason});
  pump_queue();
}

void Client::send_ack(PacketType type, uint16_t id, uint8_t reason) {
  std::string bytes;
  protocol::encode_ack(type, id, opts_.version == Version::kV5 ? reason : 0, opts_.version, bytes);
  std::string name(protocol::packet_type_name(type));
  log("Client " + id_for_log() + " sending " + name + " (m" + std::to_string(id) +
      (type == PacketType::kPubrel || type == PacketType::kPubcomp ? ")" : ", rc" + std::to_string(reason) + ")"));
  send(std::move(bytes));
}

uint16_t Client::allocate_id() {
  for (int tries = 0; tries < 65536; ++tries) {
    next_id_ = uint16_t(next_id_ == 65535 ? 1 : next_id_ + 1);
    if (!used_ids_.count(next_id_)) return next_id_;
  }
  return 0;
}

size_t Client::window() const {
  size_t w = server_receive_max_;
  if (opts_.max_inflight != 0) w = std::min<size_t>(w, opts_.max_inflight);
  return w;
}

Result<uint16_t> Client::publish(OutMessage msg, PublishHandler done) {
  if (msg.qos > 2) return make_error(protocol::rc::kQosNotSupported, "QoS must be 0, 1 or 2");
  if (msg.topic.size() > 65535) return make_error(protocol::rc::kTopicNameInvalid, "topic too long");
  if (state_ == State::kClosed || state_ == State::kDisconnecting)
    return make_error(protocol::rc::kUnspecifiedError, "client is disconnected");
  Outgoing o;
  o.id = allocate_id();
  if (o.id == 0) return make_error(protocol::rc::kQuotaExceeded, "no free packet identifier");
  if (msg.qos > 0) used_ids_.insert(o.id);
  if (opts_.version == Version::kV5) protocol::encode_forward_props(msg.props, o.forward_props);
  o.msg = std::move(msg);
  o.done = std::move(done);
  const uint16_t id = o.id;
  queue_.push_back(std::move(o));
  if (state_ == State::kConnected) pump_queue();
  return id;
}

// Sends queued messages while the in-flight window has room (QoS 0 needs none).
void Client::pump_queue() {
  while (state_ == State::kConnected && !queue_.empty()) {
    Outgoing& front = queue_.front();
    // [MQTT-3.2.2-11] never above the server's Maximum QoS: downgrade (the id stays unused).
    if (front.msg.qos > server_max_qos_) {
      log("Client " + id_for_log() + " downgrading QoS " + std::to_string(front.msg.qos) + " to the server's maximum " +
          std::to_string(server_max_qos_));
      used_ids_.erase(front.id);
      front.msg.qos = server_max_qos_;
    }
    if (front.msg.qos > 0 && inflight_.size() >= window()) return;
    Outgoing o = std::move(front);
    queue_.pop_front();
    if (o.msg.qos == 0) {
      // Completion of QoS 0 = written to the stream.
      std::function<void()> written;
      if (o.done) written = [done = std::move(o.done), id = o.id] { done(PublishResult{id, 0}); };
      send_publish(o, false, std::move(written));
      continue;
    }
    o.flow = o.msg.qos == 1 ? Flow::kWaitAck : Flow::kWaitRec;
    inflight_.push_back(std::move(o));
    send_publish(inflight_.back(), false);
  }
}

void Client::send_publish(Outgoing& o, bool dup, std::function<void()> on_written) {
  protocol::Publish p;
  p.dup = dup;
  p.qos = o.msg.qos;
  p.retain = o.msg.retain;
  p.topic = o.msg.topic;
  p.packet_id = o.msg.qos ? o.id : 0;
  p.payload = o.msg.payload;
  if (opts_.version == Version::kV5) {
    p.message_expiry_interval = o.msg.props.message_expiry_interval;
    p.forward_props = o.forward_props;
  }
  std::string bytes;
  protocol::encode_publish(p, opts_.version, bytes);
  log("Client " + id_for_log() + " " + pub_log("sending", dup, p.qos, p.retain, o.id, p.topic, p.payload.size()));
  send(std::move(bytes), std::move(on_written));
}

// After CONNACK: re-send what the previous connection left unacknowledged [MQTT-4.4.0-1].
void Client::resume_flows(bool session_present) {
  if (!session_present) incoming_qos2_.clear();
  // manual_ack: what the owner had not acknowledged comes again (the server re-sends a
  // PUBLISH it has no PUBREC for) and is delivered again on this connection.
  std::erase_if(incoming_qos2_, [](const auto& e) { return !e.second.acked; });
  for (auto it = inflight_.begin(); it != inflight_.end();) {
    if (it->flow == Flow::kWaitComp) {
      if (!session_present) {
        // The server had the message (it sent PUBREC); with its session gone it is done.
        auto done = std::move(it->done);
        const uint16_t id = it->id;
        it = inflight_.erase(it);
        used_ids_.erase(id);
        if (done) asio::post(ex_, [done, id] { done(PublishResult{id, 0}); });
        continue;
      }
      send_ack(PacketType::kPubrel, it->id);
    } else {
      send_publish(*it, session_present);
    }
    ++it;
  }
}

Result<uint16_t> Client::subscribe(std::vector<protocol::SubscribeTopic> topics,
                                   protocol::Properties props, SubackHandler done) {
  if (state_ != State::kConnected) return make_error(protocol::rc::kUnspecifiedError, "not connected");
  if (topics.empty()) return make_error(protocol::rc::kProtocolError, "no topics");
  protocol::Subscribe s;
  s.packet_id = allocate_id();
  if (s.packet_id == 0) return make_error(protocol::rc::kQuotaExceeded, "no free packet identifier");
  s.topics = std::move(topics);
  s.props = std::move(props);
  used_ids_.insert(s.packet_id);
  pending_subs_[s.packet_id] = std::move(done);
  for (const auto& t : s.topics) {
    const int opts = t.qos | (t.no_local ? 4 : 0) | (t.retain_as_published ? 8 : 0) | t.retain_handling << 4;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", opts & 0xFC);
    log("Client " + id_for_log() + " sending SUBSCRIBE (Mid: " + std::to_string(s.packet_id) +
        ", Topic: " + t.filter + ", QoS: " + std::to_string(t.qos) + ", Options: " + hex + ")");
  }
  std::string bytes;
  protocol::encode(s, opts_.version, bytes);
  send(std::move(bytes));
  return s.packet_id;
}

Result<uint16_t> Client::unsubscribe(std::vector<std::string> filters, protocol::Properties props,
                                     UnsubackHandler done) {
  if (state_ != State::kConnected) return make_error(protocol::rc::kUnspecifiedError, "not connected");
  if (filters.empty()) return make_error(protocol::rc::kProtocolError, "no topics");
  protocol::Unsubscribe u;
  u.packet_id = allocate_id();
  if (u.packet_id == 0) return make_error(protocol::rc::kQuotaExceeded, "no free packet identifier");
  u.filters = std::move(filters);
  u.props = std::move(props);
  used_ids_.insert(u.packet_id);
  pending_unsubs_[u.packet_id] = std::move(done);
  for (const auto& f : u.filters)
    log("Client " + id_for_log() + " sending UNSUBSCRIBE (Mid: " + std::to_string(u.packet_id) + ", Topic: " + f + ")");
  std::string bytes;
  protocol::encode(u, opts_.version, bytes);
  send(std::move(bytes));
  return u.packet_id;
}

}  // namespace petrel::client
