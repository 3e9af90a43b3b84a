#pragma once
// Topic name and filter rules (MQTT 4.7) and shared-subscription parsing.
#include <cstddef>
#include <string_view>

namespace petrel::protocol {

// Topics and filters with more '/' separators than this (202 levels or more) are refused,
// where Mosquitto draws the same line: a PUBLISH or SUBSCRIBE carrying one closes the
// connection. Deeper trees are never real, and each level costs the matcher a step.
inline constexpr size_t kMaxTopicSeparators = 200;

// A PUBLISH topic name: non-empty, valid UTF-8, no '+' or '#' [MQTT-3.3.2-2], at most
// 65535 bytes and kMaxTopicSeparators separators.
bool valid_topic_name(std::string_view topic);

// A subscription filter: non-empty, '#' only as the whole last level, '+' only as a whole
// level [MQTT-4.7.1-2,3]. For "$share/group/filter" also checks the share rules
// [MQTT-4.8.2-1,2]: group non-empty without '+', '#' or '/', and a non-empty filter.
bool valid_topic_filter(std::string_view filter);

// The syntax alone, for the whole filter as sent ("$share/g/f" included): non-empty, at
// most 65535 bytes and kMaxTopicSeparators separators, wildcards only as whole levels and
// '#' last. A SUBSCRIBE or UNSUBSCRIBE breaking it is malformed (the connection closes);
// one that passes but breaks the share rules of valid_topic_filter is refused in SUBACK.
bool valid_filter_syntax(std::string_view filter);

// Number of '/' in a topic or filter.
size_t topic_separators(std::string_view topic);

// "$share/group/filter" -> true with group and filter set. Does not validate.
bool split_shared(std::string_view full, std::string_view& group, std::string_view& filter);

// Does topic name match filter (not a shared one)? Honours [MQTT-4.7.2-1]: a filter
// starting with a wildcard does not match a topic starting with '$'.
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace petrel::protocol
