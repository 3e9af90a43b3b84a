// bridge_topic_error(): the rules a bridge `topic` line must follow (config.h), shared by the
// mosquitto.conf parser and anything else that builds bridges (the web admin later).
#include <fmt/format.h>

#include <string_view>

#include "config/config.h"
#include "protocol/topic.h"

namespace petrel::config {

namespace {

bool has_wildcard(std::string_view s) { return s.find_first_of("+#") != std::string_view::npos; }

// Any "$share/..." filter, well-formed or not: a bridge cannot subscribe to a share.
bool is_shared(std::string_view filter) { return filter.starts_with("$share/"); }

// The filter the bridge subscribes to on one side: prefix + pattern.
std::string joined_error(const char* side, const std::string& prefix, const std::string& pattern) {
  if (prefix.empty()) return {};
  const std::string joined = prefix + pattern;
  if (is_shared(joined)) {
    return fmt::format("{} prefix '{}' + pattern '{}' gives '{}', a $share filter", side, prefix, pattern, joined);
  }
  if (!protocol::valid_topic_filter(joined)) {
    return fmt::format("{} prefix '{}' + pattern '{}' gives '{}', not a valid subscription filter "
                       "(end the prefix with '/')", side, prefix, pattern, joined);
  }
  return {};
}

}  // namespace

std::string bridge_topic_error(const BridgeTopic& rule) {
  if (rule.qos > 2) return fmt::format("QoS {} is not 0, 1 or 2", rule.qos);
  if (has_wildcard(rule.local_prefix)) {
    return fmt::format("local prefix '{}' must not contain wildcards", rule.local_prefix);
  }
  if (has_wildcard(rule.remote_prefix)) {
    return fmt::format("remote prefix '{}' must not contain wildcards", rule.remote_prefix);
  }
  if (rule.pattern.empty()) {
    // Mosquitto's whole-topic form: `topic "" DIR QOS LOCAL REMOTE` maps one topic onto another.
    if (rule.local_prefix.empty() || rule.remote_prefix.empty()) {
      return "an empty pattern (\"\") needs both a local and a remote prefix (they are then the "
             "whole topic names)";
    }
    if (!protocol::valid_topic_name(rule.local_prefix)) {
      return fmt::format("local prefix '{}' is not a valid topic name", rule.local_prefix);
    }
    if (!protocol::valid_topic_name(rule.remote_prefix)) {
      return fmt::format("remote prefix '{}' is not a valid topic name", rule.remote_prefix);
    }
    // Each prefix is also the filter the bridge subscribes to on its side: "$share/g/t" is a
    // valid topic name but would subscribe to a share, and "$share/g" to nothing valid.
    if (is_shared(rule.local_prefix)) {
      return fmt::format("local prefix '{}' is a $share filter", rule.local_prefix);
    }
    if (is_shared(rule.remote_prefix)) {
      return fmt::format("remote prefix '{}' is a $share filter", rule.remote_prefix);
    }
    return {};
  }
  if (is_shared(rule.pattern)) {
    return fmt::format("pattern '{}' must not be a $share filter", rule.pattern);
  }
  if (!protocol::valid_topic_filter(rule.pattern)) {
    return fmt::format("pattern '{}' is not a valid subscription filter", rule.pattern);
  }
  if (auto e = joined_error("local", rule.local_prefix, rule.pattern); !e.empty()) return e;
  return joined_error("remote", rule.remote_prefix, rule.pattern);
}

}  // namespace petrel::config
