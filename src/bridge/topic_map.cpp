// TopicMap: matching a topic against each rule's precomputed filter, then swapping one
// prefix for the other. No regex and no per-call containers; a successful mapping costs
// the one allocation of the result topic.
#include "bridge/topic_map.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "protocol/topic.h"

namespace petrel::bridge {

namespace {

using config::BridgeDirection;
using config::BridgeTopic;

constexpr size_t kMaxTopicBytes = 65535;

bool goes_out(const BridgeTopic& r) {
  return r.direction == BridgeDirection::kOut || r.direction == BridgeDirection::kBoth;
}
bool comes_in(const BridgeTopic& r) {
  return r.direction == BridgeDirection::kIn || r.direction == BridgeDirection::kBoth;
}

// Does `topic` fall under `filter`, the filter of `rule` on the side being read?
bool rule_matches(const BridgeTopic& rule, const std::string& filter, std::string_view topic) {
  // Whole-topic form: the prefix is a topic name, matched exactly.
  if (rule.pattern.empty()) return !topic.empty() && topic == filter;
  return protocol::topic_matches(filter, topic);
}

// `topic` matched from_prefix + pattern; returns to_prefix + the rest of `topic`. The one
// way a match can fail to start with from_prefix is '#' matching its parent level: "a/#"
// matches "a". That topic is the parent of the mapped subtree and maps to the parent on the
// other side (to_prefix without its trailing '/'), so that "local/#" <-> "remote/#" also
// carries "local" <-> "remote". (Mosquitto skips the strip there and sends
// "remote/local"; see the tests.) nullopt when the result is not a valid topic name: empty
// (the parent of a prefix-less side) or too long.
std::optional<std::string> swap_prefix(std::string_view topic, std::string_view from_prefix,
                                       std::string_view to_prefix) {
  std::string_view rest;
  if (topic.starts_with(from_prefix)) {
    rest = topic.substr(from_prefix.size());
  } else if (from_prefix.ends_with('/') && topic == from_prefix.substr(0, from_prefix.size() - 1) &&
             to_prefix.ends_with('/')) {
    to_prefix.remove_suffix(1);  // parent level; rest stays empty
  } else {
    return std::nullopt;
  }
  const size_t size = to_prefix.size() + rest.size();
  if (size == 0 || size > kMaxTopicBytes) return std::nullopt;
  std::string out;
  out.reserve(size);
  out.append(to_prefix);
  out.append(rest);
  return out;
}

// Appends filter/qos to subs unless the filter is there already (then keeps the higher QoS).
void add_subscription(std::vector<Subscription>& subs, const std::string& filter, uint8_t qos) {
  for (Subscription& s : subs) {
    if (s.filter == filter) {
      s.qos = std::max(s.qos, qos);
      return;
    }
  }
  subs.push_back(Subscription{filter, qos});
}

}  // namespace

TopicMap::TopicMap(std::vector<config::BridgeTopic> rules) : rules_(std::move(rules)) {
  filters_.reserve(rules_.size());
  for (const BridgeTopic& r : rules_) {
    filters_.push_back(Filters{r.local_prefix + r.pattern, r.remote_prefix + r.pattern});
  }
}

std::vector<Subscription> TopicMap::local_subscriptions() const {
  std::vector<Subscription> subs;
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (goes_out(rules_[i])) add_subscription(subs, filters_[i].local, rules_[i].qos);
  }
  return subs;
}

std::vector<Subscription> TopicMap::remote_subscriptions() const {
  std::vector<Subscription> subs;
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (comes_in(rules_[i])) add_subscription(subs, filters_[i].remote, rules_[i].qos);
  }
  return subs;
}

std::optional<Mapped> TopicMap::to_remote(std::string_view local_topic, uint8_t qos) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const BridgeTopic& r = rules_[i];
    if (!goes_out(r) || !rule_matches(r, filters_[i].local, local_topic)) continue;
    // A rule whose mapping yields no valid topic name does not count as a match.
    std::optional<std::string> topic = swap_prefix(local_topic, r.local_prefix, r.remote_prefix);
    if (!topic) continue;
    return Mapped{std::move(*topic), std::min(qos, r.qos)};
  }
  return std::nullopt;
}

std::optional<Mapped> TopicMap::to_local(std::string_view remote_topic, uint8_t qos) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const BridgeTopic& r = rules_[i];
    if (!comes_in(r) || !rule_matches(r, filters_[i].remote, remote_topic)) continue;
    std::optional<std::string> topic = swap_prefix(remote_topic, r.remote_prefix, r.local_prefix);
    if (!topic) continue;
    return Mapped{std::move(*topic), std::min(qos, r.qos)};
  }
  return std::nullopt;
}

}  // namespace petrel::bridge
