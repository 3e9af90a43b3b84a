#pragma once
// Diagnostics for configuration input: the error record every configuration path
// reports (file:line plus text), its one-line rendering, and the "did you mean"
// suggestion used for option names and enumerated values.
#include <string>
#include <string_view>
#include <vector>

namespace petrel::config {

struct ConfigError {
  std::string file;     // the file (or text name) the error is in
  int line = 0;         // 1-based; 0 when the error concerns the whole file
  std::string message;  // "option 'x': what is wrong (did you mean 'y'?)"
  std::string option;   // the option name when one applies (for tools); may be empty
};

// "file:line: message", or "file: message" when line is 0.
std::string format_error(const ConfigError& error);

// Case-insensitive optimal-string-alignment distance ('-' counts as '_').
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo, else empty.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace petrel::config
