#include "net/websocket_handshake.h"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace petrel::net::ws {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 section 1.3

UpgradeResult reject(int status, std::string_view text, std::string error, std::string_view extra_header = {}) {
  UpgradeResult r;
  r.status = UpgradeResult::Status::kRejected;
  r.error = std::move(error);
  const std::string body = std::string(text) + "\n";
  r.response = fmt::format("HTTP/1.1 {} {}\r\nConnection: close\r\n{}Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}",
                           status, text, extra_header, body.size(), body);
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A Sec-WebSocket-Key is the base64 form of 16 bytes: 22 base64 digits and "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

// The subprotocol to answer with, spelled as the client offered it: `mqtt` if offered,
// else `mqttv3.1` (the name MQTT 3.1 clients used); empty when neither is.
std::string choose_subprotocol(const http::request_parser<http::empty_body>::value_type& req, std::string& offered) {
  std::string legacy;
  for (auto it = req.find(http::field::sec_websocket_protocol);
       it != req.end() && it->name() == http::field::sec_websocket_protocol; ++it) {
    std::string_view list(it->value().data(), it->value().size());
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view token = trim(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (token.empty()) continue;
      if (!offered.empty()) offered += ", ";
      offered.append(token);
      if (iequals(token, "mqtt")) return std::string(token);
      if (legacy.empty() && iequals(token, "mqttv3.1")) legacy = std::string(token);
    }
  }
  return legacy;
}

UpgradeResult check_request(const http::request_parser<http::empty_body>& p, size_t consumed,
                            const std::vector<std::string>& origins, bool plain_http) {
  const auto& req = p.get();
  if (plain_http && !http::token_list(req[http::field::upgrade]).exists("websocket")) {
    UpgradeResult r;
    r.status = UpgradeResult::Status::kPlainHttp;
    r.consumed = consumed;
    r.method.assign(req.method_string().data(), req.method_string().size());
    r.target.assign(req.target().data(), req.target().size());
    return r;
  }
  if (req.method() != http::verb::get) {
    return reject(400, "Bad Request", fmt::format("upgrade request uses method {}, not GET",
                                                  std::string_view(req.method_string().data(), req.method_string().size())));
  }
  if (req.version() < 11) return reject(400, "Bad Request", "upgrade request is not HTTP/1.1");
  if (req.has_content_length() || req.chunked()) {
    if (req.chunked() || (p.content_length() && *p.content_length() > 0)) {
      return reject(400, "Bad Request", "upgrade request has a body");
    }
  }
  auto value = [&](http::field f) {
    auto v = req[f];
    return std::string_view(v.data(), v.size());
  };
  if (!http::token_list(req[http::field::upgrade]).exists("websocket")) {
    return reject(400, "Bad Request", "not a WebSocket upgrade request (no 'Upgrade: websocket')");
  }
  if (!http::token_list(req[http::field::connection]).exists("upgrade")) {
    return reject(400, "Bad Request", "not a WebSocket upgrade request (no 'Connection: Upgrade')");
  }
  if (trim(value(http::field::sec_websocket_version)) != "13") {
    return reject(426, "Upgrade Required", "unsupported Sec-WebSocket-Version (13 is required)",
                  "Sec-WebSocket-Version: 13\r\n");
  }
  if (!origins.empty() && req.find(http::field::origin) != req.end()) {
    const std::string_view origin = trim(value(http::field::origin));
    if (std::none_of(origins.begin(), origins.end(), [&](const std::string& o) { return iequals(o, origin); })) {
      return reject(403, "Forbidden", fmt::format("Origin '{}' is not allowed (websockets_origin)", origin));
    }
  }
  const std::string_view key = trim(value(http::field::sec_websocket_key));
  if (key.empty()) return reject(400, "Bad Request", "upgrade request without Sec-WebSocket-Key");
  if (!valid_key(key)) return reject(400, "Bad Request", "malformed Sec-WebSocket-Key");
  std::string offered;
  std::string proto = choose_subprotocol(req, offered);
  if (proto.empty()) {
    // [MQTT-6.0.0-3]: the client must offer "mqtt"; refusing is Mosquitto's behaviour too.
    return reject(400, "Bad Request",
                  offered.empty() ? std::string("no Sec-WebSocket-Protocol offered (expected 'mqtt')")
                                  : fmt::format("no supported subprotocol in '{}' (expected 'mqtt' or 'mqttv3.1')", offered));
  }
  UpgradeResult r;
  r.status = UpgradeResult::Status::kAccepted;
  r.consumed = consumed;
  r.response = fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
      websocket_accept_key(key), proto);
  r.subprotocol = std::move(proto);
  return r;
}

}  // namespace

std::string websocket_accept_key(std::string_view client_key) {
  std::string input(client_key);
  input.append(kGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(std::max(n, 0)));
}

UpgradeResult parse_upgrade_request(std::string_view data, size_t header_limit,
                                    const std::vector<std::string>& origins, bool plain_http) {
  if (header_limit == 0) header_limit = kDefaultHeaderLimit;
  // Refuse at once what cannot be an HTTP request line (an MQTT CONNECT, a TLS hello)
  // instead of waiting for a header block that will never come.
  for (size_t i = 0; i < data.size() && data[i] != ' '; ++i) {
    if (i >= 16 || data[i] < 'A' || data[i] > 'Z') {
      return reject(400, "Bad Request", "not an HTTP upgrade request (no HTTP method)");
    }
  }
  // The header block is parsed once it is complete (or over the limit).
  if (data.find("\r\n\r\n") == std::string_view::npos && data.size() <= header_limit) return {};
  http::request_parser<http::empty_body> p;
  p.header_limit(static_cast<std::uint32_t>(std::min<size_t>(header_limit, UINT32_MAX)));
  p.eager(false);  // the header block only: what follows is WebSocket frames
  boost::beast::error_code ec;
  const size_t used = p.put(boost::asio::const_buffer(data.data(), data.size()), ec);
  if (ec == http::error::need_more || (!ec && !p.is_header_done())) {
    if (data.size() > header_limit) {
      return reject(431, "Request Header Fields Too Large",
                    fmt::format("upgrade request headers over {} bytes (websockets_headers_size)", header_limit));
    }
    return {};
  }
  if (ec == http::error::header_limit) {
    return reject(431, "Request Header Fields Too Large",
                  fmt::format("upgrade request headers over {} bytes (websockets_headers_size)", header_limit));
  }
  if (ec) return reject(400, "Bad Request", fmt::format("not an HTTP upgrade request ({})", ec.message()));
  return check_request(p, used, origins, plain_http);
}

}  // namespace petrel::net::ws
