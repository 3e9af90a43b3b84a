#include "config/parse_state.h"

#include <fmt/format.h>

#include <limits>

#include "config/values.h"

namespace petrel::config {

ConfigError error_at(const std::string& where, const std::string& message, const std::string& option) {
  ConfigError e;
  const size_t colon = where.rfind(':');
  if (colon != std::string::npos && colon + 1 < where.size() &&
      where.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    e.file = where.substr(0, colon);
    e.line = std::stoi(where.substr(colon + 1));
  } else {
    e.file = where;
  }
  e.message = message;
  e.option = option;
  return e;
}

void ParseState::error(const Directive& d, const std::string& message) {
  errors.push_back({d.file, d.line, fmt::format("option '{}': {}", d.name, message), d.name});
}

void ParseState::error_raw(const Directive& d, const std::string& message) {
  errors.push_back({d.file, d.line, message, d.name});
}

void ParseState::warn(const Directive& d, const std::string& message) {
  warnings.push_back(fmt::format("{}: option '{}': {}", d.where(), d.name, message));
}

Listener& ParseState::listener(const Directive& d) {
  if (current >= 0) return listeners[static_cast<size_t>(current)];
  if (default_touched_by.empty()) default_touched_by = fmt::format("{}: option '{}'", d.where(), d.name);
  return default_listener;
}

SecuritySettings& ParseState::security(const Directive& d) {
  if (first_security.empty()) first_security = d.where();
  if (!config.per_listener_settings) return config.security;
  if (current >= 0) return listeners[static_cast<size_t>(current)].security;
  if (default_security_by.empty()) default_security_by = fmt::format("{}: option '{}'", d.where(), d.name);
  return default_listener.security;
}

void ParseState::begin_listener(const Directive& d, uint16_t port, const std::string& address) {
  Listener l;
  l.port = port;
  l.bind_address = address;
  l.source = d.where();
  listeners.push_back(std::move(l));
  current = static_cast<int>(listeners.size()) - 1;
}

Listener& ParseState::default_listener_explicit(const Directive& d) {
  if (!default_explicit) {
    default_explicit = true;
    default_where = d.where();
  }
  return default_listener;
}

std::string ParseState::scope_key() const {
  return current >= 0 ? fmt::format("listener#{}", current) : std::string("listener#default");
}

std::vector<std::string> ParseState::words(const Directive& d) {
  std::vector<std::string> out;
  for (const auto& t : d.tokens) {
    if (t.front() == '#') break;
    out.push_back(t);
  }
  return out;
}

bool ParseState::one_token(const Directive& d, std::string_view expected, std::string& out) {
  std::vector<std::string> w = words(d);
  if (w.empty()) {
    error(d, fmt::format("missing value (expected {})", expected));
    return false;
  }
  if (w.size() > 1) {
    error(d, fmt::format("unexpected extra value '{}' (expected {})", w[1], expected));
    return false;
  }
  out = w[0];
  return true;
}

bool ParseState::limit(const Directive& d, int& out) {
  std::string tok;
  const char* expected = "-1 (no limit) or an integer 0..2147483647";
  if (!one_token(d, expected, tok)) return false;
  auto v = parse_int_value(tok);
  if (!v || *v > std::numeric_limits<int32_t>::max()) {
    error(d, fmt::format("expected {}, got '{}'", expected, tok));
    return false;
  }
  if (*v < -1) warn(d, fmt::format("negative value {} means no limit; using -1", *v));
  out = *v < 0 ? -1 : static_cast<int>(*v);
  return true;
}

bool ParseState::packet_size(const Directive& d, uint32_t& out) {
  // MQTT's largest packet: 268435455 bytes of remaining length plus a 5-byte fixed header.
  constexpr int64_t kMaxPacket = 268435460;
  std::string tok;
  const std::string expected = fmt::format("0 (no limit) or an integer 20..{}", kMaxPacket);
  if (!one_token(d, expected, tok)) return false;
  auto v = parse_int_value(tok);
  if (!v || (*v != 0 && (*v < 20 || *v > kMaxPacket))) {
    error(d, fmt::format("expected {}, got '{}'", expected, tok));
    return false;
  }
  out = static_cast<uint32_t>(*v);
  return true;
}

bool ParseState::integer(const Directive& d, int64_t min, int64_t max, int64_t& out) {
  std::string expected = fmt::format("an integer {}..{}", min, max);
  std::string tok;
  if (!one_token(d, expected, tok)) return false;
  auto v = parse_int_value(tok);
  if (!v || *v < min || *v > max) {
    error(d, fmt::format("expected {}, got '{}'", expected, tok));
    return false;
  }
  out = *v;
  return true;
}

bool ParseState::boolean(const Directive& d, bool& out) {
  std::string tok;
  if (!one_token(d, "true or false", tok)) return false;
  auto v = parse_bool_value(tok);
  if (!v) {
    error(d, fmt::format("expected true or false, got '{}'", tok) +
                 did_you_mean(tok, {"true", "false"}));
    return false;
  }
  out = *v;
  return true;
}

bool ParseState::text(const Directive& d, const std::string& key, std::string& out) {
  if (d.value.empty()) {
    error(d, "missing value");
    return false;
  }
  auto [it, inserted] = seen_text.emplace(key + ":" + d.name, d.where());
  if (!inserted) {
    error(d, fmt::format("given more than once (first at {})", it->second));
    return false;
  }
  out = d.value;
  return true;
}

bool ParseState::choice(const Directive& d, const std::vector<std::string_view>& allowed,
                        std::string& out) {
  std::string expected;
  for (auto a : allowed) expected += (expected.empty() ? "" : "|") + std::string(a);
  std::string tok;
  if (!one_token(d, expected, tok)) return false;
  for (auto a : allowed) {
    if (a == tok) {
      out = tok;
      return true;
    }
  }
  error(d, fmt::format("expected {}, got '{}'", expected, tok) + did_you_mean(tok, allowed));
  return false;
}

}  // namespace petrel::config
