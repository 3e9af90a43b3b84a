#pragma once
// The server side of the WebSocket opening handshake (RFC 6455 section 4.2) for MQTT:
// parses the client's HTTP/1.1 upgrade request with Boost.Beast's request parser fed
// from a buffer (we own the socket, so no Beast streams), checks it, negotiates the
// `mqtt` subprotocol (or the older `mqttv3.1`) [MQTT-6.0.0-3], and builds the 101 reply
// or the refusal. Pure: text in, text out.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::net::ws {

// Header block limit when the configuration gives none (websockets_headers_size 0).
constexpr size_t kDefaultHeaderLimit = 4096;

struct UpgradeResult {
  // kPlainHttp: a complete HTTP request that is not a WebSocket upgrade, when the caller
  // serves files (http_dir); method and target say what it asks for.
  enum class Status { kNeedMore, kAccepted, kRejected, kPlainHttp };
  Status status = Status::kNeedMore;
  size_t consumed = 0;      // bytes of the request (its header block) once complete
  std::string response;     // the 101 reply, or the HTTP refusal to send before closing
  std::string subprotocol;  // negotiated (kAccepted)
  std::string error;        // why it was refused, for the log (kRejected)
  std::string method;       // kPlainHttp: "GET", "HEAD", ...
  std::string target;       // kPlainHttp: the request target ("/index.html?x")
};

// `data` is everything received so far. kNeedMore while the header block is incomplete
// and within `header_limit` bytes; bytes after the header block (the client's first
// frames) are not part of `consumed`. `origins` (websockets_origin): when not empty, a
// request carrying an Origin header must name one of them (compared without regard to
// case) or is refused with 403; a request without Origin (not from a browser) passes.
// `plain_http`: a request without `Upgrade: websocket` is kPlainHttp instead of refused.
UpgradeResult parse_upgrade_request(std::string_view data, size_t header_limit,
                                    const std::vector<std::string>& origins = {}, bool plain_http = false);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)).
std::string websocket_accept_key(std::string_view client_key);

}  // namespace petrel::net::ws
