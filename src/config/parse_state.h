#pragma once
// ParseState: what option parsers read and write while a configuration is parsed — the
// Config being built, the current listener scope (Mosquitto's default listener before the
// first `listener` line), log_type/log_dest accumulation, and the error/warning lists.
// Internal to src/config (option parsers and the parser driver).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/lexer.h"

namespace petrel::config {

// The plugin a plugin_opt_* line belongs to (options_plugins.cpp).
enum class PluginKind { kNone, kPasswordFile, kAclFile, kPersistSqlite, kDynamicSecurity, kOther };

class ParseState {
 public:
  Config config;  // global settings; listeners are assembled by finish_config()
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;

  // --- diagnostics ----------------------------------------------------------------
  // "option 'name': message" at the directive's file:line.
  void error(const Directive& d, const std::string& message);
  // A message that does not start with "option 'name': " (still tagged with the option).
  void error_raw(const Directive& d, const std::string& message);
  void warn(const Directive& d, const std::string& message);

  // --- scoping --------------------------------------------------------------------
  // The listener being configured: the last `listener` line, or the default listener.
  Listener& listener(const Directive& d);
  // The security settings being configured (global, or the current listener's when
  // per_listener_settings is true). Records the first security option for the
  // per_listener_settings ordering rule.
  SecuritySettings& security(const Directive& d);
  void begin_listener(const Directive& d, uint16_t port, const std::string& address);
  // `port` / `bind_address`: the default listener, wherever they appear.
  Listener& default_listener_explicit(const Directive& d);

  // --- value helpers (each reports its own error; returns false on failure) ---------
  // The value tokens before a trailing comment (a token starting with '#').
  static std::vector<std::string> words(const Directive& d);
  // Exactly one value token (a trailing "#..." token is a comment).
  bool one_token(const Directive& d, std::string_view expected, std::string& out);
  bool integer(const Directive& d, int64_t min, int64_t max, int64_t& out);
  bool boolean(const Directive& d, bool& out);
  // A packet size limit: 0 (no limit) or 20..268435460 (MQTT's largest packet).
  bool packet_size(const Directive& d, uint32_t& out);
  // A count limit: -1 (no limit) or 0..2147483647; below -1 warns and means -1, as Mosquitto
  // reads any negative value (max_connections, global_max_*).
  bool limit(const Directive& d, int& out);
  // The whole rest of the line (may hold spaces). `key` scopes duplicate detection:
  // Mosquitto refuses a second value for the same string option in the same scope.
  bool text(const Directive& d, const std::string& key, std::string& out);
  // A word from a fixed set, with did-you-mean on a miss.
  bool choice(const Directive& d, const std::vector<std::string_view>& allowed, std::string& out);
  std::string scope_key() const;  // "listener#N", or "listener#default" before any listener

  // --- state read by finish_config() ------------------------------------------------
  std::vector<Listener> listeners;     // from `listener` lines, in order
  int current = -1;                    // index into listeners; -1 = default listener
  Listener default_listener;           // template for the default/local-only listeners
  bool default_explicit = false;       // `port` or `bind_address` given
  std::string default_where;           // where the default listener was first named
  std::string default_touched_by;      // first listener option applied to it ("file:line: option 'x'")
  std::string default_security_by;     // first per-listener security option applied to it
  std::string first_security;          // "file:line" of the first security option
  bool per_listener_locked = false;    // per_listener_settings true was given

  uint32_t log_types = 0;
  std::string log_type_where;          // first log_type line
  std::string log_level_where;         // the log_level line
  uint32_t log_dests = 0;
  std::string log_dest_where;          // first log_dest line
  std::string log_file;

  // Bridges are built in config.bridges as `connection` lines come; bridge options go to
  // the last one (options_bridge.cpp).
  int current_bridge = -1;             // index into config.bridges; -1 = no `connection` yet
  std::vector<bool> bridge_failed;     // per config.bridges: its `connection` line had an error
                                       // (dropped by finish_config, its options are still parsed)
  std::string bridges_only_where;      // the `bridges_only true` line, if any

  // The last plugin line: its kind, whether its files apply to every listener (global_plugin,
  // or plugin without per_listener_settings) and where it was.
  PluginKind plugin = PluginKind::kNone;
  bool plugin_every_listener = true;
  std::string plugin_where;
  // Files a global_plugin named while per_listener_settings is true: given to every
  // listener that names none itself (finish_config).
  std::vector<std::pair<std::string SecuritySettings::*, std::string>> global_plugin_files;

  int depth = 0;                       // include nesting (include_dir only at depth 0)
  std::string main_file;
  // Texts to parse instead of reading these paths from disk (see parse_config_file);
  // null when every file comes from disk.
  const std::map<std::string, std::string>* overrides = nullptr;
  std::map<std::string, std::string> seen_text;  // scope:option -> where first given
};

// An error at a "file:line" position (as kept in Listener::source, Bridge::source and
// ParseState::seen_text); `message` is used as given.
ConfigError error_at(const std::string& where, const std::string& message, const std::string& option);

// Parses the *.conf files of an include_dir directive (defined by the parser driver).
void parse_include_dir(ParseState& state, const Directive& d);

// Runs one directive through the option table.
void process_directive(ParseState& state, const Directive& d);

// After the last directive: materialises listeners (default listener, local-only pair),
// log settings and security defaults, then validates the whole.
void finish_config(ParseState& state);

}  // namespace petrel::config
