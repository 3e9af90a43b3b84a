#pragma once
// What the three tools share at run time: turning a Config into client and transport
// options, loading payloads, printing errors (one line, honouring --quiet) and mapping
// failures to Mosquitto's exit codes.
#include <optional>
#include <string>

#include "client/client.h"
#include "client/format.h"
#include "tools/common/options.h"

namespace petrel::tools {

// Exit codes shared with Mosquitto's clients.
inline constexpr int kExitError = 1;
inline constexpr int kExitTimeout = 27;  // MOSQ_ERR_TIMEOUT
inline constexpr int kExitProxyNoRoute = 4;   // MOSQ_ERR_NO_CONN: the proxy cannot reach the broker
inline constexpr int kExitProxyRefused = 11;  // MOSQ_ERR_AUTH: no usable auth method, or ruleset
inline constexpr int kExitProxy = 16;         // MOSQ_ERR_PROXY: other SOCKS5 failures

client::TransportOptions transport_options(const Config& cfg);
client::ClientOptions client_options(const Config& cfg);

// Parses argv for tool; on --help or an error prints what Mosquitto would and returns the
// exit status to use, otherwise nullopt.
std::optional<int> parse_or_exit(Tool tool, int argc, char** argv, Config& cfg);

// stderr "Error: ..." unless --quiet.
void print_error(const Config& cfg, const std::string& line);
// One line for a failed connection attempt, and the exit status Mosquitto uses for it
// (the CONNACK reason code when refused, the codes above for SOCKS5 failures, 1
// otherwise).
int report_connect_failure(const Config& cfg, const client::ClientError& e);
// Writes bytes to stdout and flushes (messages appear as they arrive).
void write_stdout(const std::string& bytes);

// The payload of -m / -f / -s / -n, or an error line.
std::optional<std::string> load_payload(const Config& cfg, std::string& error);
client::OutMessage make_message(const Config& cfg, std::string payload);

// Debug trace (-d) to stdout, like mosquitto's clients.
std::function<void(const std::string&)> debug_logger(const Config& cfg);

// Formats one received message as mosquitto_sub would (-F, -v, -N, --pretty); stderr
// diagnostics (invalid JSON for %J) are printed here.
void print_message(const Config& cfg, const client::Message& m);

}  // namespace petrel::tools
