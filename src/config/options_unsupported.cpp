// Mosquitto options Petrel accepts with no effect (each says why) and the OpenSSL engine
// options it refuses. Every other option of Mosquitto 2.1's mosquitto.conf is supported
// (the option table has no "not supported yet" row left).
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


}  // namespace petrel::config
