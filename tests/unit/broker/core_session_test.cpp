// WorkerCore persistent sessions: messages queued while offline, re-sending in-flight
// PUBLISH/PUBREL on resume, and session expiry (v5 interval, v3 persistent_client_expiration).
#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

class CoreSession : public CoreTest {
 protected:
  // Reconnects with clean start 0; asserts session present and returns the packets after
  // the CONNACK.
  std::vector<Rx> reconnect(pr::Connect c, Client** out = nullptr) {
    Client& cl = open(std::move(c));
    auto rx = cl.take();
    if (out) *out = &cl;
    EXPECT_FALSE(rx.empty());
    if (rx.empty()) return rx;
    EXPECT_TRUE(rx[0].is(PacketType::kConnack));
    EXPECT_TRUE(rx[0].connack().session_present);
    rx.erase(rx.begin());
    return rx;
  }
};

TEST_F(CoreSession, OfflineQos1And2QueuedAndDeliveredOnResume_MQTT_3_1_2_4) {
  Client& sub = connected("sub", Version::kV311, false);
  subscribe(sub, "q/#", 2);
  drop(sub);
  Client& pub = connected("pub");
  publish(pub, "q/1", "one", 1);
  publish(pub, "q/2", "two", 2);
  publish(pub, "q/0", "zero", 0);  // QoS 0 is not queued by default
  ASSERT_EQ(core().session_count(), 2u);

  Client* again = nullptr;
  auto rx = reconnect(mk("sub", Version::kV311, false), &again);
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0].pub.payload, "one");
  EXPECT_EQ(rx[0].pub.qos, 1);
  EXPECT_FALSE(rx[0].pub.dup) << "first transmission";
  EXPECT_EQ(rx[1].pub.payload, "two");
  EXPECT_EQ(rx[1].pub.qos, 2);
  EXPECT_NE(rx[0].pub.packet_id, 0);
  EXPECT_NE(rx[0].pub.packet_id, rx[1].pub.packet_id);
}

TEST_F(CoreSession, Qos0QueuedOfflineOnlyWithQueueQos0Messages) {
  cfg.queue_qos0_messages = true;
  Client& sub = connected("sub0", Version::kV311, false);
  subscribe(sub, "z", 1);
  drop(sub);
  Client& pub = connected("pub0");
  publish(pub, "z", "q0", 0);
  auto rx = reconnect(mk("sub0", Version::kV311, false));
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].pub.payload, "q0");
  EXPECT_EQ(rx[0].pub.qos, 0);
}

TEST_F(CoreSession, InflightResentWithDupAndSamePacketIds_MQTT_4_4_0_1) {
  Client& sub = connected("inf", Version::kV311, false);
  subscribe(sub, "i/#", 2);
  Client& pub = connected("ipub");
  publish(pub, "i/1", "x", 1);
  publish(pub, "i/2", "y", 2);
  auto first = sub.pubs();
  ASSERT_EQ(first.size(), 2u);
  drop(sub);  // neither acknowledged

  Client* s2 = nullptr;
  auto rx = reconnect(mk("inf", Version::kV311, false), &s2);
  ASSERT_EQ(rx.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(rx[i].is(PacketType::kPublish));
    EXPECT_TRUE(rx[i].pub.dup) << "[MQTT-3.3.1-1] re-delivery sets DUP";
    EXPECT_EQ(rx[i].pub.packet_id, first[i].packet_id) << "original packet identifier";
    EXPECT_EQ(rx[i].pub.payload, first[i].payload);
    EXPECT_EQ(rx[i].pub.qos, first[i].qos);
  }
  // Completing both flows empties the in-flight window.
  ack(*s2, PacketType::kPuback, first[0].packet_id);
  ack(*s2, PacketType::kPubrec, first[1].packet_id);
  auto rel = s2->take();
  ASSERT_EQ(rel.size(), 1u);
  ASSERT_TRUE(rel[0].is(PacketType::kPubrel));
  EXPECT_EQ(rel[0].ack().packet_id, first[1].packet_id);
  ack(*s2, PacketType::kPubcomp, first[1].packet_id);
  EXPECT_TRUE(s2->s->inflight.empty());
}

TEST_F(CoreSession, PubrelResentForReleasedQos2_MQTT_4_4_0_1) {
  Client& sub = connected(mk5("rel", false, 300));
  subscribe(sub, "r", 2);
  Client& pub = connected("rpub");
  publish(pub, "r", "m", 2);
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  const uint16_t pid = got[0].packet_id;
  ack(sub, PacketType::kPubrec, pid);
  auto rel = sub.take();
  ASSERT_EQ(rel.size(), 1u);
  EXPECT_TRUE(rel[0].is(PacketType::kPubrel));
  drop(sub);

  Client* s2 = nullptr;
  auto rx = reconnect(mk5("rel", false, 300), &s2);
  ASSERT_EQ(rx.size(), 1u) << "only the PUBREL, not the PUBLISH again";
  ASSERT_TRUE(rx[0].is(PacketType::kPubrel));
  EXPECT_EQ(rx[0].ack().packet_id, pid);
  ack(*s2, PacketType::kPubcomp, pid);
  EXPECT_TRUE(s2->s->inflight.empty());
}

TEST_F(CoreSession, ResumeResendsInflightBeforeQueued_MQTT_4_6_0_6) {
  cfg.max_inflight_messages = 1;
  Client& sub = connected("ord", Version::kV311, false);
  subscribe(sub, "o", 1);
  Client& pub = connected("opub");
  publish(pub, "o", "1", 1);
  publish(pub, "o", "2", 1);  // window full: queued
  auto got = sub.pubs();
  ASSERT_EQ(payloads(got), std::vector<std::string>{"1"});
  drop(sub);
  publish(pub, "o", "3", 1);

  Client* s2 = nullptr;
  auto rx = reconnect(mk("ord", Version::kV311, false), &s2);
  ASSERT_EQ(rx.size(), 1u) << "window of 1: only the in-flight message";
  EXPECT_EQ(rx[0].pub.payload, "1");
  EXPECT_TRUE(rx[0].pub.dup);
  ack(*s2, PacketType::kPuback, rx[0].pub.packet_id);
  auto n2 = s2->pubs();
  ASSERT_EQ(payloads(n2), std::vector<std::string>{"2"});
  EXPECT_FALSE(n2[0].dup);
  ack(*s2, PacketType::kPuback, n2[0].packet_id);
  EXPECT_EQ(payloads(s2->pubs()), std::vector<std::string>{"3"});
}

TEST_F(CoreSession, CleanSessionDiscardsQueue_MQTT_3_1_2_6) {
  Client& sub = connected("cs", Version::kV311, false);
  subscribe(sub, "c", 1);
  drop(sub);
  Client& pub = connected("cpub");
  publish(pub, "c", "lost", 1);
  Client& again = open(mk("cs", Version::kV311, true));
  auto rx = again.take();
  ASSERT_EQ(rx.size(), 1u) << "nothing after the CONNACK";
  EXPECT_FALSE(rx[0].connack().session_present);
}

TEST_F(CoreSession, V5SessionExpiryInterval_MQTT_3_1_2_23) {
  Client& sub = connected(mk5("exp", false, 10));
  subscribe(sub, "e/#", 1);
  EXPECT_EQ(broker().trie().count(), 1u);
  drop(sub);
  Client& pub = connected("epub");
  publish(pub, "e/1", "queued", 1);

  advance(9'999);
  EXPECT_EQ(core().session_count(), 2u) << "not yet expired";
  EXPECT_EQ(stats().clients_expired.get(), 0u);
  advance(1);
  EXPECT_EQ(core().session_count(), 1u) << "expired after 10 s offline";
  EXPECT_EQ(stats().clients_expired.get(), 1u);
  EXPECT_EQ(stats().sessions.get(), 1u);
  EXPECT_EQ(broker().trie().count(), 0u) << "its subscriptions are gone";
  publish(pub, "e/1", "nobody", 1);
  auto ack1 = pub.take();
  ASSERT_EQ(ack1.size(), 2u);

  Client& back = open(mk5("exp", false, 10));
  auto rx = back.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_FALSE(rx[0].connack().session_present);
}

TEST_F(CoreSession, V5SessionExpiryAbsentEndsSessionAtDisconnect) {
  Client& c = connected(mk5("noexp", false));  // clean start 0 but no expiry interval
  subscribe(c, "n", 1);
  drop(c);
  EXPECT_EQ(core().session_count(), 0u);
  EXPECT_EQ(broker().trie().count(), 0u);
  EXPECT_EQ(stats().clients_expired.get(), 0u) << "ended, not expired";
}

TEST_F(CoreSession, V5SessionExpiryMaxNeverExpires) {
  Client& c = connected(mk5("forever", false, 0xFFFFFFFFu));
  drop(c);
  advance(int64_t(50) * 24 * 3600 * 1000);
  EXPECT_EQ(core().session_count(), 1u);
}

TEST_F(CoreSession, ReconnectRestartsExpiry) {
  Client& a = connected(mk5("again", false, 10));
  drop(a);
  advance(8'000);
  Client& b = connected(mk5("again", false, 10));
  advance(8'000);
  EXPECT_EQ(core().session_count(), 1u) << "online sessions never expire";
  drop(b);
  advance(8'000);
  EXPECT_EQ(core().session_count(), 1u) << "the interval restarts at the new disconnect";
  advance(2'000);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreSession, V3PersistentClientExpiration) {
  cfg.persistent_client_expiration = 3600;
  Client& c = connected("v3exp", Version::kV311, false);
  subscribe(c, "p", 1);
  drop(c);
  advance(3'599'000);
  EXPECT_EQ(core().session_count(), 1u);
  advance(1'000);
  EXPECT_EQ(core().session_count(), 0u);
  EXPECT_EQ(stats().clients_expired.get(), 1u);
}

TEST_F(CoreSession, V3PersistentSessionsNeverExpireByDefault) {
  Client& c = connected("v3keep", Version::kV311, false);
  drop(c);
  advance(int64_t(400) * 24 * 3600 * 1000);
  EXPECT_EQ(core().session_count(), 1u);
}

TEST_F(CoreSession, DisconnectSessionExpiryZeroEndsSession) {
  Client& c = connected(mk5("dz", false, 600));
  subscribe(c, "d", 1);
  EXPECT_FALSE(disconnect(c, 0, 0u));
  EXPECT_TRUE(c.link.closed());
  EXPECT_EQ(core().session_count(), 0u);
  EXPECT_EQ(broker().trie().count(), 0u);
}

TEST_F(CoreSession, DisconnectRaisesSessionExpiry) {
  Client& c = connected(mk5("draise", false, 5));
  EXPECT_FALSE(disconnect(c, 0, 100u));
  advance(50'000);
  EXPECT_EQ(core().session_count(), 1u);
  advance(50'000);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreSession, DisconnectSetsExpiryAfterZeroIsProtocolError_MQTT_3_14_2_2) {
  Client& c = connected(mk5("dbad", false));  // CONNECT expiry 0
  EXPECT_FALSE(disconnect(c, 0, 60u));
  auto rx = c.take();
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kDisconnect));
  EXPECT_EQ(rx[0].disconnect().reason, rc::kProtocolError);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreSession, QueuedMessagesFreedWithExpiredSession) {
  // Run under ASan/LSan: the queued and in-flight messages must be released.
  Client& sub = connected(mk5("free", false, 1));
  subscribe(sub, "f", 1);
  Client& pub = connected("fpub");
  publish(pub, "f", "inflight", 1);
  drop(sub);
  for (int i = 0; i < 5; ++i) publish(pub, "f", "queued", 1);
  advance(1'000);
  EXPECT_EQ(core().session_count(), 1u);
}

TEST_F(CoreSession, ManySessionsComeAndGo) {
  // The client-id index under churn: clean sessions come and go while persistent ones
  // stay findable.
  for (int i = 0; i < 40; ++i) {
    Client& p = connected("keep-" + std::to_string(i), Version::kV311, false);
    drop(p);
  }
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      Client& c = connected("tmp-" + std::to_string(round) + "-" + std::to_string(i));
      drop(c);
    }
  }
  EXPECT_EQ(core().session_count(), 40u);
  for (int i = 0; i < 40; ++i) {
    Client& p = open(mk("keep-" + std::to_string(i), Version::kV311, false));
    auto rx = p.take();
    ASSERT_EQ(rx.size(), 1u);
    EXPECT_TRUE(rx[0].connack().session_present) << "keep-" << i;
  }
}


TEST_F(CoreSession, TakeoverResumesInflightWithDup_MQTT_4_4_0_1) {
  Client& a = connected(mk5("tk", false, 300));
  subscribe(a, "tk", 1);
  Client& pub = connected("tkp");
  publish(pub, "tk", "unacked", 1);
  auto first = a.pubs();
  ASSERT_EQ(first.size(), 1u);
  Client* b = nullptr;
  auto rx = reconnect(mk5("tk", false, 300), &b);
  EXPECT_TRUE(a.link.closed());
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].pub.dup);
  EXPECT_EQ(rx[0].pub.packet_id, first[0].packet_id);
  EXPECT_EQ(rx[0].pub.payload, "unacked");
}


TEST_F(CoreSession, ExpiredSessionNotResumedBeforeNextTick) {
  // Timers run on tick(); a CONNECT that arrives after the expiry deadline but before
  // the next tick must not resume the expired session.
  Client& a = connected(mk5("late", false, 10));
  subscribe(a, "late", 1);
  drop(a);
  clock.advance_ms(10'500);  // no tick yet
  Client& b = open(mk5("late", false, 10));
  auto rx = b.take();
  ASSERT_FALSE(rx.empty());
  EXPECT_FALSE(rx[0].connack().session_present) << "session expired 0.5 s ago";
}

}  // namespace
}  // namespace petrel::broker::coretest
