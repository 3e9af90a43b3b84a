#pragma once
// The option table: one descriptor per mosquitto.conf option (plus Petrel's own), with
// its scope, parser, default, one-line doc and support status. mosquitto.conf parsing,
// SIGHUP reload, the README reference and (later) the web admin all read this table.
// Options Petrel does not implement yet are still listed, so they are refused by name
// ("not supported yet") instead of being unknown or silently ignored; implementing one
// means giving it a parser and flipping its status.
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
};

using OptionParser = void (*)(ParseState& state, const Directive& directive);

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
