#pragma once
// Opening a client transport: DNS through Asio's async resolver (never blocking), TCP or
// Unix-socket connect, optionally through a SOCKS5 proxy, optional TLS (certificates or
// PSK) and optional WebSocket (subprotocol "mqtt"), ending in a connected Stream.
// Failures come back as a TransportError with a one-line, human-readable message;
// nothing throws.
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
  // An OpenSSL ENGINE (deprecated in OpenSSL 3, still present): the engine id is loaded
  // and initialised for the context and made the process's default for every algorithm
  // it implements (as Mosquitto's clients do); empty = none.
  std::string engine;
  bool key_from_engine = false;    // keyfile is a key id the engine loads (--keyform engine)
  std::string engine_kpass_sha1;   // 20 bytes: SHA1 of the key password, handed to the
                                   // engine (SECRET_MODE=SHA1, PIN) before loading the key
  bool insecure = false;           // skip the host name check (the chain is still verified)
  // The server must staple a current OCSP response saying its certificate is good
  // (bridge_require_ocsp); otherwise the handshake fails, saying why.
  bool require_ocsp = false;
  std::string version;             // "tlsv1.3", "tlsv1.2", "tlsv1.1" (minimum); empty = 1.2
  std::string ciphers;             // TLS <= 1.2 cipher list (OpenSSL syntax)
  std::string ciphersuites;        // TLS 1.3 suites (empty = OpenSSL default)
  std::string alpn;                // one ALPN protocol name
  std::string keylog_file;         // NSS key log (SSLKEYLOGFILE format), appended
  std::string psk_identity;        // TLS-PSK: identity ...
  std::string psk;                 // ... and the raw key bytes (not hex)
  bool is_psk() const { return !psk_identity.empty() || !psk.empty(); }
};

// A SOCKS5 proxy (RFC 1928) to reach the server through, as socks5h: the proxy resolves
// the server's host name (IPv4/IPv6 literals are sent as addresses). A username turns on
// RFC 1929 username/password authentication (also offering "no authentication").
struct ProxyOptions {
  std::string host;      // name or IPv4/IPv6 literal (brackets allowed)
  uint16_t port = 1080;
  std::string username;  // empty = no authentication; at most 255 bytes
  std::string password;  // at most 255 bytes (may be empty)
};

enum class TransportKind { kTcp, kUnix };

struct TransportOptions {
  TransportKind kind = TransportKind::kTcp;
  std::string host = "localhost";  // name or IPv4/IPv6 literal (brackets allowed)
  uint16_t port = 1883;
  std::string unix_path;
  std::string bind_address;        // local address to bind before connecting
  bool nodelay = false;
  std::optional<ProxyOptions> proxy;  // TCP only: connect through this SOCKS5 proxy
  // TCP keepalive probes (SO_KEEPALIVE): idle seconds before the first, seconds between
  // probes, probes before the connection is dropped. idle 0 = system default (off).
  uint32_t tcp_keepalive_idle = 0, tcp_keepalive_interval = 0, tcp_keepalive_count = 0;
  uint32_t tcp_user_timeout_ms = 0;  // TCP_USER_TIMEOUT; 0 = system default
  std::optional<TlsOptions> tls;
  bool websocket = false;
  std::string ws_path = "/mqtt";
};

enum class TransportErrorKind {
  kConfig, kResolve, kConnect, kTls, kTlsVerify, kWebSocket,
  // SOCKS5 proxy failures, in the groups Mosquitto's clients give distinct exit codes to:
  kProxyConnect,  // the proxy cannot be resolved or reached
  kProxyRefused,  // the proxy wants an authentication we cannot do, or its rules forbid
                  // the connection (reply 2)
  kProxyNoRoute,  // the proxy cannot reach the server (replies 3, 4, 5)
  kProxy,         // anything else: username/password refused, replies 1, 6, 7, 8 and
                  // unassigned codes, a malformed reply, the proxy closing the connection
};

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
// A TLS-PSK key as Mosquitto reads one (psk_file, bridge_psk, --psk): hex digits, an odd
// count meaning a leading 0 ("12345" is 01 23 45); leading zero bytes count. nullopt when
// it is empty or not hex.
std::optional<std::string> psk_key_from_hex(std::string_view hex);

}  // namespace petrel::client
