#include "net/transport_factory.h"

#include <optional>

#include "net/proxy_protocol.h"
#include "net/tls_context.h"
#include "net/tls_transport.h"
#include "net/websocket_transport.h"

namespace petrel::net {

namespace {

// Every connection of a listener gets its own stack, innermost first: TLS (its own SSL from
// the listener's context), the PROXY protocol header reader (before TLS: the proxy's
// header comes first on the wire), WebSocket framing.
class ListenerFactory final : public TransportFactory {
 public:
  ListenerFactory(std::shared_ptr<const TlsContext> ctx, std::optional<ProxyOptions> proxy, bool websockets,
                  size_t header_limit, std::vector<std::string> origins, std::shared_ptr<const HttpFiles> files)
      : ctx_(std::move(ctx)),
        proxy_(proxy),
        websockets_(websockets),
        header_limit_(header_limit),
        origins_(std::make_shared<const std::vector<std::string>>(std::move(origins))),
        files_(std::move(files)) {}
  std::unique_ptr<Transport> make() override {
    std::unique_ptr<Transport> t;
    if (ctx_) t = std::make_unique<TlsTransport>(ctx_);
    if (proxy_) t = std::make_unique<ProxyTransport>(std::move(t), *proxy_);
    if (websockets_) t = std::make_unique<WebSocketTransport>(std::move(t), header_limit_, origins_, files_);
    return t;
  }

 private:
  std::shared_ptr<const TlsContext> ctx_;
  std::optional<ProxyOptions> proxy_;
  bool websockets_;
  size_t header_limit_;
  std::shared_ptr<const std::vector<std::string>> origins_;
  std::shared_ptr<const HttpFiles> files_;
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
  std::optional<ProxyOptions> proxy;
  if (l.proxy_protocol) {
    // Without TLS of its own, require_certificate means: the proxy verified one (v2).
    proxy = ProxyOptions{l.proxy_protocol, l.proxy_protocol_v2_require_tls, l.require_certificate && !tls};
  }
  if (!tls && !websockets && !proxy) return nullptr;  // plain MQTT over TCP: Connection's fast path
  std::shared_ptr<const TlsContext> ctx;
  if (tls) {
    auto made = TlsContext::create(l);
    if (!made) {
      error = listener_name(l) + ": " + made.error().message;
      return nullptr;
    }
    ctx = std::move(*made);
  }
  std::shared_ptr<const HttpFiles> files;
  if (websockets && !l.http_dir.empty()) {
    std::string why;
    files = HttpFiles::open(l.http_dir, why);
    if (!files) {
      error = listener_name(l) + ": " + why;
      return nullptr;
    }
  }
  const char* what = websockets ? (ctx ? "MQTT over WebSockets over TLS" : "MQTT over WebSockets")
                                : (ctx ? "MQTT over TLS" : "MQTT");
  PETREL_LOG(log, kLogInfo, "{}: {}{}{}{}.", listener_name(l), what, ctx ? " (" + ctx->describe() + ")" : std::string(),
             proxy ? fmt::format(", behind a proxy (PROXY protocol v{})", l.proxy_protocol) : std::string(),
             files ? fmt::format(", and files from {} over plain HTTP (http_dir)", files->root().empty() ? "/" : files->root())
                   : std::string());
  return std::make_shared<ListenerFactory>(std::move(ctx), proxy, websockets, l.websockets_headers_size,
                                           l.websockets_origins, std::move(files));
}

}  // namespace petrel::net
