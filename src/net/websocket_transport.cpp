#include "net/websocket_transport.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/websocket_handshake.h"

namespace petrel::net {

namespace {
constexpr size_t kKeepOutCapacity = 16 * 1024;  // drained output buffers above this are freed
// Control replies (pongs) waiting beyond this mean the client floods pings and does not
// read: the connection is closed rather than the queue grown.
constexpr size_t kMaxControlBacklog = 4 * WebSocketTransport::kOutputHighWater;

IoResult socket_failure(std::string& error) {
  const int e = errno;
  if (e == ECONNRESET || e == EPIPE) return {IoStatus::kClosed, 0};
  error = std::string("socket error: ") + std::strerror(e);
  return {IoStatus::kError, 0};
}
}  // namespace

WebSocketTransport::WebSocketTransport(std::unique_ptr<Transport> inner, size_t header_limit,
                                       std::shared_ptr<const std::vector<std::string>> origins)
    : inner_(std::move(inner)),
      header_limit_(header_limit ? header_limit : ws::kDefaultHeaderLimit),
      origins_(std::move(origins)) {}

bool WebSocketTransport::has_pending_output() const {
  return out_off_ < out_.size() || (inner_ && inner_->has_pending_output());
}

bool WebSocketTransport::established() const {
  return upgraded_ && (!inner_ || inner_->established());
}

const PeerIdentity& WebSocketTransport::identity() const {
  static const PeerIdentity kNone;
  return inner_ ? inner_->identity() : kNone;
}

IoResult WebSocketTransport::inner_read(int fd, char* buf, size_t cap) {
  if (inner_) {
    IoResult r = inner_->read(fd, buf, cap);
    if (r.status == IoStatus::kError) error_ = inner_->error();
    return r;
  }
  for (;;) {
    const ssize_t n = ::recv(fd, buf, cap, 0);
    if (n > 0) return {IoStatus::kOk, size_t(n)};
    if (n == 0) return {IoStatus::kClosed, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
    return socket_failure(error_);
  }
}

IoResult WebSocketTransport::inner_write(int fd, const char* data, size_t len) {
  if (inner_) {
    IoResult r = inner_->write(fd, data, len);
    if (r.status == IoStatus::kError) error_ = inner_->error();
    return r;
  }
  size_t total = 0;
  while (total < len) {
    const ssize_t n = ::send(fd, data + total, len - total, MSG_NOSIGNAL);
    if (n >= 0) {
      total += size_t(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (total > 0) break;
    return socket_failure(error_);
  }
  return total > 0 ? IoResult{IoStatus::kOk, total} : IoResult{IoStatus::kWouldBlock, 0};
}

bool WebSocketTransport::flush_output(int fd) {
  if (inner_ && inner_->has_pending_output()) {
    if (inner_->write(fd, nullptr, 0).status == IoStatus::kError) {
      error_ = inner_->error();
      return false;
    }
  }
  while (out_off_ < out_.size()) {
    IoResult r = inner_write(fd, out_.data() + out_off_, out_.size() - out_off_);
    if (r.status == IoStatus::kWouldBlock) break;
    if (r.status != IoStatus::kOk) return false;
    out_off_ += r.n;
  }
  if (out_off_ == out_.size()) {
    if (out_.capacity() > kKeepOutCapacity) std::string().swap(out_);
    else out_.clear();
    out_off_ = 0;
  } else if (out_off_ > out_.size() / 2) {
    out_.erase(0, out_off_);  // TLS allows the retried bytes to move
    out_off_ = 0;
  }
  return true;
}

IoResult WebSocketTransport::fail(int fd, uint16_t close_code, std::string why) {
  if (state_ == State::kOpen && close_code != 0) {
    ws::append_close_frame(out_, close_code, "protocol error");
    flush_output(fd);
  }
  state_ = State::kFailed;
  error_ = std::move(why);
  return {IoStatus::kError, 0};
}

IoResult WebSocketTransport::read(int fd, char* buf, size_t cap) {
  if (state_ == State::kFailed) return {IoStatus::kError, 0};
  if (state_ == State::kClosing) return {IoStatus::kClosed, 0};
  if (end_ != IoStatus::kOk) return {end_, 0};
  if (state_ == State::kUpgrade) {
    IoResult r = read_upgrade(fd, buf, cap);
    if (state_ != State::kOpen) return r;
  }
  return read_frames(fd, buf, cap);
}

IoResult WebSocketTransport::read_upgrade(int fd, char* buf, size_t cap) {
  for (;;) {
    IoResult r = inner_read(fd, buf, cap);
    if (r.status != IoStatus::kOk) return r;
    request_.append(buf, r.n);
    static const std::vector<std::string> kAny;
    ws::UpgradeResult u = ws::parse_upgrade_request(request_, header_limit_, origins_ ? *origins_ : kAny);
    if (u.status == ws::UpgradeResult::Status::kNeedMore) continue;
    out_ += u.response;
    if (u.status == ws::UpgradeResult::Status::kRejected) {
      // The HTTP refusal goes out now (and again, best effort, from shutdown()).
      flush_output(fd);
      state_ = State::kFailed;
      error_ = "WebSocket upgrade refused: " + u.error;
      return {IoStatus::kError, 0};
    }
    subprotocol_ = std::move(u.subprotocol);
    leftover_.assign(request_, u.consumed, std::string::npos);
    std::string().swap(request_);
    state_ = State::kOpen;
    upgraded_ = true;
    if (!flush_output(fd)) {
      state_ = State::kFailed;
      return {IoStatus::kError, 0};
    }
    return {IoStatus::kOk, 0};
  }
}

bool WebSocketTransport::decode(int fd, const char* in, size_t len, char* out, size_t cap, size_t& consumed,
                                size_t& produced) {
  using Event = ws::FrameDecoder::Event;
  while (consumed < len) {
    ws::FrameDecoder::Step st = decoder_.decode(in + consumed, len - consumed, out + produced, cap - produced);
    consumed += st.consumed;
    produced += st.produced;
    switch (st.event) {
      case Event::kNone:
        if (produced == cap || (st.consumed == 0 && st.produced == 0)) return true;  // output full
        break;
      case Event::kPing:
        ws::append_frame(out_, ws::Opcode::kPong, decoder_.control_payload());
        if (out_.size() - out_off_ > kMaxControlBacklog) {
          fail(fd, ws::kCloseTooBig, "WebSocket: client sends pings but does not read the pongs");
          return false;
        }
        break;
      case Event::kPong:
        break;
      case Event::kClose: {
        // [RFC 6455 5.5.1]: answer with a close frame (echoing the status), then end.
        ws::append_close_frame(out_, decoder_.close_code());
        flush_output(fd);
        state_ = State::kClosing;
        return false;
      }
      case Event::kError:
        fail(fd, decoder_.error_code(), "WebSocket protocol error: " + decoder_.error());
        return false;
    }
  }
  return true;
}

IoResult WebSocketTransport::read_frames(int fd, char* buf, size_t cap) {
  size_t produced = 0;
  bool open = true;
  if (!leftover_.empty()) {
    size_t used = 0;
    open = decode(fd, leftover_.data(), leftover_.size(), buf, cap, used, produced);
    leftover_.erase(0, used);
    if (leftover_.empty()) std::string().swap(leftover_);
    if (open && !leftover_.empty()) return {IoStatus::kOk, produced};  // buf is full
  }
  // Raw bytes land after the MQTT bytes already produced and are decoded in place; keep
  // reading until the socket is drained (the caller relies on a short read meaning so).
  while (open && produced < cap) {
    IoResult r = inner_read(fd, buf + produced, cap - produced);
    if (r.status == IoStatus::kWouldBlock) break;
    if (r.status != IoStatus::kOk) {
      end_ = r.status;
      break;
    }
    size_t used = 0, made = 0;
    open = decode(fd, buf + produced, r.n, buf + produced, r.n, used, made);
    produced += made;
  }
  if (state_ == State::kFailed) return {IoStatus::kError, 0};
  if (produced > 0) return {IoStatus::kOk, produced};
  if (state_ == State::kClosing) return {IoStatus::kClosed, 0};
  if (end_ != IoStatus::kOk) return {end_, 0};
  return {IoStatus::kWouldBlock, 0};
}

IoResult WebSocketTransport::write(int fd, const char* data, size_t len) {
  if (state_ == State::kFailed) return {IoStatus::kError, 0};
  if (state_ == State::kClosing) return {IoStatus::kClosed, 0};
  if (!flush_output(fd)) return {IoStatus::kError, 0};
  if (data == nullptr || len == 0) return {IoStatus::kOk, 0};
  if (state_ != State::kOpen) return {IoStatus::kWouldBlock, 0};
  // Frame and send until everything is taken or the socket is full: the caller waits for
  // EPOLLOUT only after a short write, so a short write must mean the socket pushed back.
  size_t accepted = 0;
  while (accepted < len) {
    const size_t pending = out_.size() - out_off_;
    if (pending >= kOutputHighWater) break;
    const size_t n = std::min(len - accepted, kOutputHighWater - pending);
    ws::append_frame_header(out_, ws::Opcode::kBinary, n);
    out_.append(data + accepted, n);
    accepted += n;
    if (!flush_output(fd)) return accepted ? IoResult{IoStatus::kOk, accepted} : IoResult{IoStatus::kError, 0};
  }
  if (accepted == 0) return {IoStatus::kWouldBlock, 0};
  return {IoStatus::kOk, accepted};
}

void WebSocketTransport::shutdown(int fd) {
  if (state_ == State::kOpen) {
    // The broker ends the connection: say so in WebSocket terms before the socket closes.
    ws::append_close_frame(out_, ws::kCloseNormal);
    state_ = State::kClosing;
  }
  flush_output(fd);
  if (inner_) inner_->shutdown(fd);
}

}  // namespace petrel::net
