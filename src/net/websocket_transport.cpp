#include "net/websocket_transport.h"

#include <sys/socket.h>
#include <unistd.h>

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

// What a client may send after its HTTP request while the reply goes out (ignored); more
// ends the connection.
constexpr size_t kMaxIgnoredBytes = 64 * 1024;

WebSocketTransport::WebSocketTransport(std::unique_ptr<Transport> inner, size_t header_limit,
                                       std::shared_ptr<const std::vector<std::string>> origins,
                                       std::shared_ptr<const HttpFiles> files)
    : inner_(std::move(inner)),
      header_limit_(header_limit ? header_limit : ws::kDefaultHeaderLimit),
      origins_(std::move(origins)),
      files_(std::move(files)) {}

WebSocketTransport::~WebSocketTransport() { close_file(); }

void WebSocketTransport::close_file() {
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
  file_left_ = 0;
}

bool WebSocketTransport::has_pending_output() const {
  return out_off_ < out_.size() || file_fd_ >= 0 || (inner_ && inner_->has_pending_output());
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
  if (!write_out(fd)) return false;
  if (state_ != State::kServing) return true;
  // A served file: the next chunk once the last one is out, until the socket is full.
  while (file_fd_ >= 0 && out_off_ == out_.size()) {
    if (!refill_from_file() || !write_out(fd)) return false;
  }
  if (!sent_all_ && !has_pending_output()) {
    // Everything is out: end our side, so the client sees the end of the reply at once.
    sent_all_ = true;
    if (inner_) inner_->shutdown(fd);
    ::shutdown(fd, SHUT_WR);
  }
  return true;
}

bool WebSocketTransport::refill_from_file() {
  const size_t want = size_t(std::min<uint64_t>(file_left_, kFileChunk));
  out_.resize(want);
  ssize_t n;
  do {
    n = ::read(file_fd_, out_.data(), want);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    // Shorter than when the reply's Content-Length was taken (or unreadable): the client
    // cannot get what was promised, so the connection ends now.
    error_ = "HTTP " + http_log_ + ": the file " + (n < 0 ? std::string("could not be read: ") + std::strerror(errno)
                                                        : std::string("became shorter while being sent"));
    out_.clear();
    out_off_ = 0;
    close_file();
    state_ = State::kFailed;
    return false;
  }
  out_.resize(size_t(n));
  out_off_ = 0;
  file_left_ -= uint64_t(n);
  if (file_left_ == 0) close_file();
  return true;
}

bool WebSocketTransport::write_out(int fd) {
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
    // A served file refills the same buffer chunk after chunk.
    if (out_.capacity() > kKeepOutCapacity && state_ != State::kServing) std::string().swap(out_);
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

IoResult WebSocketTransport::serve(int fd, std::string_view method, std::string_view target) {
  HttpFiles::Response r = files_->respond(method, target);
  out_ += r.head;
  out_ += r.body;
  file_fd_ = r.fd;
  file_left_ = r.length;
  if (file_fd_ >= 0 && file_left_ == 0) close_file();  // an empty file
  http_log_ = std::move(r.log);
  std::string().swap(request_);
  state_ = State::kServing;
  if (!flush_output(fd)) {
    if (error_.empty()) error_ = "HTTP " + http_log_ + ": the client left before the reply was sent";
    close_file();
    state_ = State::kFailed;
    return {IoStatus::kError, 0};
  }
  return {IoStatus::kWouldBlock, 0};
}

IoResult WebSocketTransport::read_serving(int fd, char* buf, size_t cap) {
  for (;;) {
    IoResult r = inner_read(fd, buf, cap);
    if (r.status == IoStatus::kWouldBlock) return r;
    if (r.status == IoStatus::kOk) {
      // One request per connection: what comes after it is not read.
      ignored_ += r.n;
      if (ignored_ <= kMaxIgnoredBytes) continue;
      error_ = "HTTP " + http_log_ + ": the client kept sending while the reply went out";
    } else if (sent_all_) {
      error_ = "HTTP " + http_log_;  // served; the client closed
    } else {
      error_ = "HTTP " + http_log_ + ": the client left before the whole reply was sent";
    }
    close_file();
    state_ = State::kFailed;
    return {IoStatus::kError, 0};
  }
}

IoResult WebSocketTransport::read(int fd, char* buf, size_t cap) {
  if (state_ == State::kServing) return read_serving(fd, buf, cap);
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
    ws::UpgradeResult u =
        ws::parse_upgrade_request(request_, header_limit_, origins_ ? *origins_ : kAny, files_ != nullptr);
    if (u.status == ws::UpgradeResult::Status::kNeedMore) continue;
    if (u.status == ws::UpgradeResult::Status::kPlainHttp) return serve(fd, u.method, u.target);
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
  if (state_ == State::kServing) {
    if (!flush_output(fd)) return {IoStatus::kError, 0};
    return {data == nullptr || len == 0 ? IoStatus::kOk : IoStatus::kWouldBlock, 0};
  }
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
  if (!http_log_.empty()) {  // a plain HTTP request was answered (http_dir)
    // An HTTP exchange ends here: nothing more of the file is sent, and the TLS close
    // went out already if the reply was complete.
    close_file();
    if (inner_ && !sent_all_) inner_->shutdown(fd);
    return;
  }
  if (state_ == State::kOpen) {
    // The broker ends the connection: say so in WebSocket terms before the socket closes.
    ws::append_close_frame(out_, ws::kCloseNormal);
    state_ = State::kClosing;
  }
  flush_output(fd);
  if (inner_) inner_->shutdown(fd);
}

}  // namespace petrel::net
