// Bridge options: `connection NAME` starts a bridge and every bridge option applies to the
// last `connection` (Mosquitto's rule; a bridge option before any `connection` is an
// error). Also Petrel's `bridges_only`. The checks that need a whole bridge are in
// bridge_checks.cpp.
#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "config/option_tables.h"
#include "config/parse_state.h"
#include "config/values.h"
#include "protocol/topic.h"

namespace petrel::config {

std::string bridge_key(int index) { return fmt::format("bridge#{}", index); }

namespace {

constexpr int64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

// The bridge being configured: the last `connection`; nullptr (reported) before any.
Bridge* current(ParseState& s, const Directive& d) {
  if (s.current_bridge < 0) {
    s.error(d, "must follow a 'connection' line (bridge options apply to the last 'connection')");
    return nullptr;
  }
  return &s.config.bridges[static_cast<size_t>(s.current_bridge)];
}


// Records where `option` was given for the current bridge (for validate_bridges).
void remember(ParseState& s, std::string_view option, const Directive& d) {
  s.seen_text.insert_or_assign(bridge_key(s.current_bridge) + ":" + std::string(option), d.where());
}

// The whole rest of the line as one value, once per bridge. `canonical` names the field so
// aliases (clientid / remote_clientid) count as the same option.
bool bridge_text(ParseState& s, const Directive& d, std::string_view canonical, std::string& out) {
  if (d.value.empty()) {
    s.error(d, "missing value");
    return false;
  }
  auto [it, inserted] = s.seen_text.emplace(bridge_key(s.current_bridge) + ":" + std::string(canonical), d.where());
  if (!inserted) {
    s.error(d, fmt::format("given more than once for this bridge (first at {})", it->second));
    return false;
  }
  out = d.value;
  return true;
}

template <std::string Bridge::*Field>
void text_field(ParseState& s, const Directive& d) {
  if (Bridge* b = current(s, d)) bridge_text(s, d, d.name, b->*Field);
}

// Aliases: Mosquitto's old names (clientid, username, password) and the remote_* ones.
void parse_remote_clientid(ParseState& s, const Directive& d) {
  if (Bridge* b = current(s, d)) bridge_text(s, d, "remote_clientid", b->remote_clientid);
}

template <std::optional<std::string> Bridge::*Field>
void optional_text(ParseState& s, const Directive& d, std::string_view canonical) {
  Bridge* b = current(s, d);
  std::string v;
  if (b && bridge_text(s, d, canonical, v)) b->*Field = v;
}

void parse_remote_username(ParseState& s, const Directive& d) {
  optional_text<&Bridge::remote_username>(s, d, "remote_username");
}
void parse_remote_password(ParseState& s, const Directive& d) {
  optional_text<&Bridge::remote_password>(s, d, "remote_password");
}
void parse_local_username(ParseState& s, const Directive& d) {
  optional_text<&Bridge::local_username>(s, d, "local_username");
}
void parse_local_password(ParseState& s, const Directive& d) {
  optional_text<&Bridge::local_password>(s, d, "local_password");
}

template <bool Bridge::*Field>
void bool_field(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  bool v = false;
  if (!b || !s.boolean(d, v)) return;
  b->*Field = v;
  remember(s, d.name, d);
}

void parse_local_cleansession(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  bool v = false;
  if (b && s.boolean(d, v)) b->local_cleansession = v;
}

template <auto Field, int64_t Min, int64_t Max>
void int_field(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  int64_t v = 0;
  if (!b || !s.integer(d, Min, Max, v)) return;
  b->*Field = static_cast<std::remove_reference_t<decltype(b->*Field)>>(v);
  remember(s, d.name, d);
}

void parse_connection(ParseState& s, const Directive& d) {
  Bridge b;
  b.source = d.where();
  bool failed = !s.one_token(d, "a bridge name", b.name);
  if (!failed && b.name.find_first_of("+#") != std::string::npos) {
    // The name is part of the default client id and notification topic.
    s.error(d, fmt::format("bridge name '{}' must not contain '+' or '#'", b.name));
    failed = true;
  }
  for (size_t i = 0; !failed && i < s.config.bridges.size(); ++i) {
    if (!s.bridge_failed[i] && s.config.bridges[i].name == b.name) {
      s.error(d, fmt::format("duplicate bridge name '{}' (first at {})", b.name, s.config.bridges[i].source));
      failed = true;
    }
  }
  // A failed bridge still collects its options (so they are checked, and do not land on
  // the previous bridge); finish_config drops it.
  s.config.bridges.push_back(std::move(b));
  s.bridge_failed.push_back(failed);
  s.current_bridge = static_cast<int>(s.config.bridges.size()) - 1;
}

bool valid_ipv6(std::string_view text) {
  std::string addr(text.substr(0, text.find('%')));  // a zone id ("%eth0") is not part of inet_pton
  in6_addr out{};
  return inet_pton(AF_INET6, addr.c_str(), &out) == 1;
}

// One `host[:port]` of an address line: "host", "host:1884", "10.0.0.1:1884", "[::1]",
// "[::1]:1884", or a bare IPv6 literal: "::1" (port 1883), or "::1:1884" read as Mosquitto
// does (split at the last ':' when that leaves an IPv6 address and a port; brackets make
// it unambiguous). Returns what is wrong, or "".
std::string parse_one_address(const std::string& tok, BridgeAddress& out) {
  std::string_view t = tok;
  std::string_view port_text;
  if (t.front() == '[') {
    const size_t close = t.find(']');
    if (close == std::string_view::npos) return fmt::format("'{}' has no closing ']'", tok);
    out.host = std::string(t.substr(1, close - 1));
    if (!valid_ipv6(out.host)) return fmt::format("'{}': brackets must hold an IPv6 address", tok);
    std::string_view rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fmt::format("'{}': expected ':PORT' after ']'", tok);
      port_text = rest.substr(1);
      if (port_text.empty()) return fmt::format("'{}': missing port after ':'", tok);
    }
  } else {
    const size_t colons = static_cast<size_t>(std::count(t.begin(), t.end(), ':'));
    if (colons > 1) {
      // Mosquitto splits at the last ':' ("::1:1884" is ::1 port 1884), so do the same
      // when that leaves an IPv6 address and a port; otherwise the whole is the address.
      const size_t last = t.rfind(':');
      const std::string_view head = t.substr(0, last), tail = t.substr(last + 1);
      if (valid_ipv6(head) && parse_port_value(tail)) {
        out.host = std::string(head);
        port_text = tail;
      } else if (valid_ipv6(t)) {
        out.host = tok;
      } else {
        return fmt::format("'{}' is neither HOST:PORT nor an IPv6 address (write an IPv6 address "
                           "with a port as [ADDRESS]:PORT)", tok);
      }
    } else if (colons == 1) {
      const size_t colon = t.find(':');
      out.host = std::string(t.substr(0, colon));
      port_text = t.substr(colon + 1);
      if (port_text.empty()) return fmt::format("'{}': missing port after ':'", tok);
    } else {
      out.host = tok;
    }
    if (out.host.empty()) return fmt::format("'{}': missing host before ':'", tok);
    if (out.host.find_first_of("[]/") != std::string::npos) {
      return fmt::format("'{}' is not a host name or address", tok);
    }
  }
  out.port = 1883;
  if (!port_text.empty()) {
    auto port = parse_port_value(port_text);
    if (!port) return fmt::format("'{}': expected a port 1..65535, got '{}'", tok, port_text);
    out.port = *port;
  }
  return {};
}

void parse_address(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  if (!b) return;
  std::vector<std::string> w = ParseState::words(d);
  if (w.empty()) {
    s.error(d, "missing value (expected HOST[:PORT] ...)");
    return;
  }
  remember(s, "address", d);
  for (const auto& tok : w) {
    BridgeAddress a;
    if (std::string e = parse_one_address(tok, a); !e.empty()) {
      s.error(d, e);
      continue;
    }
    for (const auto& old : b->addresses) {
      if (old == a) {
        s.warn(d, fmt::format("address '{}' is listed more than once for this bridge", tok));
        break;
      }
    }
    b->addresses.push_back(std::move(a));  // repeated address lines append (primary first)
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// topic PATTERN [in|out|both [QOS [LOCAL-PREFIX REMOTE-PREFIX]]]; "" stands for empty.
void parse_topic(ParseState& s, const Directive& d) {
  const char* expected = "PATTERN [in|out|both [QOS [LOCAL-PREFIX REMOTE-PREFIX]]]";
  Bridge* b = current(s, d);
  if (!b) return;
  if (d.tokens.empty()) {
    s.error(d, fmt::format("missing value (expected {})", expected));
    return;
  }
  // The pattern may be "#" itself; a later token starting with '#' begins a comment.
  std::vector<std::string> w{d.tokens[0]};
  for (size_t i = 1; i < d.tokens.size() && d.tokens[i].front() != '#'; ++i) w.push_back(d.tokens[i]);
  if (w.size() > 5) {
    s.error(d, fmt::format("unexpected extra value '{}' (expected {})", w[5], expected));
    return;
  }
  auto unquote = [](const std::string& t) { return t == "\"\"" ? std::string() : t; };
  BridgeTopic t;
  t.source = d.where();
  t.pattern = unquote(w[0]);
  if (w.size() > 1) {
    if (iequals(w[1], "out")) {
      t.direction = BridgeDirection::kOut;
    } else if (iequals(w[1], "in")) {
      t.direction = BridgeDirection::kIn;
    } else if (iequals(w[1], "both")) {
      t.direction = BridgeDirection::kBoth;
    } else {
      s.error(d, fmt::format("expected a direction in, out or both, got '{}'", w[1]) +
                     did_you_mean(w[1], {"in", "out", "both"}));
      return;
    }
  }
  if (w.size() > 2) {
    auto q = parse_int_value(w[2]);
    if (!q || *q < 0 || *q > 2) {
      s.error(d, fmt::format("expected a QoS 0, 1 or 2, got '{}'", w[2]));
      return;
    }
    t.qos = static_cast<uint8_t>(*q);
  }
  if (w.size() == 4) {
    s.error(d, fmt::format("local prefix '{}' needs a remote prefix after it (write \"\" for none)", w[3]));
    return;
  }
  if (w.size() == 5) {
    t.local_prefix = unquote(w[3]);
    t.remote_prefix = unquote(w[4]);
  }
  if (std::string e = bridge_topic_error(t); !e.empty()) {
    s.error(d, e);
    return;
  }
  b->topics.push_back(std::move(t));
}

void parse_protocol_version(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  std::string v;
  if (!b || !s.choice(d, {"mqttv31", "mqttv311", "mqttv50"}, v)) return;
  b->protocol_version = v == "mqttv31" ? 3 : v == "mqttv311" ? 4 : 5;
  remember(s, d.name, d);
}

void parse_keepalive_interval(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  int64_t v = 0;
  if (!b || !s.integer(d, 1, 65535, v)) return;
  if (v < 5) {
    s.warn(d, fmt::format("keepalive {} is below 5 seconds; using 5 (as Mosquitto does)", v));
    v = 5;
  }
  b->keepalive_interval = static_cast<uint16_t>(v);
}

void parse_notification_topic(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  std::string v;
  if (!b || !bridge_text(s, d, d.name, v)) return;
  if (!protocol::valid_topic_name(v)) {
    s.error(d, fmt::format("'{}' is not a valid topic name (no '+' or '#')", v));
    return;
  }
  b->notification_topic = v;
}

void parse_max_packet_size(ParseState& s, const Directive& d) {
  if (Bridge* b = current(s, d)) s.packet_size(d, b->max_packet_size);
}

// restart_timeout SECONDS (constant delay) | BASE CAP (jittered backoff between them).
void parse_restart_timeout(ParseState& s, const Directive& d) {
  const char* expected = "SECONDS, or BASE CAP (seconds, 1 or more)";
  Bridge* b = current(s, d);
  if (!b) return;
  std::vector<std::string> w = ParseState::words(d);
  if (w.empty()) {
    s.error(d, fmt::format("missing value (expected {})", expected));
    return;
  }
  if (w.size() > 2) {
    s.error(d, fmt::format("unexpected extra value '{}' (expected {})", w[2], expected));
    return;
  }
  uint32_t v[2] = {0, 0};
  for (size_t i = 0; i < w.size(); ++i) {
    auto n = parse_int_value(w[i]);
    if (!n || *n < 1 || *n > kMaxU32) {
      s.error(d, fmt::format("expected {}, got '{}'", expected, w[i]));
      return;
    }
    v[i] = static_cast<uint32_t>(*n);
  }
  if (w.size() == 1) {
    b->restart_constant = true;
    b->restart_timeout_base = b->restart_timeout_cap = v[0];
    return;
  }
  if (v[1] < v[0]) {
    s.error(d, fmt::format("the backoff cap {} is lower than the base {}", v[1], v[0]));
    return;
  }
  b->restart_constant = false;
  b->restart_timeout_base = v[0];
  b->restart_timeout_cap = v[1];
}

void parse_start_type(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  if (!b) return;
  std::vector<std::string> w = ParseState::words(d);
  if (w.size() == 1 && w[0] == "manual") {
    s.error(d, "start_type manual is not supported (Mosquitto refuses it too)");
    return;
  }
  std::string v;
  if (!s.choice(d, {"automatic", "lazy", "once"}, v)) return;
  b->start_type = v == "automatic" ? BridgeStartType::kAutomatic
                  : v == "lazy"    ? BridgeStartType::kLazy
                                   : BridgeStartType::kOnce;
  remember(s, d.name, d);
}

void parse_tls_version(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  std::string v;
  if (!b || !s.choice(d, {"tlsv1.3", "tlsv1.2", "tlsv1.1"}, v)) return;
  if (v == "tlsv1.1") {
    s.warn(d, "TLS 1.1 is obsolete and refused by OpenSSL 3 at its default security level; using tlsv1.2");
    v = "tlsv1.2";
  }
  b->tls_version = v;
  remember(s, d.name, d);
}

void parse_psk(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  std::string v;
  if (!b || !bridge_text(s, d, d.name, v)) return;
  if (v.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    s.error(d, fmt::format("expected the key as hex digits, got '{}'", v));
    return;
  }
  b->psk = v;  // an odd number of digits has a leading 0, as in Mosquitto (client::psk_key_from_hex)
}

void parse_tcp_keepalive(ParseState& s, const Directive& d) {
  // Linux limits: TCP_KEEPIDLE and TCP_KEEPINTVL 1..32767 s, TCP_KEEPCNT 1..127.
  const char* expected = "IDLE INTERVAL COUNT (seconds 1..32767, seconds 1..32767, probes 1..127)";
  Bridge* b = current(s, d);
  if (!b) return;
  std::vector<std::string> w = ParseState::words(d);
  if (w.size() != 3) {
    s.error(d, fmt::format("expected {}, got {} value{}", expected, w.size(), w.size() == 1 ? "" : "s"));
    return;
  }
  constexpr int64_t kMax[3] = {32767, 32767, 127};
  uint32_t v[3] = {0, 0, 0};
  for (size_t i = 0; i < 3; ++i) {
    auto n = parse_int_value(w[i]);
    if (!n || *n < 1 || *n > kMax[i]) {
      s.error(d, fmt::format("expected {}, got '{}'", expected, w[i]));
      return;
    }
    v[i] = static_cast<uint32_t>(*n);
  }
  b->tcp_keepalive_idle = v[0];
  b->tcp_keepalive_interval = v[1];
  b->tcp_keepalive_count = v[2];
}

void parse_reload_type(ParseState& s, const Directive& d) {
  Bridge* b = current(s, d);
  std::string v;
  if (b && s.choice(d, {"lazy", "immediate"}, v)) b->reload_immediate = v == "immediate";
}

void parse_bridges_only(ParseState& s, const Directive& d) {
  bool v = false;
  if (!s.boolean(d, v)) return;
  s.config.bridges_only = v;
  s.bridges_only_where = v ? d.where() : std::string();
}

}  // namespace

void append_bridge_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto B = Scope::kBridge;
  out.insert(out.end(), {
    {"connection", B, parse_connection, "NAME", "-",
     "Start a bridge; the following bridge options apply to it. The name must be unique", S},
    {"address", B, parse_address, "HOST[:PORT] ...", "-",
     "Remote broker address(es), primary first; repeatable (appends). IPv6: [::1]:1884, [::1] or ::1 (port 1883)", S},
    {"addresses", B, parse_address, "HOST[:PORT] ...", "-", "Same as address", S},
    {"round_robin", B, bool_field<&Bridge::round_robin>, "true|false", "false",
     "Treat all addresses as equals instead of returning to the first (primary) one", S},
    {"topic", B, parse_topic, "PATTERN [in|out|both [QOS [LOCAL-PREFIX REMOTE-PREFIX]]]", "out 0",
     "Topic shared over the bridge; repeatable; \"\" for an empty pattern or prefix", S},
    {"bridge_protocol_version", B, parse_protocol_version, "mqttv31|mqttv311|mqttv50", "mqttv311",
     "MQTT version towards the remote", S},
    {"try_private", B, bool_field<&Bridge::try_private>, "true|false", "true",
     "Tell the remote this is a bridge (loop prevention)", S},
    {"cleansession", B, bool_field<&Bridge::cleansession>, "true|false", "false",
     "Clean session towards the remote", S},
    {"local_cleansession", B, parse_local_cleansession, "true|false", "cleansession",
     "Clean session of the bridge's local side", S},
    {"keepalive_interval", B, parse_keepalive_interval, "1..65535", "60",
     "Keepalive towards the remote in seconds (below 5 means 5, as in Mosquitto)", S},
    {"remote_clientid", B, parse_remote_clientid, "ID", "HOSTNAME.NAME", "Client id on the remote broker", S},
    {"clientid", B, parse_remote_clientid, "ID", "HOSTNAME.NAME", "Same as remote_clientid", S},
    {"local_clientid", B, text_field<&Bridge::local_clientid>, "ID", "local.REMOTE-CLIENTID",
     "Client id of the bridge on the local broker", S},
    {"remote_username", B, parse_remote_username, "USERNAME", "none", "Username on the remote broker", S},
    {"username", B, parse_remote_username, "USERNAME", "none", "Same as remote_username", S},
    {"remote_password", B, parse_remote_password, "PASSWORD", "none", "Password on the remote broker", S},
    {"password", B, parse_remote_password, "PASSWORD", "none", "Same as remote_password", S},
    {"local_username", B, parse_local_username, "USERNAME", "none", "Username of the bridge on the local broker", S},
    {"local_password", B, parse_local_password, "PASSWORD", "none", "Password of the bridge on the local broker", S},
    {"bridge_enabled", B, bool_field<&Bridge::enabled>, "true|false", "true",
     "Petrel: false keeps the bridge configured but not running (the router product's per-bridge Enable)", S},
    {"notifications", B, bool_field<&Bridge::notifications>, "true|false", "true",
     "Publish the bridge state (1 connected, 0 not) as a retained message", S},
    {"notification_topic", B, parse_notification_topic, "TOPIC", "$SYS/broker/connection/REMOTE-CLIENTID/state",
     "Topic of the bridge state notifications", S},
    {"notifications_local_only", B, bool_field<&Bridge::notifications_local_only>, "true|false", "false",
     "Publish the notifications on the local broker only", S},
    {"bridge_attempt_unsubscribe", B, bool_field<&Bridge::attempt_unsubscribe>, "true|false", "true",
     "Unsubscribe on the remote from topics the bridge no longer uses", S},
    {"bridge_outgoing_retain", B, bool_field<&Bridge::outgoing_retain>, "true|false", "true",
     "Keep the retain flag on messages sent to the remote", S},
    {"bridge_max_packet_size", B, parse_max_packet_size, "0 | 20..268435460", "0 (no limit)",
     "Largest packet the bridge accepts from the remote (MQTT 5 maximum packet size)", S},
    {"bridge_bind_address", B, text_field<&Bridge::bind_address>, "ADDRESS", "any",
     "Local address of the bridge's outgoing socket", S},
    {"restart_timeout", B, parse_restart_timeout, "SECONDS | BASE CAP", "5 30",
     "Reconnect delay: one value is constant, two are a jittered backoff from BASE up to CAP", S},
    {"start_type", B, parse_start_type, "automatic|lazy|once", "automatic",
     "Start at once and reconnect; start when threshold messages queue up; or connect once", S},
    {"threshold", B, int_field<&Bridge::threshold, 1, kMaxU32>, "COUNT", "10",
     "Queued messages that start a lazy bridge", S},
    {"idle_timeout", B, int_field<&Bridge::idle_timeout, 1, kMaxU32>, "SECONDS", "60",
     "Idle time before a lazy bridge disconnects", S},
    {"bridge_cafile", B, text_field<&Bridge::cafile>, "PATH", "none",
     "CA certificates for the remote broker; turns TLS on", S},
    {"bridge_capath", B, text_field<&Bridge::capath>, "DIR", "none",
     "Directory of CA certificates for the remote broker; turns TLS on", S},
    {"bridge_certfile", B, text_field<&Bridge::certfile>, "PATH", "none",
     "Client certificate towards the remote (needs bridge_keyfile and a CA)", S},
    {"bridge_keyfile", B, text_field<&Bridge::keyfile>, "PATH", "none",
     "Client private key towards the remote (needs bridge_certfile)", S},
    {"bridge_insecure", B, bool_field<&Bridge::insecure>, "true|false", "false",
     "Skip the remote certificate's host name check (testing only)", S},
    {"bridge_tls_use_os_certs", B, bool_field<&Bridge::tls_use_os_certs>, "true|false", "false",
     "Trust the system CA store for the remote; turns TLS on", S},
    {"bridge_tls_version", B, parse_tls_version, "tlsv1.2|tlsv1.3", "tlsv1.2",
     "Lowest TLS version towards the remote", S},
    {"bridge_ciphers", B, text_field<&Bridge::ciphers>, "CIPHER:LIST", "OpenSSL default",
     "TLS 1.2 ciphers towards the remote", S},
    {"bridge_ciphers_tls1.3", B, text_field<&Bridge::ciphers_tls13>, "SUITE:LIST", "OpenSSL default",
     "TLS 1.3 suites towards the remote", S},
    {"bridge_alpn", B, text_field<&Bridge::alpn>, "PROTOCOL", "none", "TLS ALPN protocol towards the remote", S},
    {"bridge_identity", B, text_field<&Bridge::identity>, "IDENTITY", "none",
     "TLS-PSK identity towards the remote (with bridge_psk; not with certificates)", S},
    {"bridge_psk", B, parse_psk, "HEX", "none",
     "TLS-PSK key towards the remote, hex digits (with bridge_identity); turns TLS on", S},
    {"bridge_session_expiry_interval", B, int_field<&Bridge::session_expiry_interval, 0, kMaxU32>,
     "0..4294967295", "0", "MQTT 5 session expiry the bridge asks the remote for", S},
    {"bridge_receive_maximum", B, int_field<&Bridge::receive_maximum, 1, 65535>, "1..65535", "20",
     "MQTT 5 receive maximum of the bridge", S},
    {"bridge_max_topic_alias", B, int_field<&Bridge::max_topic_alias, 0, 65535>, "0..65535", "10",
     "MQTT 5 topic aliases the remote may use towards the bridge", S},
    {"bridge_tcp_keepalive", B, parse_tcp_keepalive, "IDLE INTERVAL COUNT", "off",
     "TCP keepalive of the bridge socket: idle seconds, probe interval, probe count", S},
    {"bridge_reload_type", B, parse_reload_type, "lazy|immediate", "immediate (Mosquitto: lazy)",
     "On reload, reconnect a changed bridge at once, or only at its next reconnection", S},
    {"primary_retry_interval", B, int_field<&Bridge::primary_retry_interval, 1, kMaxU32>, "SECONDS", "20",
     "Petrel: while on a backup address (round_robin false), probe the primary this often "
     "with a full TLS+MQTT handshake", S},
    {"primary_holddown", B, int_field<&Bridge::primary_holddown, 0, kMaxU32>, "SECONDS", "60",
     "Petrel: the primary must answer every probe this long before the bridge fails back "
     "(0 = on the first good probe)", S},
    {"bridge_require_ocsp", B, bool_field<&Bridge::require_ocsp>, "true|false", "false",
     "The remote must staple a current OCSP response that says its certificate is good (signed by the "
     "issuer or its delegated responder), or the TLS handshake fails", S},
    {"bridge_tcp_user_timeout", B, int_field<&Bridge::tcp_user_timeout_ms, 0, 2147483647>, "MILLISECONDS", "0 (system)",
     "TCP_USER_TIMEOUT of the bridge socket: drop the connection when sent data stays unacknowledged this long", S},
    {"bridges_only", Scope::kGlobal, parse_bridges_only, "true|false", "false",
     "Petrel: open no client listener; bridges forward between their remote brokers through "
     "local routing (the router's 'Enable MQTT Broker' unchecked)", S},
  });
}

}  // namespace petrel::config
