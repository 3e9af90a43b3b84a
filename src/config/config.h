#pragma once
// Config: the value every configuration path produces (mosquitto.conf text, SIGHUP, and
// later the web admin). Built from the option table in options.h; compared by ConfigDiff
// to apply changes live. Plain data, copyable.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"

namespace petrel::config {

enum class SocketDomain { kAny, kIpv4, kIpv6 };
// kHttpApi: Mosquitto 2.1's `protocol http_api`, the admin API and pages (src/web); such
// listeners are kept in Config::http_listeners, never in Config::listeners.
enum class ListenerProtocol { kMqtt, kWebsockets, kHttpApi };

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
  // Topic aliases Petrel assigns towards each v5 client of this listener (never more than
  // the client's own Topic Alias Maximum); 0 = none.
  uint16_t max_topic_alias_broker = 10;
  // accept_protocol_versions: the MQTT versions this listener accepts, one bit per protocol
  // level (1 << (level - 3)): 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0. A CONNECT of another
  // version gets CONNACK "unacceptable protocol version" (0x01 / 0x84).
  uint8_t accept_protocol_versions = kAllProtocolVersions;
  static constexpr uint8_t kAllProtocolVersions = 0x7;
  // Mosquitto 2.1's listener_allow_anonymous / listener_auto_id_prefix: this listener's own
  // value over allow_anonymous / auto_id_prefix (global or per_listener_settings).
  std::optional<bool> listener_allow_anonymous;
  std::optional<std::string> listener_auto_id_prefix;
  // websockets_origin (repeatable): browsers' Origin values a websockets listener accepts;
  // empty = any. A request without Origin (not from a browser) is always accepted.
  std::vector<std::string> websockets_origins;
  // http_dir: a websockets listener also answers plain HTTP GET/HEAD requests with the
  // files under this directory (net/http_files.h); empty = no plain HTTP.
  std::string http_dir;
  // enable_proxy_protocol 1|2: every connection starts with a PROXY protocol header of
  // that version (0 = none); proxy_protocol_v2_require_tls: the v2 header must say the
  // client used TLS to the proxy.
  int proxy_protocol = 0;
  bool proxy_protocol_v2_require_tls = false;
  // Accept client certificates outside their validity dates (the chain must still verify).
  bool disable_client_cert_date_checks = false;

  bool operator==(const Listener&) const = default;
};

// One `topic` line of a bridge: PATTERN [in|out|both [QOS [LOCAL-PREFIX REMOTE-PREFIX]]].
// Prefixes given as "" are stored empty. An empty pattern (written "") is Mosquitto's
// whole-topic form: the two prefixes are then complete topic names mapped onto each other.
enum class BridgeDirection { kOut, kIn, kBoth };
struct BridgeTopic {
  std::string pattern;
  BridgeDirection direction = BridgeDirection::kOut;
  uint8_t qos = 0;
  std::string local_prefix;
  std::string remote_prefix;
  std::string source;  // "file:line"
  bool operator==(const BridgeTopic&) const = default;
};

struct BridgeAddress {
  std::string host;  // name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 1883;
  bool operator==(const BridgeAddress&) const = default;
};

// Checks one bridge topic line the way Mosquitto does: an empty pattern needs both prefixes
// and they must be valid topic names (no wildcards); prefixes hold no '+' or '#'; the
// pattern is a valid subscription filter and not a $share filter; each prefix joined to the
// pattern (prefix + pattern, the filter the bridge subscribes to) is a valid, non-$share
// filter (so "a" + "#" is refused: the prefix must end with '/'); QoS 0..2. Returns what is
// wrong (no file:line), or an empty string when the rule is valid.
std::string bridge_topic_error(const BridgeTopic& rule);

enum class BridgeStartType { kAutomatic, kLazy, kOnce };

// A `connection NAME` section of mosquitto.conf: every bridge option (scope kBridge in the
// option table) applies to the last `connection` line, as in Mosquitto; global and
// listener options in between keep their own scope. A parsed Config without errors holds
// only bridges that passed every check (at least one address and one topic, consistent
// TLS/PSK settings, unique local client ids; every topic passes bridge_topic_error).
// The defaults below are Mosquitto's unless marked Petrel; empty/unset values whose
// default depends on the host (client ids, notification topic) are resolved by the
// bridge runtime.
struct Bridge {
  std::string name;
  std::string source;  // "file:line" of the connection line
  std::vector<BridgeAddress> addresses;  // primary first
  bool round_robin = false;
  std::vector<BridgeTopic> topics;
  uint8_t protocol_version = 4;  // 3 = mqttv31, 4 = mqttv311, 5 = mqttv50
  bool try_private = true;
  bool cleansession = false;
  std::optional<bool> local_cleansession;  // unset = cleansession
  uint16_t keepalive_interval = 60;
  std::string remote_clientid;  // empty = "<hostname>.<name>"
  std::string local_clientid;   // empty = "local.<remote client id>"
  std::optional<std::string> remote_username, remote_password;
  std::optional<std::string> local_username, local_password;
  bool notifications = true;
  std::string notification_topic;  // empty = "$SYS/broker/connection/<remote client id>/state"
  bool notifications_local_only = false;
  bool attempt_unsubscribe = true;
  bool outgoing_retain = true;
  uint32_t max_packet_size = 0;  // 0 = no limit
  std::string bind_address;
  // restart_timeout: one value = constant delay; two = jittered backoff base..cap.
  uint32_t restart_timeout_base = 5;
  uint32_t restart_timeout_cap = 30;
  bool restart_constant = false;
  BridgeStartType start_type = BridgeStartType::kAutomatic;
  uint32_t threshold = 10;
  uint32_t idle_timeout = 60;
  // TLS towards the remote (TLS is on when cafile, capath or psk is set, as in Mosquitto).
  std::string cafile, capath, certfile, keyfile;
  bool insecure = false;
  // bridge_require_ocsp: the remote must staple an OCSP response saying its certificate is
  // good (signed by its issuer or a responder it delegated, and current), or the TLS
  // handshake fails.
  bool require_ocsp = false;
  bool tls_use_os_certs = false;
  std::string tls_version;  // empty = tlsv1.2 minimum
  std::string ciphers, ciphers_tls13, alpn;
  std::string identity;  // TLS-PSK identity
  std::string psk;       // TLS-PSK key, hex as written
  // MQTT 5 bridges (Mosquitto 2.1 options).
  uint32_t session_expiry_interval = 0;
  uint16_t receive_maximum = 20;
  uint16_t max_topic_alias = 10;
  // bridge_tcp_keepalive IDLE INTERVAL COUNT (seconds, seconds, probes); idle 0 = off.
  uint32_t tcp_keepalive_idle = 0, tcp_keepalive_interval = 0, tcp_keepalive_count = 0;
  // bridge_tcp_user_timeout: TCP_USER_TIMEOUT in milliseconds (how long sent data may stay
  // unacknowledged before the connection is dropped); 0 = the system's default.
  uint32_t tcp_user_timeout_ms = 0;
  // bridge_reload_type: immediate (Petrel's default: a changed bridge reconnects with the new
  // settings at once) or lazy (Mosquitto 2.1's default: at its next reconnect).
  bool reload_immediate = true;
  // Petrel: primary/backup failover (round_robin false and more than one address). While
  // the bridge runs on a backup address, the primary (addresses[0]) is probed every
  // primary_retry_interval seconds with a full connection attempt (TCP, TLS handshake and
  // MQTT CONNECT/CONNACK, then a clean DISCONNECT), so a primary that accepts TCP but
  // refuses TLS or MQTT does not count as back. Always >= 1.
  uint32_t primary_retry_interval = 20;
  // Petrel: how long (seconds) the primary must answer every probe before the bridge
  // fails back to it; a failed probe restarts the count. 0 = fail back on the first good
  // probe. Both primary_* options have no effect with round_robin true or one address.
  uint32_t primary_holddown = 60;
  // Petrel: `bridge_enabled false` keeps the bridge in the configuration without running
  // it (the router product's per-bridge "Enable" box).
  bool enabled = true;

  bool operator==(const Bridge&) const = default;
};

// `persistence_sync`: when an acknowledged QoS 1/2 message (and the session and retained
// changes it causes) is on disk. See docs/DESIGN.md, "Durable store".
enum class PersistenceSync {
  kCommit,    // acknowledge only after the change is committed and fsynced (the default)
  kInterval,  // acknowledge at once; commit at least every PersistenceSettings::sync_interval_ms
  kOff,       // no store: memory only, even with `persistence true`
};

// The durable store (mosquitto.conf's persistence options plus Petrel's persistence_sync).
// Read at startup only: a change waits for a restart of petrel.
struct PersistenceSettings {
  bool enabled = false;           // `persistence` (or its old name `retained_persistence`)
  std::string location;           // `persistence_location`; empty = the working directory
  // `persistence_file`. Deliberately not Mosquitto's mosquitto.db: Petrel's store is a
  // SQLite database, and Petrel must never take a Mosquitto file for its own (it imports
  // one with --import-mosquitto instead).
  std::string file = "petrel.db";
  PersistenceSync sync = PersistenceSync::kCommit;
  uint32_t sync_interval_ms = 1000;  // `persistence_sync interval MS`
  // Mosquitto's snapshot schedule, accepted with its meaning but never weakening Petrel's:
  // under `commit` every change is saved at once; under `interval` persistence_sync's
  // interval rules.
  uint32_t autosave_interval = 1800;  // seconds (0: only at shutdown, in Mosquitto)
  bool autosave_on_changes = false;   // autosave_interval counts changes, not seconds

  bool operator==(const PersistenceSettings&) const = default;
};

// Where the store file is: persistence_location joined with persistence_file (a relative
// location is relative to the working directory, as in Mosquitto; an absolute
// persistence_file is used as given).
std::string persistence_path(const PersistenceSettings& p);
// True when petrel keeps a store: `persistence true` and persistence_sync not off.
inline bool persistence_active(const PersistenceSettings& p) {
  return p.enabled && p.sync != PersistenceSync::kOff;
}

struct Config {
  // Every listener to open. A parsed file with no listener/port/bind_address gets the
  // Mosquitto 2 "local only" pair (127.0.0.1 and ::1, port 1883) here, like
  // default_config(); empty only in a hand-built Config.
  std::vector<Listener> listeners;
  bool per_listener_settings = false;
  SecuritySettings security;         // global copy (per_listener_settings false)

  int threads = 0;                   // 0 = one per usable core but one, at least one
  uint16_t max_keepalive = 65535;
  uint32_t max_packet_size = 0;      // 0 = no limit (protocol max)
  uint32_t message_size_limit = 0;   // 0 = no limit (payload bytes)
  uint16_t max_inflight_messages = 20;
  uint64_t max_inflight_bytes = 0;
  int64_t max_queued_messages = 1000;  // 0 = unlimited
  uint64_t max_queued_bytes = 0;       // 0 = unlimited
  bool queue_qos0_messages = false;
  // upgrade_outgoing_qos: deliver at the subscription's QoS even when the message was
  // published at a lower one (non-standard: MQTT 3.1.1 and 5 forbid it; off by default).
  bool upgrade_outgoing_qos = false;
  uint8_t max_qos = 2;          // largest Listener::max_qos (the per-listener value rules)
  bool retain_available = true;
  // check_retain_source: before a retained message goes to a new subscriber, its publisher
  // must still be allowed (ACL) to publish on its topic; otherwise it is not sent. Off by
  // default, as Mosquitto 2.0 really is (its manual says true; its configuration starts
  // zeroed), so a migrated broker sends the same messages.
  bool check_retain_source = false;
  // enable_control_api: answer $CONTROL/broker/v1 requests (listListeners, listPlugins),
  // as Mosquitto 2.1 does; off by default.
  bool enable_control_api = false;
  uint16_t max_topic_alias = 10;  // largest Listener::max_topic_alias (per-listener rules)
  // retain_expiry_interval: every this many minutes, remove retained messages whose
  // Message Expiry Interval has passed (otherwise they go when next touched); 0 = off.
  uint32_t retain_expiry_interval = 0;
  int64_t persistent_client_expiration = -1;  // seconds; -1 = never
  uint32_t sys_interval = 10;                 // seconds; 0 = disabled
  bool set_tcp_nodelay = false;
  uint32_t websockets_headers_size = 0;  // 0 = 4096; applies to every websockets listener
  bool connection_messages = true;
  // clientid_prefixes: only client ids that start with it may connect (0x87 otherwise);
  // empty = any client id.
  std::string clientid_prefixes;
  // Broker-wide limits (-1 = none): open client connections across every listener
  // (global_max_connections, checked when a connection is accepted, like max_connections),
  // and sessions, connected or kept offline (global_max_clients: a CONNECT that would
  // create one more is refused with 0x89 Server busy; resuming an existing one never is).
  int global_max_connections = -1;
  int global_max_clients = -1;
  // memory_limit: bytes of heap above which new messages and connections are refused
  // (QoS 1/2 from MQTT 5 clients: 0x97; from 3.x clients: disconnected, as Mosquitto does;
  // QoS 0: dropped; CONNECT: 0x89), until the heap is back under 95% of it. Checked
  // by worker 0 four times a second. 0 = no limit.
  uint64_t memory_limit = 0;
  std::string pid_file;
  // `user`: started as root, drop to this user once listeners are open and certificates
  // read (empty: Mosquitto's default, mosquitto, then nobody; the embedded default keeps
  // the starting user unless it names one). See app/privileges.h.
  std::string user;
  LogSettings log;
  bool log_type_set = false;  // log_type given at least once (replaces the default mask)

  PersistenceSettings persistence;

  std::vector<Bridge> bridges;  // in file order; names are unique
  // Petrel: bridges-only mode (`bridges_only true`): open no client listener; bridges
  // forward between their remote brokers through local routing (the router product's
  // "Enable MQTT Broker" unchecked). `listeners` is then empty and local_only false.
  bool bridges_only = false;

  // True when no listener/port/bind_address was configured (and not bridges_only):
  // listeners bind loopback only (Mosquitto 2 "local only"). http_api listeners do not
  // count: they serve the admin, not MQTT clients.
  bool local_only = false;

  // The admin API listeners (`listener PORT [ADDRESS]` + `protocol http_api`), in file
  // order. Only port, bind_address, certfile/keyfile and source matter for them.
  std::vector<Listener> http_listeners;
  std::string http_api_password_file;  // admin users (mosquitto_passwd format)
  bool http_api_insecure = false;      // allow plain HTTP on a non-loopback address
  // The embedded default only: no password file to name, so the first start generates an
  // admin password and stores its hash in state_dir (see app/admin_credentials).
  bool http_api_generated_password = false;
  // Petrel: where Petrel keeps what it writes itself (the admin's certificates, keys,
  // password and PSK files, a generated admin password, the configuration saved by the
  // admin when started without -c). Empty = default_state_dir().
  std::string state_dir;
};

// $PETREL_STATE_DIR, else /var/lib/petrel for root, else $XDG_STATE_HOME/petrel or
// ~/.local/state/petrel.
std::string default_state_dir();
// Config::state_dir, or default_state_dir() when it is empty.
std::string state_dir_of(const Config& config);

// The embedded default used when petrel starts with no -c: loopback 1883 on IPv4 and
// IPv6, anonymous allowed, local_only set; with admin = true also the admin API on
// 127.0.0.1:8080 with a generated password (http_api_generated_password).
Config default_config(bool admin = false);
// The same as mosquitto.conf text (what the admin writes to state_dir/petrel.conf the
// first time it saves a change made to the embedded default), naming the generated admin
// password file in state_dir.
std::string default_config_text(const std::string& state_dir);
inline constexpr uint16_t kDefaultAdminPort = 8080;
// The generated admin password file, in state_dir.
inline constexpr const char* kAdminPasswordFileName = "admin.passwd";
// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_address(std::string_view address);

// Mosquitto 2's "local only" listeners built from `base` (its settings, not its address):
// 127.0.0.1 (IPv4) and ::1 (IPv6) on `port`; only one of them when base.socket_domain
// restricts the family.
std::vector<Listener> local_only_listeners(const Listener& base, uint16_t port);

// The security settings that apply to connections on `listener`: its own copy when
// per_listener_settings is true, the global one otherwise.
const SecuritySettings& effective_security(const Config& config, const Listener& listener);
// allow_anonymous and auto_id_prefix for connections on `listener`: its
// listener_allow_anonymous / listener_auto_id_prefix when given, else effective_security's.
bool anonymous_allowed(const Config& config, const Listener& listener);
const std::string& auto_id_prefix_for(const Config& config, const Listener& listener);
// "3,4,5" for accept_protocol_versions bits, and back (nullopt: not a list of 3, 4 and 5).
std::string protocol_versions_text(uint8_t bits);
std::optional<uint8_t> parse_protocol_versions(std::string_view text);

// `petrel -p PORT` (repeatable), with Mosquitto 2 semantics: the ports only matter in
// local-only mode (no listener in the configuration), where the loopback listeners
// (127.0.0.1 and ::1) open on each given port instead of 1883. When the configuration
// defines listeners the ports are ignored, as Mosquitto 2 does; the returned warnings
// say so; so does bridges_only (no listener at all). Ports must be 1..65535 (the caller
// validates the argument text).
std::vector<std::string> apply_port_override(Config& config, const std::vector<uint16_t>& ports);

}  // namespace petrel::config
