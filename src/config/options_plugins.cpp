// Mosquitto's plugin lines. Petrel loads no C plugins, but the plugins Mosquitto 2.1 bundles
// for what Petrel does natively are honoured by name (their file's base name, whatever the
// directory): the password-file and ACL-file plugins set password_file / acl_file, the
// SQLite persistence plugin turns persistence on. Any other plugin, Dynamic Security
// included, is an error naming it and what Petrel offers instead.
//   global_plugin PATH         every listener
//   plugin PATH / auth_plugin  global, or the current listener with per_listener_settings true
//   plugin_opt_KEY VALUE / auth_opt_KEY VALUE   an option of the plugin named last
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "config/option_tables.h"
#include "config/parse_state.h"
#include "config/values.h"

namespace petrel::config {

namespace {

std::string_view base_name(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// "mosquitto_password_file.so" (or .dll / .dylib) -> kind.
PluginKind plugin_kind(std::string_view path) {
  std::string_view name = base_name(path);
  for (std::string_view ext : {".so", ".dll", ".dylib"}) {
    if (name.ends_with(ext)) {
      name.remove_suffix(ext.size());
      break;
    }
  }
  if (name.starts_with("lib")) name.remove_prefix(3);
  if (name == "mosquitto_password_file") return PluginKind::kPasswordFile;
  if (name == "mosquitto_acl_file") return PluginKind::kAclFile;
  if (name == "mosquitto_persist_sqlite") return PluginKind::kPersistSqlite;
  if (name == "mosquitto_dynamic_security") return PluginKind::kDynamicSecurity;
  return PluginKind::kOther;
}

void load_plugin(ParseState& s, const Directive& d, bool every_listener) {
  if (d.value.empty()) {
    s.error(d, "missing value (expected the plugin's path)");
    return;
  }
  const PluginKind kind = plugin_kind(d.value);
  s.plugin = kind;  // a refused plugin's options are skipped, not reported again
  switch (kind) {
    case PluginKind::kDynamicSecurity:
      s.error(d, fmt::format("'{}': Petrel has no Dynamic Security plugin; use password_file and acl_file "
                             "(or the plugins for them), and petrel_passwd to manage users",
                             d.value));
      return;
    case PluginKind::kOther:
      s.error(d, fmt::format("'{}': Petrel does not load plugins; it implements Mosquitto's password-file, "
                             "ACL-file and SQLite persistence plugins itself, and offers password_file, acl_file "
                             "and psk_file",
                             d.value));
      return;
    case PluginKind::kPersistSqlite:
      s.config.persistence.enabled = true;
      break;
    default:
      break;
  }
  // Where the plugin's files go: every listener, or the security settings being configured.
  s.plugin_every_listener = every_listener || !s.config.per_listener_settings;
  s.plugin_where = d.where();
}

void parse_global_plugin(ParseState& s, const Directive& d) { load_plugin(s, d, true); }
void parse_plugin(ParseState& s, const Directive& d) { load_plugin(s, d, false); }

void plugin_file(ParseState& s, const Directive& d, std::string SecuritySettings::*field, const char* name) {
  // The same scope key as password_file / acl_file, so the two ways of naming one file
  // cannot disagree silently.
  SecuritySettings& sec = s.plugin_every_listener ? s.config.security : s.security(d);
  const std::string key = s.plugin_every_listener ? std::string("global") : s.scope_key();
  Directive as_option = d;
  as_option.name = name;
  std::string value;
  if (!s.text(as_option, key, value)) return;
  sec.*field = value;
  if (s.plugin_every_listener && s.config.per_listener_settings) s.global_plugin_files.push_back({field, value});
}

void parse_plugin_opt(ParseState& s, const Directive& d) {
  const std::string_view prefix = d.name.starts_with("auth_opt_") ? "auth_opt_" : "plugin_opt_";
  const std::string_view key = std::string_view(d.name).substr(prefix.size());
  switch (s.plugin) {
    case PluginKind::kNone:
      s.error(d, "comes before any plugin line (plugin, global_plugin or auth_plugin) it could belong to");
      return;
    case PluginKind::kPasswordFile:
      if (key == "password_file") return plugin_file(s, d, &SecuritySettings::password_file, "password_file");
      break;
    case PluginKind::kAclFile:
      if (key == "acl_file") return plugin_file(s, d, &SecuritySettings::acl_file, "acl_file");
      break;
    case PluginKind::kPersistSqlite:
      if (key == "sync") {
        std::string v;
        if (s.choice(d, {"extra", "full", "normal", "off"}, v)) {
          s.warn(d, "accepted, no effect in Petrel: persistence_sync decides when Petrel writes (commit, the "
                    "default, acknowledges only what is on disk)");
        }
        return;
      }
      if (key == "flush_period" || key == "page_size") {
        int64_t v = 0;
        if (s.integer(d, 1, 2147483647, v)) {
          s.warn(d, "accepted, no effect in Petrel: persistence_sync decides when Petrel writes (commit, the "
                    "default, acknowledges only what is on disk; interval MS is the plugin's model)");
        }
        return;
      }
      break;
    default:
      return;  // the plugin line was refused already
  }
  s.warn(d, fmt::format("has no effect: not an option of the plugin at {}", s.plugin_where));
}

}  // namespace

void append_plugin_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto G = Scope::kGlobal;
  out.insert(out.end(), {
    {"global_plugin", G, parse_global_plugin, "PATH", "none",
     "Mosquitto's bundled password-file, ACL-file and SQLite persistence plugins, for every listener (Petrel "
     "implements them itself; other plugins are refused)", S},
    {"plugin", G, parse_plugin, "PATH", "none",
     "As global_plugin; per listener with per_listener_settings true", S},
    {"auth_plugin", G, parse_plugin, "PATH", "none", "Old name of plugin", S},
    {"plugin_opt_*", G, parse_plugin_opt, "VALUE", "none",
     "An option of the plugin named last: password_file, acl_file; for persistence sync, flush_period, page_size", S},
    {"auth_opt_*", G, parse_plugin_opt, "VALUE", "none", "Old name of plugin_opt_*", S},
  });
}

}  // namespace petrel::config
