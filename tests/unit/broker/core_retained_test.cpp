// WorkerCore retained messages and message expiry: stored, replaced, cleared, delivered on
// subscribe, expiry honoured, remaining expiry interval forwarded.
#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

using CoreRetained = CoreTest;

TEST_F(CoreRetained, DeliveredOnSubscribeWithRetainSet_MQTT_3_3_1_6_and_8) {
  Client& pub = connected("rp");
  publish(pub, "home/temp", "21", 1, true);
  EXPECT_EQ(broker().retained().count(), 1u);
  Client& sub = connected("rs");
  auto rx = subscribe(sub, "home/+", 1);
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_TRUE(rx[0].is(PacketType::kSuback)) << "SUBACK comes first";
  ASSERT_TRUE(rx[1].is(PacketType::kPublish));
  EXPECT_EQ(rx[1].pub.topic, "home/temp");
  EXPECT_EQ(rx[1].pub.payload, "21");
  EXPECT_TRUE(rx[1].pub.retain);
  EXPECT_EQ(rx[1].pub.qos, 1);
  EXPECT_EQ(sub.s->inflight.size(), 1u) << "a QoS 1 retained delivery is a normal QoS 1 flow";
}

TEST_F(CoreRetained, StoredEvenWithoutSubscribers_MQTT_3_3_1_5) {
  Client& pub = connected(mk5("rp5"));
  publish(pub, "lonely", "x", 1, true);
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().reason, rc::kNoMatchingSubscribers);
  EXPECT_EQ(broker().retained().count(), 1u);
}

TEST_F(CoreRetained, ReplacedByNewerRetainedMessage_MQTT_3_3_1_5) {
  Client& pub = connected("rr");
  publish(pub, "k", "first", 0, true);
  publish(pub, "k", "second", 0, true);
  publish(pub, "k", "not retained", 0, false);
  EXPECT_EQ(broker().retained().count(), 1u);
  Client& sub = connected("rrs");
  auto rx = subscribe(sub, "k");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.payload, "second");
}

TEST_F(CoreRetained, EmptyPayloadClearsAndIsForwarded_MQTT_3_3_1_10_and_11) {
  Client& live = connected("live");
  subscribe(live, "gone");
  Client& pub = connected("rc");
  publish(pub, "gone", "value", 0, true);
  publish(pub, "gone", "", 0, true);
  EXPECT_EQ(broker().retained().count(), 0u);
  auto got = live.pubs();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].payload, "") << "the zero-byte message is still delivered normally";
  Client& late = connected("late");
  EXPECT_EQ(subscribe(late, "gone").size(), 1u) << "nothing retained any more";
}

TEST_F(CoreRetained, RetainedQosIsMinimumOfStoredAndGranted) {
  Client& pub = connected("rq");
  publish(pub, "q/2", "two", 2, true);
  publish(pub, "q/0", "zero", 0, true);
  Client& sub = connected("rqs");
  auto rx = subscribe(sub, "q/#", 1);
  ASSERT_EQ(rx.size(), 3u);
  for (size_t i = 1; i < rx.size(); ++i) {
    if (rx[i].pub.topic == "q/2") {
      EXPECT_EQ(rx[i].pub.qos, 1);
    } else {
      EXPECT_EQ(rx[i].pub.qos, 0);
    }
  }
}

TEST_F(CoreRetained, RetainedCarriesSubscriptionIdentifier_MQTT_3_8_2_1) {
  Client& pub = connected("ri");
  publish(pub, "sid/r", "m", 0, true);
  Client& sub = connected(mk5("ris"));
  auto rx = subscribe(sub, "sid/#", 0, 42u);
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.sub_ids, std::vector<uint32_t>{42});
}

TEST_F(CoreRetained, PropertiesKeptWithRetainedMessage_MQTT_3_3_2_17_and_18) {
  Client& pub = connected(mk5("rpp"));
  pr::Properties props;
  props.content_type = "application/json";
  props.user_properties = {{"src", "sensor"}};
  Pub p;
  p.topic = "cfg/x";
  p.payload = "{}";
  p.retain = true;
  p.fwd = fwd_props(props);
  publish(pub, p);
  Client& sub = connected(mk5("rps"));
  auto rx = subscribe(sub, "cfg/x");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.props.content_type, std::optional<std::string>("application/json"));
  EXPECT_EQ(rx[1].pub.props.user_properties, (pr::UserProperties{{"src", "sensor"}}));
}

TEST_F(CoreRetained, RetainedMessageExpires_MQTT_3_3_2_5) {
  Client& pub = connected(mk5("rx"));
  Pub p;
  p.topic = "exp/r";
  p.payload = "short-lived";
  p.retain = true;
  p.expiry = 10;
  publish(pub, p);
  ASSERT_EQ(broker().retained().count(), 1u);
  advance(10'000);
  Client& sub = connected(mk5("rxs"));
  EXPECT_EQ(subscribe(sub, "exp/#").size(), 1u) << "expired: not delivered";
  EXPECT_EQ(broker().retained().count(), 0u) << "and removed from the store";
}

TEST_F(CoreRetained, RemainingExpiryForwardedForRetained_MQTT_3_3_2_6) {
  Client& pub = connected(mk5("rem"));
  Pub p;
  p.topic = "exp/rem";
  p.payload = "m";
  p.retain = true;
  p.expiry = 10;
  publish(pub, p);
  advance(4'000);
  Client& sub = connected(mk5("rems"));
  auto rx = subscribe(sub, "exp/rem");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.expiry, std::optional<uint32_t>(6));
}

TEST_F(CoreRetained, RemainingExpiryForwardedLiveAndQueued_MQTT_3_3_2_6) {
  Client& live = connected(mk5("live5"));
  subscribe(live, "e/#", 1);
  Client& off = connected(mk5("off5", false, 3600));
  subscribe(off, "e/#", 1);
  drop(off);
  Client& pub = connected(mk5("ep"));
  Pub p;
  p.topic = "e/1";
  p.payload = "m";
  p.qos = 1;
  p.id = 1;
  p.expiry = 60;
  publish(pub, p);
  auto now = live.pubs();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].expiry, std::optional<uint32_t>(60)) << "no time waited yet";
  advance(20'000);
  Client& back = open(mk5("off5", false, 3600));
  auto rx = back.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.expiry, std::optional<uint32_t>(40)) << "60 s minus 20 s queued";
}

TEST_F(CoreRetained, ExpiredQueuedMessageNotDelivered_MQTT_3_3_2_5) {
  Client& off = connected(mk5("offx", false, 3600));
  subscribe(off, "e/#", 1);
  drop(off);
  Client& pub = connected(mk5("epx"));
  Pub p;
  p.topic = "e/2";
  p.payload = "stale";
  p.qos = 1;
  p.id = 1;
  p.expiry = 5;
  publish(pub, p);
  publish(pub, "e/3", "fresh", 1);
  advance(5'000);
  const uint64_t dropped = stats().pub_dropped.get();
  Client& back = open(mk5("offx", false, 3600));
  auto rx = back.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.payload, "fresh");
  EXPECT_EQ(stats().pub_dropped.get(), dropped + 1);
}

TEST_F(CoreRetained, V3SubscriberGetsNoExpiryPropertyButExpiryHonoured) {
  Client& off = connected("v3off", Version::kV311, false);
  subscribe(off, "e/#", 1);
  drop(off);
  Client& pub = connected(mk5("ep3"));
  Pub p;
  p.topic = "e/4";
  p.payload = "gone";
  p.qos = 1;
  p.id = 1;
  p.expiry = 1;
  publish(pub, p);
  advance(1'000);
  Client& back = open(mk("v3off", Version::kV311, false));
  EXPECT_EQ(back.take().size(), 1u) << "CONNACK only";
}

TEST_F(CoreRetained, RetainNotAvailableRejectsRetainedPublish_MQTT_3_2_2_14) {
  cfg.retain_available = false;
  Client& c = connected(mk5("nr"));
  EXPECT_FALSE(publish(c, "r", "x", 0, true));
  auto rx = c.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].disconnect().reason, rc::kRetainNotSupported);
  EXPECT_EQ(broker().retained().count(), 0u);
}

TEST_F(CoreRetained, RetainExpiryIntervalSweepsExpiredMessagesNobodyReads) {
  cfg.retain_expiry_interval = 1;  // minutes
  Client& pub = connected(mk5("sweep"));
  Pub p;
  p.topic = "tags/expiring";
  p.payload = "v";
  p.retain = true;
  p.expiry = 30;
  publish(pub, p);
  publish(pub, "tags/kept", "v", 0, true);
  advance(0);  // the first tick schedules the sweep a minute ahead
  EXPECT_EQ(broker().retained().count(), 2u);
  advance(31'000);
  EXPECT_EQ(broker().retained().count(), 2u) << "expired, but not swept before the interval";
  advance(30'000);
  EXPECT_EQ(broker().retained().count(), 1u) << "swept without anybody subscribing";
  Client& sub = connected("reader");
  auto rx = subscribe(sub, "tags/#", 0);
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.topic, "tags/kept");
}

TEST_F(CoreRetained, WithoutRetainExpiryIntervalExpiredMessagesStayUntilTouched) {
  Client& pub = connected(mk5("lazy"));
  Pub p;
  p.topic = "tags/expiring";
  p.payload = "v";
  p.retain = true;
  p.expiry = 1;
  publish(pub, p);
  advance(120'000);
  EXPECT_EQ(broker().retained().count(), 1u);
}

}  // namespace
}  // namespace petrel::broker::coretest
