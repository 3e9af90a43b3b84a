#include "config/options.h"

#include <algorithm>
#include <vector>

#include "config/option_tables.h"

namespace petrel::config {

namespace {

std::vector<OptionDescriptor> build_table() {
  std::vector<OptionDescriptor> t;
  append_general_options(t);
  append_logging_options(t);
  append_listener_options(t);
  append_security_options(t);
  append_no_effect_options(t);
  append_persistence_options(t);
  append_plugin_options(t);
  append_tls_options(t);
  append_bridge_options(t);
  attach_option_values(t);
  std::sort(t.begin(), t.end(),
            [](const OptionDescriptor& a, const OptionDescriptor& b) { return a.name < b.name; });
  return t;
}

// Markdown table cells cannot hold a raw '|'.
std::string cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

}  // namespace

std::span<const OptionDescriptor> option_table() {
  static const std::vector<OptionDescriptor> table = build_table();
  return table;
}

const OptionDescriptor* find_option(std::string_view name) {
  auto table = option_table();
  auto it = std::lower_bound(table.begin(), table.end(), name,
                             [](const OptionDescriptor& d, std::string_view n) { return d.name < n; });
  if (it != table.end() && it->name == name) return &*it;
  for (const auto& d : table) {
    if (d.name.ends_with('*')) {
      std::string_view prefix = d.name.substr(0, d.name.size() - 1);
      if (name.size() > prefix.size() && name.starts_with(prefix)) return &d;
    }
  }
  return nullptr;
}

std::string_view scope_name(Scope scope) {
  switch (scope) {
    case Scope::kGlobal: return "global";
    case Scope::kListener: return "listener";
    case Scope::kBridge: return "bridge";
  }
  return "global";
}

std::string_view effect_name(Effect effect) {
  switch (effect) {
    case Effect::kNone: return "-";
    case Effect::kLive: return "live";
    case Effect::kReloadListener: return "reloads its listener's TLS (connections kept)";
    case Effect::kRestartListener: return "restarts its listener (its clients reconnect)";
    case Effect::kRestartBridge: return "restarts its bridge";
    case Effect::kRestartProcess: return "needs a restart of petrel";
  }
  return "-";
}

std::string_view status_name(Status status) {
  switch (status) {
    case Status::kSupported: return "supported";
    case Status::kNotSupportedYet: return "not supported yet";
    case Status::kObsolete: return "obsolete (ignored)";
    case Status::kNoEffect: return "accepted, no effect";
    case Status::kRefused: return "refused (see docs/migrating-from-mosquitto.md)";
  }
  return "supported";
}

std::string options_reference_markdown() {
  std::string out =
      "Scope: *global* options apply broker-wide; *listener* options apply to the listener\n"
      "being configured (the default listener before the first `listener` line); *bridge*\n"
      "options apply to the bridge started by the last `connection` line. *global, per\n"
      "listener* options become per listener when `per_listener_settings true`.\n\n"
      "| option | scope | values | default | status | description |\n"
      "| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& d : option_table()) {
    std::string scope(scope_name(d.scope));
    if (d.per_listener_security) scope += ", per listener";
    out += "| `" + std::string(d.name) + "` | " + scope + " | `" + cell(d.syntax) + "` | " +
           cell(d.default_value) + " | " + std::string(status_name(d.status)) + " | " + cell(d.doc) + " |\n";
  }
  return out;
}

}  // namespace petrel::config
