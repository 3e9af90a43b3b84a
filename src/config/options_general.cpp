// Global (broker-wide) options: limits, queues, $SYS, pid file, threads, include_dir.
#include <fmt/format.h>

#include <limits>
#include <type_traits>

#include "config/option_tables.h"
#include "config/parse_state.h"
#include "config/values.h"

namespace petrel::config {

namespace {

template <auto Field>
using FieldType = std::remove_reference_t<decltype(std::declval<Config&>().*Field)>;

template <auto Field, int64_t Min, int64_t Max>
void int_field(ParseState& s, const Directive& d) {
  int64_t v = 0;
  if (s.integer(d, Min, Max, v)) s.config.*Field = static_cast<FieldType<Field>>(v);
}

template <auto Field>
void bool_field(ParseState& s, const Directive& d) {
  bool v = false;
  if (s.boolean(d, v)) s.config.*Field = v;
}

template <auto Field>
void text_field(ParseState& s, const Directive& d) {
  s.text(d, "global", s.config.*Field);
}

// Counts where 0 means "no limit". Mosquitto turns a negative value into 0; so do we,
// with a warning, so configurations that relied on it keep working.
template <auto Field, int64_t Max>
void unlimited_field(ParseState& s, const Directive& d) {
  std::string tok;
  std::string expected = fmt::format("an integer 0..{} (0 = no limit)", Max);
  if (!s.one_token(d, expected, tok)) return;
  auto v = parse_int_value(tok);
  if (v && *v < 0) {
    s.warn(d, fmt::format("negative value {} means no limit; using 0", *v));
    s.config.*Field = 0;
    return;
  }
  if (!v || *v > Max) {
    s.error(d, fmt::format("expected {}, got '{}'", expected, tok));
    return;
  }
  s.config.*Field = static_cast<FieldType<Field>>(*v);
}

constexpr int64_t kMaxPayload = 268435455;

// -1 (or any negative value, as Mosquitto reads it) = no limit; else a count.
template <auto Field>
void limit_field(ParseState& s, const Directive& d) {
  s.limit(d, s.config.*Field);
}

void parse_max_packet_size(ParseState& s, const Directive& d) { s.packet_size(d, s.config.max_packet_size); }

void parse_persistent_client_expiration(ParseState& s, const Directive& d) {
  std::string tok;
  const char* expected = "a duration such as 3600s, 12h, 14d, 2w, 6m or 1y";
  if (!s.one_token(d, expected, tok)) return;
  auto v = parse_duration_value(tok);
  if (!v) {
    s.error(d, fmt::format("expected {}, got '{}'", expected, tok));
    return;
  }
  s.config.persistent_client_expiration = *v;
}

void parse_per_listener_settings(ParseState& s, const Directive& d) {
  bool v = false;
  if (!s.boolean(d, v)) return;
  if (s.per_listener_locked && !v) {
    s.warn(d, "cannot be turned off once set to true; ignored");
    return;
  }
  if (v && !s.first_security.empty() && !s.per_listener_locked) {
    s.error(d, fmt::format("must come before any security option (the first is at {})", s.first_security));
    return;
  }
  s.config.per_listener_settings = v;
  s.per_listener_locked = s.per_listener_locked || v;
}

}  // namespace

void append_general_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto G = Scope::kGlobal;
  out.insert(out.end(), {
    {"max_keepalive", G, int_field<&Config::max_keepalive, 0, 65535>, "0..65535", "65535",
     "Largest keepalive a client may use (v5 clients are told; v3 clients above it are refused)", S},
    {"max_packet_size", G, parse_max_packet_size, "0 | 20..268435460", "0 (no limit)",
     "Largest MQTT packet accepted from a client, in bytes; larger ones disconnect the client", S},
    {"message_size_limit", G, int_field<&Config::message_size_limit, 0, kMaxPayload>, "0..268435455",
     "0 (no limit)", "Largest PUBLISH payload accepted, in bytes; larger messages are dropped", S},
    {"max_inflight_messages", G, unlimited_field<&Config::max_inflight_messages, 65535>, "0..65535",
     "20", "Outgoing QoS 1/2 messages in flight per client (0 = no limit)", S},
    {"max_inflight_bytes", G, unlimited_field<&Config::max_inflight_bytes, std::numeric_limits<int64_t>::max()>,
     "BYTES", "0 (no limit)", "Outgoing QoS 1/2 bytes in flight per client (0 = no limit)", S},
    {"max_queued_messages", G, unlimited_field<&Config::max_queued_messages, std::numeric_limits<int32_t>::max()>,
     "COUNT", "1000", "QoS 1/2 messages queued per client beyond those in flight (0 = no limit)", S},
    {"max_queued_bytes", G, unlimited_field<&Config::max_queued_bytes, std::numeric_limits<int64_t>::max()>,
     "BYTES", "0 (no limit)", "Bytes queued per client beyond those in flight (0 = no limit)", S},
    {"queue_qos0_messages", G, bool_field<&Config::queue_qos0_messages>, "true|false", "false",
     "Also queue QoS 0 messages for disconnected persistent clients", S},
    {"retain_available", G, bool_field<&Config::retain_available>, "true|false", "true",
     "Allow retained messages; when false a client publishing one is disconnected", S},
    {"check_retain_source", G, bool_field<&Config::check_retain_source>, "true|false", "false",
     "Before sending a retained message to a new subscriber, check that its publisher may still publish on its "
     "topic (ACL); if not, it is not sent. Mosquitto's manual says the default is true, but Mosquitto 2.0 does "
     "not check unless the option is set, and neither does Petrel", S},
    {"enable_control_api", G, bool_field<&Config::enable_control_api>, "true|false", "false",
     "Answer $CONTROL/broker/v1 requests (listListeners, listPlugins) on $CONTROL/broker/v1/response, as "
     "Mosquitto 2.1 does; give the ACL rules that limit who may publish and read there", S},
    {"persistent_client_expiration", G, parse_persistent_client_expiration, "N[s|h|d|w|m|y]", "never",
     "Remove disconnected persistent sessions after this long", S},
    {"sys_interval", G, int_field<&Config::sys_interval, 0, 65535>, "0..65535", "10",
     "Seconds between $SYS updates (0 = no $SYS)", S},
    {"set_tcp_nodelay", G, bool_field<&Config::set_tcp_nodelay>, "true|false", "false",
     "Disable Nagle's algorithm on client sockets", S},
    {"connection_messages", G, bool_field<&Config::connection_messages>, "true|false", "true",
     "Log clients connecting and disconnecting", S},
    {"pid_file", G, text_field<&Config::pid_file>, "PATH", "none", "Write the process id to this file", S},
    {"user", G, text_field<&Config::user>, "USERNAME", "mosquitto",
     "Started as root: become this user once listeners are open and certificates read (mosquitto, else nobody; root stays root; without a configuration file petrel keeps the starting user)", S},
    {"upgrade_outgoing_qos", G, bool_field<&Config::upgrade_outgoing_qos>, "true|false", "false",
     "Deliver every message at its subscription's QoS, even above the QoS it was published with (against the MQTT specification)", S},
    {"retain_expiry_interval", G, int_field<&Config::retain_expiry_interval, 0, 35791394>, "MINUTES", "0 (off)",
     "Every MINUTES, remove expired retained messages nobody has touched (otherwise they go when next read or replaced)", S},
    {"memory_limit", G, int_field<&Config::memory_limit, 0, std::numeric_limits<int64_t>::max()>, "BYTES", "0 (no limit)",
     "Heap bytes above which new messages and connections are refused until it is back under 95% (checked 4 times a second)", S},
    {"clientid_prefixes", G, text_field<&Config::clientid_prefixes>, "PREFIX", "none",
     "Only allow client ids starting with this prefix (others get 0x87 not authorised)", S},
    {"global_max_connections", G, limit_field<&Config::global_max_connections>, "-1 | 0..2147483647", "-1 (no limit)",
     "Most simultaneous client connections across every listener", S},
    {"global_max_clients", G, limit_field<&Config::global_max_clients>, "-1 | 0..2147483647", "-1 (no limit)",
     "Most sessions (connected or kept offline) across the broker; a new one beyond it gets 0x89 server busy", S},
    {"per_listener_settings", G, parse_per_listener_settings, "true|false", "false",
     "Make the security options apply per listener; must come before any of them", S},
    {"include_dir", G, parse_include_dir, "DIR", "none",
     "Also read DIR/*.conf (Mosquitto order); only from the main file", S},
    {"http_api_password_file", G, text_field<&Config::http_api_password_file>, "PATH", "none",
     "Petrel: admin users of the http_api listeners (mosquitto_passwd / petrel_passwd format); required with one", S},
    {"http_api_insecure", G, bool_field<&Config::http_api_insecure>, "true|false", "false",
     "Petrel: allow an http_api listener without TLS on a non-loopback address", S},
    {"state_dir", G, text_field<&Config::state_dir>, "DIR", "/var/lib/petrel (root), else ~/.local/state/petrel",
     "Petrel: where Petrel keeps files it writes itself (admin-managed certificates, keys, password and PSK files)", S},
    {"threads", G, int_field<&Config::threads, 0, 1024>, "0..1024", "0",
     "Petrel: worker threads (0 = one per usable CPU core but one, at least one)", S},
    {"retry_interval", G, nullptr, "SECONDS", "-", "Obsolete (Mosquitto 2 ignores it too)",
     Status::kObsolete},
  });
}

}  // namespace petrel::config
