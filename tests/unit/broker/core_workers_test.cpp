// Two WorkerCores joined by a FakeHub: cross-worker delivery happens at end of turn with
// one batch per destination worker (DESIGN.md rule 3), and keeps QoS, subscription
// identifiers, queues for offline sessions and shared-subscription fairness.
#include <set>

#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

class CoreWorkers : public CoreTest {
 public:
  CoreWorkers() { workers = 2; }
  // A connected client whose client id lives on worker w.
  Client& on(int w, const std::string& prefix, Version v = Version::kV311, bool clean = true) {
    pr::Connect c = mk(id_on(w, prefix), v, clean);
    if (v == Version::kV5 && !clean) c.props.session_expiry_interval = 600;
    Client& cl = connected(std::move(c));
    EXPECT_EQ(cl.worker, w);
    return cl;
  }
};

TEST_F(CoreWorkers, DeliveredToOtherWorkerAtEndOfTurn) {
  Client& sub = on(1, "sub");
  subscribe(sub, "x/#", 1);
  Client& pub = on(0, "pub");
  publish(pub, "x/1", "hello", 1);
  EXPECT_EQ(pub.take().size(), 1u) << "PUBACK at once";
  EXPECT_TRUE(sub.pubs().empty()) << "nothing before the end of the loop turn";
  EXPECT_TRUE(hub.sends.empty());
  end_turn();
  ASSERT_EQ(hub.sends.size(), 1u);
  EXPECT_EQ(hub.sends[0], (std::pair<int, size_t>{1, 1}));
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "hello");
  EXPECT_EQ(got[0].qos, 1);
  ack(sub, PacketType::kPuback, got[0].packet_id);
  EXPECT_TRUE(sub.s->inflight.empty());
}

TEST_F(CoreWorkers, OneBatchPerDestinationPerTurn) {
  std::vector<Client*> remote, local;
  for (int i = 0; i < 3; ++i) remote.push_back(&on(1, "r" + std::to_string(i) + "-"));
  for (int i = 0; i < 2; ++i) local.push_back(&on(0, "l" + std::to_string(i) + "-"));
  for (Client* c : remote) subscribe(*c, "fan/#");
  for (Client* c : local) subscribe(*c, "fan/#");
  Client& pub = on(0, "fanpub");
  for (int i = 0; i < 4; ++i) publish(pub, "fan/" + std::to_string(i), std::to_string(i));
  for (Client* c : local) EXPECT_EQ(c->pubs().size(), 4u) << "same-worker delivery is immediate";
  end_turn();
  ASSERT_EQ(hub.sends.size(), 1u) << "one post to worker 1 for the whole turn";
  EXPECT_EQ(hub.sends[0].first, 1);
  EXPECT_EQ(hub.sends[0].second, 12u);
  for (Client* c : remote)
    EXPECT_EQ(payloads(c->pubs()), (std::vector<std::string>{"0", "1", "2", "3"}));
  end_turn();
  EXPECT_EQ(hub.sends.size(), 1u) << "an idle turn posts nothing";
}

TEST_F(CoreWorkers, BothDirectionsInOneTurn) {
  Client& a = on(0, "a");
  Client& b = on(1, "b");
  subscribe(a, "to/a");
  subscribe(b, "to/b");
  publish(a, "to/b", "from a");
  publish(b, "to/a", "from b");
  end_turn();
  ASSERT_EQ(hub.sends.size(), 2u);
  std::set<int> dest{hub.sends[0].first, hub.sends[1].first};
  EXPECT_EQ(dest, (std::set<int>{0, 1}));
  EXPECT_EQ(payloads(a.pubs()), std::vector<std::string>{"from b"});
  EXPECT_EQ(payloads(b.pubs()), std::vector<std::string>{"from a"});
}

TEST_F(CoreWorkers, QosAndSubscriptionIdsCarriedAcross) {
  Client& sub = on(1, "ids", Version::kV5);
  subscribe(sub, "q/+", 1, 5u);
  subscribe(sub, "q/#", 0, 6u);
  Client& pub = on(0, "idp");
  publish(pub, "q/1", "m", 2);
  end_turn();
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
  std::set<uint32_t> ids(got[0].sub_ids.begin(), got[0].sub_ids.end());
  EXPECT_EQ(ids, (std::set<uint32_t>{5, 6}));
}

TEST_F(CoreWorkers, QueuedForOfflineSessionOnOtherWorker) {
  Client& sub = on(1, "offq", Version::kV311, false);
  subscribe(sub, "o", 1);
  const std::string id = sub.id;
  drop(sub);
  Client& pub = on(0, "offp");
  publish(pub, "o", "kept", 1);
  end_turn();
  Client& back = open(mk(id, Version::kV311, false));
  EXPECT_EQ(back.worker, 1);
  auto rx = back.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_TRUE(rx[0].connack().session_present);
  EXPECT_EQ(rx[1].pub.payload, "kept");
}

TEST_F(CoreWorkers, BatchForVanishedSessionIsIgnored) {
  hub.hold = true;
  Client& sub = on(1, "gone");
  subscribe(sub, "v", 1);
  Client& pub = on(0, "vp");
  publish(pub, "v", "late", 1);
  end_turn();
  ASSERT_EQ(hub.held.size(), 1u);
  drop(sub);  // the session ends before the batch arrives
  Client& reuse = on(1, "reuse");  // may take over the freed slot (new generation)
  hub.release();
  EXPECT_TRUE(reuse.pubs().empty());
  EXPECT_EQ(core(1).session_count(), 1u);
}

TEST_F(CoreWorkers, SharedSubscriptionAcrossWorkers) {
  Client& a = on(0, "sha", Version::kV5);
  Client& b = on(1, "shb", Version::kV5);
  subscribe(a, "$share/g/job", 1);
  subscribe(b, "$share/g/job", 1);
  Client& pub = on(0, "shp");
  for (int i = 0; i < 6; ++i) publish(pub, "job", std::to_string(i), 1);
  end_turn();
  auto ga = a.pubs(), gb = b.pubs();
  EXPECT_EQ(ga.size(), 3u);
  EXPECT_EQ(gb.size(), 3u);
  std::set<std::string> all;
  for (auto& p : ga) all.insert(p.payload);
  for (auto& p : gb) all.insert(p.payload);
  EXPECT_EQ(all.size(), 6u);
}

TEST_F(CoreWorkers, WillCrossesWorkers) {
  Client& w = on(0, "watch");
  subscribe(w, "will/#");
  pr::Connect c = mk(id_on(1, "dying"));
  c.will = pr::Will{};
  c.will->topic = "will/x";
  c.will->payload = "bye";
  Client& d = connected(std::move(c));
  ASSERT_EQ(d.worker, 1);
  drop(d);
  EXPECT_TRUE(w.pubs().empty());
  end_turn();
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye"});
}

TEST_F(CoreWorkers, RetainedStoreSharedByAllWorkers) {
  Client& pub = on(0, "rp");
  publish(pub, "shared/r", "v", 0, true);
  Client& sub = on(1, "rs");
  auto rx = subscribe(sub, "shared/#");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.payload, "v");
  EXPECT_TRUE(rx[1].pub.retain);
}

TEST_F(CoreWorkers, SameMessageEncodedPerSubscriberLayout) {
  // The destination worker encodes once per (version family, QoS) and patches packet ids:
  // every subscriber must still see its own packet id, retain flag and QoS.
  Client& a = on(1, "la", Version::kV311);
  Client& b = on(1, "lb", Version::kV311);
  Client& c = on(1, "lc", Version::kV5);
  Client& d = on(1, "ld", Version::kV5);
  subscribe(a, "enc", 1);
  subscribe(b, "enc", 1);
  subscribe(c, "enc", 0);
  pr::SubscribeTopic rap = sub_topic("enc", 1);
  rap.retain_as_published = true;
  subscribe(d, {rap});
  Client& pub = on(0, "encp");
  // Leave one unacknowledged message with b so its next packet id differs from a's.
  subscribe(b, "bump", 1);
  publish(pub, "bump", "b", 1);
  end_turn();
  b.pubs();
  publish(pub, "enc", "payload", 1, true);
  end_turn();
  auto ga = a.pubs(), gb = b.pubs(), gc = c.pubs(), gd = d.pubs();
  ASSERT_EQ(ga.size(), 1u);
  ASSERT_EQ(gb.size(), 1u);
  ASSERT_EQ(gc.size(), 1u);
  ASSERT_EQ(gd.size(), 1u);
  EXPECT_NE(ga[0].packet_id, gb[0].packet_id);
  EXPECT_EQ(ga[0].packet_id, a.s->inflight.front().packet_id);
  EXPECT_EQ(gb[0].packet_id, b.s->inflight.back().packet_id);
  EXPECT_EQ(gc[0].qos, 0);
  EXPECT_FALSE(ga[0].retain);
  EXPECT_TRUE(gd[0].retain);
  for (auto* g : {&ga, &gb, &gc, &gd}) EXPECT_EQ((*g)[0].payload, "payload");
}

// [MQTT-4.6.0-6] across workers: one publisher's messages reach a subscriber on another
// worker in publish order whether they go out at once, wait in its queue behind a full
// window, or arrive while a slot is free but older messages are still queued (the pump
// stopped for congestion). Mosquitto 2.0.11 sends such a late arrival first.
TEST_F(CoreWorkers, PublisherOrderKeptThroughBatchesAndQueue_MQTT_4_6_0_6) {
  cfg.max_inflight_messages = 2;
  Client& sub = on(1, "ords");
  subscribe(sub, "ord/#", 2);
  Client& p1 = on(0, "ordp1");  // QoS 1 on ord/q1, across workers
  Client& p2 = on(1, "ordp2");  // QoS 2 on ord/q2, same worker as the subscriber
  int n1 = 0, n2 = 0;
  auto pub1 = [&] { publish(p1, "ord/q1", std::to_string(n1++), 1); p1.take(); };
  auto pub2 = [&] {
    const uint16_t id = next_id_;
    publish(p2, "ord/q2", std::to_string(n2++), 2);
    ack(p2, PacketType::kPubrel, id);
    p2.take();
  };
  std::vector<RxPublish> got;
  std::vector<RxPublish> unacked;
  auto take = [&] {
    for (auto& r : sub.take()) {
      if (r.is(PacketType::kPublish)) {
        got.push_back(r.pub);
        unacked.push_back(r.pub);
      } else if (r.is(PacketType::kPubrel)) {
        ack(sub, PacketType::kPubcomp, r.ack().packet_id);
      }
    }
  };
  auto ack_oldest = [&] {
    take();
    if (unacked.empty()) return;
    const RxPublish m = unacked.front();
    unacked.erase(unacked.begin());
    ack(sub, m.qos == 1 ? PacketType::kPuback : PacketType::kPubrec, m.packet_id);
    take();
  };
  // Fill the window and the queue from both publishers within one turn.
  for (int i = 0; i < 3; ++i) { pub1(); pub2(); }
  end_turn();
  take();
  ASSERT_EQ(got.size(), 2u);
  // Congested: acknowledgements free slots but the queue stays put; then the socket
  // partly drains (not congested, no on_drained yet) while more messages arrive.
  sub.link.pending = 64u << 20;
  ack_oldest();
  pub1();
  pub2();
  end_turn();
  sub.link.pending = 1u << 20;
  pub1();
  pub2();
  end_turn();
  take();
  EXPECT_EQ(got.size(), 2u) << "nothing may overtake the queue";
  sub.link.pending = 0;
  core(1).on_drained(sub.s);
  for (int round = 0; round < 100 && (got.size() < size_t(n1 + n2) || !unacked.empty()); ++round) {
    ack_oldest();
    if (round % 3 == 0 && n1 < 12) { pub1(); end_turn(); }
    if (round % 4 == 0 && n2 < 12) pub2();
    take();
  }
  std::vector<int> q1, q2;
  for (auto& m : got) (m.topic == "ord/q1" ? q1 : q2).push_back(std::stoi(m.payload));
  std::vector<int> want1(n1), want2(n2);
  for (int i = 0; i < n1; ++i) want1[i] = i;
  for (int i = 0; i < n2; ++i) want2[i] = i;
  EXPECT_EQ(q1, want1);
  EXPECT_EQ(q2, want2);
  for (size_t i = 1; i < got.size(); ++i) EXPECT_GT(got[i].packet_id, got[i - 1].packet_id);
}

}  // namespace
}  // namespace petrel::broker::coretest
