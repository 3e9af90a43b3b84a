// Per-topic order [MQTT-4.6.0-6] under seeded random interleavings: a QoS 1 and a QoS 2
// publisher (each on either worker) feed one subscriber while the test interleaves loop
// turns, held cross-worker batches, acknowledgements (mostly oldest first, sometimes any),
// a congested or partly drained socket, on_drained calls and small in-flight windows (by
// count and by bytes). Every message must arrive exactly once, without DUP, in its
// publisher's order. Deterministic: std::mt19937's sequence is fixed by the standard.
#include <map>
#include <random>

#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

class CoreOrder : public CoreTest {
 public:
  CoreOrder() { workers = 2; }
  // A fresh broker and cores for the next seed (the fixture holds one at a time).
  void restart() {
    clients_.clear();
    hub.cores.clear();
    hub.sends.clear();
    hub.held.clear();
    hub.hold = false;
    cores_.clear();
    broker_.reset();
    next_id_ = 100;
    start();
  }
};

TEST_F(CoreOrder, RandomInterleavingsKeepPublisherOrder_MQTT_4_6_0_6) {
  constexpr int kSeeds = 400;
  constexpr int kPerPublisher = 40;
  for (int seed = 0; seed < kSeeds && !HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(static_cast<uint32_t>(seed));
    auto pick = [&](uint32_t n) { return static_cast<int>(rng() % n); };
    cfg.max_queued_messages = 0;
    cfg.max_inflight_messages = static_cast<uint16_t>(1 + pick(4));
    cfg.max_inflight_bytes = pick(3) == 0 ? 3 : 0;  // payloads are 1-2 bytes
    restart();
    const int sub_worker = pick(2);
    const Version sub_version = pick(2) ? Version::kV5 : Version::kV311;
    Client& sub = connected(mk(id_on(sub_worker, "sub"), sub_version));
    subscribe(sub, "t/#", 2);
    Client& p1 = connected(mk(id_on(pick(2), "pa")));
    Client& p2 = connected(mk(id_on(pick(2), "pb")));

    int n1 = 0, n2 = 0;
    std::map<std::string, std::vector<int>> got;
    std::vector<std::pair<uint16_t, uint8_t>> unacked;  // (packet id, QoS) not yet acknowledged
    std::vector<uint16_t> pubcomp_due;
    auto take = [&] {
      for (auto& r : sub.take()) {
        if (r.is(PacketType::kPublish)) {
          EXPECT_FALSE(r.pub.dup) << "nothing is re-sent on a live connection";
          got[r.pub.topic].push_back(std::stoi(r.pub.payload));
          unacked.push_back({r.pub.packet_id, r.pub.qos});
        } else if (r.is(PacketType::kPubrel)) {
          pubcomp_due.push_back(r.ack().packet_id);
        }
      }
    };
    auto ack_one = [&](size_t i) {
      auto [id, qos] = unacked[i];
      unacked.erase(unacked.begin() + static_cast<std::ptrdiff_t>(i));
      ack(sub, qos == 1 ? PacketType::kPuback : PacketType::kPubrec, id);
    };
    auto publish2 = [&] {
      const uint16_t id = next_id_;
      publish(p2, "t/q2", std::to_string(n2++), 2);
      ack(p2, PacketType::kPubrel, id);
      p2.take();
    };

    for (int step = 0; step < 600; ++step) {
      switch (pick(9)) {
        case 0:
          if (n1 < kPerPublisher) { publish(p1, "t/q1", std::to_string(n1++), 1); p1.take(); }
          break;
        case 1:
          if (n2 < kPerPublisher) publish2();
          break;
        case 2: end_turn(); break;
        case 3:
          hub.hold = !hub.hold;
          if (!hub.hold) hub.release();
          break;
        case 4: take(); break;
        case 5:
          if (!unacked.empty()) ack_one(pick(4) == 0 ? static_cast<size_t>(pick(static_cast<uint32_t>(unacked.size()))) : 0);
          break;
        case 6:
          if (!pubcomp_due.empty()) {
            ack(sub, PacketType::kPubcomp, pubcomp_due.front());
            pubcomp_due.erase(pubcomp_due.begin());
          }
          break;
        case 7: {
          static constexpr size_t kPending[] = {0, 1u << 20, 64u << 20};  // drained, partly, congested
          sub.link.pending = kPending[pick(3)];
          break;
        }
        case 8: core(sub_worker).on_drained(sub.s); break;
      }
      ASSERT_TRUE(sub.open() && p1.open() && p2.open());
    }
    // Settle: everything still queued, held or unacknowledged goes through.
    while (n1 < kPerPublisher) { publish(p1, "t/q1", std::to_string(n1++), 1); p1.take(); }
    while (n2 < kPerPublisher) publish2();
    sub.link.pending = 0;
    hub.hold = false;
    hub.release();
    for (int round = 0; round < 1000; ++round) {
      end_turn();
      core(sub_worker).on_drained(sub.s);
      take();
      if (unacked.empty() && pubcomp_due.empty() && sub.s->queue.empty() && sub.s->inflight.empty()) break;
      while (!unacked.empty()) ack_one(0);
      take();
      for (uint16_t id : pubcomp_due) ack(sub, PacketType::kPubcomp, id);
      pubcomp_due.clear();
    }
    std::vector<int> want(kPerPublisher);
    for (int i = 0; i < kPerPublisher; ++i) want[i] = i;
    EXPECT_EQ(got["t/q1"], want);
    EXPECT_EQ(got["t/q2"], want);
  }
}

}  // namespace
}  // namespace petrel::broker::coretest
