// SOCKS5 proxy URL parsing and the byte-level client handshake (RFC 1928, RFC 1929).
#include "client/socks5.h"

#include <boost/asio/ip/address.hpp>
#include <cstdio>

namespace petrel::client::socks5 {

namespace {

constexpr uint8_t kVersion = 5;
constexpr uint8_t kAuthVersion = 1;  // RFC 1929 sub-negotiation version
constexpr uint8_t kMethodNone = 0x00, kMethodUserPass = 0x02, kNoAcceptable = 0xFF;
constexpr uint8_t kCmdConnect = 1;
constexpr uint8_t kAtypV4 = 1, kAtypDomain = 3, kAtypV6 = 4;

std::string strip_brackets(std::string_view h) {
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return std::string(h);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(char(hi << 4 | lo));
    i += 2;
  }
  return out;
}

std::optional<ProxyOptions> parse_url(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "socks5h://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "Unsupported proxy protocol: " + std::string(url);
    if (url.substr(0, 9) == "socks5://")
      error += " (only socks5h://, where the proxy resolves host names, is supported)";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  // An empty path ("socks5h://host:1080/") is allowed; anything else after the
  // authority is not part of a proxy address.
  if (const auto slash = rest.find_first_of("/?#"); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") {
      error = "Invalid proxy: unexpected '" + std::string(rest.substr(slash)) + "' after the proxy address.";
      return std::nullopt;
    }
    rest = rest.substr(0, slash);
  }
  ProxyOptions p;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    if (rest.find('@', at + 1) != std::string_view::npos) {
      error = "Invalid proxy: more than one '@' (write an @ in the username or password as %40).";
      return std::nullopt;
    }
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    std::optional<std::string> pass = std::string();
    if (colon != std::string_view::npos) pass = percent_decode(userinfo.substr(colon + 1));
    if (!user || !pass) {
      error = "Invalid proxy: bad %-escape in the username or password (write % as %25).";
      return std::nullopt;
    }
    if (user->empty()) {
      error = "Invalid proxy: empty username.";
      return std::nullopt;
    }
    if (user->size() > 255 || pass->size() > 255) {
      error = "Invalid proxy: the username and password must be at most 255 bytes each.";
      return std::nullopt;
    }
    p.username = std::move(*user);
    p.password = std::move(*pass);
  }
  std::string_view host = rest, port;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "Invalid proxy: missing ']' after the IPv6 address.";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "Invalid proxy: unexpected '" + std::string(after) + "' after the IPv6 address.";
        return std::nullopt;
      }
      port = after.substr(1);
      has_port = true;
    }
  } else if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    if (rest.find(':', colon + 1) != std::string_view::npos) {
      error = "Invalid proxy: an IPv6 address must be in brackets, as in socks5h://[::1]:1080.";
      return std::nullopt;
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) {
    error = "Invalid proxy: host missing.";
    return std::nullopt;
  }
  if (host.size() > 255) {
    error = "Invalid proxy: host name longer than 255 bytes.";
    return std::nullopt;
  }
  p.host = std::string(host);
  if (has_port) {
    long value = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
      if (c < '0' || c > '9') digits = false;
      else value = value * 10 + (c - '0');
    }
    if (port.empty()) {
      error = "Invalid proxy: port missing after ':'.";
      return std::nullopt;
    }
    if (!digits || value < 1 || value > 65535) {
      error = "Invalid proxy port " + std::string(port);
      return std::nullopt;
    }
    p.port = uint16_t(value);
  }
  return p;
}

std::string reply_text(uint8_t code) {
  switch (code) {
    case 0x00: return "succeeded";
    case 0x01: return "general SOCKS server failure";
    case 0x02: return "connection not allowed by ruleset";
    case 0x03: return "network unreachable";
    case 0x04: return "host unreachable";
    case 0x05: return "connection refused";
    case 0x06: return "TTL expired";
    case 0x07: return "command not supported";
    case 0x08: return "address type not supported";
    default: return "unassigned reply code " + hex_byte(code);
  }
}

Handshake::Handshake(ProxyOptions proxy, std::string host, uint16_t port)
    : proxy_(std::move(proxy)), host_(strip_brackets(host)), port_(port) {}

std::string Handshake::target() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

Handshake::Step Handshake::fail(TransportErrorKind kind, std::string message) {
  state_ = State::kFailed;
  Step s;
  s.error = TransportError{kind, std::move(message)};
  return s;
}

Handshake::Step Handshake::start() {
  state_ = State::kMethod;
  if (proxy_.username.size() > 255 || proxy_.password.size() > 255)
    return fail(TransportErrorKind::kConfig,
                "SOCKS5 proxy username and password must be at most 255 bytes each");
  Step s;
  if (proxy_.username.empty()) s.send = {char(kVersion), 1, char(kMethodNone)};
  else s.send = {char(kVersion), 2, char(kMethodNone), char(kMethodUserPass)};
  s.want = 2;
  return s;
}

Handshake::Step Handshake::send_connect() {
  std::string req = {char(kVersion), char(kCmdConnect), 0};
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host_, ec);
  if (!ec && addr.is_v4()) {
    req.push_back(char(kAtypV4));
    for (auto b : addr.to_v4().to_bytes()) req.push_back(char(b));
  } else if (!ec && addr.is_v6() && addr.to_v6().scope_id() == 0) {
    req.push_back(char(kAtypV6));
    for (auto b : addr.to_v6().to_bytes()) req.push_back(char(b));
  } else {
    if (host_.empty() || host_.size() > 255)
      return fail(TransportErrorKind::kConfig,
                  "Host name '" + host_ + "' cannot be sent to a SOCKS5 proxy (1 to 255 bytes)");
    req.push_back(char(kAtypDomain));
    req.push_back(char(host_.size()));
    req += host_;
  }
  req.push_back(char(port_ >> 8));
  req.push_back(char(port_ & 0xFF));
  state_ = State::kReplyHead;
  Step s;
  s.send = std::move(req);
  s.want = 5;  // VER REP RSV ATYP and the first byte of BND.ADDR (a domain's length)
  return s;
}

Handshake::Step Handshake::on_read(std::string_view b) {
  const auto byte = [&](size_t i) { return i < b.size() ? uint8_t(b[i]) : uint8_t(0); };
  switch (state_) {
    case State::kMethod: {
      if (b.size() != 2 || byte(0) != kVersion)
        return fail(TransportErrorKind::kProxy, "SOCKS5 proxy sent an invalid reply (is it a SOCKS5 proxy?)");
      const uint8_t method = byte(1);
      if (method == kMethodNone) return send_connect();
      if (method == kMethodUserPass && !proxy_.username.empty()) {
        std::string req = {char(kAuthVersion), char(proxy_.username.size())};
        req += proxy_.username;
        req.push_back(char(proxy_.password.size()));
        req += proxy_.password;
        state_ = State::kAuth;
        Step s;
        s.send = std::move(req);
        s.want = 2;
        return s;
      }
      if (method == kNoAcceptable) {
        if (proxy_.username.empty())
          return fail(TransportErrorKind::kProxyRefused,
                      "SOCKS5 proxy requires authentication, but no username was given");
        return fail(TransportErrorKind::kProxyRefused,
                    "SOCKS5 proxy accepts none of the offered authentication methods "
                    "(none, username/password)");
      }
      return fail(TransportErrorKind::kProxy,
                  "SOCKS5 proxy chose authentication method " + hex_byte(method) + ", which was not offered");
    }
    case State::kAuth:
      // RFC 1929 says version 1; some proxies answer with 5. Any non-zero status fails.
      if (b.size() != 2 || (byte(0) != kAuthVersion && byte(0) != kVersion))
        return fail(TransportErrorKind::kProxy, "SOCKS5 proxy sent an invalid authentication reply");
      if (byte(1) != 0)
        return fail(TransportErrorKind::kProxy,
                    "SOCKS5 proxy authentication failed: username or password refused");
      return send_connect();
    case State::kReplyHead: {
      if (b.size() != 5 || byte(0) != kVersion)
        return fail(TransportErrorKind::kProxy, "SOCKS5 proxy sent an invalid reply to CONNECT");
      if (const uint8_t rep = byte(1); rep != 0) {
        const auto kind = rep == 0x02 ? TransportErrorKind::kProxyRefused
                          : (rep >= 0x03 && rep <= 0x05) ? TransportErrorKind::kProxyNoRoute
                                                         : TransportErrorKind::kProxy;
        return fail(kind, "SOCKS5 proxy could not connect to " + target() + ": " + reply_text(rep));
      }
      Step s;
      // The rest of BND.ADDR (one byte already read) and the two bytes of BND.PORT.
      switch (byte(3)) {
        case kAtypV4: s.want = 4 - 1 + 2; break;
        case kAtypV6: s.want = 16 - 1 + 2; break;
        case kAtypDomain: s.want = size_t(byte(4)) + 2; break;
        default:
          return fail(TransportErrorKind::kProxy,
                      "SOCKS5 proxy sent an invalid reply to CONNECT (address type " + hex_byte(byte(3)) + ")");
      }
      state_ = State::kReplyTail;
      return s;
    }
    case State::kReplyTail: {
      state_ = State::kDone;
      Step s;
      s.done = true;
      return s;
    }
    case State::kDone:
    case State::kFailed: break;
  }
  return fail(TransportErrorKind::kProxy, "SOCKS5 handshake used after it ended");
}

}  // namespace petrel::client::socks5
