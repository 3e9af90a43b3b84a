#pragma once
// Topic name and filter rules (MQTT 4.7) and shared-subscription parsing.
#include <string_view>

namespace petrel::protocol {

// A PUBLISH topic name: non-empty, valid UTF-8, no '+' or '#' [MQTT-3.3.2-2], at most
// 65535 bytes.
bool valid_topic_name(std::string_view topic);

// A subscription filter: non-empty, '#' only as the whole last level, '+' only as a whole
// level [MQTT-4.7.1-2,3]. For "$share/group/filter" also checks the share rules
// [MQTT-4.8.2-1,2]: group non-empty without '+', '#' or '/', and a non-empty filter.
bool valid_topic_filter(std::string_view filter);

// "$share/group/filter" -> true with group and filter set. Does not validate.
bool split_shared(std::string_view full, std::string_view& group, std::string_view& filter);

// Does topic name match filter (not a shared one)? Honours [MQTT-4.7.2-1]: a filter
// starting with a wildcard does not match a topic starting with '$'.
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace petrel::protocol
