// libFuzzer target: a bridge's topic mapping (bridge/topic_map.h). The input is text:
// rule lines "PATTERN|DIRECTION|QOS|LOCAL-PREFIX|REMOTE-PREFIX" (DIRECTION in/out/both),
// then a blank line, then one topic per line (first character: the message's QoS digit).
// Rules that config::bridge_topic_error refuses are dropped, as the configuration parser
// refuses them. Checks, for every topic in both directions:
//  - a mapped topic is a valid topic name and its QoS the lower of the message's and some
//    rule's;
//  - a topic that maps is one the bridge subscribed to on that side (it matches one of
//    local_subscriptions() / remote_subscriptions()), and the mapped topic matches a
//    filter of the other side's rules, so it arrives where the rules say;
//  - every subscription filter is valid and listed once.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/topic_map.h"
#include "config/config.h"
#include "fuzz_check.h"
#include "protocol/topic.h"

using namespace petrel;
using config::BridgeDirection;
using config::BridgeTopic;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

bool subscribed(const std::vector<bridge::Subscription>& subs, const std::string& topic) {
  return std::any_of(subs.begin(), subs.end(), [&](const bridge::Subscription& s) {
    return protocol::topic_matches(s.filter, topic) || s.filter == topic;
  });
}

// Does `topic` fall under the filter of a rule going that way (other side)? The mapping
// swaps prefixes (as Mosquitto's bridges do), so a prefix stripped down to a level that
// begins with '$' ("local/$x" -> "$x" under `# both 2 local/ ""`) yields a topic the
// rule's filter covers by its structure, though a wildcard subscription would not receive
// it on that side [MQTT-4.7.2-1]: matched here structurally (the '$' replaced).
bool lands(const std::vector<BridgeTopic>& rules, const std::string& topic, bool remote_side, uint8_t qos) {
  std::string plain = topic;
  if (!plain.empty() && plain[0] == '$') plain[0] = 'x';
  return std::any_of(rules.begin(), rules.end(), [&](const BridgeTopic& r) {
    const bool dir_ok = remote_side ? r.direction != BridgeDirection::kIn : r.direction != BridgeDirection::kOut;
    if (!dir_ok || qos > r.qos) return false;
    const std::string& prefix = remote_side ? r.remote_prefix : r.local_prefix;
    const std::string filter = prefix + r.pattern;
    if (r.pattern.empty()) return topic == prefix;
    return protocol::topic_matches(filter, topic) || (!prefix.starts_with('$') && protocol::topic_matches(filter, plain));
  });
}

void check_subs(const std::vector<bridge::Subscription>& subs) {
  std::set<std::string> seen;
  for (const auto& s : subs) {
    FUZZ_CHECK(!s.filter.empty());
    FUZZ_CHECK(s.qos <= 2);
    FUZZ_CHECK(seen.insert(s.filter).second);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t gap = text.find("\n\n");
  const std::string_view rule_text = text.substr(0, gap);
  const std::string_view topic_text = gap == std::string_view::npos ? std::string_view() : text.substr(gap + 2);

  std::vector<BridgeTopic> rules;
  for (std::string_view line : split(rule_text, '\n')) {
    auto f = split(line, '|');
    if (f.size() != 5 || f[2].size() != 1 || f[2][0] < '0' || f[2][0] > '9') continue;
    BridgeTopic r;
    r.pattern = f[0];
    if (f[1] == "in") r.direction = BridgeDirection::kIn;
    else if (f[1] == "out") r.direction = BridgeDirection::kOut;
    else if (f[1] == "both") r.direction = BridgeDirection::kBoth;
    else continue;
    r.qos = uint8_t(f[2][0] - '0');
    r.local_prefix = f[3];
    r.remote_prefix = f[4];
    if (config::bridge_topic_error(r).empty()) rules.push_back(std::move(r));
    if (rules.size() == 16) break;
  }
  const bridge::TopicMap map(rules);
  const auto local_subs = map.local_subscriptions();
  const auto remote_subs = map.remote_subscriptions();
  check_subs(local_subs);
  check_subs(remote_subs);
  for (const auto& s : local_subs) FUZZ_CHECK(protocol::valid_topic_filter(s.filter));
  for (const auto& s : remote_subs) FUZZ_CHECK(protocol::valid_topic_filter(s.filter));

  int n = 0;
  for (std::string_view line : split(topic_text, '\n')) {
    if (line.empty() || ++n > 32) continue;
    const uint8_t qos = uint8_t((line[0] - '0') & 3) % 3;
    const std::string topic(line.substr(1));
    if (!protocol::valid_topic_name(topic)) continue;
    if (auto m = map.to_remote(topic, qos)) {
      FUZZ_CHECK(protocol::valid_topic_name(m->topic));
      FUZZ_CHECK(m->qos <= qos);
      FUZZ_CHECK(subscribed(local_subs, topic));
      FUZZ_CHECK(lands(rules, m->topic, true, m->qos));
    }
    if (auto m = map.to_local(topic, qos)) {
      FUZZ_CHECK(protocol::valid_topic_name(m->topic));
      FUZZ_CHECK(m->qos <= qos);
      FUZZ_CHECK(subscribed(remote_subs, topic));
      FUZZ_CHECK(lands(rules, m->topic, false, m->qos));
    }
  }
  return 0;
}
