#include "config/diff.h"

#include <fmt/format.h>

namespace petrel::config {

namespace {

bool same_key(const Listener& a, const Listener& b) {
  return a.port == b.port && a.bind_address == b.bind_address && a.socket_domain == b.socket_domain;
}

// Clients admitted under one TLS mode must not stay connected under another.
std::string tls_mode(const Listener& l) {
  if (!l.certfile.empty()) return "certificate";
  if (!l.psk_hint.empty()) return "psk";
  return "none";
}

bool is_security(const OptionDescriptor& d) { return d.read.security != nullptr; }

void compare(const OptionDescriptor& d, const std::string& where, std::string before, std::string after,
             std::vector<OptionChange>& out) {
  if (before == after) return;
  out.push_back({where, std::string(d.name), std::move(before), std::move(after), d.effect, d.secret});
}

// Global options (and the global security settings when they are not per listener).
void diff_globals(const Config& a, const Config& b, ConfigDiff& out) {
  const bool per_listener = a.per_listener_settings || b.per_listener_settings;
  for (const auto& d : option_table()) {
    if (d.read.global) {
      compare(d, "", d.read.global(a), d.read.global(b), out.changes);
    } else if (d.read.security && !per_listener) {
      compare(d, "", d.read.security(a.security), d.read.security(b.security), out.changes);
    }
  }
}

// Compares two listeners with the same key; returns the changes' strongest effect.
Effect diff_listener(const Listener& a, const Listener& b, bool per_listener, std::vector<OptionChange>& out) {
  const std::string where = "listener " + describe_listener(b);
  const size_t first = out.size();
  for (const auto& d : option_table()) {
    if (d.read.listener) compare(d, where, d.read.listener(a), d.read.listener(b), out);
    else if (d.read.security && per_listener) compare(d, where, d.read.security(a.security), d.read.security(b.security), out);
  }
  Effect strongest = Effect::kNone;
  for (size_t i = first; i < out.size(); ++i) strongest = std::max(strongest, out[i].effect);
  if (tls_mode(a) != tls_mode(b)) strongest = std::max(strongest, Effect::kRestartListener);
  return strongest;
}

void diff_listener_set(const std::vector<Listener>& before, const std::vector<Listener>& after, bool per_listener,
                       std::vector<OptionChange>& changes, std::vector<Listener>& added,
                       std::vector<Listener>& removed, std::vector<Listener>& restarted,
                       std::vector<Listener>& reloaded) {
  for (const auto& n : after) {
    const Listener* match = nullptr;
    for (const auto& o : before) {
      if (same_key(o, n)) match = &o;
    }
    if (!match) {
      added.push_back(n);
      continue;
    }
    const Effect e = diff_listener(*match, n, per_listener, changes);
    if (e >= Effect::kRestartListener) restarted.push_back(n);
    else if (e != Effect::kNone) reloaded.push_back(n);
  }
  for (const auto& o : before) {
    bool kept = false;
    for (const auto& n : after) kept = kept || same_key(o, n);
    if (!kept) removed.push_back(o);
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
      continue;
    }
    const size_t first = d.changes.size();
    for (const auto& opt : option_table()) {
      if (opt.read.bridge) compare(opt, "bridge " + n.name, opt.read.bridge(*o), opt.read.bridge(n), d.changes);
    }
    if (d.changes.size() > first || !same_bridge_settings(*o, n)) d.bridges_changed.push_back(n.name);
  }
  for (const auto& o : before.bridges) {
    if (!find_bridge(after, o.name)) d.bridges_removed.push_back(o.name);
  }
}

void classify(ConfigDiff& d) {
  for (const auto& c : d.changes) {
    const OptionDescriptor* opt = find_option(c.option);
    if (opt && is_security(*opt)) d.security_changed = true;
    if (c.option == "per_listener_settings") d.security_changed = true;
    if (c.option.starts_with("log_")) d.log_changed = true;
    if (c.effect == Effect::kRestartProcess) d.restart_required.push_back(c);
    if (c.where.empty() && c.effect == Effect::kLive && opt && !is_security(*opt) && !c.option.starts_with("log_"))
      d.limits_changed = true;
  }
}

}  // namespace

std::string describe_listener(const Listener& l) {
  const char* family = l.socket_domain == SocketDomain::kIpv4   ? " (IPv4)"
                       : l.socket_domain == SocketDomain::kIpv6 ? " (IPv6)"
                                                                : "";
  return fmt::format("port {} on {}{}", l.port, l.bind_address.empty() ? "all addresses" : l.bind_address, family);
}

std::string OptionChange::describe() const {
  const std::string prefix = where.empty() ? "" : where + ": ";
  if (secret) return prefix + option + " changed";
  auto show = [](const std::string& v) { return v.empty() ? std::string("(none)") : v; };
  std::string line = fmt::format("{}{}: {} -> {}", prefix, option, show(before), show(after));
  if (effect == Effect::kRestartProcess) line += " (needs a restart of petrel)";
  return line;
}

std::string read_option(const OptionDescriptor& d, const Config& c, const Listener* l, const Bridge* b) {
  if (d.read.global) return d.read.global(c);
  if (d.read.security) {
    const SecuritySettings& s = c.per_listener_settings && l ? l->security : c.security;
    return d.read.security(s);
  }
  if (d.read.listener && l) return d.read.listener(*l);
  if (d.read.bridge && b) return d.read.bridge(*b);
  return {};
}

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
  return changes.empty() && listeners_added.empty() && listeners_removed.empty() && http_added.empty() &&
         http_removed.empty() && bridges_added.empty() && bridges_removed.empty() && bridges_changed.empty();
}

std::vector<std::string> ConfigDiff::describe() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_added) out.push_back("listener added: " + describe_listener(l));
  for (const auto& l : listeners_removed) out.push_back("listener removed: " + describe_listener(l));
  for (const auto& l : http_added) out.push_back("http_api listener added: " + describe_listener(l));
  for (const auto& l : http_removed) out.push_back("http_api listener removed: " + describe_listener(l));
  for (const auto& n : bridges_added) out.push_back("bridge added: " + n);
  for (const auto& n : bridges_removed) out.push_back("bridge removed: " + n);
  for (const auto& c : changes) out.push_back(c.describe());
  return out;
}

ConfigDiff diff_configs(const Config& before, const Config& after) {
  ConfigDiff d;
  diff_globals(before, after, d);
  const bool per_listener = before.per_listener_settings && after.per_listener_settings;
  diff_listener_set(before.listeners, after.listeners, per_listener, d.changes, d.listeners_added,
                    d.listeners_removed, d.listeners_restarted, d.listeners_reloaded);
  std::vector<Listener> http_reloaded;
  diff_listener_set(before.http_listeners, after.http_listeners, false, d.changes, d.http_added, d.http_removed,
                    d.http_changed, http_reloaded);
  d.http_changed.insert(d.http_changed.end(), http_reloaded.begin(), http_reloaded.end());
  diff_bridges(before, after, d);
  classify(d);
  return d;
}

}  // namespace petrel::config
