#include "config/values.h"

#include <charconv>

namespace petrel::config {

std::optional<bool> parse_bool_value(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return std::nullopt;
}

std::optional<int64_t> parse_int_value(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view digits = text;
  if (digits.front() == '+') {  // from_chars takes '-' but not '+'
    digits.remove_prefix(1);
    if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

std::optional<uint16_t> parse_port_value(std::string_view text) {
  auto v = parse_int_value(text);
  if (!v || *v < 1 || *v > 65535) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

std::optional<int64_t> parse_duration_value(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  int64_t mult = 0;
  switch (text.back()) {
    case 's': mult = 1; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    case 'w': mult = 86400 * 7; break;
    case 'm': mult = 86400 * 30; break;
    case 'y': mult = 86400 * 365; break;
    default: return std::nullopt;
  }
  text.remove_suffix(1);
  if (text.front() == '-' || text.front() == '+') return std::nullopt;
  auto n = parse_int_value(text);
  // Cap at 1000 years so the product cannot overflow (and nobody means more).
  if (!n || *n <= 0 || *n > 1000LL * 365 * 86400 / mult) return std::nullopt;
  return *n * mult;
}

}  // namespace petrel::config
