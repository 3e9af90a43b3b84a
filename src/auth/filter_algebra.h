#pragma once
// Set algebra on topic filters, for deciding a SUBSCRIBE against ACL rules. A filter
// stands for the set of topics it matches, with MQTT's (and Mosquitto's ACL) matching:
// - '+' matches exactly one level, also an empty one;
// - '#' matches any number of further levels including none, so "a/#" holds "a" and
//   "#" holds every topic;
// - a filter whose text starts with '$' holds only topics starting with '$', and every
//   other filter holds none of them ("#" and "+/x" do not match "$SYS/x"
//   [MQTT-4.7.2-1]; an ACL rule not starting with '$' never grants a '$' topic).
// Either argument may hold wildcards; both must be valid filters (non-empty, '+' and '#'
// alone in their level, '#' last). The intersection of two filters is again one filter,
// since each level intersects to a literal, '+' or nothing. Subscribe-time only: these
// allocate.
#include <optional>
#include <string>
#include <string_view>

namespace petrel::auth {

// The filter holding exactly the topics both a and b hold, or nullopt when they share
// none. Examples: ("a/#", "+/b") -> "a/b"; ("a/+/#", "+/b") -> "a/b"; ("#", "$SYS/#")
// -> nullopt; ("a/b", "a/c") -> nullopt.
std::optional<std::string> filter_intersection(std::string_view a, std::string_view b);

// True when every topic `inner` holds is also held by `outer` ("a/#" covers "a", "a/+"
// and "a/b/#"; "a/+" does not cover "a/#", which holds "a" and "a/b/c").
bool filter_covers(std::string_view outer, std::string_view inner);

}  // namespace petrel::auth
