#include "config/diff.h"

#include <fmt/format.h>

namespace petrel::config {

namespace {

bool same_log(const LogSettings& a, const LogSettings& b) {
  return a.levels == b.levels && a.dests == b.dests && a.file_path == b.file_path &&
         a.timestamp == b.timestamp && a.timestamp_format == b.timestamp_format;
}

bool same_limits(const Config& a, const Config& b) {
  return a.max_keepalive == b.max_keepalive && a.max_packet_size == b.max_packet_size &&
         a.message_size_limit == b.message_size_limit && a.max_inflight_messages == b.max_inflight_messages &&
         a.max_inflight_bytes == b.max_inflight_bytes && a.max_queued_messages == b.max_queued_messages &&
         a.max_queued_bytes == b.max_queued_bytes && a.queue_qos0_messages == b.queue_qos0_messages &&
         a.max_qos == b.max_qos && a.retain_available == b.retain_available &&
         a.max_topic_alias == b.max_topic_alias &&
         a.persistent_client_expiration == b.persistent_client_expiration;
}

bool same_key(const Listener& a, const Listener& b) {
  return a.port == b.port && a.bind_address == b.bind_address && a.socket_domain == b.socket_domain;
}

// Compares what a listener does, not where it was written. Its security copy only counts
// when it is per listener (otherwise security_changed covers it).
bool same_listener(Listener a, Listener b, bool per_listener) {
  a.source.clear();
  b.source.clear();
  // TLS files and settings are applied live on reload (Server::reload_transports).
  for (Listener* l : {&a, &b}) {
    l->cafile.clear(); l->capath.clear(); l->certfile.clear(); l->keyfile.clear();
    l->crlfile.clear(); l->ciphers.clear(); l->ciphers_tls13.clear(); l->dhparamfile.clear();
    l->tls_version.clear(); l->require_certificate = false; l->psk_hint.clear();
  }
  if (!per_listener) {
    a.security = {};
    b.security = {};
  }
  return a == b;
}

std::string describe_listener(const Listener& l) {
  const char* family = l.socket_domain == SocketDomain::kIpv4   ? " (IPv4)"
                       : l.socket_domain == SocketDomain::kIpv6 ? " (IPv6)"
                                                                : "";
  return fmt::format("port {} on {}{}", l.port, l.bind_address.empty() ? "all addresses" : l.bind_address, family);
}

void diff_listeners(const Config& before, const Config& after, ConfigDiff& d) {
  const bool per_listener = before.per_listener_settings && after.per_listener_settings;
  for (const auto& n : after.listeners) {
    const Listener* match = nullptr;
    for (const auto& o : before.listeners) {
      if (same_key(o, n)) match = &o;
    }
    if (!match) {
      d.listeners_added.push_back(n);
    } else if (!same_listener(*match, n, per_listener)) {
      d.listeners_changed.push_back(n);
    }
  }
  for (const auto& o : before.listeners) {
    bool kept = false;
    for (const auto& n : after.listeners) kept = kept || same_key(o, n);
    if (!kept) d.listeners_removed.push_back(o);
  }
}

const Bridge* find_bridge(const Config& c, const std::string& name) {
  for (const auto& b : c.bridges) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

void diff_bridges(const Config& before, const Config& after, ConfigDiff& d) {
  for (const auto& n : after.bridges) {
    const Bridge* o = find_bridge(before, n.name);
    if (!o) {
      d.bridges_added.push_back(n.name);
    } else if (!same_bridge_settings(*o, n)) {
      d.bridges_changed.push_back(n.name);
    }
  }
  for (const auto& o : before.bridges) {
    if (!find_bridge(after, o.name)) d.bridges_removed.push_back(o.name);
  }
}

}  // namespace

bool same_bridge_settings(const Bridge& a, const Bridge& b) {
  Bridge x = a, y = b;
  x.source.clear();
  y.source.clear();
  for (Bridge* z : {&x, &y}) {
    for (auto& t : z->topics) t.source.clear();
  }
  return x == y;
}

bool ConfigDiff::empty() const {
  return !log_changed && !limits_changed && !security_changed && !sys_interval_changed &&
         !connection_messages_changed && !tcp_nodelay_changed && !threads_changed && !pid_file_changed &&
         listeners_added.empty() && listeners_removed.empty() && listeners_changed.empty() &&
         bridges_added.empty() && bridges_removed.empty() && bridges_changed.empty() && !bridges_only_changed;
}

std::vector<std::string> ConfigDiff::describe() const {
  std::vector<std::string> out;
  if (log_changed) out.emplace_back("log settings changed");
  if (limits_changed) out.emplace_back("limits changed");
  if (security_changed) out.emplace_back("security settings changed");
  if (sys_interval_changed) out.emplace_back("sys_interval changed");
  if (connection_messages_changed) out.emplace_back("connection_messages changed");
  if (tcp_nodelay_changed) out.emplace_back("set_tcp_nodelay changed");
  if (threads_changed) out.emplace_back("threads changed");
  if (pid_file_changed) out.emplace_back("pid_file changed");
  for (const auto& l : listeners_added) out.push_back("listener added: " + describe_listener(l));
  for (const auto& l : listeners_removed) out.push_back("listener removed: " + describe_listener(l));
  for (const auto& l : listeners_changed) out.push_back("listener changed: " + describe_listener(l));
  if (bridges_only_changed) out.emplace_back("bridges_only changed");
  for (const auto& n : bridges_added) out.push_back("bridge added: " + n);
  for (const auto& n : bridges_removed) out.push_back("bridge removed: " + n);
  for (const auto& n : bridges_changed) out.push_back("bridge changed: " + n);
  return out;
}

ConfigDiff diff_configs(const Config& before, const Config& after) {
  ConfigDiff d;
  d.log_changed = !same_log(before.log, after.log);
  d.limits_changed = !same_limits(before, after);
  d.security_changed = before.per_listener_settings != after.per_listener_settings || before.security != after.security;
  d.sys_interval_changed = before.sys_interval != after.sys_interval;
  d.connection_messages_changed = before.connection_messages != after.connection_messages;
  d.tcp_nodelay_changed = before.set_tcp_nodelay != after.set_tcp_nodelay;
  d.threads_changed = before.threads != after.threads;
  d.pid_file_changed = before.pid_file != after.pid_file;
  diff_listeners(before, after, d);
  d.bridges_only_changed = before.bridges_only != after.bridges_only;
  diff_bridges(before, after, d);
  return d;
}

Config apply_reload(const Config& running, const Config& loaded, std::vector<std::string>& not_applied) {
  ConfigDiff d = diff_configs(running, loaded);
  Config next = running;
  if (d.log_changed) {
    next.log = loaded.log;
    next.log_type_set = loaded.log_type_set;
    d.log_changed = false;
  }
  // The broker core reads these on every use, so the new values govern from the next
  // connection / message on; listeners, threads and the pid file need a restart.
  if (d.limits_changed) {
    next.max_keepalive = loaded.max_keepalive;
    next.max_packet_size = loaded.max_packet_size;
    next.message_size_limit = loaded.message_size_limit;
    next.max_inflight_messages = loaded.max_inflight_messages;
    next.max_inflight_bytes = loaded.max_inflight_bytes;
    next.max_queued_messages = loaded.max_queued_messages;
    next.max_queued_bytes = loaded.max_queued_bytes;
    next.queue_qos0_messages = loaded.queue_qos0_messages;
    next.max_qos = loaded.max_qos;
    next.retain_available = loaded.retain_available;
    next.max_topic_alias = loaded.max_topic_alias;
    next.persistent_client_expiration = loaded.persistent_client_expiration;
    d.limits_changed = false;
  }
  if (d.security_changed && !d.threads_changed) {
    next.security = loaded.security;
    next.per_listener_settings = loaded.per_listener_settings;
    d.security_changed = false;
  }
  if (d.sys_interval_changed) { next.sys_interval = loaded.sys_interval; d.sys_interval_changed = false; }
  if (d.connection_messages_changed) {
    next.connection_messages = loaded.connection_messages;
    d.connection_messages_changed = false;
  }
  // Bridges are compared by name and restarted by the bridge runtime (bridge_reload_type).
  next.bridges = loaded.bridges;
  d.bridges_added.clear();
  d.bridges_removed.clear();
  d.bridges_changed.clear();
  for (const auto& line : d.describe()) not_applied.push_back(line + "; restart petrel to apply");
  return next;
}

}  // namespace petrel::config
