#include "net/transport_factory.h"

#include "net/tls_context.h"
#include "net/tls_transport.h"
#include "net/websocket_transport.h"

namespace petrel::net {

namespace {

// TLS or TLS-PSK: every connection gets its own SSL from the listener's context.
class TlsFactory final : public TransportFactory {
 public:
  explicit TlsFactory(std::shared_ptr<const TlsContext> ctx) : ctx_(std::move(ctx)) {}
  std::unique_ptr<Transport> make() override { return std::make_unique<TlsTransport>(ctx_); }

 private:
  std::shared_ptr<const TlsContext> ctx_;
};

// WebSockets over plain TCP (no context) or over TLS.
class WebSocketFactory final : public TransportFactory {
 public:
  WebSocketFactory(std::shared_ptr<const TlsContext> ctx, size_t header_limit, std::vector<std::string> origins)
      : ctx_(std::move(ctx)),
        header_limit_(header_limit),
        origins_(std::make_shared<const std::vector<std::string>>(std::move(origins))) {}
  std::unique_ptr<Transport> make() override {
    std::unique_ptr<Transport> inner;
    if (ctx_) inner = std::make_unique<TlsTransport>(ctx_);
    return std::make_unique<WebSocketTransport>(std::move(inner), header_limit_, origins_);
  }

 private:
  std::shared_ptr<const TlsContext> ctx_;
  size_t header_limit_;
  std::shared_ptr<const std::vector<std::string>> origins_;
};

std::string listener_name(const config::Listener& l) {
  std::string s = fmt::format("listener {}", l.port);
  if (!l.bind_address.empty()) s += " " + l.bind_address;
  if (!l.source.empty()) s += " (" + l.source + ")";
  return s;
}

}  // namespace

std::shared_ptr<TransportFactory> make_transport_factory(const config::Listener& l, Logger& log,
                                                         std::string& error) {
  error.clear();
  const bool tls = !l.certfile.empty() || !l.keyfile.empty() || !l.psk_hint.empty();
  const bool websockets = l.protocol == config::ListenerProtocol::kWebsockets;
  if (!tls && !websockets) return nullptr;  // plain MQTT over TCP: Connection's fast path
  std::shared_ptr<const TlsContext> ctx;
  if (tls) {
    auto made = TlsContext::create(l);
    if (!made) {
      error = listener_name(l) + ": " + made.error().message;
      return nullptr;
    }
    ctx = std::move(*made);
  }
  const char* what = websockets ? (ctx ? "MQTT over WebSockets over TLS" : "MQTT over WebSockets") : "MQTT over TLS";
  PETREL_LOG(log, kLogInfo, "{}: {}{}.", listener_name(l), what, ctx ? " (" + ctx->describe() + ")" : std::string());
  if (websockets) return std::make_shared<WebSocketFactory>(std::move(ctx), l.websockets_headers_size, l.websockets_origins);
  return std::make_shared<TlsFactory>(std::move(ctx));
}

}  // namespace petrel::net
