// finish_config(): turns what the directives left in ParseState into the final Config —
// Mosquitto's listener rules (explicit listeners, the default listener, local-only mode,
// Petrel's bridges_only), log settings, allow_anonymous defaults — and validates the
// result (listeners here, TLS in options_tls.cpp, bridges in options_bridge.cpp).
#include <fmt/format.h>

#include <algorithm>

#include "config/option_tables.h"
#include "config/parse_state.h"

namespace petrel::config {

namespace {

void finish_logging(ParseState& s) {
  Config& c = s.config;
  if (!s.log_type_where.empty() || !s.log_level_where.empty()) {
    c.log.levels = s.log_types;
    c.log_type_set = true;
  }
  if (!s.log_dest_where.empty()) {
    c.log.dests = s.log_dests;
    c.log.file_path = s.log_file;
  }
}

void add_default_listener(ParseState& s, std::vector<Listener>& out, const std::string& source) {
  Listener d = s.default_listener;
  d.source = source;
  out.push_back(std::move(d));
}

// bridges_only true: no MQTT listener at all. Listener lines stay in the file (the router
// product's "Enable MQTT Broker" unchecked keeps the broker's settings for when it is
// checked again), each with a warning that it is not opened; listener options that would
// configure the default listener do nothing.
void assemble_bridges_only(ParseState& s) {
  const std::string& mode = s.bridges_only_where;
  auto conflict = [&](const std::string& where, const char* option) {
    s.warnings.push_back(where + fmt::format(": option '{}': not opened: bridges_only true ({}) opens no "
                                             "MQTT listener", option, mode));
  };
  for (const auto& l : s.listeners) conflict(l.source, "listener");
  for (const char* option : {"port", "bind_address"}) {
    auto it = s.seen_text.find(std::string("default:") + option);
    if (it != s.seen_text.end()) conflict(it->second, option);
  }
  if (!s.default_touched_by.empty()) {
    s.warnings.push_back(s.default_touched_by + ": has no effect: bridges_only true (" + mode + ") opens no listener");
  }
  s.config.local_only = false;
  s.config.listeners.clear();
}

// http_api listeners serve the admin, not MQTT: they go to Config::http_listeners and do
// not count as listener lines (local-only mode, bridges_only). Each needs the admin
// password file, and TLS unless it is on loopback or http_api_insecure is set.
void take_http_listeners(ParseState& s) {
  std::vector<Listener> mqtt;
  for (auto& l : s.listeners) {
    if (l.protocol != ListenerProtocol::kHttpApi) {
      mqtt.push_back(std::move(l));
      continue;
    }
    if (l.port == 0) continue;  // its listener line failed (already reported)
    const bool tls = !l.certfile.empty() || !l.keyfile.empty();
    if (tls && (l.certfile.empty() || l.keyfile.empty())) {
      s.errors.push_back(error_at(l.source, "option 'listener': an http_api listener with TLS needs both "
                                            "certfile and keyfile", "listener"));
    }
    if (!tls && !s.config.http_api_insecure && !is_loopback_address(l.bind_address)) {
      s.errors.push_back(error_at(
          l.source,
          fmt::format("option 'listener': http_api listener {} would serve the admin over plain HTTP "
                      "on {}: give it certfile and keyfile, bind it to 127.0.0.1, or set http_api_insecure true",
                      l.port, l.bind_address.empty() ? "every address" : l.bind_address),
          "listener"));
    }
    if (s.config.http_api_password_file.empty() && !s.config.http_api_generated_password) {
      s.errors.push_back(error_at(l.source,
                                  "option 'listener': an http_api listener needs http_api_password_file "
                                  "(admin users, made with petrel_passwd or mosquitto_passwd)",
                                  "listener"));
    }
    s.config.http_listeners.push_back(std::move(l));
  }
  s.listeners = std::move(mqtt);
}

void assemble_listeners(ParseState& s) {
  take_http_listeners(s);
  if (s.config.bridges_only) {
    assemble_bridges_only(s);
    return;
  }
  std::vector<Listener> out;
  for (const auto& l : s.listeners) {
    if (l.port != 0) out.push_back(l);  // port 0: its `listener` line failed (already reported)
  }
  const bool listener_lines = !s.listeners.empty();
  bool default_opened = false;
  if (s.default_explicit) {
    add_default_listener(s, out, s.default_where);  // Mosquitto appends it after the others
    default_opened = true;
  } else if (listener_lines && !s.default_touched_by.empty()) {
    s.warnings.push_back(s.default_touched_by +
                         ": comes before any 'listener' line, so it configures the default listener, "
                         "which is then opened on port 1883 on all addresses (as Mosquitto does); "
                         "move it below a 'listener' line if that is not intended");
    add_default_listener(s, out, s.default_touched_by.substr(0, s.default_touched_by.find(": ")));
    default_opened = true;
  }
  if (listener_lines && !default_opened && !s.default_security_by.empty()) {
    s.warnings.push_back(s.default_security_by +
                         ": has no effect: with per_listener_settings true it configures the default "
                         "listener, which is not opened; move it below a 'listener' line");
  }
  s.config.local_only = !listener_lines && !s.default_explicit;
  if (s.config.local_only) {
    Listener base = s.default_listener;
    base.source = "default (local only)";
    out = local_only_listeners(base, 1883);
  }
  s.config.listeners = std::move(out);
}

void apply_security_defaults(ParseState& s) {
  Config& c = s.config;
  // Mosquitto 2: anonymous clients are refused unless allowed, except in local-only mode.
  auto fill = [&](SecuritySettings& sec) {
    if (!sec.allow_anonymous_set) sec.allow_anonymous = c.local_only;
  };
  fill(c.security);
  for (auto& l : c.listeners) {
    if (c.per_listener_settings) {
      for (const auto& [field, value] : s.global_plugin_files) {
        if ((l.security.*field).empty()) l.security.*field = value;
      }
      fill(l.security);
    } else {
      l.security = c.security;
    }
  }
}

bool domains_overlap(SocketDomain a, SocketDomain b) {
  return a == SocketDomain::kAny || b == SocketDomain::kAny || a == b;
}

std::string describe(const Listener& l) {
  return fmt::format("port {} on {}", l.port, l.bind_address.empty() ? "all addresses" : l.bind_address);
}

void validate_listeners(ParseState& s) {
  std::vector<Listener> ls = s.config.listeners;
  ls.insert(ls.end(), s.config.http_listeners.begin(), s.config.http_listeners.end());
  for (size_t j = 0; j < ls.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      if (ls[i].port == ls[j].port && ls[i].bind_address == ls[j].bind_address &&
          domains_overlap(ls[i].socket_domain, ls[j].socket_domain)) {
        s.errors.push_back(error_at(ls[j].source, fmt::format("listener {} duplicates the listener at {}",
                                                               describe(ls[j]), ls[i].source), "listener"));
        break;
      }
    }
  }
}

void mirror_limits(ParseState& s) {
  Config& c = s.config;
  if (c.listeners.empty()) return;
  c.max_qos = 0;
  c.max_topic_alias = 0;
  for (const auto& l : c.listeners) {
    c.max_qos = std::max(c.max_qos, l.max_qos);
    c.max_topic_alias = std::max(c.max_topic_alias, l.max_topic_alias);
  }
}

}  // namespace

void finish_config(ParseState& s) {
  finish_logging(s);
  assemble_listeners(s);
  apply_security_defaults(s);
  validate_tls_settings(s);
  validate_listeners(s);
  mirror_limits(s);
  validate_bridges(s);
}

}  // namespace petrel::config
