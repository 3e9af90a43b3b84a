// Listener options (the listener being configured, or Mosquitto's default listener before
// the first `listener` line) and the security options (global, or per listener when
// per_listener_settings is true). TLS, TLS-PSK and WebSocket listener options are in
// options_tls.cpp.
#include <fmt/format.h>

#include <limits>

#include "config/option_tables.h"
#include "config/parse_state.h"
#include "config/values.h"

namespace petrel::config {

namespace {

void parse_listener(ParseState& s, const Directive& d) {
  const char* expected = "PORT [ADDRESS]";
  std::vector<std::string> w = ParseState::words(d);
  if (w.empty()) {
    s.error(d, fmt::format("missing value (expected {})", expected));
    s.begin_listener(d, 0, {});  // keep later listener options away from other listeners
    return;
  }
  if (w.size() > 2) s.error(d, fmt::format("unexpected extra value '{}' (expected {})", w[2], expected));
  auto port = parse_port_value(w[0]);
  if (!port) {
    if (w[0] == "0") {
      s.error(d, "Unix socket listeners (port 0) are not supported yet");
    } else {
      s.error(d, fmt::format("expected a port 1..65535, got '{}'", w[0]));
    }
    s.begin_listener(d, 0, {});  // port 0 marks a listener that failed to parse
    return;
  }
  s.begin_listener(d, *port, w.size() > 1 ? w[1] : std::string());
}

void parse_port(ParseState& s, const Directive& d) {
  std::string tok;
  if (!s.one_token(d, "a port 1..65535", tok)) return;
  auto port = parse_port_value(tok);
  if (!port) {
    s.error(d, fmt::format("expected a port 1..65535, got '{}'", tok));
    return;
  }
  auto [it, inserted] = s.seen_text.emplace("default:port", d.where());
  if (!inserted) {
    s.warn(d, fmt::format("the default listener's port is given more than once (first at {}); "
                          "the last one wins", it->second));
  }
  s.default_listener_explicit(d).port = *port;
}

void parse_bind_address(ParseState& s, const Directive& d) {
  std::string tok;
  if (!s.one_token(d, "an address or host name", tok)) return;
  auto [it, inserted] = s.seen_text.emplace("default:bind_address", d.where());
  if (!inserted) {
    s.error(d, fmt::format("given more than once (first at {})", it->second));
    return;
  }
  s.default_listener_explicit(d).bind_address = tok;
}

void parse_socket_domain(ParseState& s, const Directive& d) {
  std::string v;
  if (!s.choice(d, {"ipv4", "ipv6"}, v)) return;
  s.listener(d).socket_domain = v == "ipv4" ? SocketDomain::kIpv4 : SocketDomain::kIpv6;
}

void parse_max_connections(ParseState& s, const Directive& d) {
  int v = -1;
  if (s.limit(d, v)) s.listener(d).max_connections = v;
}

void parse_max_qos(ParseState& s, const Directive& d) {
  int64_t v = 0;
  if (s.integer(d, 0, 2, v)) s.listener(d).max_qos = static_cast<uint8_t>(v);
}

void parse_max_topic_alias(ParseState& s, const Directive& d) {
  int64_t v = 0;
  if (s.integer(d, 0, 65535, v)) s.listener(d).max_topic_alias = static_cast<uint16_t>(v);
}

void parse_max_topic_alias_broker(ParseState& s, const Directive& d) {
  int64_t v = 0;
  if (s.integer(d, 0, 65535, v)) s.listener(d).max_topic_alias_broker = static_cast<uint16_t>(v);
}

void parse_protocol(ParseState& s, const Directive& d) {
  std::string v;
  if (!s.choice(d, {"mqtt", "websockets", "http_api"}, v)) return;
  if (v == "http_api" && s.current < 0) {
    s.error(d, "http_api needs a 'listener' line before it");
    return;
  }
  s.listener(d).protocol = v == "mqtt"         ? ListenerProtocol::kMqtt
                           : v == "websockets" ? ListenerProtocol::kWebsockets
                                               : ListenerProtocol::kHttpApi;
}

void parse_mount_point(ParseState& s, const Directive& d) {
  if (s.current < 0) {
    s.error(d, "needs a 'listener' line before it");
    return;
  }
  std::string& target = s.listener(d).mount_point;
  if (!s.text(d, s.scope_key(), target)) return;
  if (target.find_first_of("+#") != std::string::npos) {
    s.error(d, fmt::format("must not contain the wildcards + or #, got '{}'", target));
  }
}

void parse_accept_protocol_versions(ParseState& s, const Directive& d) {
  const char* expected = "a list of 3, 4 and 5 (MQTT 3.1, 3.1.1, 5.0), e.g. 4,5";
  std::string all;
  for (const std::string& w : ParseState::words(d)) all += (all.empty() ? "" : " ") + w;
  if (all.empty()) {
    s.error(d, fmt::format("missing value (expected {})", expected));
    return;
  }
  auto bits = parse_protocol_versions(all);
  if (!bits) {
    s.error(d, fmt::format("expected {}, got '{}'", expected, all));
    return;
  }
  s.listener(d).accept_protocol_versions = *bits;
}

void parse_enable_proxy_protocol(ParseState& s, const Directive& d) {
  int64_t v = 0;
  if (s.integer(d, 1, 2, v)) s.listener(d).proxy_protocol = static_cast<int>(v);
}

void parse_listener_allow_anonymous(ParseState& s, const Directive& d) {
  bool v = false;
  if (s.boolean(d, v)) s.listener(d).listener_allow_anonymous = v;
}

void parse_listener_auto_id_prefix(ParseState& s, const Directive& d) {
  std::string v;
  if (s.text(d, s.scope_key(), v)) s.listener(d).listener_auto_id_prefix = v;
}

template <std::string Listener::*Field>
void listener_text(ParseState& s, const Directive& d) {
  Listener& l = s.listener(d);
  s.text(d, s.scope_key(), l.*Field);
}

template <bool Listener::*Field>
void listener_bool(ParseState& s, const Directive& d) {
  bool v = false;
  if (s.boolean(d, v)) s.listener(d).*Field = v;
}

std::string security_key(ParseState& s, const Directive& d) {
  return s.config.per_listener_settings ? s.scope_key() : std::string("global");
}

void parse_allow_anonymous(ParseState& s, const Directive& d) {
  bool v = false;
  if (!s.boolean(d, v)) return;
  SecuritySettings& sec = s.security(d);
  sec.allow_anonymous = v;
  sec.allow_anonymous_set = true;
}

void parse_allow_zero_length_clientid(ParseState& s, const Directive& d) {
  bool v = true;
  if (s.boolean(d, v)) s.security(d).allow_zero_length_clientid = v;
}

template <std::string SecuritySettings::*Field>
void security_text(ParseState& s, const Directive& d) {
  std::string key = security_key(s, d);
  s.text(d, key, s.security(d).*Field);
}

}  // namespace

void append_listener_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto L = Scope::kListener;
  out.insert(out.end(), {
    {"listener", L, parse_listener, "PORT [ADDRESS]", "-",
     "Open a listener (all addresses when ADDRESS is omitted); following listener options apply to it", S},
    {"port", L, parse_port, "PORT", "1883", "Port of the default listener (deprecated in Mosquitto; use listener)", S},
    {"bind_address", L, parse_bind_address, "ADDRESS", "all addresses",
     "Address of the default listener (deprecated in Mosquitto; use listener)", S},
    {"socket_domain", L, parse_socket_domain, "ipv4|ipv6", "both", "Restrict the listener to one IP family", S},
    {"max_connections", L, parse_max_connections, "-1 | 0..2147483647", "-1 (no limit)",
     "Most simultaneous clients on this listener", S},
    {"max_qos", L, parse_max_qos, "0..2", "2", "Highest QoS clients of this listener may use", S},
    {"maximum_qos", L, parse_max_qos, "0..2", "2", "Same as max_qos", S},
    {"max_topic_alias", L, parse_max_topic_alias, "0..65535", "10",
     "Topic aliases a v5 client of this listener may create (0 = none)", S},
    {"max_topic_alias_broker", L, parse_max_topic_alias_broker, "0..65535", "10",
     "Topic aliases Petrel assigns to the topics it sends each v5 client most (never more than the client allows; 0 = none)", S},
    {"protocol", L, parse_protocol, "mqtt|websockets|http_api", "mqtt",
     "Listener protocol: MQTT over TCP, MQTT over WebSockets (TLS too with certfile), or http_api: the admin API and pages (HTTPS with certfile/keyfile)", S},
    {"mount_point", L, parse_mount_point, "TOPIC-PREFIX", "none",
     "Put this listener's clients under a topic prefix: it is added to the topics and filters they send (and their "
     "wills) and taken off the topics they receive, so they only see messages under it", S},
    {"bind_interface", L, listener_text<&Listener::bind_interface>, "DEVICE", "none",
     "Bind the listener to a network interface (SO_BINDTODEVICE): only connections arriving on it are accepted", S},
    {"enable_proxy_protocol", L, parse_enable_proxy_protocol, "1|2", "off",
     "Every connection starts with a PROXY protocol header of this version (HAProxy, nginx): the client's address "
     "comes from it, and (v2) the TLS and client certificate the proxy verified", S},
    {"proxy_protocol_v2_require_tls", L, listener_bool<&Listener::proxy_protocol_v2_require_tls>, "true|false", "false",
     "With enable_proxy_protocol 2: refuse a connection whose header says the client did not use TLS to the proxy", S},
    {"accept_protocol_versions", L, parse_accept_protocol_versions, "3,4,5", "3,4,5",
     "MQTT versions this listener accepts (3 = 3.1, 4 = 3.1.1, 5 = 5.0); others get CONNACK 0x01 / 0x84", S},
    {"listener_allow_anonymous", L, parse_listener_allow_anonymous, "true|false", "allow_anonymous",
     "allow_anonymous for this listener only", S},
    {"listener_auto_id_prefix", L, parse_listener_auto_id_prefix, "PREFIX", "auto_id_prefix",
     "auto_id_prefix for this listener only", S},
    {"use_username_as_clientid", L, listener_bool<&Listener::use_username_as_clientid>, "true|false", "false",
     "Replace the client id with the username", S},
    {"require_known_identity", L, listener_bool<&Listener::require_known_identity>, "true|false", "false",
     "Petrel: with use_identity_as_username, refuse a certificate/PSK identity that is not a user of password_file or acl_file", S},
  });
}

void append_security_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto G = Scope::kGlobal;
  out.insert(out.end(), {
    {"allow_anonymous", G, parse_allow_anonymous, "true|false", "false (true when no listener is configured)",
     "Allow clients that connect without a username", S, true},
    {"allow_zero_length_clientid", G, parse_allow_zero_length_clientid, "true|false", "true",
     "Let clients connect with an empty client id and assign one", S, true},
    {"auto_id_prefix", G, security_text<&SecuritySettings::auto_id_prefix>, "PREFIX", "auto-",
     "Prefix of client ids the broker assigns", S, true},
    {"password_file", G, security_text<&SecuritySettings::password_file>, "PATH", "none",
     "Username/password file (mosquitto_passwd format)", S, true},
    {"acl_file", G, security_text<&SecuritySettings::acl_file>, "PATH", "none", "Access control list file", S, true},
    {"psk_file", G, security_text<&SecuritySettings::psk_file>, "PATH", "none", "TLS-PSK identities and keys (identity:hexkey)", S, true},
  });
}

}  // namespace petrel::config
