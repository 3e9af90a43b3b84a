// Bridge run time, remote side: lifecycle, the remote client, failover and fail-back,
// lazy start. The local side and status are in bridge_local.cpp.
#include "bridge/bridge.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "client/transport.h"

namespace petrel::bridge {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string_view state_name(State s) {
  switch (s) {
    case State::kStopped: return "stopped";
    case State::kIdle: return "idle";
    case State::kConnecting: return "connecting";
    case State::kConnected: return "connected";
    case State::kWaiting: return "disconnected";
  }
  return "?";
}

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

protocol::Version version_of(uint8_t v) {
  return v == 3 ? protocol::Version::kV31 : v == 5 ? protocol::Version::kV5 : protocol::Version::kV311;
}


int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

Bridge::Bridge(Environment env, config::Bridge cfg, BridgeLimits limits, std::unique_ptr<MessageStore> store)
    : env_(std::move(env)),
      cfg_(std::move(cfg)),
      limits_(limits),
      map_(cfg_.topics),
      store_(std::move(store)),
      retry_timer_(env_.ex),
      probe_timer_(env_.ex),
      idle_timer_(env_.ex),
      sys_timer_(env_.ex),
      local_retry_(env_.ex) {
  remote_id_ = remote_id_for(cfg_);
  local_id_ = local_id_for(cfg_);
  link_ = env_.link_for ? env_.link_for(local_id_) : nullptr;
  if (!link_) link_ = std::make_shared<BridgeLink>();
  link_->remote_up.store(false, std::memory_order_relaxed);
  notification_topic_ = cfg_.notification_topic.empty() ? "$SYS/broker/connection/" + remote_id_ + "/state"
                                                        : cfg_.notification_topic;
  sys_prefix_ = "$SYS/broker/bridge/" + cfg_.name + "/";
  if (store_) {
    // A predecessor's (restart on reload): nothing of it is in flight here, and what it
    // had not acknowledged locally the broker sends this bridge's resumed local session
    // again (kept only when that session ends with its connection).
    store_->rewind();
    store_->forget_local(0, !local_clean_start());
  } else {
    store_ = std::make_unique<MemoryStore>();
  }
  store_->set_limits({limits_.max_queued_messages, limits_.max_queued_bytes});
  queued_.store(store_->size(), std::memory_order_relaxed);
  status_.name = cfg_.name;
  status_.remote_client_id = remote_id_;
  status_.address = address_text(0);
  logged_error_.resize(cfg_.addresses.size());
}

Bridge::~Bridge() = default;

std::string Bridge::remote_id_for(const config::Bridge& cfg) {
  return cfg.remote_clientid.empty() ? host_name() + "." + cfg.name : cfg.remote_clientid;
}

std::string Bridge::local_id_for(const config::Bridge& cfg) {
  return cfg.local_clientid.empty() ? "local." + remote_id_for(cfg) : cfg.local_clientid;
}

std::string Bridge::address_text(size_t i) const {
  if (i >= cfg_.addresses.size()) return {};
  const auto& a = cfg_.addresses[i];
  if (a.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", a.host, a.port);
  return fmt::format("{}:{}", a.host, a.port);
}

client::TransportOptions Bridge::transport_for(size_t i) const {
  client::TransportOptions t;
  t.kind = client::TransportKind::kTcp;
  t.host = cfg_.addresses[i].host;
  t.port = cfg_.addresses[i].port;
  t.bind_address = cfg_.bind_address;
  t.nodelay = true;
  t.tcp_keepalive_idle = cfg_.tcp_keepalive_idle;
  t.tcp_keepalive_interval = cfg_.tcp_keepalive_interval;
  t.tcp_keepalive_count = cfg_.tcp_keepalive_count;
  t.tcp_user_timeout_ms = cfg_.tcp_user_timeout_ms;
  if (!cfg_.cafile.empty() || !cfg_.capath.empty() || cfg_.tls_use_os_certs || !cfg_.psk.empty()) {
    client::TlsOptions tls;
    tls.cafile = cfg_.cafile;
    tls.capath = cfg_.capath;
    tls.use_os_certs = cfg_.tls_use_os_certs;
    tls.certfile = cfg_.certfile;
    tls.keyfile = cfg_.keyfile;
    tls.insecure = cfg_.insecure;
    tls.require_ocsp = cfg_.require_ocsp;
    tls.version = cfg_.tls_version;
    tls.ciphers = cfg_.ciphers;
    tls.ciphersuites = cfg_.ciphers_tls13;
    tls.alpn = cfg_.alpn;
    if (!cfg_.psk.empty()) {
      tls.psk_identity = cfg_.identity;
      tls.psk = client::psk_key_from_hex(cfg_.psk).value_or(std::string());
    }
    t.tls = std::move(tls);
  }
  return t;
}

// --- lifecycle -------------------------------------------------------------------------

void Bridge::start(std::function<void()> subscribed) {
  subscribed_ = std::move(subscribed);
  make_local();
  make_remote();
  arm_sys_timer();
  if (cfg_.start_type == config::BridgeStartType::kLazy) {
    set_state(State::kIdle);
    arm_idle_check();
  } else {
    connect_remote();
  }
}

void Bridge::stop(std::function<void()> done, bool removed) {
  stopping_ = true;
  link_->remote_up.store(false, std::memory_order_relaxed);
  retry_timer_.cancel();
  probe_timer_.cancel();
  idle_timer_.cancel();
  sys_timer_.cancel();
  local_retry_.cancel();
  if (probe_) probe_->abort();
  probe_.reset();
  auto self = shared_from_this();
  auto finish = [self, done = std::move(done)] {
    self->set_state(State::kStopped);
    if (done) done();
  };
  auto close_local = [self, finish, removed] {
    if (!self->local_) return finish();
    if (self->cfg_.notifications) {
      // The local notification says "0" before the local side goes away.
      self->publish_local(self->notification_topic_, "0", 1, true);
      self->publish_local(self->sys_prefix_ + "state", "stopped", 0, true);
    }
    protocol::Properties props;
    if (removed && !self->local_clean_start()) props.session_expiry_interval = 0;  // end the session
    self->local_->disconnect(0, std::move(props), finish);
  };
  if (remote_ && remote_->is_connected()) {
    notify_remote("0");  // a clean DISCONNECT suppresses the will: say it ourselves
    remote_->disconnect(0, {}, close_local);
  } else {
    if (remote_) remote_->abort();
    close_local();
  }
}

std::unique_ptr<MessageStore> Bridge::take_store() { return std::move(store_); }

void Bridge::set_limits(BridgeLimits limits) {
  limits_ = limits;
  if (store_) store_->set_limits({limits_.max_queued_messages, limits_.max_queued_bytes});
}

void Bridge::request_restart_on_reconnect(std::function<void()> restart) {
  restart_pending_ = true;
  restart_ = std::move(restart);
  if (!remote_ || !remote_->is_connected()) {
    auto r = std::move(restart_);
    asio::post(env_.ex, std::move(r));
  }
}

// --- remote side -----------------------------------------------------------------------

// Opens the transport to the current address, or to the primary for a fail-back probe.
client::StreamFactory Bridge::remote_factory(bool probe) {
  std::weak_ptr<Bridge> weak = weak_from_this();
  return [weak, probe, ex = env_.ex](client::OpenHandler h) {
    auto self = weak.lock();
    if (!self) {
      client::TransportError e{client::TransportErrorKind::kConnect, "bridge stopped"};
      return h(nullptr, &e);
    }
    client::async_open(ex, self->transport_for(probe ? 0 : self->addr_), std::move(h));
  };
}

void Bridge::make_remote() {
  client::ClientOptions o;
  o.version = version_of(cfg_.protocol_version);
  o.client_id = remote_id_;
  o.clean_start = cfg_.cleansession;
  o.keepalive = cfg_.keepalive_interval;
  o.bridge = cfg_.try_private;
  o.username = cfg_.remote_username;
  o.password = cfg_.remote_password;
  if (cfg_.notifications && !cfg_.notifications_local_only) {
    o.will = protocol::Will{notification_topic_, "0", 1, true, {}};
  }
  // A message from the remote is acknowledged once the local broker has it (stored, under
  // persistence_sync commit), so a crash in between loses nothing the remote let go of.
  o.manual_ack = true;
  if (o.version == protocol::Version::kV5) {
    if (cfg_.session_expiry_interval) o.connect_props.session_expiry_interval = cfg_.session_expiry_interval;
    o.connect_props.receive_maximum = cfg_.receive_maximum;
    o.connect_props.topic_alias_maximum = cfg_.max_topic_alias;
    if (cfg_.max_packet_size) o.connect_props.maximum_packet_size = cfg_.max_packet_size;
  }
  o.max_inflight = limits_.max_inflight_messages ? limits_.max_inflight_messages : 20;
  o.reconnect.manual = true;
  o.connect_timeout = std::chrono::seconds(std::max<uint32_t>(5, std::min<uint32_t>(cfg_.keepalive_interval, 30)));

  std::weak_ptr<Bridge> weak = weak_from_this();
  auto factory = remote_factory(/*probe=*/false);
  client::Handlers h;
  h.on_connect = [weak](const client::ConnackInfo& info) {
    if (auto self = weak.lock()) self->on_remote_connected(info);
  };
  h.on_connect_failed = [weak](const client::ClientError& e) {
    if (auto self = weak.lock()) self->on_remote_failed(e, false);
  };
  h.on_connection_lost = [weak](const client::ClientError& e) {
    if (auto self = weak.lock()) self->on_remote_failed(e, true);
  };
  h.on_message = [weak](const client::Message& m) {
    if (auto self = weak.lock()) self->on_remote_message(m);
  };
  remote_ = client::Client::create(env_.ex, std::move(factory), std::move(o), std::move(h));
}

void Bridge::connect_remote() {
  if (stopping_) return;
  set_state(State::kConnecting);
  remote_->connect();
}

void Bridge::on_remote_connected(const client::ConnackInfo& info) {
  if (stopping_) return;
  link_->remote_up.store(true, std::memory_order_relaxed);
  started_once_ = true;
  backoff_ = 0ms;
  tried_in_cycle_ = 0;
  last_traffic_ = Clock::now();
  {
    std::lock_guard lk(status_mu_);
    status_.connected_since = unix_now();
    status_.address = address_text(addr_);
    status_.on_primary = addr_ == 0;
    status_.last_error.clear();
    ++status_.connects;
  }
  std::fill(logged_error_.begin(), logged_error_.end(), std::string());
  PETREL_LOG(*env_.log, kLogNotice, "Bridge {} connected to {} as {}{}.", cfg_.name, address_text(addr_), remote_id_,
             info.session_present ? " (session resumed)" : "");
  const bool v5 = cfg_.protocol_version == 5;
  // Subscriptions on the remote (in/both rules); renewed on every connection, as a
  // remote without our session has none and one with it keeps them idempotently.
  std::vector<protocol::SubscribeTopic> subs;
  for (const auto& s : map_.remote_subscriptions()) {
    subs.push_back({s.filter, s.qos, v5, v5, 0});
  }
  if (!subs.empty()) {
    (void)remote_->subscribe(std::move(subs), {}, [weak = weak_from_this()](const protocol::Suback& a) {
      auto self = weak.lock();
      if (!self) return;
      for (uint8_t r : a.reasons) {
        if (r >= 0x80) {
          PETREL_LOG(*self->env_.log, kLogWarning, "Bridge {}: the remote refused a subscription (reason 0x{:02x}).",
                     self->cfg_.name, r);
        }
      }
    });
  }
  if (cfg_.attempt_unsubscribe) {
    // Out-only rules: a persistent remote session may still hold a subscription from an
    // earlier configuration that would echo our messages back.
    std::vector<std::string> stale;
    for (const auto& r : cfg_.topics) {
      if (r.direction != config::BridgeDirection::kOut) continue;
      std::string f = r.pattern.empty() ? r.remote_prefix : r.remote_prefix + r.pattern;
      bool subscribed = false;
      for (const auto& s : map_.remote_subscriptions()) subscribed |= s.filter == f;
      if (!subscribed && std::find(stale.begin(), stale.end(), f) == stale.end()) stale.push_back(std::move(f));
    }
    if (!stale.empty()) (void)remote_->unsubscribe(std::move(stale), {});
  }
  notify_remote("1");
  if (cfg_.notifications) publish_local(notification_topic_, "1", 1, true);
  set_state(State::kConnected);
  publish_status(false);
  if (!cfg_.round_robin && addr_ != 0) arm_probe();
  if (cfg_.start_type == config::BridgeStartType::kLazy) arm_idle_check();
  pump();
}

void Bridge::note_error(const std::string& what) {
  {
    std::lock_guard lk(status_mu_);
    status_.last_error = what;
  }
  if (what != logged_error_[addr_]) {
    logged_error_[addr_] = what;
    PETREL_LOG(*env_.log, kLogWarning, "Bridge {}: {}", cfg_.name, what);
  }
}

void Bridge::on_remote_failed(const client::ClientError& err, bool was_connected) {
  if (stopping_) return;
  link_->remote_up.store(false, std::memory_order_relaxed);
  const std::string where = address_text(addr_);
  std::string what;
  switch (err.kind) {
    case client::ErrorKind::kRefused:
      what = fmt::format("{} refused the connection: {}", where, err.message);
      break;
    case client::ErrorKind::kTransport:
      if (err.transport_kind == client::TransportErrorKind::kTlsVerify || err.transport_kind == client::TransportErrorKind::kTls)
        what = fmt::format("TLS with {} failed: {}", where, err.message);
      else
        what = fmt::format("cannot connect to {}: {}", where, err.message);
      break;
    default:
      what = fmt::format("{} connection {}: {}", where, was_connected ? "lost" : "failed", err.message);
      break;
  }
  if (was_connected) {
    PETREL_LOG(*env_.log, kLogNotice, "Bridge {} disconnected from {}: {}", cfg_.name, where, err.message);
    std::lock_guard lk(status_mu_);
    status_.last_error = what;
    status_.connected_since = 0;
  } else {
    note_error(what);
  }
  probe_timer_.cancel();
  if (probe_) probe_->abort();
  probe_.reset();
  if (was_connected && cfg_.notifications) publish_local(notification_topic_, "0", 1, true);
  if (restart_pending_ && restart_) {
    set_state(State::kWaiting);
    auto r = std::move(restart_);
    asio::post(env_.ex, std::move(r));
    return;
  }
  if (cfg_.start_type == config::BridgeStartType::kOnce && started_once_) {
    set_state(State::kStopped);
    publish_status(false);
    return;
  }
  set_state(State::kWaiting);
  publish_status(false);
  if (was_connected) {
    // Reconnect: primary first unless the addresses are equals (round_robin).
    addr_ = cfg_.round_robin ? (addr_ + 1) % cfg_.addresses.size() : 0;
    tried_in_cycle_ = 0;
    schedule_retry(true);
  } else {
    addr_ = (addr_ + 1) % cfg_.addresses.size();
    // Try every address once before waiting; then wait the backoff.
    schedule_retry(++tried_in_cycle_ >= cfg_.addresses.size());
  }
}

std::chrono::milliseconds Bridge::next_backoff() {
  const auto base = std::chrono::milliseconds(cfg_.restart_timeout_base * 1000LL);
  const auto cap = std::chrono::milliseconds(cfg_.restart_timeout_cap * 1000LL);
  if (cfg_.restart_constant || cap <= base) return base;
  // Decorrelated jitter: a random delay between base and three times the last one,
  // capped, so many bridges of many routers do not reconnect in step.
  const auto prev = backoff_.count() ? backoff_ : base;
  std::uniform_int_distribution<int64_t> d(base.count(), std::max(base.count(), prev.count() * 3));
  backoff_ = std::min(cap, std::chrono::milliseconds(d(rng_)));
  return backoff_;
}

void Bridge::schedule_retry(bool wait) {
  if (stopping_) return;
  if (cfg_.start_type == config::BridgeStartType::kLazy && store_->size() < cfg_.threshold && !started_once_) {
    set_state(State::kIdle);
    return;
  }
  if (wait) tried_in_cycle_ = 0;
  const auto delay = wait ? next_backoff() : 0ms;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopping_) return;
    self->connect_remote();
  });
}

void Bridge::on_remote_message(const client::Message& m) {
  last_traffic_ = Clock::now();
  // The remote client (one per bridge) is captured weakly: the acknowledgement belongs to
  // the connection the message came on (Client::ack ignores it once that one has ended).
  auto ack = [c = std::weak_ptr<client::Client>(remote_), id = m.packet_id, qos = m.qos, conn = m.connection] {
    if (auto r = c.lock()) r->ack(id, qos, conn);
  };
  auto mapped = map_.to_local(m.topic, m.qos);
  if (!mapped) return ack();  // a remote subscription overlapping another rule's; not ours
  client::OutMessage out{std::move(mapped->topic), m.payload, mapped->qos, m.retain, forwardable_props(m)};
  if (!local_->publish(std::move(out), [ack](const client::PublishResult&) { ack(); })) ack();
  ++received_;
}

void Bridge::ack_local(const LocalAck& a) {
  if (a.qos && local_) local_->ack(a.packet_id, a.qos, a.connection);
}

void Bridge::pump() {
  if (!remote_ || !remote_->is_connected()) return;
  const size_t window = std::max<size_t>(1, limits_.max_inflight_messages);
  while (remote_->inflight() + remote_->queued() < window) {
    const StoredMessage* sm = store_->take_next();
    if (!sm) break;
    const uint64_t seq = sm->seq;
    auto r = remote_->publish(sm->msg, [weak = weak_from_this(), seq](const client::PublishResult& res) {
      auto self = weak.lock();
      if (!self || !self->store_) return;
      self->ack_local(self->store_->ack(seq));  // the local broker lets go of it now
      self->queued_.store(self->store_->size(), std::memory_order_relaxed);
      if (res.reason < 0x80) ++self->sent_;
      else ++self->dropped_;  // the remote refused it (v5 reason code): not retried
      self->pump();
    });
    if (!r) {
      ack_local(store_->ack(seq));  // unsendable (e.g. too large for the remote): dropped
      ++dropped_;
    }
  }
}

// --- failback to the primary -------------------------------------------------------------

void Bridge::arm_probe() {
  probe_timer_.expires_after(std::chrono::seconds(std::max<uint32_t>(1, cfg_.primary_retry_interval)));
  probe_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopping_) return;
    self->probe_primary();
  });
}

// A full handshake with the primary (TCP, TLS, CONNECT/CONNACK) under a separate client
// id with a clean session, so the probe neither touches the bridge's session there nor
// counts a port that merely accepts TCP as healthy.
void Bridge::probe_primary() {
  if (!remote_ || !remote_->is_connected() || addr_ == 0) return;
  client::ClientOptions o;
  o.version = version_of(cfg_.protocol_version);
  o.client_id = remote_id_ + ".probe";
  o.clean_start = true;
  o.keepalive = 0;
  o.username = cfg_.remote_username;
  o.password = cfg_.remote_password;
  o.connect_timeout = std::chrono::seconds(10);
  std::weak_ptr<Bridge> weak = weak_from_this();
  auto factory = remote_factory(/*probe=*/true);
  client::Handlers h;
  h.on_connect = [weak](const client::ConnackInfo&) {
    auto self = weak.lock();
    if (!self || !self->probe_) return;
    auto p = std::move(self->probe_);
    p->disconnect();
    const auto now = Clock::now();
    if (!self->primary_ok_) {
      self->primary_ok_ = true;
      self->primary_ok_since_ = now;
      PETREL_LOG(*self->env_.log, kLogInfo, "Bridge {}: primary {} answers again; failing back after {} s.",
                 self->cfg_.name, self->address_text(0), self->cfg_.primary_holddown);
    }
    if (now - self->primary_ok_since_ >= std::chrono::seconds(self->cfg_.primary_holddown)) return self->fail_back();
    self->arm_probe();
  };
  h.on_connect_failed = [weak](const client::ClientError&) {
    auto self = weak.lock();
    if (!self) return;
    self->probe_.reset();
    self->primary_ok_ = false;
    self->arm_probe();
  };
  probe_ = client::Client::create(env_.ex, std::move(factory), std::move(o), std::move(h));
  probe_->connect();
}

void Bridge::fail_back() {
  primary_ok_ = false;
  PETREL_LOG(*env_.log, kLogNotice, "Bridge {}: failing back from {} to the primary {}.", cfg_.name,
             address_text(addr_), address_text(0));
  notify_remote("0");
  // In-flight messages stay in the client and the store; the new connection re-sends
  // them, so nothing queued is lost in the switch.
  remote_->hang_up([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->stopping_) return;
    self->addr_ = 0;
    self->tried_in_cycle_ = 0;
    {
      std::lock_guard lk(self->status_mu_);
      self->status_.connected_since = 0;
    }
    if (self->restart_pending_ && self->restart_) {
      auto r = std::move(self->restart_);
      return asio::post(self->env_.ex, std::move(r));
    }
    self->connect_remote();
  });
}

// --- lazy start --------------------------------------------------------------------------

void Bridge::arm_idle_check() {
  idle_timer_.expires_after(1s);
  idle_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopping_) return;
    const bool connected = self->remote_->is_connected();
    if (!connected && self->status().state == State::kIdle && self->store_->size() >= self->cfg_.threshold) {
      PETREL_LOG(*self->env_.log, kLogInfo, "Bridge {}: {} messages queued, starting (lazy).", self->cfg_.name,
                 self->store_->size());
      self->connect_remote();
    } else if (connected && self->store_->size() == 0 && self->remote_->inflight() == 0 &&
               Clock::now() - self->last_traffic_ >= std::chrono::seconds(self->cfg_.idle_timeout)) {
      PETREL_LOG(*self->env_.log, kLogInfo, "Bridge {}: idle for {} s, disconnecting (lazy).", self->cfg_.name,
                 self->cfg_.idle_timeout);
      self->started_once_ = false;
      self->notify_remote("0");
      self->remote_->hang_up();
      if (self->cfg_.notifications) self->publish_local(self->notification_topic_, "0", 1, true);
      {
        std::lock_guard lk(self->status_mu_);
        self->status_.connected_since = 0;
      }
      self->set_state(State::kIdle);
      self->publish_status(false);
    }
    self->arm_idle_check();
  });
}

}  // namespace petrel::bridge
