#pragma once
// The PROXY protocol (HAProxy's "proxy-protocol.txt", versions 1 and 2): a load balancer
// in front of the broker opens each connection with a header saying who the client is,
// and (v2) whether it terminated TLS for it and which client certificate it verified.
// `enable_proxy_protocol 1|2` on a listener expects that header before anything else.
//   parse_proxy_header: pure, bytes in, header out.
//   ProxyTransport: reads the header off the socket (peeking, so it never takes a byte of
//   what follows: TLS or MQTT or an HTTP upgrade read the rest themselves), then hands
//   every read and write to the transport inside it (TLS, or none for plain TCP).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/transport.h"

namespace petrel::net {

struct ProxyHeader {
  std::string source;          // "203.0.113.7:51234", "[2001:db8::1]:51234"; empty when not given
  bool local = false;          // v2 LOCAL (the proxy's own health check) or v1 UNKNOWN
  bool tls = false;            // v2: the client connected to the proxy over TLS
  bool cert_verified = false;  // v2: and presented a client certificate the proxy verified
  std::string cert_cn;         // v2: that certificate's common name, when sent
};

enum class ProxyParse { kNeedMore, kDone, kError };

// The longest header accepted: v1's 107 bytes, and v2's 16-byte prefix with up to 4 KiB of
// addresses and TLVs (HAProxy sends well under 1 KiB).
inline constexpr size_t kProxyV1Max = 107;
inline constexpr size_t kProxyV2MaxBody = 4096;

// `data` starts at the first byte of the connection. kDone: `out` filled and `consumed`
// is the header's length. kNeedMore: `want` is how many bytes would settle it. kError:
// `error` says what is wrong.
ProxyParse parse_proxy_header(std::string_view data, int version, ProxyHeader& out, size_t& consumed,
                              size_t& want, std::string& error);

struct ProxyOptions {
  int version = 2;
  bool require_tls = false;          // proxy_protocol_v2_require_tls
  bool require_certificate = false;  // require_certificate on a listener without TLS of its own
};

class ProxyTransport final : public Transport {
 public:
  // inner: TLS when the listener has its own certificate, else nullptr (plain TCP).
  ProxyTransport(std::unique_ptr<Transport> inner, ProxyOptions options);

  IoResult read(int fd, char* buf, size_t cap) override;
  IoResult write(int fd, const char* data, size_t len) override;
  bool has_pending_output() const override { return inner_ && inner_->has_pending_output(); }
  bool established() const override { return done_ && (!inner_ || inner_->established()); }
  const PeerIdentity& identity() const override;
  const std::string& error() const override { return error_.empty() && inner_ ? inner_->error() : error_; }
  void shutdown(int fd) override {
    if (inner_ && done_) inner_->shutdown(fd);
  }
  std::string_view name() const override { return inner_ ? inner_->name() : "proxy"; }

 private:
  IoResult read_header(int fd);

  std::unique_ptr<Transport> inner_;
  ProxyOptions options_;
  bool done_ = false;
  ProxyHeader header_;
  mutable PeerIdentity identity_;  // the header's, over the inner transport's
  mutable bool merged_ = false;    // identity_ holds the inner transport's since its handshake
  std::string error_;
};

}  // namespace petrel::net
