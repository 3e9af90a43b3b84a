// The second half of every option's descriptor: how a change takes effect in a running
// broker and how its current value is read back from a Config. One table for all options,
// so the reload diff, the admin API and `--test-config -v` agree; options_values_test
// proves that every Config field is read by some option.
#include <fmt/format.h>

#include <map>
#include <optional>
#include <string>
#include <type_traits>

#include "config/config.h"
#include "config/option_tables.h"

namespace petrel::config {

namespace {

std::string text_of(bool v) { return v ? "true" : "false"; }
std::string text_of(const std::string& v) { return v; }
std::string text_of(const std::optional<std::string>& v) { return v ? *v : std::string(); }
template <class T>
  requires std::is_integral_v<T>
std::string text_of(T v) {
  return fmt::format("{}", v);
}

template <auto F>
std::string global(const Config& c) {
  return text_of(c.*F);
}
template <auto F>
std::string listener(const Listener& l) {
  return text_of(l.*F);
}
template <auto F>
std::string security(const SecuritySettings& s) {
  return text_of(s.*F);
}
template <auto F>
std::string bridge(const Bridge& b) {
  return text_of(b.*F);
}

// ---- values with their own syntax ---------------------------------------------------------

std::string listener_header(const Listener& l) {
  return l.bind_address.empty() ? fmt::format("{}", l.port) : fmt::format("{} {}", l.port, l.bind_address);
}
std::string websockets_origins(const Listener& l) {
  std::string out;
  for (const auto& o : l.websockets_origins) out += (out.empty() ? "" : "\n") + (o.empty() ? std::string("\"\"") : o);
  return out;
}
std::string keyform(const Listener&) { return "pem"; }  // the only form Petrel accepts
std::string accept_protocol_versions(const Listener& l) { return protocol_versions_text(l.accept_protocol_versions); }
std::string listener_allow_anonymous(const Listener& l) {
  return l.listener_allow_anonymous ? text_of(*l.listener_allow_anonymous) : std::string();
}
std::string listener_auto_id_prefix(const Listener& l) { return text_of(l.listener_auto_id_prefix); }
std::string socket_domain(const Listener& l) {
  return l.socket_domain == SocketDomain::kIpv4 ? "ipv4" : l.socket_domain == SocketDomain::kIpv6 ? "ipv6" : "";
}
std::string protocol(const Listener& l) {
  switch (l.protocol) {
    case ListenerProtocol::kMqtt: return "mqtt";
    case ListenerProtocol::kWebsockets: return "websockets";
    case ListenerProtocol::kHttpApi: return "http_api";
  }
  return "mqtt";
}
std::string log_types(const Config& c) {
  std::string out;
  for (uint32_t bit = 1; bit <= kLogDebug; bit <<= 1) {
    if (c.log.levels & bit) out += (out.empty() ? "" : " ") + std::string(log_level_name(bit));
  }
  return out.empty() ? "none" : out;
}
std::string log_dests(const Config& c) {
  static const std::pair<uint32_t, const char*> kNames[] = {
      {kDestStdout, "stdout"}, {kDestStderr, "stderr"}, {kDestSyslog, "syslog"}, {kDestTopic, "topic"}};
  std::string out;
  for (auto [bit, name] : kNames) {
    if (c.log.dests & bit) out += (out.empty() ? "" : " ") + std::string(name);
  }
  if (c.log.dests & kDestFile) out += (out.empty() ? "file " : " file ") + c.log.file_path;
  return out.empty() ? "none" : out;
}
std::string log_timestamp(const Config& c) { return text_of(c.log.timestamp); }
std::string log_timestamp_format(const Config& c) { return c.log.timestamp_format; }
std::string log_facility(const Config& c) {
  return c.log.syslog_local < 0 ? std::string("daemon") : fmt::format("{}", c.log.syslog_local);
}
std::string persistent_client_expiration(const Config& c) {
  return c.persistent_client_expiration < 0 ? "never" : fmt::format("{}s", c.persistent_client_expiration);
}
std::string persistence_enabled(const Config& c) { return text_of(c.persistence.enabled); }
std::string persistence_location(const Config& c) { return c.persistence.location; }
std::string persistence_file(const Config& c) { return c.persistence.file; }
std::string persistence_sync(const Config& c) {
  switch (c.persistence.sync) {
    case PersistenceSync::kCommit: return "commit";
    case PersistenceSync::kInterval: return fmt::format("interval {}", c.persistence.sync_interval_ms);
    case PersistenceSync::kOff: return "off";
  }
  return "commit";
}
std::string autosave_interval(const Config& c) { return text_of(c.persistence.autosave_interval); }
std::string autosave_on_changes(const Config& c) { return text_of(c.persistence.autosave_on_changes); }
std::string password_file(const Config& c) {
  return c.http_api_password_file.empty() && c.http_api_generated_password ? "(generated)" : c.http_api_password_file;
}

std::string addresses(const Bridge& b) {
  std::string out;
  for (const auto& a : b.addresses) {
    const bool v6 = a.host.find(':') != std::string::npos;
    out += fmt::format("{}{}{}:{}", out.empty() ? "" : " ", v6 ? "[" + a.host + "]" : a.host, "", a.port);
  }
  return out;
}
std::string quoted(const std::string& s) { return s.empty() ? "\"\"" : s; }
std::string topics(const Bridge& b) {
  std::string out;
  for (const auto& t : b.topics) {
    const char* dir = t.direction == BridgeDirection::kIn ? "in" : t.direction == BridgeDirection::kBoth ? "both" : "out";
    if (!out.empty()) out += '\n';
    out += fmt::format("{} {} {}", quoted(t.pattern), dir, t.qos);
    if (!t.local_prefix.empty() || !t.remote_prefix.empty())
      out += fmt::format(" {} {}", quoted(t.local_prefix), quoted(t.remote_prefix));
  }
  return out;
}
std::string protocol_version(const Bridge& b) {
  return b.protocol_version == 3 ? "mqttv31" : b.protocol_version == 5 ? "mqttv50" : "mqttv311";
}
std::string local_cleansession(const Bridge& b) {
  return b.local_cleansession ? text_of(*b.local_cleansession) : std::string();
}
std::string restart_timeout(const Bridge& b) {
  return b.restart_constant ? fmt::format("{}", b.restart_timeout_base)
                            : fmt::format("{} {}", b.restart_timeout_base, b.restart_timeout_cap);
}
std::string start_type(const Bridge& b) {
  return b.start_type == BridgeStartType::kLazy ? "lazy" : b.start_type == BridgeStartType::kOnce ? "once" : "automatic";
}
std::string tcp_keepalive(const Bridge& b) {
  return b.tcp_keepalive_idle == 0 ? std::string("off")
                                   : fmt::format("{} {} {}", b.tcp_keepalive_idle, b.tcp_keepalive_interval,
                                                 b.tcp_keepalive_count);
}
std::string reload_type(const Bridge& b) { return b.reload_immediate ? "immediate" : "lazy"; }
std::string remote_username(const Bridge& b) { return text_of(b.remote_username); }
std::string remote_password(const Bridge& b) { return text_of(b.remote_password); }
std::string local_username(const Bridge& b) { return text_of(b.local_username); }
std::string local_password(const Bridge& b) { return text_of(b.local_password); }

// ---- the table -----------------------------------------------------------------------------

struct Values {
  Effect effect = Effect::kNone;
  ValueReader read{};
  bool secret = false;
  std::string_view alias_of{};
};

ValueReader G(std::string (*f)(const Config&)) { return {f, nullptr, nullptr, nullptr}; }
ValueReader L(std::string (*f)(const Listener&)) { return {nullptr, f, nullptr, nullptr}; }
ValueReader S(std::string (*f)(const SecuritySettings&)) { return {nullptr, nullptr, f, nullptr}; }
ValueReader B(std::string (*f)(const Bridge&)) { return {nullptr, nullptr, nullptr, f}; }

const std::map<std::string_view, Values>& values_table() {
  using E = Effect;
  constexpr auto live = E::kLive, reload = E::kReloadListener, restart = E::kRestartListener,
                 brg = E::kRestartBridge, process = E::kRestartProcess;
  static const std::map<std::string_view, Values> t = {
      // global limits and behaviour: the workers read them on every use
      {"max_keepalive", {live, G(global<&Config::max_keepalive>)}},
      {"max_packet_size", {live, G(global<&Config::max_packet_size>)}},
      {"message_size_limit", {live, G(global<&Config::message_size_limit>)}},
      {"max_inflight_messages", {live, G(global<&Config::max_inflight_messages>)}},
      {"max_inflight_bytes", {live, G(global<&Config::max_inflight_bytes>)}},
      {"max_queued_messages", {live, G(global<&Config::max_queued_messages>)}},
      {"max_queued_bytes", {live, G(global<&Config::max_queued_bytes>)}},
      {"queue_qos0_messages", {live, G(global<&Config::queue_qos0_messages>)}},
      {"retain_available", {live, G(global<&Config::retain_available>)}},
      {"check_retain_source", {live, G(global<&Config::check_retain_source>)}},
      {"enable_control_api", {live, G(global<&Config::enable_control_api>)}},
      {"persistent_client_expiration", {live, G(persistent_client_expiration)}},
      {"sys_interval", {live, G(global<&Config::sys_interval>)}},
      {"set_tcp_nodelay", {live, G(global<&Config::set_tcp_nodelay>)}},
      {"connection_messages", {live, G(global<&Config::connection_messages>)}},
      {"pid_file", {live, G(global<&Config::pid_file>)}},
      {"user", {process, G(global<&Config::user>)}},
      {"clientid_prefixes", {live, G(global<&Config::clientid_prefixes>)}},
      {"retain_expiry_interval", {live, G(global<&Config::retain_expiry_interval>)}},
      {"memory_limit", {live, G(global<&Config::memory_limit>)}},
      {"upgrade_outgoing_qos", {live, G(global<&Config::upgrade_outgoing_qos>)}},
      {"global_max_connections", {live, G(global<&Config::global_max_connections>)}},
      {"global_max_clients", {live, G(global<&Config::global_max_clients>)}},
      {"per_listener_settings", {live, G(global<&Config::per_listener_settings>)}},
      {"threads", {process, G(global<&Config::threads>)}},
      {"websockets_headers_size", {reload, G(global<&Config::websockets_headers_size>)}},
      {"bridges_only", {restart, G(global<&Config::bridges_only>)}},
      {"http_api_password_file", {live, G(password_file)}},
      {"http_api_insecure", {live, G(global<&Config::http_api_insecure>)}},
      {"state_dir", {live, G(global<&Config::state_dir>)}},
      {"include_dir", {E::kNone, {}}},
      // the durable store: opened at startup only
      {"persistence", {process, G(persistence_enabled)}},
      {"retained_persistence", {process, {}, false, "persistence"}},
      {"persistence_location", {process, G(persistence_location)}},
      {"persistence_file", {process, G(persistence_file)}},
      {"persistence_sync", {process, G(persistence_sync)}},
      {"autosave_interval", {process, G(autosave_interval)}},
      {"autosave_on_changes", {process, G(autosave_on_changes)}},
      // logging
      {"log_type", {live, G(log_types)}},
      {"log_level", {live, {}, false, "log_type"}},
      {"log_dest", {live, G(log_dests)}},
      {"log_timestamp", {live, G(log_timestamp)}},
      {"log_timestamp_format", {live, G(log_timestamp_format)}},
      {"log_facility", {live, G(log_facility)}},
      // security (global, or per listener with per_listener_settings true): applied live,
      // and connected clients the new settings refuse are disconnected
      {"allow_anonymous", {live, S(security<&SecuritySettings::allow_anonymous>)}},
      {"allow_zero_length_clientid", {live, S(security<&SecuritySettings::allow_zero_length_clientid>)}},
      {"auto_id_prefix", {live, S(security<&SecuritySettings::auto_id_prefix>)}},
      {"password_file", {live, S(security<&SecuritySettings::password_file>)}},
      {"acl_file", {live, S(security<&SecuritySettings::acl_file>)}},
      {"psk_file", {live, S(security<&SecuritySettings::psk_file>)}},
      // listeners: the header line keys them (a new port/address is another listener)
      {"listener", {E::kNone, L(listener_header)}},
      {"port", {E::kNone, {}, false, "listener"}},
      {"bind_address", {E::kNone, {}, false, "listener"}},
      {"socket_domain", {E::kNone, L(socket_domain)}},
      {"protocol", {restart, L(protocol)}},
      {"max_connections", {live, L(listener<&Listener::max_connections>)}},
      {"max_qos", {live, L(listener<&Listener::max_qos>)}},
      {"maximum_qos", {live, {}, false, "max_qos"}},
      {"max_topic_alias", {live, L(listener<&Listener::max_topic_alias>)}},
      {"max_topic_alias_broker", {live, L(listener<&Listener::max_topic_alias_broker>)}},
      {"mount_point", {restart, L(listener<&Listener::mount_point>)}},
      {"bind_interface", {restart, L(listener<&Listener::bind_interface>)}},
      {"accept_protocol_versions", {live, L(accept_protocol_versions)}},
      {"enable_proxy_protocol", {restart, L(listener<&Listener::proxy_protocol>)}},
      {"proxy_protocol_v2_require_tls", {restart, L(listener<&Listener::proxy_protocol_v2_require_tls>)}},
      {"websockets_origin", {reload, L(websockets_origins)}},
      {"http_dir", {reload, L(listener<&Listener::http_dir>)}},
      {"listener_allow_anonymous", {live, L(listener_allow_anonymous)}},
      {"listener_auto_id_prefix", {live, L(listener_auto_id_prefix)}},
      {"disable_client_cert_date_checks", {reload, L(listener<&Listener::disable_client_cert_date_checks>)}},
      {"use_username_as_clientid", {restart, L(listener<&Listener::use_username_as_clientid>)}},
      {"require_known_identity", {restart, L(listener<&Listener::require_known_identity>)}},
      {"cafile", {reload, L(listener<&Listener::cafile>)}},
      {"capath", {reload, L(listener<&Listener::capath>)}},
      {"certfile", {reload, L(listener<&Listener::certfile>)}},
      {"keyfile", {reload, L(listener<&Listener::keyfile>)}},
      {"crlfile", {reload, L(listener<&Listener::crlfile>)}},
      {"ciphers", {reload, L(listener<&Listener::ciphers>)}},
      {"ciphers_tls1.3", {reload, L(listener<&Listener::ciphers_tls13>)}},
      {"dhparamfile", {reload, L(listener<&Listener::dhparamfile>)}},
      {"tls_keyform", {reload, L(keyform)}},
      {"tls_version", {reload, L(listener<&Listener::tls_version>)}},
      {"psk_hint", {reload, L(listener<&Listener::psk_hint>)}},
      {"require_certificate", {restart, L(listener<&Listener::require_certificate>)}},
      {"use_identity_as_username", {restart, L(listener<&Listener::use_identity_as_username>)}},
      {"use_subject_as_username", {restart, L(listener<&Listener::use_subject_as_username>)}},
      // bridges: the bridge runtime restarts a changed bridge (bridge_reload_type)
      {"connection", {E::kNone, B(bridge<&Bridge::name>)}},
      {"address", {brg, B(addresses)}},
      {"addresses", {brg, {}, false, "address"}},
      {"round_robin", {brg, B(bridge<&Bridge::round_robin>)}},
      {"topic", {brg, B(topics)}},
      {"bridge_protocol_version", {brg, B(protocol_version)}},
      {"try_private", {brg, B(bridge<&Bridge::try_private>)}},
      {"cleansession", {brg, B(bridge<&Bridge::cleansession>)}},
      {"local_cleansession", {brg, B(local_cleansession)}},
      {"keepalive_interval", {brg, B(bridge<&Bridge::keepalive_interval>)}},
      {"remote_clientid", {brg, B(bridge<&Bridge::remote_clientid>)}},
      {"clientid", {brg, {}, false, "remote_clientid"}},
      {"local_clientid", {brg, B(bridge<&Bridge::local_clientid>)}},
      {"remote_username", {brg, B(remote_username)}},
      {"username", {brg, {}, false, "remote_username"}},
      {"remote_password", {brg, B(remote_password), true}},
      {"password", {brg, {}, true, "remote_password"}},
      {"local_username", {brg, B(local_username)}},
      {"local_password", {brg, B(local_password), true}},
      {"bridge_enabled", {brg, B(bridge<&Bridge::enabled>)}},
      {"notifications", {brg, B(bridge<&Bridge::notifications>)}},
      {"notification_topic", {brg, B(bridge<&Bridge::notification_topic>)}},
      {"notifications_local_only", {brg, B(bridge<&Bridge::notifications_local_only>)}},
      {"bridge_attempt_unsubscribe", {brg, B(bridge<&Bridge::attempt_unsubscribe>)}},
      {"bridge_outgoing_retain", {brg, B(bridge<&Bridge::outgoing_retain>)}},
      {"bridge_max_packet_size", {brg, B(bridge<&Bridge::max_packet_size>)}},
      {"bridge_bind_address", {brg, B(bridge<&Bridge::bind_address>)}},
      {"restart_timeout", {brg, B(restart_timeout)}},
      {"start_type", {brg, B(start_type)}},
      {"threshold", {brg, B(bridge<&Bridge::threshold>)}},
      {"idle_timeout", {brg, B(bridge<&Bridge::idle_timeout>)}},
      {"bridge_cafile", {brg, B(bridge<&Bridge::cafile>)}},
      {"bridge_capath", {brg, B(bridge<&Bridge::capath>)}},
      {"bridge_certfile", {brg, B(bridge<&Bridge::certfile>)}},
      {"bridge_keyfile", {brg, B(bridge<&Bridge::keyfile>)}},
      {"bridge_insecure", {brg, B(bridge<&Bridge::insecure>)}},
      {"bridge_require_ocsp", {brg, B(bridge<&Bridge::require_ocsp>)}},
      {"bridge_tls_use_os_certs", {brg, B(bridge<&Bridge::tls_use_os_certs>)}},
      {"bridge_tls_version", {brg, B(bridge<&Bridge::tls_version>)}},
      {"bridge_ciphers", {brg, B(bridge<&Bridge::ciphers>)}},
      {"bridge_ciphers_tls1.3", {brg, B(bridge<&Bridge::ciphers_tls13>)}},
      {"bridge_alpn", {brg, B(bridge<&Bridge::alpn>)}},
      {"bridge_identity", {brg, B(bridge<&Bridge::identity>)}},
      {"bridge_psk", {brg, B(bridge<&Bridge::psk>), true}},
      {"bridge_session_expiry_interval", {brg, B(bridge<&Bridge::session_expiry_interval>)}},
      {"bridge_receive_maximum", {brg, B(bridge<&Bridge::receive_maximum>)}},
      {"bridge_max_topic_alias", {brg, B(bridge<&Bridge::max_topic_alias>)}},
      {"bridge_tcp_keepalive", {brg, B(tcp_keepalive)}},
      {"bridge_tcp_user_timeout", {brg, B(bridge<&Bridge::tcp_user_timeout_ms>)}},
      {"bridge_reload_type", {brg, B(reload_type)}},
      {"primary_retry_interval", {brg, B(bridge<&Bridge::primary_retry_interval>)}},
      {"primary_holddown", {brg, B(bridge<&Bridge::primary_holddown>)}},
  };
  return t;
}

}  // namespace

void attach_option_values(std::vector<OptionDescriptor>& table) {
  const auto& values = values_table();
  for (auto& d : table) {
    auto it = values.find(d.name);
    if (it == values.end()) continue;  // not supported yet, or obsolete: nothing to read
    d.effect = it->second.effect;
    d.read = it->second.read;
    d.secret = it->second.secret;
    d.alias_of = it->second.alias_of;
  }
}

}  // namespace petrel::config
