#include "config/config.h"

#include <algorithm>

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

Config default_config() {
  Config c;
  c.local_only = true;
  c.security.allow_anonymous = true;
  Listener base;
  base.source = "default (local only)";
  base.security = c.security;
  c.listeners = local_only_listeners(base, 1883);
  return c;
}

const SecuritySettings& effective_security(const Config& config, const Listener& listener) {
  return config.per_listener_settings ? listener.security : config.security;
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
