// WorkerCore subscriptions: wildcard matching, overlapping subscriptions, subscription
// identifiers, no local, retain as published, retain handling, shared subscriptions,
// unsubscribe and invalid filters.
#include <algorithm>
#include <map>

#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

using CoreSub = CoreTest;

pr::SubscribeTopic opt(std::string filter, uint8_t qos, bool no_local = false, bool rap = false,
                       uint8_t rh = 0) {
  pr::SubscribeTopic t = sub_topic(std::move(filter), qos);
  t.no_local = no_local;
  t.retain_as_published = rap;
  t.retain_handling = rh;
  return t;
}

TEST_F(CoreSub, WildcardMatching_MQTT_4_7_1_2_and_3) {
  Client& plus = connected("plus");
  subscribe(plus, "a/+/c");
  Client& hash = connected("hash");
  subscribe(hash, "a/#");
  Client& two = connected("two");
  subscribe(two, "+/+");
  Client& pub = connected("pub");
  publish(pub, "a/b/c", "abc");
  publish(pub, "a", "a");
  publish(pub, "a/b", "ab");
  publish(pub, "x/y/c", "xyc");
  EXPECT_EQ(payloads(plus.pubs()), std::vector<std::string>{"abc"});
  EXPECT_EQ(payloads(hash.pubs()), (std::vector<std::string>{"abc", "a", "ab"}))
      << "'a/#' also matches the parent 'a'";
  EXPECT_EQ(payloads(two.pubs()), std::vector<std::string>{"ab"});
}

TEST_F(CoreSub, LeadingWildcardsSkipDollarTopics_MQTT_4_7_2_1) {
  Client& all = connected("all");
  subscribe(all, "#");
  Client& plus = connected("plus");
  subscribe(plus, "+/status");
  Client& dollar = connected("dollar");
  subscribe(dollar, "$internal/#");
  Client& pub = connected("pub");
  publish(pub, "$internal/status", "hidden");
  publish(pub, "dev/status", "seen");
  EXPECT_EQ(payloads(all.pubs()), std::vector<std::string>{"seen"});
  EXPECT_EQ(payloads(plus.pubs()), std::vector<std::string>{"seen"});
  EXPECT_EQ(payloads(dollar.pubs()), std::vector<std::string>{"hidden"});
}

TEST_F(CoreSub, OverlappingSubscriptionsOneDeliveryMaxQosAllIds_MQTT_3_3_4_2_and_3) {
  Client& c = connected(mk5("ov"));
  subscribe(c, "s/+", 0, 11u);
  subscribe(c, "s/#", 2, 22u);
  subscribe(c, "s/x", 1);  // no identifier
  Client& pub = connected("ovp");
  publish(pub, "s/x", "m", 2);
  auto got = c.pubs();
  ASSERT_EQ(got.size(), 1u) << "one PUBLISH for overlapping subscriptions";
  EXPECT_EQ(got[0].qos, 2) << "the maximum granted QoS";
  auto ids = got[0].sub_ids;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{11, 22}));
}

TEST_F(CoreSub, OverlappingSubscriptionsV311SingleCopy_MQTT_3_3_5_1) {
  Client& c = connected("ov3");
  subscribe(c, "t/#", 1);
  subscribe(c, "t/+", 0);
  Client& pub = connected("ov3p");
  publish(pub, "t/1", "m", 1);
  auto got = c.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
}

TEST_F(CoreSub, SubscriptionIdentifierDelivered_MQTT_3_8_2_1) {
  Client& v5 = connected(mk5("sid5"));
  subscribe(v5, "id/#", 0, 7u);
  Client& v3 = connected("sid3");
  subscribe(v3, "id/#", 0);
  Client& pub = connected("sidp");
  publish(pub, "id/1", "m");
  auto g5 = v5.pubs();
  ASSERT_EQ(g5.size(), 1u);
  EXPECT_EQ(g5[0].sub_ids, std::vector<uint32_t>{7});
  EXPECT_EQ(v3.pubs().size(), 1u);
  // Re-subscribing without an identifier removes it [MQTT-3.8.4-3].
  subscribe(v5, "id/#", 0);
  publish(pub, "id/2", "m");
  g5 = v5.pubs();
  ASSERT_EQ(g5.size(), 1u);
  EXPECT_TRUE(g5[0].sub_ids.empty());
}

TEST_F(CoreSub, NoLocal_MQTT_3_8_3_3) {
  Client& c = connected(mk5("nl"));
  subscribe(c, {opt("loop/#", 0, /*no_local=*/true)});
  Client& other = connected("nlo");
  publish(c, "loop/1", "own");
  publish(other, "loop/1", "theirs");
  EXPECT_EQ(payloads(c.pubs()), std::vector<std::string>{"theirs"});
  // Without no local a client gets its own messages.
  Client& echo = connected(mk5("echo"));
  subscribe(echo, {opt("loop/#", 0, false)});
  publish(echo, "loop/2", "own");
  EXPECT_EQ(payloads(echo.pubs()), std::vector<std::string>{"own"});
}

TEST_F(CoreSub, RetainAsPublished_MQTT_3_3_1_12_and_13) {
  Client& keep = connected(mk5("rap1"));
  subscribe(keep, {opt("r/#", 0, false, /*rap=*/true)});
  Client& clear = connected(mk5("rap0"));
  subscribe(clear, {opt("r/#", 0, false, false)});
  Client& v3 = connected("rap3");
  subscribe(v3, "r/#");
  Client& pub = connected("rapp");
  publish(pub, "r/1", "live", 0, /*retain=*/true);
  publish(pub, "r/2", "plain", 0, false);
  auto k = keep.pubs(), c = clear.pubs(), v = v3.pubs();
  ASSERT_EQ(k.size(), 2u);
  ASSERT_EQ(c.size(), 2u);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(k[0].retain) << "retain as published keeps the flag";
  EXPECT_FALSE(k[1].retain);
  EXPECT_FALSE(c[0].retain) << "[MQTT-3.3.1-12] cleared on live delivery";
  EXPECT_FALSE(v[0].retain) << "3.1.1 [MQTT-3.3.1-9] cleared on live delivery";
}

TEST_F(CoreSub, RetainHandling0And1And2_MQTT_3_3_1_9_to_11) {
  Client& pub = connected("rhp");
  publish(pub, "rh/t", "stored", 1, true);
  Client& c = connected(mk5("rh"));

  auto rx = subscribe(c, {opt("rh/#", 1, false, false, 0)});
  ASSERT_EQ(rx.size(), 2u) << "rh 0: sent at subscribe";
  EXPECT_TRUE(rx[1].pub.retain);
  rx = subscribe(c, {opt("rh/#", 1, false, false, 0)});
  EXPECT_EQ(rx.size(), 2u) << "rh 0: sent again on a re-subscribe [MQTT-3.8.4-3]";

  rx = subscribe(c, {opt("rh/+", 1, false, false, 1)});
  EXPECT_EQ(rx.size(), 2u) << "rh 1: sent for a new subscription";
  rx = subscribe(c, {opt("rh/+", 1, false, false, 1)});
  EXPECT_EQ(rx.size(), 1u) << "rh 1: not for an existing one";

  rx = subscribe(c, {opt("rh/t", 1, false, false, 2)});
  EXPECT_EQ(rx.size(), 1u) << "rh 2: never";
}

TEST_F(CoreSub, SharedSubscriptionRoundRobin_MQTT_4_8_2_2) {
  Client& a = connected(mk5("sa"));
  Client& b = connected(mk5("sb"));
  Client& c = connected(mk5("sc"));
  for (Client* m : {&a, &b, &c}) subscribe(*m, "$share/g/job/#", 1);
  Client& plain = connected("plain");
  subscribe(plain, "job/#");
  Client& pub = connected("sp");
  for (int i = 0; i < 6; ++i) publish(pub, "job/x", std::to_string(i), 1);
  std::map<std::string, int> who;
  size_t total = 0;
  for (Client* m : {&a, &b, &c}) {
    auto got = m->pubs();
    total += got.size();
    EXPECT_EQ(got.size(), 2u) << m->id << " gets its fair share";
    for (auto& p : got) ++who[p.payload];
  }
  EXPECT_EQ(total, 6u);
  EXPECT_EQ(who.size(), 6u) << "each message goes to exactly one member";
  EXPECT_EQ(plain.pubs().size(), 6u) << "a non-shared subscriber gets them all";
}

TEST_F(CoreSub, SharedSubscriptionPrefersOnlineMembers) {
  Client& off = connected(mk5("soff", false, 600));
  subscribe(off, "$share/g/w", 1);
  drop(off);
  Client& on = connected(mk5("son"));
  subscribe(on, "$share/g/w", 1);
  Client& pub = connected("swp");
  for (int i = 0; i < 4; ++i) publish(pub, "w", std::to_string(i), 1);
  EXPECT_EQ(on.pubs().size(), 4u);
  // With every member offline the message is still kept for one of them.
  drop(on);
  publish(pub, "w", "late", 1);
  Client& back = open(mk5("soff", false, 600));
  auto rx = back.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.payload, "late");
}

TEST_F(CoreSub, SharedSubscriptionGetsNoRetainedMessages_MQTT_4_8_2_6) {
  Client& pub = connected("shr");
  publish(pub, "ret/x", "old", 0, true);
  Client& c = connected(mk5("shs"));
  auto rx = subscribe(c, "$share/g/ret/#", 0);
  ASSERT_EQ(rx.size(), 1u) << "SUBACK only";
  EXPECT_EQ(rx[0].suback().reasons, std::vector<uint8_t>{0});
}

TEST_F(CoreSub, SharedSubscriptionWithNoLocalIsProtocolError_MQTT_3_8_3_4) {
  Client& c = connected(mk5("shnl"));
  pr::Subscribe s;
  s.packet_id = 3;
  s.topics = {opt("$share/g/x", 0, /*no_local=*/true)};
  EXPECT_FALSE(send(c, s));
  auto rx = c.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].disconnect().reason, rc::kProtocolError);
}

TEST_F(CoreSub, UnsubscribeV5ReasonCodes_MQTT_3_11_3_1) {
  Client& c = connected(mk5("un5"));
  subscribe(c, "u/1");
  auto rx = unsubscribe(c, {"u/1", "u/none"});
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kUnsuback));
  EXPECT_EQ(rx[0].unsuback().reasons,
            (std::vector<uint8_t>{rc::kSuccess, rc::kNoSubscriptionExisted}));
  EXPECT_TRUE(c.s->subs.empty());
  Client& pub = connected("unp");
  publish(pub, "u/1", "m");
  EXPECT_TRUE(c.pubs().empty()) << "[MQTT-3.10.4-2] no new messages after UNSUBSCRIBE";
  EXPECT_EQ(broker().trie().count(), 0u);
}

TEST_F(CoreSub, UnsubscribeV311AndSharedFilter_MQTT_3_10_4_4) {
  Client& c = connected("un3");
  subscribe(c, "$share/g/u/#");
  subscribe(c, "u/2");
  auto rx = unsubscribe(c, {"$share/g/u/#", "u/2"});
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].unsuback().reasons.empty()) << "3.1.1 UNSUBACK has no payload";
  EXPECT_EQ(broker().trie().count(), 0u);
  Client& pub = connected("unp3");
  publish(pub, "u/2", "m");
  EXPECT_TRUE(c.pubs().empty());
}

TEST_F(CoreSub, InvalidSharedFilterRefusedOthersGranted_MQTT_4_8_2_2) {
  // Well formed as filters, not valid shared subscriptions: refused in the SUBACK.
  Client& v5 = connected(mk5("bad5"));
  auto rx = subscribe(v5, {sub_topic("ok/#", 1), sub_topic("$share/g", 0),
                           sub_topic("$share//t", 0), sub_topic("fine", 2)});
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].suback().reasons,
            (std::vector<uint8_t>{1, rc::kTopicFilterInvalid, rc::kTopicFilterInvalid, 2}));
  EXPECT_TRUE(v5.open());
  Client& v3 = connected("bad3");
  rx = subscribe(v3, {sub_topic("$share/g", 1), sub_topic("ok", 1)});
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].suback().reasons, (std::vector<uint8_t>{rc::kV3SubackFailure, 1}));
  EXPECT_EQ(broker().trie().count(), 3u);
}

TEST_F(CoreSub, MalformedFilterClosesAndNothingOfThePacketApplies_MQTT_4_7_1_1) {
  for (const char* bad : {"a/#/b", "x+", "a/b#", "#/a", ""}) {
    Client& v5 = connected(mk5(std::string("m5-") + bad));
    pr::Subscribe s;
    s.packet_id = 4;
    s.topics = {opt("good/t", 1), opt(bad, 1)};
    EXPECT_FALSE(send(v5, s)) << bad;
    auto rx = v5.take();
    ASSERT_EQ(rx.size(), 1u) << bad;
    EXPECT_EQ(rx[0].disconnect().reason, rc::kMalformedPacket) << bad;
    Client& v3 = connected(std::string("m3-") + bad);
    EXPECT_FALSE(send(v3, s)) << bad;
    EXPECT_TRUE(v3.take().empty()) << "3.1.1: closed without an answer";
  }
  EXPECT_EQ(broker().trie().count(), 0u) << "the good filter beside a bad one is not applied";
}

TEST_F(CoreSub, ResubscribeReplacesSubscription_MQTT_3_8_4_3) {
  Client& c = connected("re");
  subscribe(c, "re/x", 0);
  auto rx = subscribe(c, "re/x", 2);
  EXPECT_EQ(rx[0].suback().reasons, std::vector<uint8_t>{2});
  EXPECT_EQ(c.s->subs.size(), 1u);
  EXPECT_EQ(broker().trie().count(), 1u);
  Client& pub = connected("rep");
  publish(pub, "re/x", "m", 2);
  auto got = c.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 2);
}

TEST_F(CoreSub, SubackPacketIdAndOrder_MQTT_3_8_4_2) {
  Client& c = connected("order");
  pr::Subscribe s;
  s.packet_id = 4321;
  s.topics = {sub_topic("o/1", 2), sub_topic("o/2", 0), sub_topic("o/3", 1)};
  send(c, s);
  auto rx = c.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].suback().packet_id, 4321);
  EXPECT_EQ(rx[0].suback().reasons, (std::vector<uint8_t>{2, 0, 1}));
}


TEST_F(CoreSub, SharedMemberBackOnlineRejoinsRotation) {
  Client& a = connected(mk5("rja", false, 600));
  subscribe(a, "$share/g/rj", 0);
  Client& b = connected(mk5("rjb"));
  subscribe(b, "$share/g/rj", 0);
  drop(a);
  Client& pub = connected("rjp");
  for (int i = 0; i < 2; ++i) publish(pub, "rj", "x");
  EXPECT_EQ(b.pubs().size(), 2u) << "only the online member while a is away";
  Client& a2 = connected(mk5("rja", false, 600));
  for (int i = 0; i < 4; ++i) publish(pub, "rj", "y");
  EXPECT_EQ(a2.pubs().size(), 2u);
  EXPECT_EQ(b.pubs().size(), 2u);
}

// Each publisher remembers the route of the topic it published to last. That hint must
// follow every change: another topic, a new or removed subscription, and the route cache
// starting over (every 16384 topics) or growing (entries move).
TEST_F(CoreSub, PublisherRouteHintFollowsTopicsAndSubscriptionChanges) {
  Client& a = connected("hint-a");
  subscribe(a, "h/a");
  Client& b = connected("hint-b");
  subscribe(b, "h/b");
  Client& pub = connected("hint-pub");
  Client& other = connected("hint-other");
  publish(pub, "h/a", "1");
  publish(pub, "h/a", "2");
  publish(pub, "h/b", "3");
  publish(other, "h/b", "4");
  publish(pub, "h/a", "5");
  EXPECT_EQ(payloads(a.pubs()), (std::vector<std::string>{"1", "2", "5"}));
  EXPECT_EQ(payloads(b.pubs()), (std::vector<std::string>{"3", "4"}));

  Client& late = connected("hint-late");
  subscribe(late, "h/+");
  publish(pub, "h/a", "6");
  EXPECT_EQ(payloads(late.pubs()), std::vector<std::string>{"6"}) << "a new subscriber is seen";
  EXPECT_EQ(payloads(a.pubs()), std::vector<std::string>{"6"});
  unsubscribe(a, {"h/a"});
  publish(pub, "h/a", "7");
  EXPECT_TRUE(a.pubs().empty()) << "an unsubscribed one is not";
  EXPECT_EQ(payloads(late.pubs()), std::vector<std::string>{"7"});

  // Other topics fill the route cache past its size, which starts it over, and every new
  // topic moves its entries; the hint of "pub" must not point into the old ones.
  for (int i = 0; i < 17000; ++i) publish(other, "fill/" + std::to_string(i), "x");
  publish(pub, "h/a", "8");
  publish(pub, "h/b", "9");
  EXPECT_EQ(payloads(late.pubs()), (std::vector<std::string>{"8", "9"}));
  EXPECT_EQ(payloads(b.pubs()), std::vector<std::string>{"9"});
  EXPECT_TRUE(a.pubs().empty());
}

}  // namespace
}  // namespace petrel::broker::coretest
