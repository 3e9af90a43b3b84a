// Opening transports: resolve -> connect (optionally bound) -> SOCKS5 handshake when
// through a proxy -> TLS handshake -> WebSocket handshake. One Opener object carries the
// state of one attempt through the callbacks.
#include "client/transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "client/socks5.h"
#include "client/streams.h"
#include "client/tls_context.h"

namespace petrel::client {

namespace {

namespace asio = boost::asio;
namespace ws = boost::beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SslStream = asio::ssl::stream<tcp::socket>;

std::string strip_brackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

class Opener : public std::enable_shared_from_this<Opener> {
 public:
  Opener(asio::any_io_executor ex, TransportOptions opts, OpenHandler h)
      : ex_(ex), opts_(std::move(opts)), handler_(std::move(h)), resolver_(ex), socket_(ex) {
    host_ = strip_brackets(opts_.host);
    connect_host_ = host_;
    connect_port_ = opts_.port;
  }

  void start() {
    if (opts_.tls) {
      std::string err;
      tls_ = TlsContext::create(*opts_.tls, err);
      if (!tls_) return fail(TransportErrorKind::kConfig, err);
    }
    if (opts_.kind == TransportKind::kUnix) return open_unix();
    if (opts_.proxy) {
      // The socket goes to the proxy; the proxy resolves and reaches the server.
      connect_host_ = strip_brackets(opts_.proxy->host);
      connect_port_ = opts_.proxy->port;
      socks_.emplace(*opts_.proxy, opts_.host, opts_.port);
    }
    if (opts_.bind_address.empty()) return resolve();
    resolver_.async_resolve(strip_brackets(opts_.bind_address), "0",
                            [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
                              if (ec) return self->fail(TransportErrorKind::kResolve,
                                                        "Unable to resolve bind address '" +
                                                            self->opts_.bind_address + "': " + ec.message());
                              self->bind_results_ = r;
                              self->resolve();
                            });
  }

 private:
  void fail(TransportErrorKind kind, std::string message) {
    TransportError e{kind, std::move(message)};
    auto h = std::move(handler_);
    if (h) h(nullptr, &e);
  }
  void done(StreamPtr s) {
    auto h = std::move(handler_);
    if (h) h(std::move(s), nullptr);
  }

  void open_unix() {
    auto sock = std::make_shared<asio::local::stream_protocol::socket>(ex_);
    sock->async_connect(asio::local::stream_protocol::endpoint(opts_.unix_path),
                        [self = shared_from_this(), sock](error_code ec) {
                          if (ec) return self->fail(TransportErrorKind::kConnect,
                                                    self->opts_.unix_path + ": " + ec.message());
                          self->done(std::make_unique<detail::AsioStream<asio::local::stream_protocol::socket>>(
                              std::move(*sock)));
                        });
  }

  void resolve() {
    resolver_.async_resolve(connect_host_, std::to_string(connect_port_),
                            [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
                              if (ec || r.empty())
                                return self->fail(self->socks_ ? TransportErrorKind::kProxyConnect
                                                               : TransportErrorKind::kResolve,
                                                  std::string(self->socks_ ? "Unable to resolve SOCKS5 proxy host '"
                                                                           : "Unable to resolve host '") +
                                                      self->connect_host_ + "': " +
                                                      (ec ? ec.message() : "no address"));
                              self->endpoints_.assign(r.begin(), r.end());
                              self->try_next();
                            });
  }

  // Tries the resolved endpoints in order; the last error wins.
  void try_next() {
    if (next_ >= endpoints_.size()) {
      std::string why = last_error_.empty() ? "Connection failed" : last_error_;
      if (socks_)
        return fail(TransportErrorKind::kProxyConnect,
                    "Unable to connect to SOCKS5 proxy " + proxy_address() + ": " + why);
      return fail(TransportErrorKind::kConnect, std::move(why));
    }
    const tcp::endpoint ep = endpoints_[next_++].endpoint();
    error_code ec;
    socket_.close(ec);
    socket_.open(ep.protocol(), ec);
    if (!ec && !bind_local(ep, ec)) {
      last_error_ = "Unable to bind to '" + opts_.bind_address + "': " +
                    (ec ? ec.message() : "no address of the right family");
      return try_next();
    }
    if (ec) {
      last_error_ = ec.message();
      return try_next();
    }
    socket_.async_connect(ep, [self = shared_from_this()](error_code ec2) {
      if (ec2) {
        self->last_error_ = ec2.message();
        return self->try_next();
      }
      self->connected();
    });
  }

  bool bind_local(const tcp::endpoint& remote, error_code& ec) {
    if (opts_.bind_address.empty()) return true;
    for (const auto& e : bind_results_) {
      if (e.endpoint().protocol() != remote.protocol()) continue;
      socket_.bind(tcp::endpoint(e.endpoint().address(), 0), ec);
      return !ec;
    }
    return false;
  }

  void connected() {
    error_code ec;
    if (opts_.nodelay) socket_.set_option(tcp::no_delay(true), ec);
    if (opts_.tcp_keepalive_idle) set_tcp_keepalive();
    if (opts_.tcp_user_timeout_ms) {
      unsigned ms = opts_.tcp_user_timeout_ms;
      ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    }
    if (socks_) return socks_step(socks_->start());
    tunnel_ready();
  }

  // The socket reaches the server (directly or through the proxy): TLS, WebSocket, MQTT.
  void tunnel_ready() {
    if (opts_.tls) return tls_handshake();
    if (opts_.websocket) {
      auto w = std::make_unique<ws::stream<tcp::socket>>(std::move(socket_));
      return ws_handshake(std::move(w));
    }
    done(std::make_unique<detail::AsioStream<tcp::socket>>(std::move(socket_)));
  }

  void set_tcp_keepalive() {
    const int fd = socket_.native_handle();
    int on = 1;
    int idle = static_cast<int>(opts_.tcp_keepalive_idle);
    int intvl = static_cast<int>(opts_.tcp_keepalive_interval);
    int cnt = static_cast<int>(opts_.tcp_keepalive_count);
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    if (intvl > 0) ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    if (cnt > 0) ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  }

  std::string proxy_address() const {
    const bool v6 = connect_host_.find(':') != std::string::npos;
    return (v6 ? "[" + connect_host_ + "]" : connect_host_) + ":" + std::to_string(connect_port_);
  }

  // One step of the SOCKS5 handshake: write what it says, then read exactly what it wants.
  void socks_step(socks5::Handshake::Step step) {
    if (step.error) return fail(step.error->kind, std::move(step.error->message));
    if (step.done) return tunnel_ready();
    socks_in_.assign(step.want, '\0');
    if (step.send.empty()) return socks_read();
    socks_out_ = std::move(step.send);
    asio::async_write(socket_, asio::buffer(socks_out_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->socks_io_failed(ec);
      self->socks_read();
    });
  }

  void socks_read() {
    asio::async_read(socket_, asio::buffer(socks_in_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->socks_io_failed(ec);
      self->socks_step(self->socks_->on_read(self->socks_in_));
    });
  }

  void socks_io_failed(const error_code& ec) {
    if (ec == asio::error::eof || ec == asio::error::connection_reset)
      return fail(TransportErrorKind::kProxy, "SOCKS5 proxy " + proxy_address() +
                                                  (ec == asio::error::eof ? " closed" : " reset") +
                                                  " the connection during the handshake");
    fail(TransportErrorKind::kProxy, "SOCKS5 proxy handshake failed: " + ec.message());
  }

  void tls_handshake() {
    auto s = std::make_shared<SslStream>(std::move(socket_), tls_->context());
    std::string err;
    if (!tls_->prepare(s->native_handle(), host_, err)) return fail(TransportErrorKind::kConfig, err);
    s->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this(), s](error_code ec) {
      if (ec) return self->tls_failed(*s, ec);
      if (self->opts_.websocket) {
        auto w = std::make_unique<ws::stream<SslStream>>(std::move(*s));
        return self->ws_handshake(std::move(w));
      }
      self->done(std::make_unique<detail::AsioStream<SslStream>>(std::move(*s), self->tls_));
    });
  }

  void tls_failed(SslStream& s, const error_code& ec) {
    if (std::string why = TlsContext::ocsp_failure(s.native_handle()); !why.empty()) {
      return fail(TransportErrorKind::kTlsVerify, "TLS OCSP check failed: " + why);
    }
    const long verify = SSL_get_verify_result(s.native_handle());
    if (verify != X509_V_OK) {
      return fail(TransportErrorKind::kTlsVerify,
                  std::string("TLS certificate verification failed: ") +
                      X509_verify_cert_error_string(verify));
    }
    std::string what = ec.message();
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      what = "connection closed by the server during the handshake";
    fail(TransportErrorKind::kTls, "TLS handshake failed: " + what);
  }

  template <class Next>
  void ws_handshake(std::unique_ptr<ws::stream<Next>> w) {
    w->set_option(ws::stream_base::decorator([](ws::request_type& req) {
      req.set(boost::beast::http::field::sec_websocket_protocol, "mqtt");
    }));
    auto* raw = w.get();
    std::string host = opts_.host;
    if (opts_.port != 80 && opts_.port != 443) host += ":" + std::to_string(opts_.port);
    auto holder = std::make_shared<std::unique_ptr<ws::stream<Next>>>(std::move(w));
    raw->async_handshake(host, opts_.ws_path, [self = shared_from_this(), holder](error_code ec) {
      if (ec) return self->fail(TransportErrorKind::kWebSocket, "WebSocket handshake failed: " + ec.message());
      self->done(std::make_unique<detail::WsStream<Next>>(std::move(*holder), self->tls_));
    });
  }

  asio::any_io_executor ex_;
  TransportOptions opts_;
  OpenHandler handler_;
  std::string host_;
  std::string connect_host_;  // where the socket connects: the server, or the proxy
  uint16_t connect_port_ = 0;
  std::optional<socks5::Handshake> socks_;
  std::string socks_out_, socks_in_;
  tcp::resolver resolver_;
  tcp::resolver::results_type bind_results_;
  std::vector<tcp::resolver::results_type::value_type> endpoints_;
  size_t next_ = 0;
  std::string last_error_;
  tcp::socket socket_;
  std::shared_ptr<TlsContext> tls_;
};

}  // namespace

void async_open(asio::any_io_executor ex, const TransportOptions& opts, OpenHandler handler) {
  auto o = std::make_shared<Opener>(ex, opts, std::move(handler));
  o->start();
}

StreamFactory make_stream_factory(asio::any_io_executor ex, TransportOptions opts) {
  return [ex, opts = std::move(opts)](OpenHandler h) { async_open(ex, opts, std::move(h)); };
}

std::optional<std::string> psk_key_from_hex(std::string_view hex) {
  if (hex.empty()) return std::nullopt;
  if (hex.size() % 2 == 0) return hex_to_bytes(hex);
  std::string padded = "0";
  padded.append(hex);
  return hex_to_bytes(padded);
}

std::optional<std::string> hex_to_bytes(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(char(hi << 4 | lo));
  }
  return out;
}

}  // namespace petrel::client
