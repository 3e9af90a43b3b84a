// One HTTP/1.1 connection of the admin server, for plain TCP and TLS alike (a template
// over the stream, instantiated twice below).
//
// Life of a connection: [TLS handshake] -> read a request (header, "100 Continue" when
// asked, body) -> the dispatcher and handler -> write the reply -> wait for the next
// request or close. The first request, handshake included, must arrive within
// read_timeout of the accept; later ones may wait idle_timeout before their first byte
// and then have read_timeout to be complete. Only one request is in progress at a time,
// so pipelined bytes wait in the buffer. A reply that starts an event stream turns the
// connection into a one-way stream for the rest of its life, with a read kept pending
// only to notice the client going.
#include "web/connection.h"

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>

#include <array>
#include <cctype>
#include <deque>
#include <optional>
#include <type_traits>

#include "web/json.h"

namespace petrel::web::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// After the last response of a connection, how long the client may take to close its side.
constexpr std::chrono::seconds kLinger{2};
// Bytes read and dropped while lingering (the rest of a refused body, say).
constexpr size_t kDrainLimit = 256 * 1024;

// RFC 9110 token characters: a handler's header name must be one.
bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos)) return false;
  }
  return true;
}

// CR, LF or NUL in a value would let it end the header and write the rest of the reply.
bool valid_header_value(std::string_view value) { return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

template <class Fields>
void add_standard_headers(http::header<false, Fields>& h, const std::string& csp, bool has_cache_control) {
  h.set("X-Content-Type-Options", "nosniff");
  h.set("X-Frame-Options", "DENY");
  h.set("Referrer-Policy", "no-referrer");
  if (!csp.empty()) h.set("Content-Security-Policy", csp);
  if (!has_cache_control) h.set(http::field::cache_control, "no-store");
}

class PostingTarget final : public ReplyTarget {
 public:
  PostingTarget(std::shared_ptr<ServerLink> link, std::weak_ptr<ConnectionBase> conn)
      : link_(std::move(link)), conn_(std::move(conn)) {}
  void send_response(Response r) override {
    link_->post([c = conn_, r = std::move(r)]() mutable {
      if (auto p = c.lock()) p->deliver(std::move(r));
    });
  }
  void dropped() override {
    link_->post([c = conn_] {
      if (auto p = c.lock()) p->handler_dropped();
    });
  }
  void start_events(std::shared_ptr<EventStream> s) override {
    link_->post([c = conn_, s = std::move(s)] {
      if (auto p = c.lock()) p->begin_events(s);
      else s->mark_closed();
    });
  }
  void event_bytes(std::string bytes) override {
    link_->post([c = conn_, b = std::move(bytes)]() mutable {
      if (auto p = c.lock()) p->event_bytes(std::move(b));
    });
  }
  void end_events(bool abort) override {
    link_->post([c = conn_, abort] {
      if (auto p = c.lock()) p->end_events(abort);
    });
  }

 private:
  std::shared_ptr<ServerLink> link_;
  std::weak_ptr<ConnectionBase> conn_;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(ServerContext& ctx, Stream stream, std::shared_ptr<asio::ssl::context> tls, uint64_t listener,
             std::string peer)
      : ConnectionBase(listener),
        ctx_(ctx),
        tls_(std::move(tls)),
        stream_(std::move(stream)),
        peer_(std::move(peer)),
        timer_(beast::get_lowest_layer(stream_).get_executor()) {}

  void start() override {
    tcp().expires_after(ctx_.limits.read_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(asio::ssl::stream_base::server, [self = self()](beast::error_code ec) {
        if (self->state_ == State::kClosed) return;
        if (ec) return self->lost(ec, "TLS handshake");
        self->read_header();
      });
    } else {
      read_header();
    }
  }

  void close() override {
    if (state_ == State::kClosed) return;
    auto keep = shared_from_this();
    state_ = State::kClosed;
    timer_.cancel();
    beast::error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().close();
    if (events_) std::exchange(events_, nullptr)->mark_closed();
    ctx_.on_closed(this);
  }

  void deliver(Response r) override {
    if (state_ != State::kHandling) return;
    state_ = State::kWriting;
    if (r.status < 100 || r.status > 599) {
      PETREL_LOG(ctx_.log, kLogError, "http api: {} {} from {}: handler answered status {}", request_.method,
                 request_.path, peer_, r.status);
      r = error_response(500, "internal error");
    }
    response_.emplace();
    auto& res = *response_;
    res.version(version_);
    res.result(unsigned(r.status));
    bool cache_control = false;
    for (const auto& [name, value] : r.headers) {
      if (!valid_header_name(name) || !valid_header_value(value)) {
        PETREL_LOG(ctx_.log, kLogWarning, "http api: {} {}: handler header '{}' dropped (not a valid header)",
                   request_.method, request_.path, name);
        continue;
      }
      cache_control = cache_control || iequals(name, "Cache-Control");
      res.insert(name, value);
    }
    if (!r.content_type.empty() && valid_header_value(r.content_type)) res.set(http::field::content_type, r.content_type);
    else if (!r.body.empty()) res.set(http::field::content_type, "text/plain; charset=utf-8");
    add_standard_headers(res.base(), ctx_.csp, cache_control);
    res.keep_alive(keep_alive_);
    res.body() = std::move(r.body);
    res.prepare_payload();
    if (head_) res.body().clear();  // Content-Length stays: HEAD tells what GET would send
    tcp().expires_after(ctx_.limits.read_timeout);
    http::async_write(stream_, res, [self = self()](beast::error_code ec, size_t) {
      self->response_.reset();
      if (self->state_ == State::kClosed) return;
      if (ec) return self->lost(ec, "write");
      if (!self->keep_alive_) return self->finish();
      self->wait_for_request();
    });
  }

  void handler_dropped() override {
    if (state_ != State::kHandling) return;
    PETREL_LOG(ctx_.log, kLogError, "http api: {} {} from {}: the handler dropped its reply without answering",
               request_.method, request_.path, peer_);
    deliver(error_response(500, "internal error"));
  }

  void begin_events(std::shared_ptr<EventStream> stream) override {
    if (state_ != State::kHandling) {
      stream->mark_closed();
      return;
    }
    state_ = State::kEvents;
    events_ = std::move(stream);
    tcp().expires_never();  // the stream may be quiet for long; stalls are caught by the heartbeat
    http::response<http::empty_body> h{http::status::ok, version_};
    h.set(http::field::content_type, "text/event-stream");
    h.set("X-Accel-Buffering", "no");  // tells nginx-style proxies not to buffer the stream
    add_standard_headers(h.base(), ctx_.csp, false);
    h.keep_alive(false);  // no length, no chunks: the body ends when the connection does
    std::string head = fmt::format("HTTP/{}.{} 200 OK\r\n", version_ / 10, version_ % 10);
    for (const auto& f : h) head += fmt::format("{}: {}\r\n", f.name_string(), f.value());
    head += "\r\n";
    out_.emplace_back(std::move(head), false);
    if (head_) close_after_flush_ = true;
    watch_client();
    heartbeat();
    write_next();
  }

  void event_bytes(std::string bytes) override {
    if (state_ != State::kEvents || close_after_flush_) return;
    out_.emplace_back(std::move(bytes), true);
    write_next();
  }

  void end_events(bool abort) override {
    if (state_ != State::kEvents) return;
    if (abort) {
      PETREL_LOG(ctx_.log, kLogNotice, "http api: event stream to {} cut: over {} bytes unsent", peer_,
                 ctx_.limits.event_stream_bound);
      return close();
    }
    close_after_flush_ = true;
    write_next();
  }

 private:
  enum class State { kReading, kHandling, kWriting, kEvents, kClosing, kClosed };

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }
  std::shared_ptr<Connection> self() { return std::static_pointer_cast<Connection>(shared_from_this()); }

  void lost(beast::error_code ec, std::string_view when) {
    if (state_ != State::kClosing) {
      PETREL_LOG(ctx_.log, kLogDebug, "http api: connection from {} closed ({}: {})", peer_, when, ec.message());
    }
    close();
  }

  void wait_for_request() {
    state_ = State::kReading;
    if (buffer_.size() > 0) {  // pipelined: the next request has started already
      tcp().expires_after(ctx_.limits.read_timeout);
      return read_header();
    }
    tcp().expires_after(ctx_.limits.idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024), [self = self()](beast::error_code ec, size_t n) {
      if (self->state_ == State::kClosed) return;
      if (ec) return self->lost(ec, "idle");
      self->buffer_.commit(n);
      self->tcp().expires_after(self->ctx_.limits.read_timeout);
      self->read_header();
    });
  }

  void read_header() {
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(uint32_t(ctx_.limits.max_header_bytes));
    parser_->body_limit(ctx_.limits.max_body_bytes);
    http::async_read_header(stream_, buffer_, *parser_, [self = self()](beast::error_code ec, size_t) {
      if (self->state_ == State::kClosed) return;
      if (ec) return self->read_failed(ec);
      if (self->parser_->is_done()) return self->on_request();
      if (iequals(self->parser_->get()[http::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        return asio::async_write(self->stream_, asio::buffer(kContinue.data(), kContinue.size()),
                                 [self](beast::error_code ec, size_t) {
                                   if (self->state_ == State::kClosed) return;
                                   if (ec) return self->lost(ec, "write");
                                   self->read_body();
                                 });
      }
      self->read_body();
    });
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = self()](beast::error_code ec, size_t) {
      if (self->state_ == State::kClosed) return;
      if (ec) return self->read_failed(ec);
      self->on_request();
    });
  }

  void read_failed(beast::error_code ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return refuse(431, "request header too large");
    }
    if (ec == http::error::body_limit) return refuse(413, "request body too large");
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return refuse(400, "malformed request: " + ec.message());
    }
    lost(ec, "read");  // timeout, client gone, or gone mid-request
  }

  // An error reply, then the connection closes: after a bad request the stream cannot be
  // trusted to be at a message boundary.
  void refuse(int status, std::string message) {
    PETREL_LOG(ctx_.log, kLogDebug, "http api: request from {} refused: {} {}", peer_, status, message);
    keep_alive_ = false;
    head_ = false;
    version_ = 11;
    request_ = Request{};
    state_ = State::kHandling;
    deliver(error_response(status, std::move(message)));
  }

  void on_request() {
    auto msg = parser_->release();
    parser_.reset();
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == http::verb::head;
    version_ = msg.version();
    request_ = Request{};
    request_.method = std::string(msg.method_string());
    request_.target = std::string(msg.target());
    for (const auto& f : msg) request_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    request_.body = std::move(msg.body());
    request_.peer = peer_;
    request_.tls = kTls;
    state_ = State::kHandling;
    tcp().expires_never();  // a handler's own time is not the client's fault
    auto target = std::make_shared<PostingTarget>(ctx_.link, weak_from_this());
    ctx_.dispatch(request_, std::make_shared<Reply>(std::move(target), ctx_.limits.event_stream_bound));
  }

  // The last response is written: let the client see it before the socket goes. Closing
  // at once with unread bytes from the client would send a reset that can destroy the
  // response in flight, so the plain stream half-closes and reads what is left, and TLS
  // sends its close_notify; either for at most kLinger.
  void finish() {
    if (state_ == State::kClosing || state_ == State::kClosed) return;
    const bool watching = state_ == State::kEvents;  // a read is pending already
    state_ = State::kClosing;
    timer_.expires_after(kLinger);
    timer_.async_wait([self = self()](beast::error_code ec) {
      if (!ec) self->close();
    });
    if constexpr (kTls) {
      if (watching) return close();
      stream_.async_shutdown([self = self()](beast::error_code) { self->close(); });
    } else {
      beast::error_code ec;
      tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (!watching) drain();
    }
  }

  void drain() {
    stream_.async_read_some(asio::buffer(sink_), [self = self()](beast::error_code ec, size_t n) {
      if (self->state_ == State::kClosed) return;
      self->drained_ += n;
      if (ec || self->drained_ > kDrainLimit) return self->close();
      self->drain();
    });
  }

  // While streaming events the client has nothing to say: any byte or the end of its
  // side means it is done.
  void watch_client() {
    stream_.async_read_some(asio::buffer(sink_), [self = self()](beast::error_code ec, size_t) {
      if (self->state_ == State::kClosed) return;
      self->lost(ec ? ec : beast::error_code(asio::error::eof), "event stream");
    });
  }

  void heartbeat() {
    timer_.expires_after(ctx_.limits.event_heartbeat);
    timer_.async_wait([self = self()](beast::error_code ec) {
      if (ec || self->state_ != State::kEvents) return;
      // A write that has not finished in read_timeout is a client that stopped reading
      // while its socket buffers still had room for what the bound allowed.
      if (self->writing_ && std::chrono::steady_clock::now() - self->write_started_ > self->ctx_.limits.read_timeout) {
        return self->lost(asio::error::timed_out, "event stream write");
      }
      self->out_.emplace_back(": keepalive\n\n", false);
      self->write_next();
      self->heartbeat();
    });
  }

  void write_next() {
    if (writing_) return;
    if (out_.empty()) {
      if (close_after_flush_) finish();
      return;
    }
    writing_ = true;
    write_started_ = std::chrono::steady_clock::now();
    asio::async_write(stream_, asio::buffer(out_.front().first), [self = self()](beast::error_code ec, size_t n) {
      self->writing_ = false;
      if (self->state_ == State::kClosed) return;
      if (ec) return self->lost(ec, "write");
      if (self->out_.front().second && self->events_) self->events_->written(n);
      self->out_.pop_front();
      if (self->state_ == State::kEvents) self->write_next();
    });
  }

  ServerContext& ctx_;
  std::shared_ptr<asio::ssl::context> tls_;  // outlives stream_, which uses it
  Stream stream_;
  const std::string peer_;
  State state_ = State::kReading;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  std::optional<http::response<http::string_body>> response_;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  // Heartbeat while streaming events, the linger deadline while closing.
  asio::steady_timer timer_;
  std::array<char, 1024> sink_;
  size_t drained_ = 0;
  // Event stream output: bytes, and whether they count in the stream's bound.
  std::shared_ptr<EventStream> events_;
  std::deque<std::pair<std::string, bool>> out_;
  bool writing_ = false;
  bool close_after_flush_ = false;
  std::chrono::steady_clock::time_point write_started_;
};

}  // namespace

std::shared_ptr<ConnectionBase> make_connection(ServerContext& ctx, tcp::socket socket,
                                                std::shared_ptr<asio::ssl::context> tls, uint64_t listener,
                                                std::string peer) {
  if (tls) {
    TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
    return std::make_shared<Connection<TlsStream>>(ctx, std::move(stream), std::move(tls), listener, std::move(peer));
  }
  return std::make_shared<Connection<PlainStream>>(ctx, PlainStream(std::move(socket)), nullptr, listener,
                                                   std::move(peer));
}

}  // namespace petrel::web::detail
