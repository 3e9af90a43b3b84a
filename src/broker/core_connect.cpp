// WorkerCore: CONNECT handling, takeover, connection end, session lifecycle.
#include <fmt/format.h>

#include <random>

#include "broker/worker_core.h"
#include "protocol/reason_codes.h"

namespace petrel::broker {

using protocol::Version;
namespace rc = protocol::rc;

namespace {
// A refused login is answered this late (the worker goes on meanwhile).
constexpr int kAuthFailureDelayMs = 1000;

const char* version_tag(Version v) {
  switch (v) {
    case Version::kV31: return "p3";
    case Version::kV311: return "p4";
    case Version::kV5: return "p5";
  }
  return "p?";
}

// Appends a CONNACK that fits the client's Maximum Packet Size (limit, 0 = none): the
// reason string and user properties are left out when they would not fit
// [MQTT-3.2.2-19], [MQTT-3.2.2-20]; false, and nothing appended, when even the CONNACK
// without them is larger [MQTT-3.1.2-24] (the caller closes without answering).
bool encode_connack_within(protocol::Connack& ack, Version v, uint32_t limit, std::string& out) {
  std::string bytes;
  protocol::encode(ack, v, bytes);
  if (limit != 0 && bytes.size() > limit) {
    ack.props.reason_string.reset();
    ack.props.user_properties.clear();
    bytes.clear();
    protocol::encode(ack, v, bytes);
    if (bytes.size() > limit) return false;
  }
  out += bytes;
  return true;
}

uint32_t client_packet_limit(const protocol::Connect& c) {
  return c.version == Version::kV5 ? c.props.maximum_packet_size.value_or(0) : 0;
}
}  // namespace

WorkerCore::WorkerCore(Broker& broker, int index, Hub& hub,
                       std::shared_ptr<const config::Config> cfg)
    : broker_(broker), stats_(broker.stats(index)), index_(index), hub_(hub), cfg_(std::move(cfg)) {
  outgoing_.resize(broker.workers());
}

WorkerCore::~WorkerCore() {
  for (auto& s : slots_) {
    if (s) {
      for (auto& sub : s->subs) broker_.trie().unsubscribe(s->key, sub.filter);
    }
  }
}

void WorkerCore::apply_config(std::shared_ptr<const config::Config> cfg) { cfg_ = std::move(cfg); }

void WorkerCore::apply_security(std::shared_ptr<const Security> security) { security_ = std::move(security); }

const config::Listener* WorkerCore::listener_config(int listener) const {
  if (listener < 0 || listener >= static_cast<int>(cfg_->listeners.size())) return nullptr;
  return &cfg_->listeners[listener];
}

const config::SecuritySettings& WorkerCore::security_for(const Link& link) const {
  int li = link.listener_index();
  if (cfg_->per_listener_settings && li >= 0 && li < static_cast<int>(cfg_->listeners.size()))
    return cfg_->listeners[li].security;
  return cfg_->security;
}

bool WorkerCore::anonymous_allowed(const Link& link) const {
  const config::Listener* l = listener_config(link.listener_index());
  return l ? config::anonymous_allowed(*cfg_, *l) : security_for(link).allow_anonymous;
}

const std::string& WorkerCore::auto_id_prefix(const Link& link) const {
  const config::Listener* l = listener_config(link.listener_index());
  return l ? config::auto_id_prefix_for(*cfg_, *l) : security_for(link).auto_id_prefix;
}

int WorkerCore::home_worker(const protocol::Connect& c, int listener) const {
  const config::Listener* l = listener_config(listener);
  if (l && l->use_username_as_clientid && c.username) return broker_.home_worker(*c.username);
  if (c.client_id.empty()) return index_;
  return broker_.home_worker(c.client_id);
}

std::string WorkerCore::assign_client_id(const std::string& prefix) {
  // Random id whose hash lands on this worker, so the new session lives here.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (;;) {
    std::string id = fmt::format("{}{:016X}", prefix, rng() ^ ++id_counter_);
    if (broker_.home_worker(id) == index_ && !by_id_.find(id)) return id;
  }
}

Session* WorkerCore::new_session(const std::string& client_id, bool reserved) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    gens_.push_back(0);
  }
  auto s = std::make_unique<Session>();
  s->client_id = client_id;
  s->key = make_session_key(index_, slot, ++gens_[slot]);
  Session* raw = s.get();
  slots_[slot] = std::move(s);
  by_id_.insert(raw);
  stats_.sessions.add();
  if (!reserved) broker_.add_session();
  return raw;
}

Session* WorkerCore::lookup(SessionKey k) const {
  uint32_t slot = session_slot(k);
  if (slot >= slots_.size() || gens_[slot] != session_gen(k)) return nullptr;
  return slots_[slot].get();
}

void WorkerCore::destroy_session(Session* s) {
  if (s->delayed_will) {
    auto w = std::move(s->delayed_will);
    publish_will(s, *w);
  }
  for (auto& sub : s->subs) broker_.trie().unsubscribe(s->key, sub.filter);
  if (s->durable || s->will_stored) {
    touched(s);
    ++s->journal_epoch;
    batch_.erase_session(s->client_id);
  }
  by_id_.erase(s);
  uint32_t slot = session_slot(s->key);
  ++gens_[slot];
  free_slots_.push_back(slot);
  stats_.sessions.sub();
  broker_.remove_session();
  slots_[slot].reset();  // s is gone
}

Session* WorkerCore::refuse(Link& link, const protocol::Connect& c, uint8_t v5_reason, const char* why,
                        int delay_ms) {
  protocol::Connack ack;
  if (c.version == Version::kV5) {
    ack.reason = v5_reason;
    if (c.props.request_problem_information.value_or(1) && why) ack.props.reason_string = why;
  } else {
    ack.reason = protocol::v5_connack_to_v3(v5_reason);
  }
  const bool sent = encode_connack_within(ack, c.version, client_packet_limit(c), link.out());
  if (v5_reason == rc::kBadUserNameOrPassword || v5_reason == rc::kNotAuthorized) stats_.refused_auth.add();
  else stats_.refused_other.add();
  if (delay_ms > 0) {
    link.close_delayed(delay_ms);
  } else {
    link.mark_dirty();
    link.close(true);
  }
  PETREL_LOG(broker_.log(), kLogNotice, "Client {} from {} refused: {}{}",
             c.client_id.empty() ? "<unknown>" : c.client_id, link.peer(), why,
             sent ? "" : " (closed without a CONNACK: it exceeds the client's maximum packet size)");
  return nullptr;
}

void WorkerCore::refuse_undecodable_connect(Link& link, uint8_t header, std::string_view body,
                                            const Error& err) {
  // Guess the version from the protocol level byte when the body got that far: name is
  // 2 + 4 ("MQTT") or 2 + 6 ("MQIsdp") bytes.
  auto level_at = [&](size_t off) -> int {
    return body.size() > off ? static_cast<unsigned char>(body[off]) & 0x7f : -1;
  };
  // Only "MQTT" level 5 gets a v5 CONNACK; anything else (also "MQIsdp" with level 5)
  // gets the 3.1.1 form every client can read.
  int level = -1;
  if (body.size() >= 6 && body.substr(0, 6) == std::string_view("\0\4MQTT", 6)) level = level_at(6);
  protocol::Connack ack;
  if (err.code == rc::kUnsupportedProtocolVersion) {
    // [MQTT-3.1.2-2]: CONNACK 0x01 (v3) / 0x84 (v5), then close. Unknown levels get the
    // v3 form, which every client version can read.
    if (level == 5) {
      ack.reason = rc::kUnsupportedProtocolVersion;
      protocol::encode(ack, Version::kV5, link.out());
    } else {
      ack.reason = rc::kV3UnacceptableProtocolVersion;
      protocol::encode(ack, Version::kV311, link.out());
    }
  } else if (level == 5 && err.code >= 0x80) {
    ack.reason = err.code;
    protocol::encode(ack, Version::kV5, link.out());
  } else if (err.code == rc::kClientIdentifierNotValid) {
    ack.reason = rc::kV3IdentifierRejected;
    protocol::encode(ack, Version::kV311, link.out());
  }
  (void)header;
  link.mark_dirty();
  link.close(true);
}

uint8_t WorkerCore::listener_max_qos(const Link& link) const {
  int li = link.listener_index();
  if (li >= 0 && li < static_cast<int>(cfg_->listeners.size())) return cfg_->listeners[li].max_qos;
  return cfg_->max_qos;
}

Session* WorkerCore::on_connect(Link& link, protocol::Connect&& c) {
  const auto& sec = security_for(link);
  const config::Config& cfg = *cfg_;
  const bool v5 = c.version == Version::kV5;

  if (v5 && c.props.authentication_method) {
    return refuse(link, c, rc::kBadAuthenticationMethod, "enhanced authentication is not supported");
  }
  const config::Listener* lcfg = listener_config(link.listener_index());
  // accept_protocol_versions: as for a version Petrel does not speak [MQTT-3.1.2-2].
  if (lcfg && !(lcfg->accept_protocol_versions & (1u << (static_cast<unsigned>(c.version) - 3)))) {
    return refuse(link, c, rc::kUnsupportedProtocolVersion,
                  "this MQTT version is not accepted on this listener (accept_protocol_versions)");
  }
  if (lcfg && lcfg->use_username_as_clientid && c.username) c.client_id = *c.username;
  bool assigned = false;
  if (c.client_id.empty()) {
    if (c.version == Version::kV31 || !sec.allow_zero_length_clientid ||
        (c.version == Version::kV311 && !c.clean_start)) {
      // [MQTT-3.1.3-8]: empty id with clean session 0 gets return code 2.
      return refuse(link, c, rc::kClientIdentifierNotValid, "empty client id not allowed");
    }
    c.client_id = assign_client_id(auto_id_prefix(link));
    assigned = true;
  }
  const bool internal = link.listener_index() == kInternalListener;
  const bool own = internal || link.listener_index() == kAdminListener;
  if (!own && broker_.memory_over()) return refuse(link, c, rc::kServerBusy, "the broker is over its memory_limit");
  if (!own && !cfg.clientid_prefixes.empty() && !c.client_id.starts_with(cfg.clientid_prefixes)) {
    return refuse(link, c, rc::kNotAuthorized, "client id does not start with clientid_prefixes");
  }
  if (own) {
    // The broker's own connection (a bridge's local side): trusted. The admin's: its user
    // was authenticated by the admin API (the ACL still applies to it).
  } else if (security_) {
    ClientIdentity id;
    id.listener = link.listener_index();
    id.client_id = c.client_id;
    if (c.username) id.username = *c.username;
    if (c.password) id.password = *c.password;
    id.peer = link.peer();
    id.cert_cn = link.cert_cn();
    id.cert_subject = link.cert_subject();
    id.psk_identity = link.psk_identity();
    std::string identity_name;
    if (uint8_t r = security_->authenticate(id, identity_name); r != 0) {
      return refuse(link, c, r, r == rc::kBadUserNameOrPassword ? "bad user name or password" : "not authorised",
             kAuthFailureDelayMs);
    }
    if (!identity_name.empty()) c.username = std::move(identity_name);
  } else if (!c.username && !anonymous_allowed(link)) {
    return refuse(link, c, rc::kNotAuthorized, "anonymous clients are not allowed");
  }
  if (c.will && c.will->qos > listener_max_qos(link))  // [MQTT-3.2.2-12]
    return refuse(link, c, rc::kQosNotSupported, "will QoS above max_qos");
  if (c.will && c.will->retain && !cfg.retain_available)  // [MQTT-3.2.2-13]
    return refuse(link, c, rc::kRetainNotSupported, "will retain not available");
  // As Mosquitto: a will larger than message_size_limit is refused with the connection.
  if (c.will && cfg.message_size_limit && c.will->payload.size() > cfg.message_size_limit)
    return refuse(link, c, rc::kPacketTooLarge, "will payload above message_size_limit");
  uint16_t server_keepalive = 0;
  if (c.keepalive > cfg.max_keepalive || (c.keepalive == 0 && cfg.max_keepalive < 65535)) {
    if (!v5) {
      // No way to tell a v3 client another keepalive: refuse like Mosquitto does.
      return refuse(link, c, rc::kClientIdentifierNotValid, "keepalive above max_keepalive");
    }
    server_keepalive = cfg.max_keepalive;
    c.keepalive = cfg.max_keepalive;
  }

  if (uint32_t limit = client_packet_limit(c); limit != 0) {
    // [MQTT-3.1.2-24]: a CONNACK the client cannot take is not sent; the connection closes
    // before anything of the session changes (no takeover, no will).
    protocol::Connack probe = success_connack(link, c.client_id, assigned, server_keepalive, false);
    std::string bytes;
    protocol::encode(probe, c.version, bytes);
    if (bytes.size() > limit) {
      stats_.refused_other.add();
      PETREL_LOG(broker_.log(), kLogNotice,
                 "Client {} from {} refused: the CONNACK ({} bytes) exceeds its maximum packet "
                 "size ({}); closed without it", c.client_id, link.peer(), bytes.size(), limit);
      link.close(true);
      return nullptr;
    }
  }

  Session* s = by_id_.find(c.client_id);
  if (s && !s->online()) {
    // Timers run a few times a second; settle what came due since the last tick first,
    // so a due will is not lost and an expired session is not resumed [MQTT-3.1.3-9].
    const int64_t now = broker_.clock().now_ms();
    if (s->delayed_will && now >= s->will_at_ms) {
      auto w = std::move(s->delayed_will);
      publish_will(s, *w);
    }
    if (s->expire_at_ms && now >= s->expire_at_ms) {
      remove_expired_session(s);
      s = nullptr;
    }
  }
  // global_max_clients: only a CONNECT that creates a session counts (resuming one, or a
  // clean start replacing one, never changes the number); refused before anything changes.
  bool reserved = false;
  if (!s && !own) {
    if (!broker_.reserve_session(cfg.global_max_clients)) {
      return refuse(link, c, rc::kServerBusy, "too many sessions (global_max_clients)");
    }
    reserved = true;
  }
  if (s) {
    if (s->online()) takeover(s);
    s = lookup_by_id(c.client_id);
    if (s && c.clean_start) {
      destroy_session(s);
      s = nullptr;
    }
  }
  const bool session_present = s != nullptr;
  if (!s) {
    s = new_session(c.client_id, reserved);
  } else if (s->delayed_will) {
    s->delayed_will.reset();  // [MQTT-3.1.3-9]: reconnected within the will delay
  }

  // Connection-scoped state.
  s->link = &link;
  s->listener = link.listener_index();
  s->version = c.version;
  s->keepalive = c.keepalive;
  s->last_rx_ms = broker_.clock().now_ms();
  s->closing = false;
  s->bridge = c.bridge;
  s->username = c.username.value_or("");
  s->has_password = c.password.has_value();
  s->password = c.password.value_or("");
  s->retain_source.reset();  // a new identity (user name, listener) for what it retains
  s->connected_wall_s = broker_.clock().wall_seconds();
  s->aliases.clear();
  s->out_aliases.reset();
  if (v5 && c.props.topic_alias_maximum.value_or(0) > 0) {
    const config::Listener* l = listener_config(link.listener_index());
    const uint16_t mine = l ? l->max_topic_alias_broker : 10;
    const uint16_t n = std::min<uint16_t>(mine, *c.props.topic_alias_maximum);
    if (n > 0) s->out_aliases = std::make_unique<OutAliases>(n);
  }
  s->problem_info = !v5 || c.props.request_problem_information.value_or(1) != 0;
  s->client_max_packet = v5 ? c.props.maximum_packet_size.value_or(0) : 0;
  s->max_qos = cfg.max_qos;
  s->max_topic_alias = cfg.max_topic_alias;
  s->mount_point.clear();
  if (int li = link.listener_index(); li >= 0 && li < static_cast<int>(cfg.listeners.size())) {
    s->max_qos = cfg.listeners[li].max_qos;  // per listener in mosquitto.conf
    s->max_topic_alias = cfg.listeners[li].max_topic_alias;
    s->mount_point = cfg.listeners[li].mount_point;
  }
  // A bridge's local connection sets its own window (its Receive Maximum): it holds each
  // message until the remote has it, so max_inflight_messages would throttle the bridge.
  const bool bridge_local = link.listener_index() == kInternalListener;
  uint16_t window = cfg.max_inflight_messages && !bridge_local ? cfg.max_inflight_messages : 65535;
  if (v5 && c.props.receive_maximum) window = std::min<uint16_t>(window, *c.props.receive_maximum);
  s->send_window = window;
  if (bridge_local && !s->bridge_link) s->bridge_link = broker_.bridge_link(s->client_id);
  s->will = c.will ? std::make_unique<protocol::Will>(std::move(*c.will)) : nullptr;
  if (s->will && s->will->qos > s->max_qos) s->will->qos = s->max_qos;
  if (s->will && !s->mount_point.empty()) s->will->topic.insert(0, s->mount_point);

  // Session-scoped expiry.
  if (v5) {
    s->expiry_interval = c.props.session_expiry_interval.value_or(0);
  } else if (c.clean_start) {
    s->expiry_interval = 0;
  } else {
    s->expiry_interval = cfg.persistent_client_expiration < 0
                             ? UINT32_MAX
                             : static_cast<uint32_t>(std::min<int64_t>(cfg.persistent_client_expiration, UINT32_MAX - 1));
  }
  s->expire_at_ms = 0;
  journal_connect(s);

  for (auto& sub : s->subs) {
    if (sub.filter.rfind("$share/", 0) == 0) broker_.trie().set_shared_online(s->key, sub.filter, true);
  }
  // The admin's own short connections (publish, watch) are not clients of the broker.
  if (link.listener_index() != kAdminListener) {
    stats_.clients_connected.add();
    stats_.connects.add();
    broker_.note_connected(broker_.total(&WorkerStats::clients_connected));
  }

  write_connack(s, session_present, assigned, server_keepalive);
  if (cfg.connection_messages) {
    PETREL_LOG(broker_.log(), kLogNotice, "New client connected from {} as {} ({}, c{}, k{}{}).",
               link.peer(), s->client_id, version_tag(c.version), c.clean_start ? 1 : 0,
               c.keepalive, c.username ? fmt::format(", u'{}'", *c.username) : std::string());
  }
  if (session_present) {
    resend_inflight(s);
    pump_queue(s);
  }
  return s;
}

Session* WorkerCore::lookup_by_id(const std::string& id) const { return by_id_.find(id); }

protocol::Connack WorkerCore::success_connack(const Link& link, const std::string& client_id,
                                              bool assigned, uint16_t server_keepalive,
                                              bool session_present) const {
  const config::Config& cfg = *cfg_;
  protocol::Connack ack;
  ack.session_present = session_present;
  ack.reason = 0;
  uint8_t max_qos = cfg.max_qos;
  uint16_t max_alias = cfg.max_topic_alias;
  if (const config::Listener* l = listener_config(link.listener_index())) {
    max_qos = l->max_qos;  // per listener in mosquitto.conf
    max_alias = l->max_topic_alias;
  }
  if (assigned) ack.props.assigned_client_identifier = client_id;
  if (server_keepalive) ack.props.server_keep_alive = server_keepalive;
  if (cfg.max_inflight_messages) ack.props.receive_maximum = cfg.max_inflight_messages;
  if (max_alias) ack.props.topic_alias_maximum = max_alias;
  if (max_qos < 2) ack.props.maximum_qos = max_qos;
  if (!cfg.retain_available) ack.props.retain_available = 0;
  if (cfg.max_packet_size) ack.props.maximum_packet_size = cfg.max_packet_size;
  return ack;
}

void WorkerCore::write_connack(Session* s, bool session_present, bool assigned,
                               uint16_t server_keepalive) {
  // Its size was checked against the client's maximum packet size before the session
  // was touched (on_connect).
  protocol::Connack ack = success_connack(*s->link, s->client_id, assigned, server_keepalive,
                                          session_present);
  protocol::encode(ack, s->version, s->link->out());
  s->link->mark_dirty();
  stats_.msgs_sent.add();
}

void WorkerCore::takeover(Session* old) {
  PETREL_LOG(broker_.log(), kLogNotice, "Client {} already connected, closing old connection.",
             old->client_id);
  // The old connection ends without DISCONNECT: its will follows the usual rules (sent
  // now, or after its delay unless the session resumes first).
  disconnect_client(old, rc::kSessionTakenOver, nullptr, true);
}

void WorkerCore::on_link_closed(Session* s) {
  if (!s || !s->online()) return;
  if (cfg_->connection_messages && !s->closing) {
    PETREL_LOG(broker_.log(), kLogNotice, "Client {} closed its connection.", s->client_id);
  }
  end_connection(s, true);
}

void WorkerCore::end_connection(Session* s, bool publish_will) {
  if (s->queue_pressure) {
    s->queue_pressure = false;
    s->link->set_queue_pressure(false);
  }
  s->link = nullptr;
  s->closing = false;
  // Retained messages of this connection's subscriptions not sent yet are not sent later
  // (a resumed session is not sent retained messages again, as for a QoS 0 message lost
  // with the connection).
  std::vector<PendingRetained>().swap(s->retained_pending);
  if (s->listener != kAdminListener) stats_.clients_connected.sub();
  for (auto& sub : s->subs) {
    if (sub.filter.rfind("$share/", 0) == 0) broker_.trie().set_shared_online(s->key, sub.filter, false);
  }
  s->aliases.clear();
  s->aliases.shrink_to_fit();
  s->out_aliases.reset();
  s->password.clear();
  s->password.shrink_to_fit();
  s->has_password = false;
  if (publish_will && s->will) schedule_or_publish_will(s);
  s->will.reset();
  if (s->expiry_interval == 0) {
    destroy_session(s);
    return;
  }
  const int64_t now = broker_.clock().now_ms();
  s->expire_at_ms = s->expiry_interval == UINT32_MAX ? 0 : now + int64_t(s->expiry_interval) * 1000;
  if (s->delayed_will && s->expire_at_ms && s->will_at_ms > s->expire_at_ms) s->will_at_ms = s->expire_at_ms;
  journal_header(s);  // offline since now, with its delayed will
}

void WorkerCore::schedule_or_publish_will(Session* s) {
  uint32_t delay = s->will->props.will_delay_interval.value_or(0);
  if (s->is_v5() && delay > 0 && s->expiry_interval > 0) {
    s->delayed_will = std::move(s->will);
    s->will_at_ms = broker_.clock().now_ms() + int64_t(delay) * 1000;
    return;
  }
  publish_will(s, *s->will);
}

}  // namespace petrel::broker
