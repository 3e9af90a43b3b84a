// TopicMap: Mosquitto's bridge `topic` rules (pattern, direction, QoS, local/remote prefix)
// as a pure mapping of topic names, both directions, and the subscriptions each side needs.
#include "bridge/topic_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace petrel::bridge {
namespace {

using config::BridgeDirection;
using config::BridgeTopic;

constexpr BridgeDirection kOut = BridgeDirection::kOut;
constexpr BridgeDirection kIn = BridgeDirection::kIn;
constexpr BridgeDirection kBoth = BridgeDirection::kBoth;

BridgeTopic rule(std::string pattern, BridgeDirection dir, uint8_t qos,
                 std::string local_prefix = "", std::string remote_prefix = "") {
  BridgeTopic r;
  r.pattern = std::move(pattern);
  r.direction = dir;
  r.qos = qos;
  r.local_prefix = std::move(local_prefix);
  r.remote_prefix = std::move(remote_prefix);
  return r;
}

TopicMap map_of(std::vector<BridgeTopic> rules) { return TopicMap(std::move(rules)); }

using Subs = std::vector<Subscription>;

// --- The router product's worked example, literally ---------------------------------------

TEST(TopicMap, WorkedExampleOut) {
  const TopicMap m = map_of({rule("sensor/#", kOut, 1, "local/", "remote/office1/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"local/sensor/#", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), Subs{});
  EXPECT_EQ(m.to_remote("local/sensor/temperature", 2),
            (Mapped{"remote/office1/sensor/temperature", 1}));
  EXPECT_EQ(m.to_remote("local/other/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("sensor/temperature", 1), std::nullopt);
  // An out rule does not bring anything in.
  EXPECT_EQ(m.to_local("remote/office1/sensor/t", 1), std::nullopt);
}

TEST(TopicMap, WorkedExampleIn) {
  const TopicMap m = map_of({rule("sensor/#", kIn, 1, "local/", "remote/office1/")});
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"remote/office1/sensor/#", 1}}));
  EXPECT_EQ(m.local_subscriptions(), Subs{});
  EXPECT_EQ(m.to_local("remote/office1/sensor/t", 1), (Mapped{"local/sensor/t", 1}));
  EXPECT_EQ(m.to_local("remote/office1/sensor/t", 2), (Mapped{"local/sensor/t", 1}));
  EXPECT_EQ(m.to_local("remote/office2/sensor/t", 1), std::nullopt);
  EXPECT_EQ(m.to_local("sensor/t", 1), std::nullopt);
  // An in rule sends nothing out.
  EXPECT_EQ(m.to_remote("local/sensor/temperature", 1), std::nullopt);
}

TEST(TopicMap, WorkedExampleBoth) {
  const TopicMap m = map_of({rule("sensor/#", kBoth, 1, "local/", "remote/office1/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"local/sensor/#", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"remote/office1/sensor/#", 1}}));
  EXPECT_EQ(m.to_remote("local/sensor/temperature", 2),
            (Mapped{"remote/office1/sensor/temperature", 1}));
  EXPECT_EQ(m.to_remote("local/other/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("sensor/temperature", 1), std::nullopt);
  EXPECT_EQ(m.to_local("remote/office1/sensor/t", 1), (Mapped{"local/sensor/t", 1}));
  EXPECT_EQ(m.to_local("remote/office1/other/t", 1), std::nullopt);
}

// --- QoS ------------------------------------------------------------------------------------

TEST(TopicMap, QosIsTheLowerOfMessageAndRuleInBothDirections) {
  for (uint8_t rule_qos = 0; rule_qos <= 2; ++rule_qos) {
    const TopicMap m = map_of({rule("t/#", kBoth, rule_qos, "l/", "r/")});
    for (uint8_t msg_qos = 0; msg_qos <= 2; ++msg_qos) {
      SCOPED_TRACE(testing::Message()
                   << "rule qos " << int(rule_qos) << ", message qos " << int(msg_qos));
      const uint8_t want = std::min(rule_qos, msg_qos);
      EXPECT_EQ(m.to_remote("l/t/x", msg_qos), (Mapped{"r/t/x", want}));
      EXPECT_EQ(m.to_local("r/t/x", msg_qos), (Mapped{"l/t/x", want}));
    }
  }
}

TEST(TopicMap, QosComesFromTheRuleThatMatched) {
  const TopicMap m = map_of({rule("a/#", kOut, 0, "", "zero/"), rule("b/#", kOut, 2, "", "two/")});
  EXPECT_EQ(m.to_remote("a/x", 2), (Mapped{"zero/a/x", 0}));
  EXPECT_EQ(m.to_remote("b/x", 2), (Mapped{"two/b/x", 2}));
  EXPECT_EQ(m.to_remote("b/x", 1), (Mapped{"two/b/x", 1}));
}

// --- Prefix forms ---------------------------------------------------------------------------

TEST(TopicMap, NoPrefixesMapsTopicsUnchanged) {
  const TopicMap m = map_of({rule("sensor/#", kBoth, 2)});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"sensor/#", 2}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"sensor/#", 2}}));
  EXPECT_EQ(m.to_remote("sensor/a/b", 1), (Mapped{"sensor/a/b", 1}));
  EXPECT_EQ(m.to_local("sensor", 2), (Mapped{"sensor", 2}));  // '#' matches the parent
  EXPECT_EQ(m.to_remote("sensors/a", 1), std::nullopt);
}

TEST(TopicMap, OnlyARemotePrefix) {
  // `topic d/# both 1 "" a/node7/` — a common real-world form.
  const TopicMap m = map_of({rule("d/#", kBoth, 1, "", "a/node7/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"d/#", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"a/node7/d/#", 1}}));
  EXPECT_EQ(m.to_remote("d/x", 1), (Mapped{"a/node7/d/x", 1}));
  EXPECT_EQ(m.to_local("a/node7/d/x", 1), (Mapped{"d/x", 1}));
  EXPECT_EQ(m.to_local("d/x", 1), std::nullopt);
}

TEST(TopicMap, OnlyALocalPrefix) {
  const TopicMap m = map_of({rule("d/#", kBoth, 1, "from/remote/", "")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"from/remote/d/#", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"d/#", 1}}));
  EXPECT_EQ(m.to_local("d/x/y", 0), (Mapped{"from/remote/d/x/y", 0}));
  EXPECT_EQ(m.to_remote("from/remote/d/x/y", 0), (Mapped{"d/x/y", 0}));
}

TEST(TopicMap, WholeTopicFormMatchesExactlyOneTopic) {
  const TopicMap m = map_of({rule("", kBoth, 2, "local/topic", "remote/topic")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"local/topic", 2}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"remote/topic", 2}}));
  EXPECT_EQ(m.to_remote("local/topic", 1), (Mapped{"remote/topic", 1}));
  EXPECT_EQ(m.to_local("remote/topic", 2), (Mapped{"local/topic", 2}));
  EXPECT_EQ(m.to_remote("local/topic/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("local/topi", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("local", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("remote/topic", 1), std::nullopt);
  EXPECT_EQ(m.to_local("local/topic", 1), std::nullopt);
  EXPECT_EQ(m.to_local("remote/topic/", 1), std::nullopt);
}

TEST(TopicMap, WholeTopicFormOneDirectionOnly) {
  const TopicMap m = map_of({rule("", kOut, 1, "a/b", "c")});
  EXPECT_EQ(m.to_remote("a/b", 2), (Mapped{"c", 1}));
  EXPECT_EQ(m.to_local("c", 2), std::nullopt);
  EXPECT_EQ(m.remote_subscriptions(), Subs{});
}

TEST(TopicMap, WholeTopicFormWithDollarTopics) {
  // Exact names: the leading-wildcard rule for '$' topics does not come into it.
  const TopicMap m = map_of({rule("", kBoth, 0, "$SYS/broker/uptime", "site3/uptime")});
  EXPECT_EQ(m.to_remote("$SYS/broker/uptime", 0), (Mapped{"site3/uptime", 0}));
  EXPECT_EQ(m.to_local("site3/uptime", 0), (Mapped{"$SYS/broker/uptime", 0}));
}

// Decision (Mosquitto does the same): prefixes are concatenated to the pattern as they are,
// no '/' is inserted. `topic x both 0 p q` maps local "px" <-> remote "qx". Mosquitto checks
// only that prefix + pattern is a valid filter (so `# ... a b`, giving "a#", is refused at
// configuration time; TopicMap is not given such rules).
TEST(TopicMap, PrefixWithoutSlashIsPlainConcatenation) {
  const TopicMap m = map_of({rule("x", kBoth, 0, "p", "q")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"px", 0}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"qx", 0}}));
  EXPECT_EQ(m.to_remote("px", 0), (Mapped{"qx", 0}));
  EXPECT_EQ(m.to_local("qx", 0), (Mapped{"px", 0}));
  EXPECT_EQ(m.to_remote("p/x", 0), std::nullopt);
  EXPECT_EQ(m.to_remote("x", 0), std::nullopt);
  EXPECT_EQ(m.to_remote("qx", 0), std::nullopt);
  EXPECT_EQ(m.to_local("q/x", 0), std::nullopt);
}

TEST(TopicMap, PrefixWithoutSlashJoinsTheFirstLevel) {
  // "sensor" + "s/#" is the filter "sensors/#"; the prefix is cut as bytes.
  const TopicMap m = map_of({rule("s/#", kBoth, 1, "sensor", "probe")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"sensors/#", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"probes/#", 1}}));
  EXPECT_EQ(m.to_remote("sensors/1", 1), (Mapped{"probes/1", 1}));
  EXPECT_EQ(m.to_local("probes/1/t", 1), (Mapped{"sensors/1/t", 1}));
  EXPECT_EQ(m.to_remote("sensor/s/1", 1), std::nullopt);
}

TEST(TopicMap, PatternStartingWithSlashAfterBarePrefix) {
  // "a" + "/#" = "a/#", which also matches "a" itself: "a" <-> "b".
  const TopicMap m = map_of({rule("/#", kBoth, 1, "a", "b")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"a/#", 1}}));
  EXPECT_EQ(m.to_remote("a/x/y", 1), (Mapped{"b/x/y", 1}));
  EXPECT_EQ(m.to_remote("a", 1), (Mapped{"b", 1}));
  EXPECT_EQ(m.to_local("b", 1), (Mapped{"a", 1}));
  EXPECT_EQ(m.to_local("b/", 1), (Mapped{"a/", 1}));
}

// --- Wildcards ------------------------------------------------------------------------------

TEST(TopicMap, PlusInTheMiddle) {
  const TopicMap m = map_of({rule("sensor/+/temp", kBoth, 1, "l/", "r/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"l/sensor/+/temp", 1}}));
  EXPECT_EQ(m.to_remote("l/sensor/k1/temp", 1), (Mapped{"r/sensor/k1/temp", 1}));
  EXPECT_EQ(m.to_local("r/sensor/k1/temp", 1), (Mapped{"l/sensor/k1/temp", 1}));
  EXPECT_EQ(m.to_remote("l/sensor//temp", 1), (Mapped{"r/sensor//temp", 1}));  // '+' = ""
  EXPECT_EQ(m.to_remote("l/sensor/k1/x/temp", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("l/sensor/temp", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("l/sensor/k1/temp/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("l/sensor/k1/temperature", 1), std::nullopt);
}

TEST(TopicMap, PlusAndHashTogether) {
  const TopicMap m = map_of({rule("+/status/#", kOut, 2, "site/", "hq/site1/")});
  EXPECT_EQ(m.to_remote("site/pump/status", 2), (Mapped{"hq/site1/pump/status", 2}));
  EXPECT_EQ(m.to_remote("site/pump/status/a/b", 2), (Mapped{"hq/site1/pump/status/a/b", 2}));
  EXPECT_EQ(m.to_remote("site/status", 2), std::nullopt);
}

TEST(TopicMap, HashAloneWithPrefixes) {
  const TopicMap m = map_of({rule("#", kBoth, 1, "local/", "remote/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"local/#", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"remote/#", 1}}));
  EXPECT_EQ(m.to_remote("local/a", 1), (Mapped{"remote/a", 1}));
  EXPECT_EQ(m.to_remote("local/a/b/c", 1), (Mapped{"remote/a/b/c", 1}));
  EXPECT_EQ(m.to_remote("local/", 1), (Mapped{"remote/", 1}));  // one empty level
  EXPECT_EQ(m.to_local("remote/a/b", 1), (Mapped{"local/a/b", 1}));
  EXPECT_EQ(m.to_remote("localx/a", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("a/local/b", 1), std::nullopt);
}

// Decision, NOT Mosquitto's behaviour: "local/#" also matches the parent "local". Mosquitto
// strips the local prefix only when the topic starts with it, so it sends "local" as
// "remote/local" (and brings that back as "local/local"). TopicMap maps the parent level to
// the parent level, keeping to_local(to_remote(t)) == t.
TEST(TopicMap, HashMatchingItsParentMapsParentToParent) {
  const TopicMap m = map_of({rule("#", kBoth, 1, "local/", "remote/office1/")});
  EXPECT_EQ(m.to_remote("local", 1), (Mapped{"remote/office1", 1}));
  EXPECT_EQ(m.to_local("remote/office1", 1), (Mapped{"local", 1}));
  EXPECT_EQ(m.to_remote("remote/office1", 1), std::nullopt);
  EXPECT_EQ(m.to_local("remote", 1), std::nullopt);
}

TEST(TopicMap, HashParentWithDoubleSlashPrefix) {
  // "a//#" matches "a/" (levels "a", "" and '#' matching its parent).
  const TopicMap m = map_of({rule("#", kBoth, 0, "a//", "b//")});
  EXPECT_EQ(m.to_remote("a/", 0), (Mapped{"b/", 0}));
  EXPECT_EQ(m.to_remote("a//", 0), (Mapped{"b//", 0}));
  EXPECT_EQ(m.to_remote("a//x", 0), (Mapped{"b//x", 0}));
  EXPECT_EQ(m.to_local("b/", 0), (Mapped{"a/", 0}));
}

TEST(TopicMap, HashParentWithNoCounterpartIsNotForwarded) {
  // Remote side "#": the local parent "l" has no remote counterpart (it would be "").
  const TopicMap m = map_of({rule("#", kBoth, 1, "l/", "")});
  EXPECT_EQ(m.to_remote("l/x", 1), (Mapped{"x", 1}));
  EXPECT_EQ(m.to_remote("l", 1), std::nullopt);
  // Nor "l/": stripping leaves "", and "" is not a topic name.
  EXPECT_EQ(m.to_remote("l/", 1), std::nullopt);
  EXPECT_EQ(m.to_local("x", 1), (Mapped{"l/x", 1}));

  const TopicMap mirror = map_of({rule("#", kBoth, 1, "", "r/")});
  EXPECT_EQ(mirror.to_local("r", 1), std::nullopt);
  EXPECT_EQ(mirror.to_local("r/", 1), std::nullopt);
  EXPECT_EQ(mirror.to_local("r/x", 1), (Mapped{"x", 1}));
}

TEST(TopicMap, RuleWithoutValidMappingLetsALaterRuleMatch) {
  const TopicMap m = map_of({rule("#", kOut, 1, "l/", ""), rule("l", kOut, 2, "", "raw/")});
  EXPECT_EQ(m.to_remote("l", 2), (Mapped{"raw/l", 2}));
  EXPECT_EQ(m.to_remote("l/x", 2), (Mapped{"x", 1}));
}

TEST(TopicMap, MappedTopicOverTheSizeLimitIsNotForwarded) {
  const std::string remote_prefix = std::string(100, 'r') + "/";  // 101 bytes
  const TopicMap m = map_of({rule("#", kBoth, 1, "l/", remote_prefix)});
  const std::string fits(65535 - 101, 'x');  // result exactly 65535 bytes
  EXPECT_EQ(m.to_remote("l/" + fits, 1), (Mapped{remote_prefix + fits, 1}));
  EXPECT_EQ(m.to_remote("l/" + fits + "x", 1), std::nullopt);  // 65536 bytes
}

// --- Rule order and direction ---------------------------------------------------------------

TEST(TopicMap, FirstMatchingRuleWins) {
  const BridgeTopic broad = rule("a/#", kOut, 1, "l/", "broad/");
  const BridgeTopic narrow = rule("a/b", kOut, 2, "l/", "narrow/");
  const TopicMap broad_first = map_of({broad, narrow});
  EXPECT_EQ(broad_first.to_remote("l/a/b", 2), (Mapped{"broad/a/b", 1}));
  const TopicMap narrow_first = map_of({narrow, broad});
  EXPECT_EQ(narrow_first.to_remote("l/a/b", 2), (Mapped{"narrow/a/b", 2}));
  EXPECT_EQ(narrow_first.to_remote("l/a/c", 2), (Mapped{"broad/a/c", 1}));
}

TEST(TopicMap, NonMatchingRulesAreSkipped) {
  const TopicMap m = map_of({rule("x/#", kBoth, 2, "l/", "r1/"), rule("y/#", kBoth, 2, "l/", "r2/"),
                             rule("z/+", kBoth, 2, "l/", "r3/")});
  EXPECT_EQ(m.to_remote("l/z/1", 2), (Mapped{"r3/z/1", 2}));
  EXPECT_EQ(m.to_local("r2/y", 2), (Mapped{"l/y", 2}));
  EXPECT_EQ(m.to_local("r3/z/1/2", 2), std::nullopt);
}

// Decision, differs from Mosquitto: a rule without prefixes still takes part in "first match
// wins". Mosquitto's remap loop only looks at rules that have a prefix, so there a later
// prefixed rule would rename "a/x" (and the message may go out once per matching local
// subscription).
TEST(TopicMap, FirstMatchWinsAlsoForRulesWithoutPrefixes) {
  const TopicMap m = map_of({rule("#", kOut, 0), rule("a/#", kOut, 0, "", "r/")});
  EXPECT_EQ(m.to_remote("a/x", 0), (Mapped{"a/x", 0}));
}

TEST(TopicMap, DirectionsPickTheirOwnRules) {
  // Same pattern, one rule per direction with different prefixes.
  const TopicMap m = map_of(
      {rule("cmd/#", kIn, 2, "dev/", "cloud/dev7/"), rule("cmd/#", kOut, 0, "dev/", "cloud/out/")});
  EXPECT_EQ(m.to_remote("dev/cmd/reboot", 2), (Mapped{"cloud/out/cmd/reboot", 0}));
  EXPECT_EQ(m.to_local("cloud/dev7/cmd/reboot", 2), (Mapped{"dev/cmd/reboot", 2}));
  EXPECT_EQ(m.to_local("cloud/out/cmd/reboot", 2), std::nullopt);
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"dev/cmd/#", 0}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"cloud/dev7/cmd/#", 2}}));
}

TEST(TopicMap, RulesOfTheOtherDirectionDoNotShadow) {
  // An earlier in rule matching the same topic does not stop the out rule (and vice versa).
  const TopicMap m = map_of({rule("#", kIn, 1), rule("#", kOut, 2, "", "up/")});
  EXPECT_EQ(m.to_remote("a", 2), (Mapped{"up/a", 2}));
  EXPECT_EQ(m.to_local("a", 2), (Mapped{"a", 1}));
}

// --- '$' topics -----------------------------------------------------------------------------

TEST(TopicMap, LeadingWildcardDoesNotMatchDollarTopics) {
  const TopicMap m = map_of({rule("#", kBoth, 1), rule("+/x", kBoth, 1)});
  EXPECT_EQ(m.to_remote("$SYS/broker/load", 1), std::nullopt);
  EXPECT_EQ(m.to_local("$SYS/broker/load", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("$SYS/x", 1), std::nullopt);
  EXPECT_EQ(m.to_local("$foo/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("SYS/x", 1), (Mapped{"SYS/x", 1}));
}

TEST(TopicMap, DollarPatternMatchesDollarTopics) {
  const TopicMap m = map_of({rule("$SYS/broker/#", kOut, 0, "", "brokers/b1/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"$SYS/broker/#", 0}}));
  EXPECT_EQ(m.to_remote("$SYS/broker/clients/connected", 1),
            (Mapped{"brokers/b1/$SYS/broker/clients/connected", 0}));
}

TEST(TopicMap, DollarPrefixMapsDollarTopics) {
  const TopicMap m = map_of({rule("#", kBoth, 1, "$SYS/", "sys/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"$SYS/#", 1}}));
  EXPECT_EQ(m.to_remote("$SYS/broker/uptime", 1), (Mapped{"sys/broker/uptime", 1}));
  EXPECT_EQ(m.to_local("sys/broker/uptime", 1), (Mapped{"$SYS/broker/uptime", 1}));
  EXPECT_EQ(m.to_remote("$SYSx/a", 1), std::nullopt);
}

TEST(TopicMap, DollarBelowTheFirstLevelIsAnOrdinaryLevel) {
  const TopicMap m = map_of({rule("#", kBoth, 1, "l/", "r/"), rule("+/+", kBoth, 1)});
  EXPECT_EQ(m.to_remote("l/$SYS/x", 1), (Mapped{"r/$SYS/x", 1}));
  EXPECT_EQ(m.to_remote("a/$b", 1), (Mapped{"a/$b", 1}));
}

// --- Empty levels and UTF-8 -----------------------------------------------------------------

TEST(TopicMap, EmptyLevels) {
  const TopicMap m =
      map_of({rule("a//b", kBoth, 1, "l/", "r/"), rule("+/+", kBoth, 1, "m/", "s/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"l/a//b", 1}, {"m/+/+", 1}}));
  EXPECT_EQ(m.to_remote("l/a//b", 1), (Mapped{"r/a//b", 1}));
  EXPECT_EQ(m.to_remote("l/a/b", 1), std::nullopt);
  EXPECT_EQ(m.to_local("r/a//b", 1), (Mapped{"l/a//b", 1}));
  EXPECT_EQ(m.to_remote("m//", 1), (Mapped{"s//", 1}));  // two empty levels
  EXPECT_EQ(m.to_remote("m/x/", 1), (Mapped{"s/x/", 1}));
  EXPECT_EQ(m.to_remote("m/x", 1), std::nullopt);
}

TEST(TopicMap, LeadingSlashTopicsAndPrefixes) {
  const TopicMap m = map_of({rule("#", kBoth, 2, "/", "edge/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"/#", 2}}));
  EXPECT_EQ(m.to_remote("/a/b", 2), (Mapped{"edge/a/b", 2}));
  EXPECT_EQ(m.to_remote("a/b", 2), std::nullopt);
  EXPECT_EQ(m.to_local("edge/a", 2), (Mapped{"/a", 2}));
  EXPECT_EQ(m.to_remote("/", 2), (Mapped{"edge/", 2}));
  EXPECT_EQ(m.to_local("edge/", 2), (Mapped{"/", 2}));
  // "edge" is the parent of "edge/#"; its local counterpart would be "" — not forwarded.
  EXPECT_EQ(m.to_local("edge", 2), std::nullopt);
}

TEST(TopicMap, Utf8TopicsAndPrefixes) {
  const TopicMap m = map_of({rule("温度/+", kBoth, 1, "ü/", "Ω/büro/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"ü/温度/+", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"Ω/büro/温度/+", 1}}));
  EXPECT_EQ(m.to_remote("ü/温度/küche", 2), (Mapped{"Ω/büro/温度/küche", 1}));
  EXPECT_EQ(m.to_local("Ω/büro/温度/🌡", 0), (Mapped{"ü/温度/🌡", 0}));
  EXPECT_EQ(m.to_remote("u/温度/küche", 1), std::nullopt);  // "ü" is not "u"
  EXPECT_EQ(m.to_remote("ü/温/küche", 1), std::nullopt);
}

TEST(TopicMap, MatchingIsCaseSensitiveAndLevelAligned) {
  const TopicMap m = map_of({rule("sensor/#", kOut, 1, "local/", "remote/")});
  EXPECT_EQ(m.to_remote("Local/sensor/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("local/Sensor/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("local/sensors/x", 1), std::nullopt);
  EXPECT_EQ(m.to_remote("local/sensor", 1), (Mapped{"remote/sensor", 1}));  // '#' parent
}

// --- Subscriptions --------------------------------------------------------------------------

TEST(TopicMap, SubscriptionsDeduplicateKeepingHighestQosInFirstAppearanceOrder) {
  const TopicMap m = map_of({
      rule("a/#", kOut, 0, "l/"), rule("b/#", kBoth, 1, "l/", "r/"),
      rule("a/#", kBoth, 2, "l/", "r2/"),  // same local filter as the first: QoS raised to 2
      rule("c", kIn, 0, "", "r/"),
      rule("b/#", kIn, 0, "", "r/"),      // remote "r/b/#" again, lower QoS: stays 1
      rule("#", kOut, 1, "l/a/", "x/"),   // "l/a/" + "#" is "l/a/#" too: stays 2
      rule("a/#", kOut, 1, "l/", "r3/"),  // "l/a/#" again, lower QoS: stays 2
  });
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"l/a/#", 2}, {"l/b/#", 1}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"r/b/#", 1}, {"r2/a/#", 2}, {"r/c", 0}}));
}

TEST(TopicMap, SameFilterSplitDifferentlyIsOneSubscription) {
  // "l/" + "a/#" and "l/a/" + "#" are the same local filter.
  const TopicMap m = map_of({rule("a/#", kOut, 0, "l/", "r/"), rule("#", kOut, 2, "l/a/", "s/")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"l/a/#", 2}}));
  // Mapping still takes the first rule.
  EXPECT_EQ(m.to_remote("l/a/x", 2), (Mapped{"r/a/x", 0}));
}

TEST(TopicMap, SubscriptionsIncludeWholeTopicForms) {
  const TopicMap m =
      map_of({rule("", kOut, 1, "l/one", "r/one"), rule("", kIn, 2, "l/two", "r/two"),
              rule("", kBoth, 0, "l/three", "r/three")});
  EXPECT_EQ(m.local_subscriptions(), (Subs{{"l/one", 1}, {"l/three", 0}}));
  EXPECT_EQ(m.remote_subscriptions(), (Subs{{"r/two", 2}, {"r/three", 0}}));
}

// --- Misc -----------------------------------------------------------------------------------

TEST(TopicMap, EmptyMapMapsNothing) {
  const TopicMap m;
  EXPECT_EQ(m.local_subscriptions(), Subs{});
  EXPECT_EQ(m.remote_subscriptions(), Subs{});
  EXPECT_EQ(m.to_remote("a", 1), std::nullopt);
  EXPECT_EQ(m.to_local("a", 1), std::nullopt);
  EXPECT_TRUE(m.rules().empty());
  EXPECT_EQ(map_of({}).to_remote("a", 0), std::nullopt);
}

TEST(TopicMap, EmptyTopicNeverMatches) {
  const TopicMap m = map_of({rule("#", kBoth, 1), rule("", kBoth, 1, "x", "y")});
  EXPECT_EQ(m.to_remote("", 1), std::nullopt);
  EXPECT_EQ(m.to_local("", 1), std::nullopt);
}

TEST(TopicMap, RulesAreKeptInOrder) {
  const std::vector<BridgeTopic> rules{rule("a/#", kOut, 1, "l/", "r/"),
                                       rule("", kIn, 0, "x", "y")};
  const TopicMap m(rules);
  EXPECT_EQ(m.rules(), rules);
}

TEST(TopicMap, CopiesAndMovesKeepWorking) {
  TopicMap original = map_of({rule("s/#", kBoth, 1, "l/", "r/")});
  const TopicMap copy = original;
  TopicMap moved = std::move(original);
  original = TopicMap();  // reuse of the moved-from object
  EXPECT_EQ(copy.to_remote("l/s/1", 1), (Mapped{"r/s/1", 1}));
  EXPECT_EQ(moved.to_local("r/s/1", 1), (Mapped{"l/s/1", 1}));
  EXPECT_EQ(original.to_remote("l/s/1", 1), std::nullopt);
}

TEST(TopicMap, BothRulesRoundTrip) {
  struct Case {
    BridgeTopic rule;
    std::vector<std::string> local_topics;
  };
  const std::vector<Case> cases{
      {rule("sensor/#", kBoth, 2, "local/", "remote/office1/"),
       {"local/sensor", "local/sensor/t", "local/sensor/a/b/c", "local/sensor/",
        "local/sensor//x"}},
      {rule("#", kBoth, 2, "local/", "remote/"), {"local", "local/", "local/x", "local/$x/y"}},
      {rule("/+/c", kBoth, 2, "p", "q"), {"p/b/c", "p//c"}},
      {rule("x", kBoth, 2, "p", "q"), {"px"}},
      {rule("", kBoth, 2, "one/topic", "other"), {"one/topic"}},
      {rule("#", kBoth, 2, "$SYS/", "sys/"), {"$SYS/broker/uptime", "$SYS"}},
      {rule("k/#", kBoth, 2), {"k", "k/ü/温度"}},
  };
  for (const Case& c : cases) {
    const TopicMap m = map_of({c.rule});
    for (const std::string& t : c.local_topics) {
      SCOPED_TRACE(testing::Message() << "rule '" << c.rule.pattern << "' topic '" << t << "'");
      const std::optional<Mapped> out = m.to_remote(t, 2);
      ASSERT_TRUE(out.has_value());
      EXPECT_EQ(m.to_local(out->topic, 2), (Mapped{t, 2}));
    }
  }
}

}  // namespace
}  // namespace petrel::bridge
