// WorkerCore QoS flows: acknowledgements to publishers, QoS 2 exactly-once on both sides,
// downgrade to the granted QoS, in-flight windows (max_inflight_messages, v5 Receive
// Maximum), queue limits, congestion, and packet identifier allocation.
#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

using CoreQos = CoreTest;

TEST_F(CoreQos, Qos1PubackToPublisher_MQTT_4_3_2_2) {
  Client& sub = connected("s");
  subscribe(sub, "a", 1);
  Client& pub = connected("p");
  publish(pub, "a", "m", 1, false, 77);
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kPuback));
  EXPECT_EQ(rx[0].ack().packet_id, 77);
  EXPECT_EQ(rx[0].ack().reason, 0);
  EXPECT_EQ(stats().pub_received.get(), 1u);
}

TEST_F(CoreQos, V5PubackNoMatchingSubscribers0x10_MQTT_3_4_2_1) {
  Client& pub = connected(mk5("p5"));
  publish(pub, "nobody/listens", "m", 1, false, 5);
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().packet_id, 5);
  EXPECT_EQ(rx[0].ack().reason, rc::kNoMatchingSubscribers);
  Client& sub = connected("s5");
  subscribe(sub, "nobody/listens", 0);
  publish(pub, "nobody/listens", "m", 1, false, 6);
  rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().reason, 0);
  // QoS 2 gets the same information in PUBREC.
  publish(pub, "still/nobody", "m", 2, false, 7);
  rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kPubrec));
  EXPECT_EQ(rx[0].ack().reason, rc::kNoMatchingSubscribers);
}

TEST_F(CoreQos, Qos2PublisherFlowPubrecPubrelPubcomp_MQTT_4_3_3_2) {
  Client& sub = connected("s2");
  subscribe(sub, "b", 2);
  Client& pub = connected("p2");
  publish(pub, "b", "once", 2, false, 9);
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kPubrec));
  EXPECT_EQ(rx[0].ack().packet_id, 9);
  EXPECT_EQ(payloads(sub.pubs()), std::vector<std::string>{"once"});
  ack(pub, PacketType::kPubrel, 9);
  rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kPubcomp));
  EXPECT_EQ(rx[0].ack().packet_id, 9);
  EXPECT_TRUE(pub.s->qos2_in.empty());
}

TEST_F(CoreQos, Qos2DuplicateBeforePubrelNotDeliveredTwice_MQTT_4_3_3_10) {
  Client& sub = connected("s3");
  subscribe(sub, "c", 2);
  Client& pub = connected("p3");
  publish(pub, "c", "m1", 2, false, 11);
  Pub again;
  again.topic = "c";
  again.payload = "m1";
  again.qos = 2;
  again.dup = true;
  again.id = 11;
  publish(pub, again);
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_TRUE(rx[1].is(PacketType::kPubrec)) << "the duplicate is acknowledged again";
  EXPECT_EQ(rx[1].ack().packet_id, 11);
  EXPECT_EQ(sub.pubs().size(), 1u) << "delivered once";
  ack(pub, PacketType::kPubrel, 11);
  pub.take();
  // After PUBREL the identifier is free: a new message with it is a new message.
  publish(pub, "c", "m2", 2, false, 11);
  EXPECT_EQ(payloads(sub.pubs()), std::vector<std::string>{"m2"});
}

TEST_F(CoreQos, Qos2SubscriberFlow_MQTT_4_3_3_3_to_9) {
  Client& sub = connected(mk5("s4"));
  subscribe(sub, "d", 2);
  Client& pub = connected("p4");
  publish(pub, "d", "x", 2);
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 2);
  const uint16_t pid = got[0].packet_id;
  ASSERT_EQ(sub.s->inflight.size(), 1u);
  ack(sub, PacketType::kPubrec, pid);
  auto rx = sub.take();
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kPubrel));
  EXPECT_EQ(rx[0].ack().packet_id, pid);
  EXPECT_EQ(sub.s->inflight.size(), 1u) << "[MQTT-3.3.4-9] counts until PUBCOMP";
  ack(sub, PacketType::kPubcomp, pid);
  EXPECT_TRUE(sub.s->inflight.empty());
  // v5: a PUBREC for an unknown identifier gets PUBREL 0x92, a PUBREL gets PUBCOMP 0x92.
  ack(sub, PacketType::kPubrec, 999);
  ack(sub, PacketType::kPubrel, 998);
  rx = sub.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_TRUE(rx[0].is(PacketType::kPubrel));
  EXPECT_EQ(rx[0].ack().reason, rc::kPacketIdentifierNotFound);
  EXPECT_TRUE(rx[1].is(PacketType::kPubcomp));
  EXPECT_EQ(rx[1].ack().reason, rc::kPacketIdentifierNotFound);
}

TEST_F(CoreQos, DowngradeToGrantedQos_MQTT_3_8_4_6) {
  Client& s0 = connected("g0");
  subscribe(s0, "q", 0);
  Client& s1 = connected("g1");
  subscribe(s1, "q", 1);
  Client& s2 = connected("g2");
  subscribe(s2, "q", 2);
  Client& pub = connected("gp");
  publish(pub, "q", "two", 2);
  publish(pub, "q", "one", 1);
  auto r0 = s0.pubs(), r1 = s1.pubs(), r2 = s2.pubs();
  ASSERT_EQ(r0.size(), 2u);
  ASSERT_EQ(r1.size(), 2u);
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r0[0].qos, 0);
  EXPECT_EQ(r0[1].qos, 0);
  EXPECT_EQ(r1[0].qos, 1);
  EXPECT_EQ(r1[1].qos, 1);
  EXPECT_EQ(r2[0].qos, 2);
  EXPECT_EQ(r2[1].qos, 1) << "never above the published QoS";
}

TEST_F(CoreQos, MaxQosCapsGrantedQosAndRefusesHigherPublish_MQTT_3_2_2_11) {
  cfg.max_qos = 1;
  Client& c = connected(mk5("mq"));
  auto rx = subscribe(c, "m", 2);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].suback().reasons, std::vector<uint8_t>{1});
  EXPECT_FALSE(publish(c, "m", "x", 2));
  rx = c.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].disconnect().reason, rc::kQosNotSupported);
  EXPECT_TRUE(c.link.closed());
}

TEST_F(CoreQos, InflightWindowMaxInflightMessages) {
  cfg.max_inflight_messages = 2;
  Client& sub = connected("w");
  subscribe(sub, "w", 1);
  Client& pub = connected("wp");
  for (int i = 0; i < 5; ++i) publish(pub, "w", std::to_string(i), 1);
  auto got = sub.pubs();
  ASSERT_EQ(payloads(got), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(sub.s->queue.size(), 3u);
  ack(sub, PacketType::kPuback, got[0].packet_id);
  auto more = sub.pubs();
  ASSERT_EQ(payloads(more), std::vector<std::string>{"2"}) << "one ack frees one slot";
  ack(sub, PacketType::kPuback, got[1].packet_id);
  ack(sub, PacketType::kPuback, more[0].packet_id);
  EXPECT_EQ(payloads(sub.pubs()), (std::vector<std::string>{"3", "4"}));
  EXPECT_TRUE(sub.s->queue.empty());
  EXPECT_EQ(stats().pub_dropped.get(), 0u);
}

TEST_F(CoreQos, V5ReceiveMaximumLimitsOutbound_MQTT_3_3_4_9) {
  pr::Connect c = mk5("rm");
  c.props.receive_maximum = 1;
  Client& sub = connected(std::move(c));
  subscribe(sub, "r", 2);
  Client& pub = connected("rmp");
  publish(pub, "r", "a", 2);
  publish(pub, "r", "b", 1);
  auto got = sub.pubs();
  ASSERT_EQ(payloads(got), std::vector<std::string>{"a"});
  ack(sub, PacketType::kPubrec, got[0].packet_id);
  auto rx = sub.take();
  ASSERT_EQ(rx.size(), 1u) << "PUBREL only: the QoS 2 flow still occupies the window";
  EXPECT_TRUE(rx[0].is(PacketType::kPubrel));
  ack(sub, PacketType::kPubcomp, got[0].packet_id);
  EXPECT_EQ(payloads(sub.pubs()), std::vector<std::string>{"b"});
}

TEST_F(CoreQos, V5PubrecErrorEndsFlowAndFreesWindow_MQTT_4_3_3_4) {
  pr::Connect c = mk5("rej");
  c.props.receive_maximum = 1;
  Client& sub = connected(std::move(c));
  subscribe(sub, "r", 2);
  Client& pub = connected("rejp");
  publish(pub, "r", "a", 2);
  publish(pub, "r", "b", 2);
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  ack(sub, PacketType::kPubrec, got[0].packet_id, rc::kUnspecifiedError);
  auto rx = sub.take();
  ASSERT_EQ(rx.size(), 1u) << "no PUBREL after a failed PUBREC; the next message follows";
  ASSERT_TRUE(rx[0].is(PacketType::kPublish));
  EXPECT_EQ(rx[0].pub.payload, "b");
}

TEST_F(CoreQos, MaxQueuedMessagesDropsAndCounts) {
  cfg.max_inflight_messages = 1;
  cfg.max_queued_messages = 2;
  Client& sub = connected("mqm");
  subscribe(sub, "x", 1);
  Client& pub = connected("mqmp");
  for (int i = 0; i < 5; ++i) publish(pub, "x", std::to_string(i), 1);
  EXPECT_EQ(sub.s->inflight.size(), 1u);
  EXPECT_EQ(sub.s->queue.size(), 2u);
  EXPECT_EQ(stats().pub_dropped.get(), 2u);
  auto got = sub.pubs();
  ack(sub, PacketType::kPuback, got[0].packet_id);
  got = sub.pubs();
  ack(sub, PacketType::kPuback, got[0].packet_id);
  got = sub.pubs();
  EXPECT_EQ(payloads(got), std::vector<std::string>{"2"});
}

// Publishers are held back (Link::set_queue_pressure) at half of max_queued_messages,
// and let go at an eighth: well before the limit drops anything. With the default 1000
// the mark used to be 1024, above the limit, so overload dropped instead.
TEST_F(CoreQos, QueuePressureComesOnAtHalfTheLimitAndGoesAtAnEighth) {
  cfg.max_queued_messages = 1000;
  cfg.max_inflight_messages = 1;
  Client& sub = connected("qp");
  subscribe(sub, "x", 1);
  Client& pub = connected("qpp");
  publish(pub, "x", "0", 1);  // in flight
  for (int i = 1; i <= 500; ++i) publish(pub, "x", std::to_string(i), 1);
  EXPECT_EQ(sub.s->queue.size(), 500u);
  EXPECT_FALSE(sub.link.queue_pressure) << "500 queued: not over half yet";
  publish(pub, "x", "501", 1);
  EXPECT_TRUE(sub.link.queue_pressure) << "501 queued of 1000";
  EXPECT_EQ(stats().pub_dropped.get(), 0u);
  // Acknowledge one at a time until the queue is down to an eighth (125).
  while (sub.s->queue.size() > 126) {
    auto got = sub.pubs();
    ASSERT_EQ(got.size(), 1u);
    ack(sub, PacketType::kPuback, got[0].packet_id);
  }
  EXPECT_TRUE(sub.link.queue_pressure) << "126 queued";
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  ack(sub, PacketType::kPuback, got[0].packet_id);
  EXPECT_EQ(sub.s->queue.size(), 125u);
  EXPECT_FALSE(sub.link.queue_pressure) << "125 queued: let go";
}

TEST_F(CoreQos, QueuePressureFollowsMaxQueuedBytesToo) {
  cfg.max_queued_messages = 0;
  cfg.max_queued_bytes = 100;
  cfg.max_inflight_messages = 1;
  Client& sub = connected("qpb");
  subscribe(sub, "x", 1);
  Client& pub = connected("qpbp");
  publish(pub, "x", "in-flight", 1);
  for (int i = 0; i < 5; ++i) publish(pub, "x", "0123456789", 1);
  EXPECT_FALSE(sub.link.queue_pressure) << "50 bytes of 100";
  publish(pub, "x", "0123456789", 1);
  EXPECT_TRUE(sub.link.queue_pressure) << "60 bytes of 100";
  EXPECT_EQ(stats().pub_dropped.get(), 0u);
}

TEST_F(CoreQos, MaxQueuedBytesDropsAndCounts) {
  cfg.max_queued_messages = 0;  // unlimited count
  cfg.max_queued_bytes = 10;
  Client& sub = connected("mqb", Version::kV311, false);
  subscribe(sub, "x", 1);
  drop(sub);
  Client& pub = connected("mqbp");
  for (int i = 0; i < 4; ++i) publish(pub, "x", "4444", 1);
  EXPECT_EQ(stats().pub_dropped.get(), 2u) << "two 4-byte payloads fit in 10 bytes";
  Client& back = open(mk("mqb", Version::kV311, false));
  auto rx = back.take();
  EXPECT_EQ(rx.size(), 3u);  // CONNACK + 2
}

TEST_F(CoreQos, CongestionDropsQos0AndQueuesQos1) {
  Client& sub = connected("slow");
  subscribe(sub, "c", 1);
  Client& pub = connected("fast");
  // Far above the core's congestion mark (1 MiB when written, 4 MiB since ed57d6c).
  sub.link.pending = 64u << 20;
  publish(pub, "c", "q0", 0);
  publish(pub, "c", "q1", 1);
  EXPECT_TRUE(sub.take().empty());
  EXPECT_EQ(stats().pub_dropped.get(), 1u) << "QoS 0 dropped for a congested client";
  EXPECT_EQ(sub.s->queue.size(), 1u);
  core().on_drained(sub.s);
  EXPECT_TRUE(sub.take().empty()) << "still congested";
  sub.link.pending = 0;
  core().on_drained(sub.s);
  auto got = sub.pubs();
  ASSERT_EQ(payloads(got), std::vector<std::string>{"q1"});
  EXPECT_EQ(got[0].qos, 1);
  EXPECT_TRUE(sub.s->queue.empty());
}

TEST_F(CoreQos, IncomingQos2ReceiveMaximumExceeded0x93_MQTT_3_3_4_8) {
  cfg.max_inflight_messages = 2;  // our Receive Maximum in CONNACK
  Client& pub = connected(mk5("flood"));
  EXPECT_TRUE(publish(pub, "f", "1", 2, false, 1));
  EXPECT_TRUE(publish(pub, "f", "2", 2, false, 2));
  EXPECT_FALSE(publish(pub, "f", "3", 2, false, 3));
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 3u);
  ASSERT_TRUE(rx[2].is(PacketType::kDisconnect));
  EXPECT_EQ(rx[2].disconnect().reason, rc::kReceiveMaximumExceeded);
  EXPECT_TRUE(pub.link.closed());
}

TEST_F(CoreQos, IncomingQos2WithinReceiveMaximumAfterPubrel) {
  cfg.max_inflight_messages = 1;
  Client& pub = connected(mk5("steady"));
  for (uint16_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(publish(pub, "f", "x", 2, false, i));
    ASSERT_TRUE(ack(pub, PacketType::kPubrel, i));
  }
  EXPECT_TRUE(pub.open());
}

TEST_F(CoreQos, PubackForUnknownIdIgnored) {
  Client& c = connected("unk");
  EXPECT_TRUE(ack(c, PacketType::kPuback, 4242));
  EXPECT_TRUE(ack(c, PacketType::kPubcomp, 4243));
  EXPECT_TRUE(c.take().empty());
  EXPECT_TRUE(c.open());
}

// Delivers one QoS 1 message to sub and returns its packet identifier.
uint16_t deliver_one(CoreTest& t, Client& pub, Client& sub, const std::string& payload,
                     bool ack_it) {
  t.publish(pub, "ids", payload, 1, false, 1);
  pub.link.out_.clear();  // PUBACKs to the publisher do not matter here
  auto got = sub.pubs();
  if (got.size() != 1) {
    ADD_FAILURE() << "expected one PUBLISH, got " << got.size();
    return 0;
  }
  if (ack_it) t.ack(sub, PacketType::kPuback, got[0].packet_id);
  return got[0].packet_id;
}

TEST_F(CoreQos, PacketIdNotReusedWhileInflightAfterDroppedOversizedMessage_MQTT_2_2_1_4) {
  cfg.max_inflight_messages = 0;  // no broker limit
  pr::Connect c = mk5("pid");
  c.props.maximum_packet_size = 64;
  Client& sub = connected(std::move(c));
  subscribe(sub, "ids", 1);
  Client& pub = connected("pidp");
  const uint16_t held = deliver_one(*this, pub, sub, "held", false);
  // A message too large for the client is discarded [MQTT-3.1.2-25] ...
  publish(pub, "ids", std::string(200, 'x'), 1, false, 1);
  EXPECT_TRUE(sub.pubs().empty());
  // ... then the identifier space wraps while "held" is still unacknowledged.
  int reused = 0;
  for (int i = 0; i < 65536 && reused == 0; ++i) {
    if (deliver_one(*this, pub, sub, "m", true) == held) ++reused;
  }
  EXPECT_EQ(reused, 0) << "packet id " << held << " handed out while still in flight";
}

TEST_F(CoreQos, PacketIdNotReusedWhileTwoMessagesStayInflight_MQTT_2_2_1_4) {
  cfg.max_inflight_messages = 0;
  Client& sub = connected(mk5("pid2"));
  subscribe(sub, "ids", 1);
  Client& pub = connected("pid2p");
  // "first" holds id 1, "second" id 101; both stay unacknowledged while the identifier
  // space wraps (id 1 is skipped there), then "first" is released and delivery goes on
  // until id 101 comes round again.
  const uint16_t first = deliver_one(*this, pub, sub, "first", false);
  for (int i = 0; i < 99; ++i) deliver_one(*this, pub, sub, "m", true);
  const uint16_t second = deliver_one(*this, pub, sub, "second", false);
  int reused = 0;
  for (int i = 0; i < 65440; ++i) {
    const uint16_t id = deliver_one(*this, pub, sub, "m", true);
    if (id == first || id == second) ++reused;
  }
  ack(sub, PacketType::kPuback, first);
  for (int i = 0; i < 200; ++i) {
    if (deliver_one(*this, pub, sub, "m", true) == second) ++reused;
  }
  EXPECT_EQ(reused, 0) << "packet id " << second << " handed out while still in flight";
}


TEST_F(CoreQos, OutgoingDupSetOnlyForRetransmission_MQTT_3_3_1_3) {
  Client& a = connected("dupa");
  subscribe(a, "d", 1);
  Client& b = connected(mk5("dupb"));
  subscribe(b, "d", 1);
  Client& pub = connected("dupp");
  Pub p;
  p.topic = "d";
  p.payload = "again";
  p.qos = 1;
  p.dup = true;  // the publisher's retransmission
  p.id = 3;
  publish(pub, p);
  auto ga = a.pubs(), gb = b.pubs();
  ASSERT_EQ(ga.size(), 1u);
  ASSERT_EQ(gb.size(), 1u);
  EXPECT_FALSE(ga[0].dup);
  EXPECT_FALSE(gb[0].dup);
}


TEST_F(CoreQos, InflightWindowMaxInflightBytes) {
  // max_inflight_bytes (options_general.cpp, "supported"): outgoing QoS 1/2 bytes in flight
  // per client. With 6-byte payloads and a 10-byte limit at most two can be in flight
  // (Mosquitto admits a message while the total is still below the limit).
  cfg.max_inflight_messages = 0;
  cfg.max_inflight_bytes = 10;
  Client& sub = connected("wb");
  subscribe(sub, "wb", 1);
  Client& pub = connected("wbp");
  for (int i = 0; i < 4; ++i) publish(pub, "wb", "12345" + std::to_string(i), 1);
  auto got = sub.pubs();
  EXPECT_GE(got.size(), 1u);
  EXPECT_LE(got.size(), 2u) << "max_inflight_bytes has no effect";
  EXPECT_EQ(sub.s->queue.size(), 4u - got.size());
  // Acknowledging lets the rest through.
  size_t total = got.size();
  for (int round = 0; round < 4 && !got.empty(); ++round) {
    for (auto& p : got) ack(sub, PacketType::kPuback, p.packet_id);
    got = sub.pubs();
    total += got.size();
  }
  EXPECT_EQ(total, 4u);
}

// [MQTT-4.6.0-6]: a free slot in the in-flight window while messages wait in the session
// queue must not let a newly routed message jump the queue. Mosquitto 2.0.11 does exactly
// that (a message arriving when a slot is free goes out at once, ahead of the queued
// ones: "q1 500 messages, first wrong at 443" in a two-publisher stress run). In Petrel
// the window can have room while the queue is non-empty when the pump stopped for a
// congested socket that has since partly drained (on_drained comes only once the output
// is fully written), or when the queue's front waits for max_inflight_bytes.
TEST_F(CoreQos, NewMessageDoesNotOvertakeQueueWhenPumpStoppedForCongestion_MQTT_4_6_0_6) {
  cfg.max_inflight_messages = 2;
  Client& sub = connected("ovt");
  subscribe(sub, "o", 1);
  Client& pub = connected("ovtp");
  for (int i = 0; i < 4; ++i) publish(pub, "o", std::to_string(i), 1);
  auto first = sub.pubs();
  ASSERT_EQ(payloads(first), (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ(sub.s->queue.size(), 2u);
  sub.link.pending = 64u << 20;  // congested: the acknowledgement frees a slot, nothing moves
  ack(sub, PacketType::kPuback, first[0].packet_id);
  EXPECT_TRUE(sub.pubs().empty());
  ASSERT_EQ(sub.s->inflight.size(), 1u);
  ASSERT_EQ(sub.s->queue.size(), 2u);
  sub.link.pending = 1u << 20;  // partly written: no longer congested, not drained either
  publish(pub, "o", "4", 1);
  EXPECT_TRUE(sub.pubs().empty()) << "\"4\" went out ahead of the queued \"2\" and \"3\"";
  EXPECT_EQ(sub.s->queue.size(), 3u);
  sub.link.pending = 0;
  core().on_drained(sub.s);
  std::vector<RxPublish> all = first;
  for (int round = 0; round < 8 && all.size() < 5; ++round) {
    auto got = sub.pubs();
    for (auto& p : got) ack(sub, PacketType::kPuback, p.packet_id);
    all.insert(all.end(), got.begin(), got.end());
  }
  EXPECT_EQ(payloads(all), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].packet_id, all[i - 1].packet_id);
}

TEST_F(CoreQos, SmallMessageDoesNotOvertakeOneWaitingForInflightBytes_MQTT_4_6_0_6) {
  cfg.max_inflight_messages = 0;
  cfg.max_inflight_bytes = 10;
  Client& sub = connected("ovb");
  subscribe(sub, "o", 1);
  Client& pub = connected("ovbp");
  publish(pub, "o", "aaaaaa", 1);    // 6 bytes in flight
  publish(pub, "o", "bbbbbbbb", 1);  // 6 + 8 > 10: queued
  publish(pub, "o", "c", 1);         // 6 + 1 fits, but "bbbbbbbb" is waiting
  auto got = sub.pubs();
  ASSERT_EQ(payloads(got), std::vector<std::string>{"aaaaaa"});
  EXPECT_EQ(sub.s->queue.size(), 2u);
  ack(sub, PacketType::kPuback, got[0].packet_id);
  EXPECT_EQ(payloads(sub.pubs()), (std::vector<std::string>{"bbbbbbbb", "c"}));
}

TEST_F(CoreQos, UpgradeOutgoingQosDeliversAtTheSubscriptionQos) {
  Client& sub = connected("up-sub");
  subscribe(sub, "up/#", 2);
  Client& pub = connected("up-pub");
  publish(pub, "up/a", "zero", 0);
  auto rx = sub.pubs();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].qos, 0) << "by default never above the published QoS [MQTT-3.8.4-8]";
  cfg.upgrade_outgoing_qos = true;
  reconfigure();
  publish(pub, "up/a", "upgraded", 0, true);
  rx = sub.pubs();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].qos, 2);
  EXPECT_EQ(rx[0].payload, "upgraded");
  // and a retained message delivered on subscribe
  Client& late = connected("up-late");
  auto got = subscribe(late, "up/+", 1);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].pub.qos, 1);
}

}  // namespace
}  // namespace petrel::broker::coretest
