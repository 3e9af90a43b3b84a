#pragma once
// Rendering received messages the way mosquitto_sub prints them: the default payload-only
// and -v outputs, and -F format strings (% codes with flags/width/precision, @ strftime
// codes, \ escapes, %j/%J JSON with --pretty). Pure functions: time comes from the
// caller, output goes to strings, so golden tests can pin every byte.
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "client/message.h"

namespace petrel::client {

struct FormatOptions {
  bool pretty = false;         // --pretty: indented %j / %J
  bool v5 = false;             // properties are printed only for MQTT v5 messages
  // Time source for %I %U %j %J and @ codes; each code asks once (as mosquitto_sub does).
  timespec (*now)() = nullptr;  // null = CLOCK_REALTIME
};

// Checks a -F string; returns the error text mosquitto_sub prints ("Invalid format
// specifier 'z'.", "Incomplete format specifier.", "Invalid escape specifier 'z'.",
// "Incomplete escape specifier.") or nullopt when it is valid.
std::optional<std::string> check_format(std::string_view format);

// Renders one message with a checked format. Diagnostics meant for stderr (a %J payload
// that is not JSON) are appended to err.
void render_format(std::string_view format, const Message& m, const FormatOptions& opts,
                   std::string& out, std::string& err);

// Default output: the payload followed by a newline unless eol is false (-N); nothing
// at all for an empty payload. Verbose: "topic payload", or "topic (null)" + newline
// for an empty one (nothing with -N).
void render_plain(const Message& m, bool verbose, bool eol, std::string& out);

// The JSON object printed by %j (escaped payload) or %J (payload parsed as JSON; false
// when it is not valid JSON).
bool render_json(const Message& m, const FormatOptions& opts, bool parse_payload, std::string& out);

}  // namespace petrel::client
