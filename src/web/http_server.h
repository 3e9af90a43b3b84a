#pragma once
// HttpServer: the admin API's HTTP/1.1 server (`protocol http_api` listeners). Owns one
// thread with its own io_context, the listening sockets and their connections; never
// touches a broker worker. Each request goes through the Dispatcher (auth, routing, CSRF)
// to a handler, which may answer from any thread.
//
// Limits keep a hostile or broken client down to the cost of its socket: header and body
// size (431, 413), a deadline for a whole request (then the connection just closes),
// an idle keep-alive timeout, a cap on connections (refused at accept), one request at a
// time per connection, and a bound on each event stream's unsent bytes.
//
// Endpoints are bound synchronously on the caller's thread, so a configuration error is
// reported to whoever asked (`http api listener 127.0.0.1:8080: Address already in use`).
// open(), replace(), close_all() and stop() may be called from any thread, handlers
// included (but stop() from a handler does not wait for the thread). Routes and the CSP
// are set before start().
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"

namespace petrel::web {

class Auth;
class Router;

struct Endpoint {
  std::string address;  // empty: all addresses (IPv6 and IPv4); a literal; or a host name (each address)
  uint16_t port = 0;    // 0: any free port (see HttpServer::bound())
  std::string certfile, keyfile;  // TLS when both are set
  std::string name;               // for logs
  bool tls() const { return !certfile.empty() || !keyfile.empty(); }
  bool operator==(const Endpoint&) const = default;
};

struct Limits {
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds read_timeout{30'000};   // a whole request (and a response's write)
  std::chrono::milliseconds idle_timeout{60'000};   // between keep-alive requests
  size_t max_connections = 64;
  size_t event_stream_bound = 1024 * 1024;          // unsent bytes per event stream
  std::chrono::milliseconds event_heartbeat{15'000};  // comment line so proxies keep streams open
};

inline constexpr std::string_view kDefaultContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// One listening socket: an endpoint with a host name or an empty address may have several.
struct BoundAddress {
  std::string name;
  std::string address;  // "127.0.0.1", "::"
  uint16_t port = 0;
  bool tls = false;
};

class HttpServer {
 public:
  // router and auth must outlive the server.
  HttpServer(Logger& log, Router& router, Auth& auth, Limits limits = {});
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Before start().
  void set_content_security_policy(std::string csp);

  // Binds and starts listening on endpoints in addition to those open. On the first
  // failure, nothing of this call stays open and the error names address and port. An
  // endpoint with the address and (non-zero) port of an open one is refused.
  Result<void> open(const std::vector<Endpoint>& endpoints);
  // Makes `next` the set of endpoints: new ones are bound first; on any error nothing
  // changes. An endpoint with the address and port of an open one keeps its socket: when
  // identical it keeps its connections too (a TLS one reloads its certificate for new
  // connections, so a renewed file takes effect); when its TLS files or name differ, its
  // connections close and new ones get the new settings. The rest close, with their
  // connections. Closing happens on the server thread shortly after this returns.
  Result<void> replace(const std::vector<Endpoint>& next);
  void close_all();

  void start();
  // Closes listeners and connections and joins the thread. Final: the server is not
  // started again.
  void stop();

  // Every listening socket, in the order of the endpoints.
  std::vector<BoundAddress> bound() const;
  size_t connection_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::web
