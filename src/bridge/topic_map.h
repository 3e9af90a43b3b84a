#pragma once
// TopicMap: a bridge's `topic` rules as a pure function of topic names, no I/O. Mosquitto's
// rules: the local filter of a rule is local_prefix + pattern and the remote filter is
// remote_prefix + pattern; a message on a local topic that matches the local filter of an
// out/both rule goes to the remote with the local prefix stripped and the remote prefix
// prepended (and the reverse for in/both). An empty pattern is the whole-topic form: the two
// prefixes are complete topic names (no wildcards) mapped onto each other. The first rule
// that matches (in file order) decides; the forwarded QoS is the lower of the message's and
// the rule's.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace petrel::bridge {

struct Subscription {
  std::string filter;
  uint8_t qos = 0;
  bool operator==(const Subscription&) const = default;
};

struct Mapped {
  std::string topic;
  uint8_t qos = 0;
  bool operator==(const Mapped&) const = default;
};

class TopicMap {
 public:
  TopicMap() = default;
  // Rules must be valid (config::bridge_topic_error returned empty for each).
  explicit TopicMap(std::vector<config::BridgeTopic> rules);

  // Filters the bridge subscribes to on the local broker (out/both rules) and on the
  // remote (in/both rules), with the rule's QoS; duplicates (same filter) appear once,
  // with the highest QoS.
  std::vector<Subscription> local_subscriptions() const;
  std::vector<Subscription> remote_subscriptions() const;

  // Local topic -> remote topic for a message received locally (nullopt: no out/both rule
  // matches, the message is not forwarded). '#' matching its parent level maps parent to
  // parent ("l/#" <-> "r/#" carries "l" <-> "r"); a rule whose mapping would give an
  // invalid topic name (empty, over 65535 bytes) is passed over.
  std::optional<Mapped> to_remote(std::string_view local_topic, uint8_t qos) const;
  // Remote topic -> local topic for a message received from the remote.
  std::optional<Mapped> to_local(std::string_view remote_topic, uint8_t qos) const;

  const std::vector<config::BridgeTopic>& rules() const { return rules_; }

 private:
  // A rule's filters, computed once: local_prefix + pattern and remote_prefix + pattern
  // (for the whole-topic form, the prefixes themselves).
  struct Filters {
    std::string local;
    std::string remote;
  };
  std::vector<config::BridgeTopic> rules_;
  std::vector<Filters> filters_;  // parallel to rules_
};

}  // namespace petrel::bridge
