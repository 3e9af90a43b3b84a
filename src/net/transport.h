#pragma once
// Transport: what sits between a client socket and the MQTT byte stream when it is not
// plain TCP — TLS, TLS-PSK, WebSocket (over TCP or TLS). Plain TCP has no Transport
// object: Connection calls recv/send itself (the fast path). A Transport is driven by
// the worker's edge-triggered epoll readiness: read() and write() never block and report
// kWouldBlock when the socket (or a handshake step) must wait. It owns protocol state only
// (SSL*, WebSocket framing), never the fd, so it moves with the fd when a connection is
// handed to another worker.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace petrel::net {

enum class IoStatus {
  kOk,          // `n` bytes transferred (n > 0)
  kWouldBlock,  // nothing now; wait for readiness
  kClosed,      // orderly end of stream (TLS close_notify, WebSocket close, EOF)
  kError,       // broken: close the connection (error() says why, for the log)
};

struct IoResult {
  IoStatus status = IoStatus::kOk;
  size_t n = 0;
};

// What the transport learned about the peer (for authentication).
struct PeerIdentity {
  std::string cert_cn;       // TLS client certificate subject CN
  std::string cert_subject;  // full subject (RFC 2253)
  std::string psk_identity;  // TLS-PSK identity
  std::string proxied_peer;  // the client's address from a PROXY protocol header, if any
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Reads MQTT bytes (decrypted, unframed) into buf.
  virtual IoResult read(int fd, char* buf, size_t cap) = 0;
  // Writes MQTT bytes; may accept fewer than len (then wait for EPOLLOUT).
  virtual IoResult write(int fd, const char* data, size_t len) = 0;
  // Bytes the transport still holds for the socket (TLS records, WebSocket frames) that a
  // write could not push out; flush them with write(fd, nullptr, 0).
  virtual bool has_pending_output() const = 0;
  // True once the handshake (TLS, HTTP upgrade) is complete.
  virtual bool established() const = 0;
  virtual const PeerIdentity& identity() const = 0;
  // Why the last kError happened, for the log ("TLS: certificate verify failed", ...).
  virtual const std::string& error() const = 0;
  // Orderly shutdown (TLS close_notify, WebSocket close frame), best effort, non-blocking.
  virtual void shutdown(int fd) = 0;
  // Short name for logs: "tls", "psk", "ws", "wss".
  virtual std::string_view name() const = 0;
};

// Builds the transport for a new connection on a listener (nullptr = plain TCP). The
// server holds one factory per listener; it is replaced as a whole on reload so
// existing connections keep the context they started with.
class TransportFactory {
 public:
  virtual ~TransportFactory() = default;
  virtual std::unique_ptr<Transport> make() = 0;
};

}  // namespace petrel::net
