// Mosquitto options Petrel recognises but does not implement yet (no storage in Config
// yet): plugins, websockets/HTTP, PROXY protocol and extra TLS knobs. Each is
// refused by name with "not supported yet". (The bridge option not supported yet,
// bridge_require_ocsp, is listed in options_bridge.cpp.)
#include "config/option_tables.h"

namespace petrel::config {

void append_unsupported_options(std::vector<OptionDescriptor>& out) {
  constexpr auto N = Status::kNotSupportedYet;
  constexpr auto G = Scope::kGlobal;
  constexpr auto L = Scope::kListener;
  out.insert(out.end(), {
    // Global.
    {"allow_duplicate_messages", G, nullptr, "true|false", "true", "Deprecated in Mosquitto: send overlapping matches more than once", N},
    {"auth_opt_*", G, nullptr, "VALUE", "none", "Option for the most recent plugin (old name of plugin_opt_*)", N},
    {"auth_plugin", G, nullptr, "PATH", "none", "Load an authentication plugin (old name of plugin)", N},
    {"auth_plugin_deny_special_chars", G, nullptr, "true|false", "true", "Deny ACL checks for ids containing + or #", N},
    {"check_retain_source", G, nullptr, "true|false", "true", "Re-check the publisher's access before sending a retained message", N},
    {"enable_control_api", G, nullptr, "true|false", "false", "Enable the $CONTROL/broker/v1 API", N},
    {"global_plugin", G, nullptr, "PATH", "none", "Load a plugin for every listener", N},
    {"memory_limit", G, nullptr, "BYTES", "none", "Hard heap limit", N},
    {"plugin", G, nullptr, "PATH", "none", "Load a broker plugin", N},
    {"plugin_opt_*", G, nullptr, "VALUE", "none", "Option for the most recent plugin", N},
    {"retain_expiry_interval", G, nullptr, "MINUTES", "off", "Sweep expired retained messages periodically", N},
    {"upgrade_outgoing_qos", G, nullptr, "true|false", "false", "Deliver at the subscription QoS (non-standard)", N},
    {"user", G, nullptr, "USERNAME", "mosquitto", "Drop privileges to this user when started as root", N},
    {"websockets_log_level", G, nullptr, "LEVEL", "0", "libwebsockets log level", N},
    // Listener.
    {"enable_proxy_protocol", L, nullptr, "1|2", "off", "Expect a PROXY protocol header", N},
    {"http_dir", L, nullptr, "DIR", "none", "Serve files over HTTP on a websockets listener", N},
    {"packet_buffer_size", L, nullptr, "BYTES", "4096", "Network read buffer size", N},
    {"proxy_protocol_v2_require_tls", L, nullptr, "true|false", "false", "Require TLS information in PROXY v2 headers", N},
    {"tls_engine", L, nullptr, "ENGINE", "none", "OpenSSL engine", N},
    {"tls_engine_kpass_sha1", L, nullptr, "HEX", "none", "SHA1 of the engine key password", N},
    {"tls_keyform", L, nullptr, "pem|engine|uri", "pem", "Form of keyfile", N},
  });
}

}  // namespace petrel::config
