#include "config/config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace petrel::config {

std::vector<Listener> local_only_listeners(const Listener& base, uint16_t port) {
  std::vector<Listener> out;
  if (base.socket_domain != SocketDomain::kIpv6) {
    Listener v4 = base;
    v4.port = port;
    v4.bind_address = "127.0.0.1";
    v4.socket_domain = SocketDomain::kIpv4;
    out.push_back(std::move(v4));
  }
  if (base.socket_domain != SocketDomain::kIpv4) {
    Listener v6 = base;
    v6.port = port;
    v6.bind_address = "::1";
    v6.socket_domain = SocketDomain::kIpv6;
    out.push_back(std::move(v6));
  }
  return out;
}

Config default_config(bool admin) {
  Config c;
  c.local_only = true;
  c.security.allow_anonymous = true;
  Listener base;
  base.source = "default (local only)";
  base.security = c.security;
  c.listeners = local_only_listeners(base, 1883);
  if (admin) {
    Listener http;
    http.port = kDefaultAdminPort;
    http.bind_address = "127.0.0.1";
    http.protocol = ListenerProtocol::kHttpApi;
    http.source = "default (admin)";
    c.http_listeners.push_back(std::move(http));
    c.http_api_generated_password = true;
  }
  return c;
}

std::string default_config_text(const std::string& state_dir) {
  return "# Petrel configuration (mosquitto.conf syntax), first written by the web admin from\n"
         "# Petrel's embedded default. Edit it by hand or in the admin pages; SIGHUP reloads it.\n"
         "\n"
         "# MQTT: with no listener line below, loopback only (127.0.0.1 and ::1), port 1883.\n"
         "allow_anonymous true\n"
         "\n"
         "# The admin API and pages, loopback only. The password file is made on the first start.\n"
         "http_api_password_file " + state_dir + "/" + kAdminPasswordFileName + "\n"
         "listener 8080 127.0.0.1\n"
         "protocol http_api\n";
}

bool is_loopback_address(std::string_view a) {
  if (a == "localhost" || a == "::1" || a == "[::1]") return true;
  return a.size() >= 4 && a.substr(0, 4) == "127.";
}

std::string default_state_dir() {
  if (const char* env = std::getenv("PETREL_STATE_DIR"); env && *env) return env;
  if (::geteuid() == 0) return "/var/lib/petrel";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::string(xdg) + "/petrel";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/petrel";
  return "/var/lib/petrel";
}

std::string state_dir_of(const Config& config) {
  return config.state_dir.empty() ? default_state_dir() : config.state_dir;
}

const SecuritySettings& effective_security(const Config& config, const Listener& listener) {
  return config.per_listener_settings ? listener.security : config.security;
}

bool anonymous_allowed(const Config& config, const Listener& listener) {
  return listener.listener_allow_anonymous.value_or(effective_security(config, listener).allow_anonymous);
}

const std::string& auto_id_prefix_for(const Config& config, const Listener& listener) {
  return listener.listener_auto_id_prefix ? *listener.listener_auto_id_prefix
                                          : effective_security(config, listener).auto_id_prefix;
}

std::string protocol_versions_text(uint8_t bits) {
  std::string out;
  for (int level = 3; level <= 5; ++level) {
    if (bits & (1u << (level - 3))) out += (out.empty() ? "" : ",") + std::to_string(level);
  }
  return out;
}

std::optional<uint8_t> parse_protocol_versions(std::string_view text) {
  uint8_t bits = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    const char ch = text[i++];
    if (ch == ',' || ch == ' ' || ch == '\t') continue;
    if (ch < '3' || ch > '5' || (i < text.size() && text[i] != ',' && text[i] != ' ' && text[i] != '\t'))
      return std::nullopt;
    bits |= uint8_t(1u << (ch - '3'));
    any = true;
  }
  if (!any) return std::nullopt;
  return bits;
}

std::vector<std::string> apply_port_override(Config& config, const std::vector<uint16_t>& ports) {
  if (ports.empty()) return {};
  if (config.bridges_only) return {"-p ignored: bridges_only true opens no listener"};
  if (!config.local_only) {
    return {"-p ignored: the configuration defines listeners (like Mosquitto 2, -p only sets the "
            "ports of the local-only listeners used when no listener is configured)"};
  }
  bool v4 = config.listeners.empty(), v6 = config.listeners.empty();
  for (const auto& l : config.listeners) {
    v4 = v4 || l.socket_domain != SocketDomain::kIpv6;
    v6 = v6 || l.socket_domain != SocketDomain::kIpv4;
  }
  Listener base = config.listeners.empty() ? Listener{} : config.listeners.front();
  base.socket_domain = v4 && v6 ? SocketDomain::kAny : v4 ? SocketDomain::kIpv4 : SocketDomain::kIpv6;
  base.source = "command line -p";
  std::vector<Listener> out;
  std::vector<uint16_t> done;
  for (uint16_t p : ports) {
    if (std::find(done.begin(), done.end(), p) != done.end()) continue;
    done.push_back(p);
    for (auto& l : local_only_listeners(base, p)) out.push_back(std::move(l));
  }
  config.listeners = std::move(out);
  return {};
}

}  // namespace petrel::config
