#pragma once
// Value parsers shared by mosquitto.conf options, the command line and (later) the web
// admin: strict where Mosquitto's atoi() was lax, never throwing.
#include <cstdint>
#include <optional>
#include <string_view>

namespace petrel::config {

// "true"/"false", and "1"/"0" which Mosquitto's parser also takes.
std::optional<bool> parse_bool_value(std::string_view text);

// A whole decimal integer with an optional sign ("12", "-1"); nothing else, no overflow.
std::optional<int64_t> parse_int_value(std::string_view text);

// A TCP port 1..65535.
std::optional<uint16_t> parse_port_value(std::string_view text);

// Mosquitto duration syntax for persistent_client_expiration: a positive integer followed
// by one unit: s (seconds), h (hours), d (days), w (weeks), m (months of 30 days),
// y (years of 365 days). Returns seconds.
std::optional<int64_t> parse_duration_value(std::string_view text);

}  // namespace petrel::config
