#pragma once
// TlsTransport: TLS (certificate or PSK) on a client socket, with OpenSSL reading and
// writing the non-blocking fd itself (SSL_set_fd). Driven by edge-triggered readiness:
// read() runs the handshake until it completes, then drains every decrypted byte it can
// (SSL buffers whole records, so it reads until OpenSSL wants the socket again).
//
// Output: after a write that could not finish, OpenSSL keeps the encrypted record and the
// caller retries with the same bytes (partial writes and a moving buffer are allowed), so
// the transport holds no output of its own and has_pending_output() is always false.
// A handshake step that waits for the socket to become writable — during the handshake,
// or a post-handshake message a read had to answer — shows as established() == false:
// Connection then retries read() on EPOLLOUT, which completes the step and goes on
// reading.
//
// Owns the SSL object and a reference to the listener's TlsContext (existing connections
// keep the context they were accepted with across a reload).
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "net/tls_context.h"
#include "net/transport.h"

namespace petrel::net {

class TlsTransport final : public Transport {
 public:
  explicit TlsTransport(std::shared_ptr<const TlsContext> ctx);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  IoResult read(int fd, char* buf, size_t cap) override;
  IoResult write(int fd, const char* data, size_t len) override;
  bool has_pending_output() const override { return false; }
  bool established() const override { return established_ && !read_wants_write_; }
  const PeerIdentity& identity() const override { return identity_; }
  const std::string& error() const override { return error_; }
  void shutdown(int fd) override;
  // "psk" once a PSK handshake completed, else "tls".
  std::string_view name() const override { return identity_.psk_identity.empty() ? "tls" : "psk"; }

  // The negotiated protocol and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384"), for the log.
  std::string session_description() const;

 private:
  bool attach(int fd);
  IoResult handshake();
  IoResult failure(int ssl_error, const char* during);
  void capture_peer_identity();

  std::shared_ptr<const TlsContext> ctx_;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool established_ = false;
  bool failed_ = false;
  bool closed_ = false;
  bool read_wants_write_ = false;
  PeerIdentity identity_;
  std::string error_;
};

}  // namespace petrel::net
