#include "net/proxy_protocol.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace petrel::net {

namespace {

constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr uint8_t kTlvSsl = 0x20;          // PP2_TYPE_SSL
constexpr uint8_t kTlvSslCn = 0x22;        // PP2_SUBTYPE_SSL_CN
constexpr uint8_t kClientSsl = 0x01;       // PP2_CLIENT_SSL
constexpr uint8_t kClientCertConn = 0x02;  // PP2_CLIENT_CERT_CONN

uint16_t u16(const unsigned char* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t u32(const unsigned char* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

std::string address_text(int family, const void* addr, uint16_t port) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, addr, text, sizeof text);
  return family == AF_INET6 ? fmt::format("[{}]:{}", text, port) : fmt::format("{}:{}", text, port);
}

// "PROXY TCP4 192.0.2.1 198.51.100.1 51234 1883\r\n"
ProxyParse parse_v1(std::string_view data, ProxyHeader& out, size_t& consumed, size_t& want, std::string& error) {
  constexpr std::string_view kPrefix = "PROXY ";
  if (data.substr(0, kPrefix.size()) != kPrefix.substr(0, std::min(data.size(), kPrefix.size()))) {
    error = "expected a PROXY protocol v1 header (\"PROXY ...\"), got something else";
    return ProxyParse::kError;
  }
  const size_t end = data.find("\r\n");
  if (end == std::string_view::npos) {
    if (data.size() >= kProxyV1Max) {
      error = "PROXY v1 header longer than 107 bytes";
      return ProxyParse::kError;
    }
    want = kProxyV1Max;
    return ProxyParse::kNeedMore;
  }
  std::vector<std::string_view> words;
  std::string_view line = data.substr(kPrefix.size(), end - kPrefix.size());
  while (!line.empty()) {
    const size_t sp = line.find(' ');
    words.push_back(line.substr(0, sp));
    line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  }
  consumed = end + 2;
  if (!words.empty() && words[0] == "UNKNOWN") {
    out.local = true;
    return ProxyParse::kDone;
  }
  if (words.size() != 5 || (words[0] != "TCP4" && words[0] != "TCP6")) {
    error = fmt::format("malformed PROXY v1 header '{}'", data.substr(0, end));
    return ProxyParse::kError;
  }
  const int family = words[0] == "TCP4" ? AF_INET : AF_INET6;
  unsigned char addr[16];
  const std::string src(words[1]);
  unsigned port = 0;
  bool port_ok = !words[3].empty() && words[3].size() <= 5;
  for (char c : words[3]) port_ok = port_ok && c >= '0' && c <= '9', port = port * 10 + unsigned(c - '0');
  if (::inet_pton(family, src.c_str(), addr) != 1 || !port_ok || port > 65535) {
    error = fmt::format("malformed PROXY v1 header '{}'", data.substr(0, end));
    return ProxyParse::kError;
  }
  out.source = address_text(family, addr, uint16_t(port));
  return ProxyParse::kDone;
}

void parse_ssl_tlv(const unsigned char* p, size_t len, ProxyHeader& out) {
  if (len < 5) return;
  const uint8_t client = p[0];
  const uint32_t verify = u32(p + 1);
  out.tls = (client & kClientSsl) != 0;
  out.cert_verified = out.tls && (client & kClientCertConn) != 0 && verify == 0;
  for (size_t i = 5; i + 3 <= len;) {
    const uint8_t type = p[i];
    const size_t n = u16(p + i + 1);
    if (i + 3 + n > len) break;
    if (type == kTlvSslCn) out.cert_cn.assign(reinterpret_cast<const char*>(p + i + 3), n);
    i += 3 + n;
  }
}

ProxyParse parse_v2(std::string_view data, ProxyHeader& out, size_t& consumed, size_t& want, std::string& error) {
  const size_t have = std::min(data.size(), kV2Signature.size());
  if (data.substr(0, have) != kV2Signature.substr(0, have)) {
    error = "expected a PROXY protocol v2 header, got something else";
    return ProxyParse::kError;
  }
  if (data.size() < 16) {
    want = 16;
    return ProxyParse::kNeedMore;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const uint8_t ver_cmd = p[12], fam = p[13];
  const size_t len = u16(p + 14);
  if ((ver_cmd >> 4) != 2 || (ver_cmd & 0x0F) > 1) {
    error = fmt::format("PROXY v2 header with unknown version/command 0x{:02x}", ver_cmd);
    return ProxyParse::kError;
  }
  if (len > kProxyV2MaxBody) {
    error = fmt::format("PROXY v2 header of {} bytes (at most {} accepted)", 16 + len, 16 + kProxyV2MaxBody);
    return ProxyParse::kError;
  }
  if (data.size() < 16 + len) {
    want = 16 + len;
    return ProxyParse::kNeedMore;
  }
  consumed = 16 + len;
  const unsigned char* body = p + 16;
  size_t addr_len = 0;
  if ((ver_cmd & 0x0F) == 0) {
    out.local = true;  // LOCAL: the proxy's own connection; the address block is ignored
  } else if (fam == 0x11) {  // TCP over IPv4
    addr_len = 12;
    if (len < addr_len) return error = "PROXY v2 header too short for IPv4 addresses", ProxyParse::kError;
    out.source = address_text(AF_INET, body, u16(body + 8));
  } else if (fam == 0x21) {  // TCP over IPv6
    addr_len = 36;
    if (len < addr_len) return error = "PROXY v2 header too short for IPv6 addresses", ProxyParse::kError;
    out.source = address_text(AF_INET6, body, u16(body + 32));
  } else if (fam == 0x00) {
    out.local = true;  // UNSPEC: no address to give
  } else {
    error = fmt::format("PROXY v2 header for an unsupported address family/transport 0x{:02x}", fam);
    return ProxyParse::kError;
  }
  // TLVs after the addresses (LOCAL and UNSPEC: after no address at all).
  if (out.local) addr_len = 0;
  for (size_t i = addr_len; i + 3 <= len;) {
    const uint8_t type = body[i];
    const size_t n = u16(body + i + 1);
    if (i + 3 + n > len) {
      error = "PROXY v2 header with a truncated TLV";
      return ProxyParse::kError;
    }
    if (type == kTlvSsl) parse_ssl_tlv(body + i + 3, n, out);
    i += 3 + n;
  }
  return ProxyParse::kDone;
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view data, int version, ProxyHeader& out, size_t& consumed, size_t& want,
                              std::string& error) {
  out = ProxyHeader{};
  consumed = 0;
  want = 0;
  if (data.empty()) {
    want = version == 1 ? 8 : 16;
    return ProxyParse::kNeedMore;
  }
  return version == 1 ? parse_v1(data, out, consumed, want, error) : parse_v2(data, out, consumed, want, error);
}

ProxyTransport::ProxyTransport(std::unique_ptr<Transport> inner, ProxyOptions options)
    : inner_(std::move(inner)), options_(options) {}

IoResult ProxyTransport::read_header(int fd) {
  // Peek, so that not one byte after the header is taken from the socket: the transport
  // inside (TLS) reads the socket itself.
  size_t want = options_.version == 1 ? kProxyV1Max : 16;
  std::vector<char> peek;
  for (;;) {
    peek.resize(want);
    const ssize_t n = ::recv(fd, peek.data(), want, MSG_PEEK);
    if (n == 0) return {IoStatus::kClosed, 0};
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
      error_ = std::strerror(errno);
      return {IoStatus::kError, 0};
    }
    size_t consumed = 0, more = 0;
    const ProxyParse r = parse_proxy_header(std::string_view(peek.data(), size_t(n)), options_.version, header_,
                                            consumed, more, error_);
    if (r == ProxyParse::kError) return {IoStatus::kError, 0};
    if (r == ProxyParse::kNeedMore) {
      if (more > want) {  // v2: the length is known now; peek the whole header
        want = more;
        continue;
      }
      return {IoStatus::kWouldBlock, 0};  // the rest of it comes with the next readiness
    }
    // Take exactly the header.
    for (size_t taken = 0; taken < consumed;) {
      const ssize_t k = ::recv(fd, peek.data(), consumed - taken, 0);
      if (k <= 0) {
        if (k < 0 && errno == EINTR) continue;
        error_ = "the connection failed while its PROXY header was read";
        return {IoStatus::kError, 0};
      }
      taken += size_t(k);
    }
    break;
  }
  if (options_.version == 2 && options_.require_tls && !header_.local && !header_.tls) {
    error_ = "PROXY v2 header without TLS information (proxy_protocol_v2_require_tls)";
    return {IoStatus::kError, 0};
  }
  if (options_.require_certificate && !header_.local && !header_.cert_verified) {
    error_ = "the proxy reports no verified client certificate (require_certificate)";
    return {IoStatus::kError, 0};
  }
  done_ = true;
  identity_.proxied_peer = header_.source;
  identity_.cert_cn = header_.cert_cn;
  return {IoStatus::kOk, 0};
}

IoResult ProxyTransport::read(int fd, char* buf, size_t cap) {
  if (!done_) {
    IoResult h = read_header(fd);
    if (h.status != IoStatus::kOk) return h;
  }
  if (inner_) return inner_->read(fd, buf, cap);
  for (;;) {
    const ssize_t n = ::recv(fd, buf, cap, 0);
    if (n > 0) return {IoStatus::kOk, size_t(n)};
    if (n == 0) return {IoStatus::kClosed, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
    error_ = std::strerror(errno);
    return {IoStatus::kError, 0};
  }
}

IoResult ProxyTransport::write(int fd, const char* data, size_t len) {
  if (inner_) return inner_->write(fd, data, len);
  if (len == 0) return {IoStatus::kOk, 0};
  for (;;) {
    const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) return {IoStatus::kOk, size_t(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
    error_ = std::strerror(errno);
    return {IoStatus::kError, 0};
  }
}

const PeerIdentity& ProxyTransport::identity() const {
  if (inner_ && !merged_ && inner_->established()) {
    // The broker's own TLS: its certificate identity; the client's address is the header's.
    const PeerIdentity& own = inner_->identity();
    identity_.cert_cn = own.cert_cn;
    identity_.cert_subject = own.cert_subject;
    identity_.psk_identity = own.psk_identity;
    merged_ = true;
  }
  return identity_;
}

}  // namespace petrel::net
