#pragma once
// Config: the value every configuration path produces (mosquitto.conf text, SIGHUP, and
// later the web admin). Built from the option table in options.h; compared by ConfigDiff
// to apply changes live. Plain data, copyable.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"

namespace petrel::config {

enum class SocketDomain { kAny, kIpv4, kIpv6 };
enum class ListenerProtocol { kMqtt, kWebsockets };

// Settings that mosquitto.conf scopes per listener when per_listener_settings is true
// (otherwise one global copy applies to every listener).
struct SecuritySettings {
  bool allow_anonymous = false;       // Mosquitto 2 default; see Config::allow_anonymous_set
  bool allow_anonymous_set = false;   // true when the file set it explicitly
  bool allow_zero_length_clientid = true;
  std::string auto_id_prefix = "auto-";
  std::string password_file;
  std::string acl_file;
  std::string psk_file;

  bool operator==(const SecuritySettings&) const = default;
};

struct Listener {
  uint16_t port = 1883;
  std::string bind_address;          // empty = all addresses (or loopback for the default)
  std::string bind_interface;
  SocketDomain socket_domain = SocketDomain::kAny;
  ListenerProtocol protocol = ListenerProtocol::kMqtt;
  int max_connections = -1;          // -1 = unlimited
  std::string mount_point;
  // TLS (issue 3)
  std::string cafile, capath, certfile, keyfile, crlfile, ciphers, ciphers_tls13, dhparamfile;
  std::string tls_version;
  bool require_certificate = false;
  bool use_identity_as_username = false;
  bool use_subject_as_username = false;
  bool use_username_as_clientid = false;
  // Petrel's certificate-identity mode (the router product's "certificate CN"): unlike
  // Mosquitto, an identity used as username must be a known user.
  bool require_known_identity = false;
  std::string psk_hint;
  // WebSocket upgrade request header limit: the global websockets_headers_size, copied to
  // every listener by the parser (0 = 4096 bytes).
  uint32_t websockets_headers_size = 0;
  // Used when per_listener_settings is true; a parsed Config also copies the global
  // settings here when it is false, so this always holds what applies to the listener.
  SecuritySettings security;
  std::string source;                // "file:line" of the listener line, for messages
  // Listener-scoped limits (mosquitto.conf scopes these per listener). Authoritative for
  // connections on this listener; Config::max_qos / max_topic_alias mirror the largest.
  uint8_t max_qos = 2;
  uint16_t max_topic_alias = 10;

  bool operator==(const Listener&) const = default;
};

struct Config {
  // Every listener to open. A parsed file with no listener/port/bind_address gets the
  // Mosquitto 2 "local only" pair (127.0.0.1 and ::1, port 1883) here, like
  // default_config(); empty only in a hand-built Config.
  std::vector<Listener> listeners;
  bool per_listener_settings = false;
  SecuritySettings security;         // global copy (per_listener_settings false)

  int threads = 0;                   // 0 = one per core
  uint16_t max_keepalive = 65535;
  uint32_t max_packet_size = 0;      // 0 = no limit (protocol max)
  uint32_t message_size_limit = 0;   // 0 = no limit (payload bytes)
  uint16_t max_inflight_messages = 20;
  uint64_t max_inflight_bytes = 0;
  int64_t max_queued_messages = 1000;  // 0 = unlimited
  uint64_t max_queued_bytes = 0;       // 0 = unlimited
  bool queue_qos0_messages = false;
  uint8_t max_qos = 2;          // largest Listener::max_qos (the per-listener value rules)
  bool retain_available = true;
  uint16_t max_topic_alias = 10;  // largest Listener::max_topic_alias (per-listener rules)
  int64_t persistent_client_expiration = -1;  // seconds; -1 = never
  uint32_t sys_interval = 10;                 // seconds; 0 = disabled
  bool set_tcp_nodelay = false;
  uint32_t websockets_headers_size = 0;  // 0 = 4096; applies to every websockets listener
  bool connection_messages = true;
  std::string pid_file;
  LogSettings log;
  bool log_type_set = false;  // log_type given at least once (replaces the default mask)

  // True when built from no file: listeners bind loopback only (Mosquitto 2 "local only").
  bool local_only = false;
};

// The embedded default used when petrel starts with no -c: loopback 1883 on IPv4 and
// IPv6, anonymous allowed, local_only set.
Config default_config();

// Mosquitto 2's "local only" listeners built from `base` (its settings, not its address):
// 127.0.0.1 (IPv4) and ::1 (IPv6) on `port`; only one of them when base.socket_domain
// restricts the family.
std::vector<Listener> local_only_listeners(const Listener& base, uint16_t port);

// The security settings that apply to connections on `listener`: its own copy when
// per_listener_settings is true, the global one otherwise.
const SecuritySettings& effective_security(const Config& config, const Listener& listener);

// `petrel -p PORT` (repeatable), with Mosquitto 2 semantics: the ports only matter in
// local-only mode (no listener in the configuration), where the loopback listeners
// (127.0.0.1 and ::1) open on each given port instead of 1883. When the configuration
// defines listeners the ports are ignored, as Mosquitto 2 does; the returned warnings
// say so. Ports must be 1..65535 (the caller validates the argument text).
std::vector<std::string> apply_port_override(Config& config, const std::vector<uint16_t>& ports);

}  // namespace petrel::config
