// Mosquitto options Petrel recognises but does not implement yet (no storage in Config
// yet): plugins, websockets/HTTP, PROXY protocol and extra TLS knobs. Each is
// refused by name with "not supported yet". (The bridge option not supported yet,
// bridge_require_ocsp, is listed in options_bridge.cpp.)
#include <fmt/format.h>

#include "config/option_tables.h"
#include "config/parse_state.h"

namespace petrel::config {

namespace {

// Options Petrel accepts with no effect still have their values checked.
void check_bool(ParseState& s, const Directive& d) {
  bool v = false;
  s.boolean(d, v);
}
void check_count(ParseState& s, const Directive& d) {
  int64_t v = 0;
  s.integer(d, 0, 2147483647, v);
}

}  // namespace

void accept_false_only(ParseState& s, const Directive& d) {
  bool v = false;
  if (!s.boolean(d, v)) return;
  if (v) s.error_raw(d, fmt::format("option '{}' is not supported yet (only '{} false' is accepted: what Petrel does)",
                                   d.name, d.name));
}

// tls_keyform: Petrel loads PEM keys; an engine key is refused like tls_engine.
void parse_tls_keyform(ParseState& s, const Directive& d) {
  std::string v;
  if (!s.choice(d, {"pem", "engine"}, v)) return;
  if (v == "engine") {
    s.error(d, "engine keys are not available in Petrel (OpenSSL 3 deprecates engines): give keyfile a PEM key");
  }
}

void append_no_effect_options(std::vector<OptionDescriptor>& out) {
  constexpr auto X = Status::kNoEffect;
  constexpr auto G = Scope::kGlobal;
  constexpr auto L = Scope::kListener;
  out.insert(out.end(), {
    {"allow_duplicate_messages", G, check_bool, "true|false", "true",
     "Petrel always sends a client one copy of a message its overlapping subscriptions match, at the highest "
     "of their QoS (MQTT 5 section 3.3.4); Mosquitto deprecates this option", X},
    {"auth_plugin_deny_special_chars", G, check_bool, "true|false", "true",
     "Petrel loads no authentication plugins; its own ACL never matches a %c/%u pattern for a client id or "
     "username holding + or #", X},
    {"websockets_log_level", G, check_count, "LEVEL", "0",
     "a libwebsockets setting; Petrel's WebSocket code is its own and logs with log_type websockets", X},
    {"packet_buffer_size", L, check_count, "BYTES", "4096",
     "Petrel reads into one buffer per worker thread, sized for throughput, not one per connection", X},
    {"tls_keyform", L, parse_tls_keyform, "pem|engine", "pem", "Form of keyfile: Petrel reads PEM keys (engine: refused)",
     Status::kSupported},
    // OpenSSL engines: deprecated in OpenSSL 3, which Debian 12 ships; Petrel's keys are PEM files.
    {"tls_engine", L, nullptr, "ENGINE", "none",
     "OpenSSL engines are deprecated in OpenSSL 3; give keyfile a PEM key (hardware keys: not supported)", Status::kRefused},
    {"tls_engine_kpass_sha1", L, nullptr, "HEX", "none",
     "it belongs to tls_engine, which Petrel does not offer (OpenSSL 3 deprecates engines)", Status::kRefused},
  });
}

void append_unsupported_options(std::vector<OptionDescriptor>& out) {
  constexpr auto N = Status::kNotSupportedYet;
  constexpr auto G = Scope::kGlobal;
  constexpr auto L = Scope::kListener;
  out.insert(out.end(), {
    // Global.
    {"check_retain_source", G, accept_false_only, "true|false", "true (Petrel: false)",
     "Re-check the publisher's access before sending a retained message; Petrel does not yet, so only false is accepted", N},
    {"enable_control_api", G, accept_false_only, "true|false", "false",
     "Enable the $CONTROL/broker/v1 API; only false (the default) is accepted", N},
    // Listener.
    {"http_dir", L, nullptr, "DIR", "none", "Serve files over HTTP on a websockets listener", N},
  });
}

}  // namespace petrel::config
