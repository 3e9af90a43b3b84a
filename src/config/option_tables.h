#pragma once
// Internal: each part of the option table lives next to its parsers; options.cpp joins
// and sorts them.
#include <vector>

#include "config/options.h"

namespace petrel::config {

void append_general_options(std::vector<OptionDescriptor>& out);   // options_general.cpp
void append_logging_options(std::vector<OptionDescriptor>& out);   // options_logging.cpp
void append_listener_options(std::vector<OptionDescriptor>& out);  // options_listener.cpp
void append_security_options(std::vector<OptionDescriptor>& out);  // options_listener.cpp
void append_no_effect_options(std::vector<OptionDescriptor>& out);    // options_unsupported.cpp
// A "not supported yet" true|false option whose false asks for nothing Petrel lacks:
// false is accepted, true refused by name (options_unsupported.cpp).
void append_persistence_options(std::vector<OptionDescriptor>& out);  // options_persistence.cpp
void append_plugin_options(std::vector<OptionDescriptor>& out);       // options_plugins.cpp
void append_tls_options(std::vector<OptionDescriptor>& out);       // options_tls.cpp
void append_bridge_options(std::vector<OptionDescriptor>& out);    // options_bridge.cpp
// Sets effect, read, secret and alias_of of every option (option_values.cpp).
void attach_option_values(std::vector<OptionDescriptor>& table);
// After security defaults: TLS listener checks; copies websockets_headers_size to each
// listener (options_tls.cpp).
void validate_tls_settings(ParseState& state);
// Whole-bridge checks (address, topic, TLS/PSK consistency, unique local client ids), then
// drops the bridges whose `connection` line failed.
void validate_bridges(ParseState& state);  // bridge_checks.cpp
// "bridge#N": the scope key of the N-th bridge in ParseState::seen_text.
std::string bridge_key(int index);

}  // namespace petrel::config
