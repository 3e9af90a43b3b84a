// Client: connection lifecycle (open, CONNECT/CONNACK, read loop, write queue, keepalive,
// reconnect). Packet handling and QoS flows are in client_flows.cpp.
#include "client/client.h"

#include <boost/asio/post.hpp>

#include "protocol/codec.h"
#include "protocol/reason_codes.h"

namespace petrel::client {

namespace asio = boost::asio;
using protocol::Version;
using Clock = std::chrono::steady_clock;

std::shared_ptr<Client> Client::create(asio::any_io_executor ex, StreamFactory factory,
                                       ClientOptions opts, Handlers handlers) {
  return std::shared_ptr<Client>(new Client(ex, std::move(factory), std::move(opts), std::move(handlers)));
}

Client::Client(asio::any_io_executor ex, StreamFactory factory, ClientOptions opts, Handlers h)
    : ex_(ex),
      factory_(std::move(factory)),
      opts_(std::move(opts)),
      h_(std::move(h)),
      rbuf_(64 * 1024),
      keepalive_timer_(ex),
      reconnect_timer_(ex),
      connect_timer_(ex),
      drain_timer_(ex) {
  client_id_ = opts_.client_id;
}

Client::~Client() {
  if (stream_) stream_->close();
}

void Client::log(const std::string& line) const {
  if (h_.on_log) h_.on_log(line);
}

std::string Client::id_for_log() const { return client_id_.empty() ? "(null)" : client_id_; }

void Client::connect() {
  if (state_ != State::kIdle) return;
  start_attempt();
}

void Client::start_attempt() {
  state_ = State::kOpening;
  const uint64_t gen = ++gen_;
  connect_timer_.expires_after(opts_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
    if (ec || gen != self->gen_) return;
    if (self->state_ != State::kOpening && self->state_ != State::kWaitConnack) return;
    self->lost({ErrorKind::kTimeout, 0, {}, "Timed out while connecting"});
  });
  factory_([self = shared_from_this(), gen](StreamPtr s, const TransportError* e) {
    if (gen != self->gen_ || self->state_ != State::kOpening) {
      if (s) s->close();
      return;
    }
    self->on_stream(std::move(s), e);
  });
}

void Client::on_stream(StreamPtr stream, const TransportError* error) {
  if (error) {
    ClientError err{ErrorKind::kTransport, 0, error->kind, error->message};
    return lost(std::move(err));
  }
  stream_ = std::move(stream);
  framer_ = protocol::StreamFramer();
  state_ = State::kWaitConnack;
  start_read();
  send_connect();
}

void Client::send_connect() {
  protocol::Connect c;
  c.version = opts_.version;
  c.clean_start = opts_.clean_start;
  c.keepalive = opts_.keepalive;
  c.bridge = opts_.bridge && opts_.version != Version::kV5;
  c.client_id = opts_.client_id;
  c.will = opts_.will;
  c.username = opts_.username;
  c.password = opts_.password;
  c.props = opts_.connect_props;
  std::string bytes;
  protocol::encode(c, opts_.version, bytes);
  log("Client " + id_for_log() + " sending CONNECT");
  send(std::move(bytes));
}

void Client::start_read() {
  const uint64_t gen = gen_;
  reading_ = true;
  stream_->async_read_some(asio::buffer(rbuf_),
                           [self = shared_from_this(), gen](const boost::system::error_code& ec, size_t n) {
                             if (gen != self->gen_) return;
                             self->reading_ = false;
                             self->on_read(ec, n);
                           });
}

void Client::on_read(const boost::system::error_code& ec, size_t n) {
  if (ec) {
    if (state_ == State::kDisconnecting) return teardown();
    // After a failed write the peer's own end of the story (EOF, a reset, a TLS alert
    // such as "certificate expired") is what the user needs; the write error is only a
    // consequence of it.
    std::string what = ec == asio::error::eof ? "Connection closed by the server"
                       : ec == asio::error::connection_reset && write_error_ ? "Connection reset by the server"
                                                                             : ec.message();
    return lost({ErrorKind::kConnectionLost, 0, {}, what});
  }
  framer_.feed(std::string_view(rbuf_.data(), n));
  const uint64_t gen = gen_;
  for (;;) {
    uint8_t header = 0;
    std::string_view body;
    auto st = framer_.next(header, body);
    if (st == protocol::FrameStatus::kNeedMore) break;
    if (st != protocol::FrameStatus::kComplete)
      return lost({ErrorKind::kProtocol, protocol::rc::kMalformedPacket, {}, "Malformed packet from the server"});
    handle_packet(header, body);
    if (gen != gen_ || !stream_) return;  // the packet ended this connection
  }
  start_read();
}

void Client::handle_connack(const protocol::Connack& c) {
  log("Client " + id_for_log() + " received CONNACK (" + std::to_string(c.reason) + ")");
  connect_timer_.cancel();
  if (c.reason != 0) {
    return lost({ErrorKind::kRefused, c.reason, {}, connack_string(opts_.version, c.reason)});
  }
  state_ = State::kConnected;
  backoff_ = std::chrono::milliseconds(0);
  if (c.props.assigned_client_identifier) client_id_ = *c.props.assigned_client_identifier;
  keepalive_ = c.props.server_keep_alive.value_or(opts_.keepalive);
  server_receive_max_ = c.props.receive_maximum.value_or(65535);
  server_max_qos_ = c.props.maximum_qos.value_or(2);
  ping_outstanding_ = false;
  aliases_in_.clear();
  arm_keepalive();
  resume_flows(c.session_present);
  if (h_.on_connect) h_.on_connect(ConnackInfo{c.session_present, c.props});
  if (state_ == State::kConnected) pump_queue();
}

void Client::send(std::string bytes, std::function<void()> on_written) {
  out_ += bytes;
  if (on_written) out_done_.push_back(std::move(on_written));
  kick_write();
}

void Client::kick_write() {
  if (writing_ || out_.empty() || !stream_ || write_error_) return;
  wbuf_.swap(out_);
  out_.clear();
  wbuf_done_.swap(out_done_);
  out_done_.clear();
  writing_ = true;
  last_out_ = Clock::now();
  const uint64_t gen = gen_;
  stream_->async_write(asio::buffer(wbuf_), [self = shared_from_this(), gen](const boost::system::error_code& ec, size_t) {
    if (gen != self->gen_) return;
    self->writing_ = false;
    if (ec) return self->write_failed(ec);
    auto done = std::move(self->wbuf_done_);
    self->wbuf_done_.clear();
    self->wbuf_.clear();
    for (auto& f : done) f();
    if (gen == self->gen_) self->kick_write();
  });
}

// A write fails when the peer has gone (EPIPE, ECONNRESET), but what the peer sent before
// it went is still readable: a server that refuses a client certificate sends its TLS
// alert and closes, and the client's CONNECT, written a moment later, fails with "Broken
// pipe". So while a read is outstanding the read decides what is reported; writing stops
// and a short timer bounds the wait for a peer that neither sends nor closes.
void Client::write_failed(const boost::system::error_code& ec) {
  if (state_ == State::kDisconnecting) return teardown();
  if (!reading_ || !stream_) return lost({ErrorKind::kConnectionLost, 0, {}, ec.message()});
  if (write_error_) return;
  write_error_ = ec.message();
  log("Client " + id_for_log() + " write failed (" + *write_error_ + "); reading what the server sent");
  const uint64_t gen = gen_;
  drain_timer_.expires_after(std::chrono::seconds(2));
  drain_timer_.async_wait([self = shared_from_this(), gen](const boost::system::error_code& e) {
    if (e || gen != self->gen_ || !self->write_error_) return;
    self->lost({ErrorKind::kConnectionLost, 0, {}, *self->write_error_});
  });
}

void Client::arm_keepalive() {
  if (keepalive_ == 0) return;
  const auto period = std::chrono::seconds(keepalive_);
  const auto at = ping_outstanding_ ? ping_sent_ + period : last_out_ + period;
  keepalive_timer_.expires_at(at);
  const uint64_t gen = gen_;
  keepalive_timer_.async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
    if (ec || gen != self->gen_ || self->state_ != State::kConnected) return;
    self->on_keepalive();
  });
}

void Client::on_keepalive() {
  const auto now = Clock::now();
  const auto period = std::chrono::seconds(keepalive_);
  if (ping_outstanding_ && now >= ping_sent_ + period)
    return lost({ErrorKind::kTimeout, 0, {}, "No PINGRESP from the server within the keepalive"});
  if (!ping_outstanding_ && now >= last_out_ + period) {
    ping_outstanding_ = true;
    ping_sent_ = now;
    std::string bytes;
    protocol::encode(protocol::Pingreq{}, opts_.version, bytes);
    log("Client " + id_for_log() + " sending PINGREQ");
    send(std::move(bytes));
  }
  arm_keepalive();
}

void Client::disconnect(uint8_t reason, protocol::Properties props, std::function<void()> done) {
  opts_.reconnect.enabled = false;
  reconnect_timer_.cancel();
  if (state_ != State::kConnected) {
    teardown();
    state_ = State::kClosed;
    if (done) asio::post(ex_, std::move(done));
    return;
  }
  disconnect_done_ = std::move(done);
  state_ = State::kDisconnecting;
  protocol::Disconnect d;
  d.reason = reason;
  d.props = std::move(props);
  std::string bytes;
  protocol::encode(d, opts_.version, bytes);
  log("Client " + id_for_log() + " sending DISCONNECT");
  send(std::move(bytes), [self = shared_from_this()] { self->teardown(); });
}

void Client::hang_up(std::function<void()> done) {
  reconnect_timer_.cancel();
  if (state_ != State::kConnected) {
    teardown();
    state_ = State::kIdle;
    if (done) asio::post(ex_, std::move(done));
    return;
  }
  idle_after_disconnect_ = true;
  disconnect_done_ = std::move(done);
  state_ = State::kDisconnecting;
  std::string bytes;
  protocol::encode(protocol::Disconnect{}, opts_.version, bytes);
  log("Client " + id_for_log() + " sending DISCONNECT");
  send(std::move(bytes), [self = shared_from_this()] { self->teardown(); });
}

void Client::abort() {
  opts_.reconnect.enabled = false;
  reconnect_timer_.cancel();
  teardown();
  state_ = State::kClosed;
}

// Closes the current connection and forgets per-connection state; fires disconnect's done.
void Client::teardown() {
  ++gen_;
  if (stream_) {
    stream_->close();
    // Not destroyed here: we may be inside one of its completion handlers (a TLS write
    // op is still on the stack), so it is released from a fresh handler.
    asio::post(ex_, [s = std::shared_ptr<Stream>(std::move(stream_))] {});
  }
  keepalive_timer_.cancel();
  connect_timer_.cancel();
  drain_timer_.cancel();
  write_error_.reset();
  reading_ = false;
  out_.clear();
  wbuf_.clear();
  out_done_.clear();
  wbuf_done_.clear();
  writing_ = false;
  pending_subs_.clear();
  pending_unsubs_.clear();
  if (state_ == State::kDisconnecting) {
    state_ = idle_after_disconnect_ ? State::kIdle : State::kClosed;
    idle_after_disconnect_ = false;
    if (auto done = std::move(disconnect_done_)) asio::post(ex_, std::move(done));
  }
}

void Client::lost(ClientError err) {
  const bool was_connected = state_ == State::kConnected;
  if (state_ == State::kClosed || state_ == State::kIdle) return;
  teardown();
  state_ = opts_.reconnect.enabled || opts_.reconnect.manual ? State::kIdle : State::kClosed;
  auto self = shared_from_this();  // handlers may drop the last reference
  if (was_connected) {
    if (h_.on_connection_lost) h_.on_connection_lost(err);
  } else if (h_.on_connect_failed) {
    h_.on_connect_failed(err);
  }
  if (opts_.reconnect.enabled && state_ == State::kIdle) schedule_reconnect();
}

void Client::schedule_reconnect() {
  const auto& r = opts_.reconnect;
  backoff_ = backoff_.count() == 0 ? r.initial_delay : std::min(backoff_ * 2, r.max_delay);
  state_ = State::kIdle;
  reconnect_timer_.expires_after(backoff_);
  reconnect_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::kIdle || !self->opts_.reconnect.enabled) return;
    self->start_attempt();
  });
}

std::string connack_string(Version v, uint8_t code) {
  if (v != Version::kV5) {
    switch (code) {
      case 0: return "Connection Accepted.";
      case 1: return "Connection Refused: unacceptable protocol version.";
      case 2: return "Connection Refused: identifier rejected.";
      case 3: return "Connection Refused: broker unavailable.";
      case 4: return "Connection Refused: bad user name or password.";
      case 5: return "Connection Refused: not authorised.";
      default: return "Connection Refused: unknown reason.";
    }
  }
  std::string name(protocol::reason_code_name(code));
  return name.empty() ? "Unknown reason code " + std::to_string(code) : name;
}

}  // namespace petrel::client
