#pragma once
// Opening a client transport: DNS through Asio's async resolver (never blocking), TCP or
// Unix-socket connect, optional TLS (certificates or PSK) and optional WebSocket
// (subprotocol "mqtt"), ending in a connected Stream. Failures come back as a
// TransportError with a one-line, human-readable message; nothing throws.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/stream.h"

namespace petrel::client {

struct TlsOptions {
  std::string cafile, capath;      // CA to verify the server with
  bool use_os_certs = false;       // also trust the system store
  std::string certfile, keyfile;   // client certificate
  std::string key_password;        // for an encrypted key (empty = none)
  bool insecure = false;           // skip the host name check (the chain is still verified)
  std::string version;             // "tlsv1.3", "tlsv1.2", "tlsv1.1" (minimum); empty = 1.2
  std::string ciphers;             // TLS <= 1.2 cipher list (OpenSSL syntax)
  std::string ciphersuites;        // TLS 1.3 suites (empty = OpenSSL default)
  std::string alpn;                // one ALPN protocol name
  std::string keylog_file;         // NSS key log (SSLKEYLOGFILE format), appended
  std::string psk_identity;        // TLS-PSK: identity ...
  std::string psk;                 // ... and the raw key bytes (not hex)
  bool is_psk() const { return !psk_identity.empty() || !psk.empty(); }
};

enum class TransportKind { kTcp, kUnix };

struct TransportOptions {
  TransportKind kind = TransportKind::kTcp;
  std::string host = "localhost";  // name or IPv4/IPv6 literal (brackets allowed)
  uint16_t port = 1883;
  std::string unix_path;
  std::string bind_address;        // local address to bind before connecting
  bool nodelay = false;
  std::optional<TlsOptions> tls;
  bool websocket = false;
  std::string ws_path = "/mqtt";
};

enum class TransportErrorKind { kConfig, kResolve, kConnect, kTls, kTlsVerify, kWebSocket };

struct TransportError {
  TransportErrorKind kind = TransportErrorKind::kConnect;
  std::string message;  // one line, e.g. "Connection refused"
};

using OpenHandler = std::function<void(StreamPtr stream, const TransportError* error)>;

// Opens a transport. Exactly one call of handler: a stream, or a null stream and an error.
void async_open(boost::asio::any_io_executor ex, const TransportOptions& opts, OpenHandler handler);

// How the client gets its streams; tests substitute one that makes in-memory streams.
using StreamFactory = std::function<void(OpenHandler handler)>;
StreamFactory make_stream_factory(boost::asio::any_io_executor ex, TransportOptions opts);

// "00ff.." -> bytes; nullopt when the text is not an even number of hex digits.
std::optional<std::string> hex_to_bytes(std::string_view hex);

}  // namespace petrel::client
