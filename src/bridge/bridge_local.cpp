// Bridge run time, local side: the MQTT 5 client over the in-process connection to this
// broker, the messages it hands to the out-queue, and the bridge's status ($SYS and
// BridgeStatus).
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "bridge/bridge.h"
#include "client/streams.h"
#include "protocol/properties.h"

namespace petrel::bridge {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

protocol::Properties forwardable_props(const client::Message& m) {
  protocol::Properties p;
  for (const auto& x : m.props) {
    switch (x.id) {
      case protocol::prop::kPayloadFormatIndicator: p.payload_format_indicator = uint8_t(x.number); break;
      case protocol::prop::kMessageExpiryInterval: p.message_expiry_interval = x.number; break;
      case protocol::prop::kContentType: p.content_type = x.value; break;
      case protocol::prop::kResponseTopic: p.response_topic = x.value; break;
      case protocol::prop::kCorrelationData: p.correlation_data = x.value; break;
      case protocol::prop::kUserProperty: p.user_properties.emplace_back(x.key, x.value); break;
      default: break;
    }
  }
  return p;
}

// --- local side ----------------------------------------------------------------------------

void Bridge::make_local() {
  client::ClientOptions o;
  o.version = protocol::Version::kV5;
  o.client_id = local_id_;
  o.clean_start = local_clean_start();
  o.keepalive = 0;
  if (!o.clean_start) o.connect_props.session_expiry_interval = 0xFFFFFFFFu;
  o.username = cfg_.local_username;
  o.password = cfg_.local_password;
  o.max_inflight = 0;  // the broker's receive maximum
  // QoS 1/2 messages are acknowledged to the broker once the remote completed them; the
  // broker hands the bridge at most this many unacknowledged (it queues the rest in the
  // bridge's local session): enough to keep the remote's window full, and a lazy
  // bridge's threshold reachable.
  o.manual_ack = true;
  o.connect_props.receive_maximum = static_cast<uint16_t>(std::clamp<size_t>(
      std::max<size_t>({2 * size_t(limits_.max_inflight_messages), size_t(cfg_.threshold), 64}), 1, 65535));
  o.reconnect.manual = true;
  o.connect_timeout = 10s;
  std::weak_ptr<Bridge> weak = weak_from_this();
  auto factory = [weak, ex = env_.ex](client::OpenHandler h) {
    auto self = weak.lock();
    int fd = self && self->env_.open_local ? self->env_.open_local("bridge:" + self->cfg_.name) : -1;
    if (fd < 0) {
      client::TransportError e{client::TransportErrorKind::kConnect, "cannot open the internal connection"};
      return asio::post(ex, [h = std::move(h), e] { h(nullptr, &e); });
    }
    asio::local::stream_protocol::socket sock(ex);
    boost::system::error_code ec;
    sock.assign(asio::local::stream_protocol(), fd, ec);
    if (ec) {
      ::close(fd);
      client::TransportError e{client::TransportErrorKind::kConnect, ec.message()};
      return asio::post(ex, [h = std::move(h), e] { h(nullptr, &e); });
    }
    client::StreamPtr s =
        std::make_unique<client::detail::AsioStream<asio::local::stream_protocol::socket>>(std::move(sock));
    asio::post(ex, [h = std::move(h), s = std::move(s)]() mutable { h(std::move(s), nullptr); });
  };
  client::Handlers h;
  h.on_connect = [weak](const client::ConnackInfo& info) {
    if (auto self = weak.lock()) self->on_local_connected(info);
  };
  auto retry = [weak](const client::ClientError& e) {
    auto self = weak.lock();
    if (!self || self->stopping_) return;
    self->local_ready_ = false;
    PETREL_LOG(*self->env_.log, kLogWarning, "Bridge {}: local connection: {}", self->cfg_.name, e.message);
    self->local_retry_.expires_after(1s);
    self->local_retry_.async_wait([weak](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!ec && self && !self->stopping_) self->local_->connect();
    });
  };
  h.on_connect_failed = retry;
  h.on_connection_lost = retry;
  h.on_message = [weak](const client::Message& m) {
    if (auto self = weak.lock()) self->on_local_message(m);
  };
  local_ = client::Client::create(env_.ex, std::move(factory), std::move(o), std::move(h));
  local_->connect();
}

void Bridge::on_local_connected(const client::ConnackInfo& info) {
  local_ready_ = true;
  // What an earlier local connection delivered and nothing acknowledged yet: a resumed
  // session sends it again (dropped here, or it would go twice), else it stays, with
  // nothing to acknowledge.
  if (const size_t n = store_->forget_local(local_->connection(), info.session_present); n > 0) {
    PETREL_LOG(*env_.log, kLogDebug, "Bridge {}: {} message(s) of the previous local connection {}.", cfg_.name, n,
               info.session_present ? "come again from the resumed session" : "kept");
    queued_.store(store_->size(), std::memory_order_relaxed);
  }
  std::vector<protocol::SubscribeTopic> subs;
  for (const auto& s : map_.local_subscriptions()) {
    // No local: what this bridge publishes locally (from the remote) does not come back.
    // Retain as published: the remote gets the retain flag as the publisher set it.
    subs.push_back({s.filter, s.qos, true, true, 0});
  }
  std::weak_ptr<Bridge> weak = weak_from_this();
  auto subscribed = [weak](const protocol::Suback&) {
    auto self = weak.lock();
    if (auto cb = self ? std::exchange(self->subscribed_, nullptr) : nullptr) cb();
  };
  if (subs.empty() || !local_->subscribe(std::move(subs), {}, subscribed)) subscribed(protocol::Suback{});
  if (!stale_local_filters_.empty()) (void)local_->unsubscribe(std::move(stale_local_filters_), {});
  stale_local_filters_.clear();
  publish_status(false);
}

void Bridge::on_local_message(const client::Message& m) {
  // Acknowledged to the broker when the remote completed it (pump), or now when it does
  // not go to the remote at all.
  const LocalAck local = m.qos ? LocalAck{m.packet_id, m.qos, m.connection} : LocalAck{};
  auto mapped = map_.to_remote(m.topic, m.qos);
  if (!mapped) return ack_local(local);
  last_traffic_ = Clock::now();
  const bool connected = remote_ && remote_->is_connected();
  if (mapped->qos == 0 && !connected && !limits_.queue_qos0_messages) {
    ++dropped_;
    return ack_local(local);
  }
  if (cfg_.max_packet_size && mapped->topic.size() + m.payload.size() + 16 > cfg_.max_packet_size) {
    ++dropped_;
    PETREL_LOG(*env_.log, kLogDebug, "Bridge {}: message on {} larger than bridge_max_packet_size, dropped.",
               cfg_.name, m.topic);
    return ack_local(local);
  }
  client::OutMessage out{std::move(mapped->topic), m.payload, mapped->qos, cfg_.outgoing_retain && m.retain,
                         cfg_.protocol_version == 5 ? forwardable_props(m) : protocol::Properties{}};
  // A message sent on at QoS 0 is not kept for the broker's sake: acknowledged at once.
  const LocalAck owed = mapped->qos ? local : LocalAck{};
  if (!owed.qos) ack_local(local);
  if (!store_->push(std::move(out), owed)) {
    ++dropped_;
    if (!queue_full_logged_) {
      queue_full_logged_ = true;
      PETREL_LOG(*env_.log, kLogWarning, "Bridge {}: queue full ({} messages), dropping new messages.", cfg_.name,
                 store_->size());
    }
    return;
  }
  if (queue_full_logged_ && store_->size() * 2 < std::max<size_t>(2, limits_.max_queued_messages)) {
    queue_full_logged_ = false;  // drained to half: the next overflow is news again
    PETREL_LOG(*env_.log, kLogNotice, "Bridge {}: queue below half full again ({} dropped so far).", cfg_.name,
               dropped_.load());
  }
  queued_.store(store_->size(), std::memory_order_relaxed);
  if (connected) pump();
}

// Queued by the local client until its connection is up (it comes up at start, and
// again after the broker closed it), so nothing from the remote is lost meanwhile.
void Bridge::publish_local(std::string topic, std::string payload, uint8_t qos, bool retain) {
  if (!local_) return;
  (void)local_->publish({std::move(topic), std::move(payload), qos, retain, {}});
}

// The remote notification (the will says "0" when the connection dies).
void Bridge::notify_remote(const char* payload) {
  if (!cfg_.notifications || cfg_.notifications_local_only || !remote_) return;
  (void)remote_->publish({notification_topic_, payload, 1, true, {}});
}

// --- status ----------------------------------------------------------------------------------

void Bridge::set_state(State s) {
  std::lock_guard lk(status_mu_);
  status_.state = s;
  if (s == State::kConnecting) {
    status_.address = address_text(addr_);
    status_.on_primary = addr_ == 0;
  }
}

BridgeStatus Bridge::status() const {
  BridgeStatus st;
  {
    std::lock_guard lk(status_mu_);
    st = status_;
  }
  st.messages_sent = sent_.load(std::memory_order_relaxed);
  st.messages_received = received_.load(std::memory_order_relaxed);
  st.messages_dropped = dropped_.load(std::memory_order_relaxed) + link_->dropped.load(std::memory_order_relaxed);
  st.queued = queued_.load(std::memory_order_relaxed);
  return st;
}

void Bridge::publish_status(bool counters_only) {
  if (!local_ready_) return;
  BridgeStatus st = status();
  auto pub = [this](const char* leaf, std::string v) { publish_local(sys_prefix_ + leaf, std::move(v), 0, true); };
  if (!counters_only) {
    pub("state", std::string(state_name(st.state)));
    pub("address", st.address);
    pub("last_error", st.last_error);
    pub("connected_since", std::to_string(st.connected_since));
    pub("remote_clientid", st.remote_client_id);
  }
  pub("messages/sent", std::to_string(st.messages_sent));
  pub("messages/received", std::to_string(st.messages_received));
  pub("messages/dropped", std::to_string(st.messages_dropped));
  pub("queued", std::to_string(st.queued));
}

void Bridge::arm_sys_timer() {
  const uint32_t every = limits_.sys_interval ? limits_.sys_interval : 10;
  sys_timer_.expires_after(std::chrono::seconds(every));
  sys_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopping_) return;
    if (self->limits_.sys_interval) self->publish_status(true);
    self->arm_sys_timer();
  });
}

}  // namespace petrel::bridge
