#pragma once
// The option table: one descriptor per mosquitto.conf option (plus Petrel's own), with
// its scope, parser, default, one-line doc and support status. mosquitto.conf parsing,
// SIGHUP reload, the README reference and (later) the web admin all read this table.
// Options Petrel does not implement yet are still listed, so they are refused by name
// ("not supported yet") instead of being unknown or silently ignored; implementing one
// means giving it a parser and flipping its status.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace petrel::config {

class ParseState;
struct Directive;

enum class Scope {
  kGlobal,    // applies broker-wide wherever it appears
  kListener,  // applies to the listener being configured (the default listener before any)
  kBridge,    // applies to the bridge being configured (after `connection`)
};

enum class Status {
  kSupported,        // parsed and in effect
  kNotSupportedYet,  // recognised, refused with "option 'x' is not supported yet"
  kObsolete,         // accepted and ignored with a warning, as Mosquitto 2 does
  kNoEffect,         // a valid value is accepted; Petrel differs on purpose and warns with
                     // the option's doc line, which says why (docs/migrating-from-mosquitto.md too)
  kRefused,          // refused on purpose, with the option's doc line saying why and what
                     // to do instead (docs/migrating-from-mosquitto.md too)
};

using OptionParser = void (*)(ParseState& state, const Directive& directive);

// How a changed value takes effect in a running broker (SIGHUP or the admin API).
enum class Effect : uint8_t {
  kNone,             // structural (listener, connection, include_dir lines) or obsolete
  kLive,             // at once, nothing restarts (limits, logging; security: connected
                     // clients that the new settings refuse are disconnected)
  kReloadListener,   // the listener's TLS/WebSocket setup is rebuilt: new connections use
                     // it, open ones keep theirs (certificate rotation without a restart)
  kRestartListener,  // the listener's open connections are closed; clients reconnect under
                     // the new settings (its socket stays bound)
  kRestartBridge,    // the bridge reconnects with the new settings (bridge_reload_type)
  kRestartProcess,   // at the next start of petrel
};
std::string_view effect_name(Effect effect);

struct Config;
struct Listener;
struct SecuritySettings;
struct Bridge;

// Reads an option's current value back from a Config, as text in the option's own syntax
// ("true", "1000", "mqttv311", one topic rule per line). Exactly one pointer is set,
// matching the option's scope (security options read SecuritySettings, which is global or
// per listener). The diff, the admin API and `petrel --test-config -v` all read values here.
struct ValueReader {
  std::string (*global)(const Config&) = nullptr;
  std::string (*listener)(const Listener&) = nullptr;
  std::string (*security)(const SecuritySettings&) = nullptr;
  std::string (*bridge)(const Bridge&) = nullptr;
  bool any() const { return global || listener || security || bridge; }
};

struct OptionDescriptor {
  std::string_view name;           // exact name; a trailing '*' makes it a prefix (auth_opt_*)
  Scope scope;
  OptionParser parse;              // null when there is nothing to store
  std::string_view syntax;         // value syntax for docs, e.g. "true|false", "PORT [ADDRESS]"
  std::string_view default_value;  // as shown in docs
  std::string_view doc;            // one line
  Status status;
  // Security option: global, or per listener when per_listener_settings is true.
  bool per_listener_security = false;
  // Filled from option_values.cpp (one place for every option):
  Effect effect = Effect::kNone;
  ValueReader read{};
  bool secret = false;          // a password or key: reported as changed, never shown
  std::string_view alias_of{};  // another name for this setting ("addresses" -> "address")
};

// Every option, sorted by name.
std::span<const OptionDescriptor> option_table();

// Exact match, else a prefix entry ("auth_opt_*") that `name` extends; nullptr if unknown.
const OptionDescriptor* find_option(std::string_view name);

std::string_view scope_name(Scope scope);
std::string_view status_name(Status status);

// The configuration reference as Markdown: a short legend, then a table with one line
// per option (name, scope, values, default, status, description).
std::string options_reference_markdown();

}  // namespace petrel::config
