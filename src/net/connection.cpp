#include "net/connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/server.h"
#include "net/worker.h"
#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/reason_codes.h"

namespace petrel::net {

using protocol::FrameStatus;
namespace rc = protocol::rc;

namespace {
constexpr int kReadsPerTurn = 4;                // bounded work per connection per loop turn
constexpr size_t kKeepOutCapacity = 16 * 1024;  // drained buffers above this are freed
// Output backlog that pauses publishers, and the level at which they resume.
constexpr size_t kBacklogHigh = 512 * 1024;
constexpr size_t kBacklogLow = 128 * 1024;
}  // namespace

Connection::Connection(Worker& w, int fd, int listener, std::string peer,
                       std::unique_ptr<Transport> transport)
    : w_(w), fd_(fd), listener_(listener), peer_(std::move(peer)), tx_(std::move(transport)) {
  accepted_ms_ = w_.server().broker().clock().now_ms();
  w_.server().broker().stats(w_.index()).connections.add();
}

Connection::~Connection() {
  if (holding_) w_.server().backlog_changed(-1);
  if (fd_ >= 0) ::close(fd_);
  w_.server().broker().stats(w_.index()).connections.sub();
}

void Connection::start(std::string pending) {
  if (!w_.watch(fd_, this)) {
    finish_close();
    return;
  }
  if (!pending.empty()) {
    size_t consumed = 0;
    if (!process(pending.data(), pending.size(), consumed)) return;
    if (consumed < pending.size()) bufs().in.assign(pending, consumed, std::string::npos);
  }
  // Edge-triggered: bytes may have arrived before registration.
  w_.read_again(this);
}

void Connection::start_with_connect(protocol::Connect&& connect, std::string pending) {
  session_ = w_.core().on_connect(*this, std::move(connect));
  if (!session_) {
    if (!closed_) w_.schedule_flush(this);
    return;
  }
  w_.schedule_turn_end();
  start(std::move(pending));
}

void Connection::on_events(uint32_t ev) {
  if (closed_) return;
  // The peer's FIN (or an error) is reported once, with the edge that may also bring the
  // last data: from now on a short read does not mean the socket is drained.
  if (ev & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) peer_shut_ = true;
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
    on_readable();
    if (closed_) return;
  }
  // Only output that an earlier send could not push out is written here. New output waits
  // for the end of the loop turn: epoll reports EPOLLOUT with every EPOLLIN, and flushing
  // then would send a PUBACK before the turn's deliveries to other workers are posted.
  if ((ev & EPOLLOUT) && (write_blocked_ || (tx_ && tx_->has_pending_output()))) flush();
  // A TLS handshake step may be waiting for the socket to become writable, then read.
  if (tx_ && !tx_->established() && (ev & EPOLLOUT)) on_readable();
}

IoResult Connection::raw_read(char* buf, size_t cap) {
  if (tx_) return tx_->read(fd_, buf, cap);
  for (;;) {
    ssize_t n = ::recv(fd_, buf, cap, 0);
    if (n > 0) return {IoStatus::kOk, size_t(n)};
    if (n == 0) return {IoStatus::kClosed, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
    return {IoStatus::kError, 0};
  }
}

IoResult Connection::raw_write(const char* data, size_t len) {
  if (tx_) return tx_->write(fd_, data, len);
  for (;;) {
    ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL);
    if (n >= 0) return {IoStatus::kOk, size_t(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
    return {IoStatus::kError, 0};
  }
}

void Connection::set_backlogged(bool on) {
  if (on == backlogged_) return;
  backlogged_ = on;
  update_holding();
}

void Connection::set_queue_pressure(bool on) {
  if (on == queue_pressure_) return;
  queue_pressure_ = on;
  update_holding();
}

void Connection::update_holding() {
  const bool hold = (backlogged_ || queue_pressure_) && !slow_;
  if (hold == holding_) return;
  holding_ = hold;
  if (hold) backlog_since_ms_ = w_.server().broker().clock().now_ms();
  w_.server().backlog_changed(hold ? 1 : -1);
  if (hold && paused_) {
    // Parked as a publisher, and now its own queue is what holds publishers back: it must
    // read again, or the acknowledgements that would drain that queue are never read (a
    // bridge's local side publishes its status; a client may publish and subscribe).
    paused_ = false;
    w_.read_again(this);
  }
}

void Connection::update_backlog() {
  const size_t pending = pending_bytes();
  if (!backlogged_ && pending > kBacklogHigh) set_backlogged(true);
  else if (backlogged_ && pending <= kBacklogLow) set_backlogged(false);
  if (slow_ && pending == 0 && !queue_pressure_) {
    slow_ = false;
    update_holding();
  }
}

void Connection::check_slow(int64_t now, int64_t limit_ms) {
  const BridgeLink* bridge = session_ && !closed_ ? session_->bridge_link.get() : nullptr;
  if (!bridge) {
    if (holding_ && now - backlog_since_ms_ > limit_ms) mark_slow();
    return;
  }
  // Draining: a flow completed (the bridge acknowledges once its remote has a message) or
  // the output shrank since the last tick.
  const size_t pending = pending_bytes();
  const bool drained = session_->completed_out != progress_seen_ || pending < pending_seen_;
  progress_seen_ = session_->completed_out;
  pending_seen_ = pending;
  if (drained) progress_ms_ = now;
  const bool remote_up = bridge->remote_up.load(std::memory_order_relaxed);
  if (holding_ && (!remote_up || now - std::max(backlog_since_ms_, progress_ms_) > limit_ms)) {
    PETREL_LOG(w_.server().log(), kLogNotice,
               "Bridge session {} {}: no longer holding publishers back; its queue fills to max_queued_messages.",
               session_->client_id, remote_up ? "completes nothing" : "has its remote down");
    slow_ = true;
    update_holding();
  } else if (slow_ && remote_up && drained) {
    PETREL_LOG(w_.server().log(), kLogNotice, "Bridge session {} drains again: holding publishers back while its queue is long.",
               session_->client_id);
    slow_ = false;
    update_holding();
  }
}

void Connection::mark_slow() {
  if (!holding_) return;
  PETREL_LOG(w_.server().log(), kLogNotice, "Client {} is a slow consumer: no longer holding publishers back.", peer_);
  slow_ = true;
  update_holding();
}

void Connection::park() {
  paused_ = true;
  w_.park(this);
  w_.schedule_turn_end();
}

void Connection::resume() {
  if (closed_) return;
  paused_ = false;
  on_readable();
}

bool Connection::process_held_input() {
  if (!input_held_ || !io_) return true;
  // Packets read before a pause come first (no new edge would announce them); process()
  // holds them again if the pause is still on.
  size_t consumed = 0;
  if (!process(io_->in.data(), io_->in.size(), consumed)) return false;
  io_->in.erase(0, consumed);
  if (io_->in.empty()) std::string().swap(io_->in);
  if (input_held_) {
    hold_input();
    return false;
  }
  return true;
}

void Connection::hold_input() {
  if (w_.server().backlogged() && !holding_) park();
  else w_.read_again(this);  // the turn's cap: go on next turn
}

void Connection::on_readable() {
  if (closed_ || paused_ || close_requested_) return;
  if (!process_held_input()) return;
  auto& stats = w_.server().broker().stats(w_.index());
  for (int i = 0; i < kReadsPerTurn; ++i) {
    if (publisher_ && w_.server().backlogged() && !holding_) {
      // Overload: stop reading publishers until the queues they feed drain (not one whose
      // own queue is long: its acknowledgements are what drains it).
      park();
      return;
    }
    if (publisher_ && w_.core().outgoing_count() >= w_.server().turn_outgoing_cap()) {
      w_.read_again(this);  // after this turn's batches have gone out
      return;
    }
    char* buf = w_.read_buffer();
    const size_t cap = w_.read_buffer_size();
    IoResult r = raw_read(buf, cap);
    if (tx_ && tx_->has_pending_output()) w_.schedule_flush(this);  // handshake replies
    if (r.status == IoStatus::kWouldBlock) { w_.schedule_turn_end(); return; }
    if (r.status != IoStatus::kOk) {
      if (r.status == IoStatus::kError && tx_)
        PETREL_LOG(w_.server().log(), kLogNotice, "Client {} ({}): {}", peer_, tx_->name(), tx_->error());
      abort_from_network();
      return;
    }
    const ssize_t n = static_cast<ssize_t>(r.n);
    stats.bytes_received.add(size_t(n));
    size_t consumed = 0;
    if (!io_ || io_->in.empty()) {
      if (!process(buf, size_t(n), consumed)) return;
      if (consumed < size_t(n)) bufs().in.assign(buf + consumed, size_t(n) - consumed);
    } else {
      std::string& in = io_->in;
      in.append(buf, size_t(n));
      if (!process(in.data(), in.size(), consumed)) return;
      io_->in.erase(0, consumed);
      if (io_->in.empty()) std::string().swap(io_->in);
    }
    if (input_held_) {
      // Backpressure came on part-way through what was read: the rest waits.
      hold_input();
      return;
    }
    // A short read means the socket is drained (plain TCP), unless the peer has shut its
    // side: data and FIN can arrive in one edge, and no further edge would report the
    // end, so the next read must see it (a missed EOF kept the connection, and held back
    // its will, until the keepalive ran out — for ever with keepalive 0). A transport
    // may likewise find a close right after the data: it is asked until kWouldBlock.
    if (size_t(n) < cap && !tx_ && !peer_shut_) { w_.schedule_turn_end(); return; }
  }
  // Read budget used up with data possibly left: continue next turn (edge-triggered).
  w_.read_again(this);
}

bool Connection::process(const char* data, size_t len, size_t& consumed) {
  consumed = 0;
  input_held_ = false;
  const uint32_t max = w_.max_packet_size();
  while (consumed < len) {
    protocol::Frame f;
    FrameStatus st = protocol::try_frame(data + consumed, len - consumed, max, f);
    if (st == FrameStatus::kNeedMore) return true;
    if (st == FrameStatus::kMalformed) { framing_error(rc::kMalformedPacket, "bad remaining length"); return false; }
    if (st == FrameStatus::kTooLarge) { framing_error(rc::kPacketTooLarge, "packet above max_packet_size"); return false; }
    std::string_view body(data + consumed + f.header_len, f.remaining);
    consumed += f.total();
    if (!session_) {
      if (!handle_first_packet(f.header, body, data + consumed, len - consumed)) return false;
      continue;
    }
    if ((f.header >> 4) == 3) {
      publisher_ = true;
      // Backpressure is checked before every PUBLISH, not once per read: one read can
      // hold thousands of them, more than a queue's limit leaves room for. Past the
      // turn's cap of cross-worker deliveries the rest waits for the next turn.
      if ((w_.server().backlogged() && !holding_) || w_.core().outgoing_count() >= w_.server().turn_outgoing_cap()) {
        consumed -= f.total();
        input_held_ = true;
        return true;
      }
    }
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
  const int home = w_.core().home_worker(*c, listener_);
  if (home != w_.index()) {
    // The session for this client id lives on another worker: hand the socket over
    // with the CONNECT and whatever arrived after it.
    w_.unwatch(fd_);
    int fd = fd_;
    fd_ = -1;
    closed_ = true;
    w_.server().hand_over(home, fd, listener_, std::move(peer_), std::move(*c),
                          std::string(rest, rest_len), std::move(tx_));
    w_.remove(this, /*release_admission=*/false);
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
  if (!backlogged_ && pending_bytes() > kBacklogHigh) set_backlogged(true);
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

void Connection::close_delayed(int delay_ms) {
  session_ = nullptr;
  if (closed_) return;
  close_requested_ = true;
  const int64_t now = w_.server().broker().clock().now_ms();
  close_requested_ms_ = now + delay_ms;  // the stalled-close timeout counts from the answer
  hold_output_until_ms_ = now + delay_ms;
}

void Connection::release_held_output() {
  hold_output_until_ms_ = 0;
  flush();
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

// The peer is gone while output was waiting for it. What it sent before it closed still
// counts: a client that writes DISCONNECT (with its reason and session expiry) and closes
// at once must not be taken for one that vanished just because an acknowledgement for an
// earlier packet was flushed in between. Read what is left, then close.
void Connection::write_failed() {
  if (closed_) return;
  if (!write_failed_) {
    write_failed_ = true;
    if (io_) {
      io_->out.clear();
      io_->out_off = 0;
    }
    if (!paused_ && !close_requested_) on_readable();
  }
  if (!closed_) abort_from_network();
}

void Connection::finish_close() {
  if (closed_) return;
  closed_ = true;
  if (fd_ >= 0) {
    if (tx_) tx_->shutdown(fd_);
    w_.unwatch(fd_);
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
  }
  w_.remove(this, /*release_admission=*/true);
}

void Connection::flush() {
  if (closed_ || hold_output_until_ms_) return;
  if (tx_ && tx_->has_pending_output()) {
    IoResult r = tx_->write(fd_, nullptr, 0);
    if (r.status == IoStatus::kError) { write_failed(); return; }
    if (tx_->has_pending_output()) return;  // EPOLLOUT brings us back
  }
  if (!io_) {
    if (close_requested_) finish_close();
    return;
  }
  std::string& out = io_->out;
  size_t& off = io_->out_off;
  const size_t len = out.size() - off;
  if (len > 0) {
    IoResult r = raw_write(out.data() + off, len);
    if (r.status == IoStatus::kError || r.status == IoStatus::kClosed) {
      write_failed();
      return;
    }
    w_.server().broker().stats(w_.index()).bytes_sent.add(r.n);
    off += r.n;
  }
  update_backlog();
  write_blocked_ = off < out.size();
  if (off < out.size()) {
    if (off > (out.size() >> 1)) {  // compact so appends stay cheap
      out.erase(0, off);
      off = 0;
    }
    return;  // EPOLLOUT (edge-triggered) calls flush again when the socket drains
  }
  // Drained: give big buffers back, then let the core continue queued deliveries.
  if (out.capacity() > kKeepOutCapacity) std::string().swap(out);
  else out.clear();
  off = 0;
  if (close_requested_) {
    finish_close();
    return;
  }
  if (session_) w_.core().on_drained(session_);
  if (io_->out.size() > 0) {
    w_.schedule_flush(this);
  } else if (!buffers_used_) {
    // The first drain since the tick gives the buffers back (a connection that answers
    // once, like a CONNACK or a PINGRESP, keeps nothing); later ones keep them.
    buffers_used_ = true;
    release_idle_buffers();
  }
}

}  // namespace petrel::net
