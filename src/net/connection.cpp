#include "net/connection.h"

#include <sys/socket.h>

#include <cerrno>

#include "net/server.h"
#include "net/worker.h"
#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/reason_codes.h"

namespace petrel::net {

namespace asio = boost::asio;
using protocol::FrameStatus;
namespace rc = protocol::rc;

namespace {
constexpr int kReadsPerWakeup = 4;     // bounded work per connection per loop turn
constexpr size_t kKeepOutCapacity = 16 * 1024;  // drained buffers above this are freed
// Output backlog that pauses publishers, and the level at which they resume.
constexpr size_t kBacklogHigh = 512 * 1024;
constexpr size_t kBacklogLow = 128 * 1024;
}  // namespace

Connection::Connection(Worker& w, asio::ip::tcp::socket sock, int listener, std::string peer)
    : w_(w), sock_(std::move(sock)), peer_(std::move(peer)), listener_(listener) {
  accepted_ms_ = w_.server().broker().clock().now_ms();
  w_.server().broker().stats(w_.index()).connections.add();
}

Connection::~Connection() {
  if (backlogged_) w_.server().backlog_changed(-1);
  w_.server().broker().stats(w_.index()).connections.sub();
}

void Connection::set_backlogged(bool on) {
  if (on == backlogged_) return;
  backlogged_ = on;
  if (on) backlog_since_ms_ = w_.server().broker().clock().now_ms();
  w_.server().backlog_changed(on ? 1 : -1);
}

void Connection::update_backlog() {
  const size_t pending = pending_bytes();
  if (!backlogged_ && !slow_ && pending > kBacklogHigh) set_backlogged(true);
  else if (backlogged_ && pending <= kBacklogLow) set_backlogged(false);
  if (slow_ && pending == 0) slow_ = false;
}

void Connection::mark_slow() {
  if (!backlogged_) return;
  PETREL_LOG(w_.server().log(), kLogNotice, "Client {} is a slow consumer: no longer holding publishers back.", peer_);
  set_backlogged(false);
  slow_ = true;
}

void Connection::resume() {
  if (!paused_ || closed_) return;
  paused_ = false;
  on_readable();
}

void Connection::start(std::string pending) {
  sock_.non_blocking(true);
  if (!pending.empty()) {
    size_t consumed = 0;
    if (!process(pending.data(), pending.size(), consumed)) return;
    in_.assign(pending, consumed, std::string::npos);
  }
  arm_read();
}

void Connection::start_with_connect(protocol::Connect&& connect, std::string pending) {
  sock_.non_blocking(true);
  session_ = w_.core().on_connect(*this, std::move(connect));
  if (!session_) {
    w_.schedule_flush(this);
    return;
  }
  w_.schedule_turn_end();
  start(std::move(pending));
}

void Connection::arm_read() {
  if (reading_ || closed_ || close_requested_) return;
  reading_ = true;
  sock_.async_wait(asio::ip::tcp::socket::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->reading_ = false;
                     if (ec || self->closed_) return;
                     self->on_readable();
                   });
}

void Connection::arm_write() {
  if (writing_ || closed_) return;
  writing_ = true;
  sock_.async_wait(asio::ip::tcp::socket::wait_write,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->writing_ = false;
                     if (ec || self->closed_) return;
                     self->flush();
                   });
}

void Connection::on_readable() {
  const int fd = sock_.native_handle();
  auto& stats = w_.server().broker().stats(w_.index());
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    if (publisher_ && w_.server().backlogged()) {
      // Overload: stop reading publishers until the queues they feed drain.
      paused_ = true;
      w_.park(shared_from_this());
      w_.schedule_turn_end();
      return;
    }
    char* buf = w_.read_buffer();
    const size_t cap = w_.read_buffer_size();
    ssize_t n = ::recv(fd, buf, cap, 0);
    if (n == 0) { abort_from_network(); return; }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      abort_from_network();
      return;
    }
    stats.bytes_received.add(size_t(n));
    size_t consumed = 0;
    if (in_.empty()) {
      if (!process(buf, size_t(n), consumed)) return;
      if (consumed < size_t(n)) in_.assign(buf + consumed, size_t(n) - consumed);
    } else {
      in_.append(buf, size_t(n));
      if (!process(in_.data(), in_.size(), consumed)) return;
      in_.erase(0, consumed);
      if (in_.empty()) std::string().swap(in_);
    }
    if (size_t(n) < cap) break;
  }
  w_.schedule_turn_end();
  arm_read();
}

bool Connection::process(const char* data, size_t len, size_t& consumed) {
  consumed = 0;
  const uint32_t max = w_.max_packet_size();
  while (consumed < len) {
    protocol::Frame f;
    FrameStatus st = protocol::try_frame(data + consumed, len - consumed, max, f);
    if (st == FrameStatus::kNeedMore) return true;
    if (st == FrameStatus::kMalformed) { framing_error(rc::kMalformedPacket, "bad remaining length"); return false; }
    if (st == FrameStatus::kTooLarge) { framing_error(rc::kPacketTooLarge, "packet above max_packet_size"); return false; }
    std::string_view body(data + consumed + f.header_len, f.remaining);
    const size_t total = f.total();
    if (!session_) {
      consumed += total;
      if (!handle_first_packet(f.header, body, data + consumed, len - consumed)) return false;
      continue;
    }
    consumed += total;
    if ((f.header >> 4) == 3) publisher_ = true;
    if (!w_.core().on_frame(session_, f.header, body)) return false;
  }
  return true;
}

bool Connection::handle_first_packet(uint8_t header, std::string_view body, const char* rest,
                                     size_t rest_len) {
  if ((header >> 4) != static_cast<uint8_t>(protocol::PacketType::kConnect)) {
    // [MQTT-3.1.0-1]: the first packet must be CONNECT.
    PETREL_LOG(w_.server().log(), kLogNotice, "Client {} sent a packet before CONNECT, closing.", peer_);
    close(false);
    return false;
  }
  auto c = protocol::decode_connect(header, body);
  if (!c) {
    PETREL_LOG(w_.server().log(), kLogNotice, "Bad CONNECT from {}: {}", peer_, c.error().message);
    broker::WorkerCore::refuse_undecodable_connect(*this, header, body, c.error());
    return false;
  }
  const int home = w_.core().home_worker(*c);
  if (home != w_.index()) {
    // The session for this client id lives on another worker: hand the socket over
    // with the CONNECT and whatever arrived after it.
    handed_over_ = true;
    std::string pending(rest, rest_len);
    if (!in_.empty()) in_.clear();
    bool v6 = sock_.local_endpoint().address().is_v6();
    int fd = sock_.release();
    closed_ = true;
    Server& srv = w_.server();
    Worker& target = srv.worker(home);
    asio::post(target.io(), [&target, fd, v6, l = listener_, p = peer_, conn = std::move(*c),
                             pend = std::move(pending), t = accepted_ms_]() mutable {
      target.adopt_with_connect(fd, v6, l, std::move(p), std::move(conn), std::move(pend), t);
    });
    w_.remove(this);
    return false;
  }
  session_ = w_.core().on_connect(*this, std::move(*c));
  return session_ != nullptr;
}

void Connection::framing_error(uint8_t reason, const char* why) {
  if (session_) {
    w_.core().protocol_violation(session_, reason, why);
  } else {
    PETREL_LOG(w_.server().log(), kLogNotice, "Client {} sent a bad packet before CONNECT: {}.", peer_, why);
    close(false);
  }
}

void Connection::mark_dirty() {
  if (!backlogged_ && !slow_ && pending_bytes() > kBacklogHigh) set_backlogged(true);
  w_.schedule_flush(this);
}

void Connection::close(bool flush_first) {
  // Called by the core (which has already ended the session's connection) or by us.
  session_ = nullptr;
  if (closed_) return;
  if (!close_requested_) {
    close_requested_ = true;
    close_requested_ms_ = w_.server().broker().clock().now_ms();
  }
  if (flush_first && pending_bytes() > 0) {
    w_.schedule_flush(this);
    return;
  }
  finish_close();
}

void Connection::abort_from_network() {
  if (closed_) return;
  if (session_) {
    broker::Session* s = session_;
    session_ = nullptr;
    w_.core().on_link_closed(s);
    w_.schedule_turn_end();
  }
  finish_close();
}

void Connection::finish_close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock_.close(ec);
  w_.remove(this);
}

void Connection::flush() {
  if (closed_) return;
  const size_t len = out_.size() - out_off_;
  if (len > 0) {
    ssize_t n = ::send(sock_.native_handle(), out_.data() + out_off_, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        abort_from_network();
        return;
      }
      n = 0;
    }
    w_.server().broker().stats(w_.index()).bytes_sent.add(size_t(n));
    out_off_ += size_t(n);
  }
  update_backlog();
  if (out_off_ < out_.size()) {
    if (out_off_ > (out_.size() >> 1)) {  // compact so appends stay cheap
      out_.erase(0, out_off_);
      out_off_ = 0;
    }
    arm_write();
    return;
  }
  // Drained: give big buffers back, then let the core continue queued deliveries.
  if (out_.capacity() > kKeepOutCapacity) std::string().swap(out_);
  else out_.clear();
  out_off_ = 0;
  if (close_requested_) {
    finish_close();
    return;
  }
  if (session_) w_.core().on_drained(session_);
  if (out_.size() > 0) w_.schedule_flush(this);
}

}  // namespace petrel::net
