// WorkerCore: a subscription's retained messages go out in bounded chunks as the
// connection drains (issue 16: a QoS 0 subscription to 200,000 retained messages used to
// stop at the 4 MiB congestion limit, the rest dropped). The FakeLink counts untaken
// output as unwritten (out_is_pending); take() is the socket draining and on_drained is
// what net::Connection calls once it has written everything.
#include <map>
#include <set>

#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

// The chunk bounds of core_route.cpp, as the tests check them.
constexpr size_t kChunkMessages = 1000;
constexpr size_t kChunkBytes = 256u << 10;

class CoreRetainedChunks : public CoreTest {
 public:
  static std::string topic(const std::string& prefix, int i) {
    return prefix + "/a" + std::to_string(i / 100) + "/t" + std::to_string(i);
  }
  static std::string value(const std::string& t, size_t pad) { return t + "=" + std::string(pad, 'v'); }

  // n retained messages under prefix, published at qos by one client.
  void retain_many(const std::string& prefix, int n, size_t pad = 100, uint8_t qos = 0) {
    Client& p = connected("pub-" + prefix);
    for (int i = 0; i < n; ++i) {
      const std::string t = topic(prefix, i);
      publish(p, t, value(t, pad), qos, true);
    }
    p.take();
  }

  // One chunk as the client receives it: its packets and its size in bytes.
  struct Chunk {
    std::vector<Rx> rx;
    size_t bytes = 0;
  };
  static Chunk take_chunk(Client& c) {
    Chunk ch;
    ch.bytes = c.link.out_.size();
    ch.rx = c.take();
    return ch;
  }
  // Drains c (on_drained after each chunk is taken) until a drain brings nothing more;
  // every chunk is checked against the bounds.
  std::vector<Chunk> drain_all(Client& c, size_t max_chunks = 100000) {
    std::vector<Chunk> chunks;
    for (size_t i = 0; i < max_chunks; ++i) {
      core(c.worker).on_drained(c.s);
      Chunk ch = take_chunk(c);
      if (ch.rx.empty()) break;
      EXPECT_LE(ch.rx.size(), kChunkMessages);
      EXPECT_LT(ch.bytes, kChunkBytes + 4096) << "one message past the byte bound at most";
      chunks.push_back(std::move(ch));
    }
    return chunks;
  }
  static void count(const std::vector<Rx>& rx, std::map<std::string, int>& seen) {
    for (const auto& r : rx)
      if (r.is(PacketType::kPublish)) ++seen[r.pub.topic];
  }
};

TEST_F(CoreRetainedChunks, EveryRetainedMessageExactlyOnceInBoundedChunksAsTheLinkDrains) {
  const int n = 5000;
  retain_many("plant", n);
  Client& sub = connected("dash");
  sub.link.out_is_pending = true;
  auto rx = subscribe(sub, "plant/#", 0);
  ASSERT_FALSE(rx.empty());
  ASSERT_TRUE(rx[0].is(PacketType::kSuback)) << "SUBACK first";
  EXPECT_EQ(rx.size(), 1 + kChunkMessages) << "the first chunk goes with the SUBACK";
  std::map<std::string, int> seen;
  count(rx, seen);

  // The next chunk only when the link reports its output drained, and only if it is low
  // then: a drain report while the socket is backed up again (output written to it since)
  // sends nothing, nor does a second report before the chunk it brought was written.
  sub.link.pending = 1u << 20;
  core().on_drained(sub.s);
  EXPECT_EQ(sub.take().size(), 0u);
  sub.link.pending = 0;
  core().on_drained(sub.s);
  const size_t chunk2 = sub.link.out_.size();
  EXPECT_GT(chunk2, 0u);
  core().on_drained(sub.s);
  EXPECT_EQ(sub.link.out_.size(), chunk2) << "the second chunk is still unwritten";
  rx = sub.take();
  EXPECT_EQ(rx.size(), kChunkMessages);
  count(rx, seen);

  auto chunks = drain_all(sub);
  EXPECT_EQ(chunks.size(), size_t(n) / kChunkMessages - 2);
  for (const auto& ch : chunks) {
    count(ch.rx, seen);
    for (const auto& r : ch.rx) {
      ASSERT_TRUE(r.is(PacketType::kPublish));
      EXPECT_TRUE(r.pub.retain);
      EXPECT_EQ(r.pub.qos, 0);
      EXPECT_EQ(r.pub.payload, value(r.pub.topic, 100));
    }
  }
  ASSERT_EQ(seen.size(), size_t(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(seen[topic("plant", i)], 1) << topic("plant", i);
  EXPECT_TRUE(sub.s->retained_pending.empty());
  EXPECT_EQ(stats().pub_dropped.get(), 0u);
  core().on_drained(sub.s);
  EXPECT_TRUE(sub.take().empty()) << "nothing after the last";
}

TEST_F(CoreRetainedChunks, LargeMessagesAreBoundedByBytes) {
  const int n = 600;
  retain_many("big", n, 4000);  // about 4 KiB each: 64 fit in a chunk
  Client& sub = connected("dash");
  sub.link.out_is_pending = true;
  auto rx = subscribe(sub, "big/#", 0);
  std::map<std::string, int> seen;
  count(rx, seen);
  EXPECT_LE(seen.size(), kChunkBytes / 4000 + 1) << "the first chunk is bounded by bytes";
  auto chunks = drain_all(sub);
  ASSERT_GE(chunks.size(), size_t(n) * 4000 / kChunkBytes - 1);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i + 1 < chunks.size()) {
      EXPECT_GE(chunks[i].bytes, kChunkBytes) << "full chunks but for the last";
    }
    count(chunks[i].rx, seen);
  }
  EXPECT_EQ(seen.size(), size_t(n));
  for (const auto& [t, k] : seen) EXPECT_EQ(k, 1) << t;
}

TEST_F(CoreRetainedChunks, WithoutDrainReportsNothingMoreIsSent) {
  retain_many("plant", 3000);
  Client& sub = connected("dash");
  sub.link.out_is_pending = true;
  auto rx = subscribe(sub, "plant/#", 0);
  EXPECT_EQ(rx.size(), 1 + kChunkMessages);
  // Other traffic of the connection goes on meanwhile; it brings no retained chunk.
  Client& pub = connected("live");
  publish(pub, "plant/live", "now", 0, false);
  auto live = sub.take();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].pub.topic, "plant/live");
  EXPECT_FALSE(live[0].pub.retain);
  ASSERT_EQ(sub.s->retained_pending.size(), 1u);
  EXPECT_EQ(sub.s->retained_pending[0].left.size(), 2000u) << "the rest waits";
}

TEST_F(CoreRetainedChunks, DisconnectMidDeliveryFreesTheRest) {
  retain_many("plant", 5000);
  // A persistent session, so the Session outlives its connection and can be inspected.
  Client& sub = connected(mk5("dash", false, 300));
  sub.link.out_is_pending = true;
  subscribe(sub, "plant/#", 0);
  Session* s = sub.s;
  ASSERT_EQ(s->retained_pending.size(), 1u);
  EXPECT_EQ(s->retained_pending[0].left.size(), 4000u);
  drop(sub);
  EXPECT_TRUE(s->retained_pending.empty());
  EXPECT_EQ(s->retained_pending.capacity(), 0u) << "freed, not just cleared";
  // The resumed session is not sent the rest (retained messages are sent on SUBSCRIBE).
  Client& again = connected(mk5("dash", false, 300));
  ASSERT_EQ(again.s, s);
  core().on_drained(again.s);
  EXPECT_TRUE(again.take().empty());

  // A clean session simply goes, list and all (ASan checks the rest).
  Client& clean = connected("clean");
  clean.link.out_is_pending = true;
  subscribe(clean, "plant/#", 0);
  ASSERT_EQ(clean.s->retained_pending.size(), 1u);
  drop(clean);
  EXPECT_EQ(broker().retained().count(), 5000u);
}

TEST_F(CoreRetainedChunks, TwoSubscriptionsInARowBothComplete) {
  retain_many("a", 2500);
  retain_many("b", 2500);
  Client& sub = connected(mk5("dash"));
  sub.link.out_is_pending = true;
  auto rx = subscribe(sub, "a/#", 0, 7);
  ASSERT_TRUE(rx[0].is(PacketType::kSuback));
  std::map<std::string, int> seen;
  count(rx, seen);
  // The second SUBACK is not held back by the first subscription's retained messages
  // (whose next chunk waits for the backed-up socket).
  sub.link.pending = 1u << 20;
  auto rx2 = subscribe(sub, "b/#", 0, 8);
  sub.link.pending = 0;
  ASSERT_EQ(rx2.size(), 1u);
  ASSERT_TRUE(rx2[0].is(PacketType::kSuback));
  ASSERT_EQ(sub.s->retained_pending.size(), 2u);
  EXPECT_TRUE(sub.s->retained_pending[1].left.empty()) << "its list is taken when its turn comes";

  // b's retained messages follow a's, each with its own subscription identifier.
  bool in_b = false;
  for (const auto& ch : drain_all(sub)) {
    for (const auto& r : ch.rx) {
      const bool is_b = r.pub.topic[0] == 'b';
      EXPECT_FALSE(in_b && !is_b) << "an 'a' message after the 'b' ones began: " << r.pub.topic;
      in_b = in_b || is_b;
      EXPECT_EQ(r.pub.sub_ids, (std::vector<uint32_t>{is_b ? 8u : 7u}));
    }
    count(ch.rx, seen);
  }
  ASSERT_EQ(seen.size(), 5000u);
  for (const auto& [t, k] : seen) EXPECT_EQ(k, 1) << t;
  EXPECT_TRUE(sub.s->retained_pending.empty());
}

TEST_F(CoreRetainedChunks, UnsubscribeOrSubscribingAgainEndsThePendingDelivery_MQTT_3_10_4_2) {
  retain_many("plant", 3000);
  Client& sub = connected("dash");
  sub.link.out_is_pending = true;
  auto rx = subscribe(sub, "plant/#", 0);
  EXPECT_EQ(rx.size(), 1 + kChunkMessages);
  // Subscribing to the same filter again starts its retained messages over [MQTT-3.8.4-3]:
  // one pending delivery, with a fresh list of all 3000.
  rx = subscribe(sub, "plant/#", 0);
  EXPECT_EQ(rx.size(), 1 + kChunkMessages);
  ASSERT_EQ(sub.s->retained_pending.size(), 1u);
  EXPECT_EQ(sub.s->retained_pending[0].left.size(), 2000u);
  // After UNSUBSCRIBE no more of them [MQTT-3.10.4-2].
  rx = unsubscribe(sub, {"plant/#"});
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].is(PacketType::kUnsuback));
  EXPECT_TRUE(sub.s->retained_pending.empty());
  core().on_drained(sub.s);
  EXPECT_TRUE(sub.take().empty());
}

TEST_F(CoreRetainedChunks, ClearedOrReplacedMidDeliveryIsNotSentAfterwards) {
  const int n = 5000;
  retain_many("plant", n);
  Client& sub = connected("dash");
  sub.link.out_is_pending = true;
  auto rx = subscribe(sub, "plant/#", 0);
  std::map<std::string, int> seen;
  count(rx, seen);
  ASSERT_EQ(seen.size(), kChunkMessages);

  // Of the topics not sent yet: some cleared, some replaced, one new topic retained.
  std::vector<std::string> cleared, replaced;
  for (int i = 0; i < n && (cleared.size() < 50 || replaced.size() < 50); ++i) {
    const std::string t = topic("plant", i);
    if (seen.count(t)) continue;
    (cleared.size() < 50 ? cleared : replaced).push_back(t);
  }
  Client& pub = connected("changer");
  for (const auto& t : cleared) publish(pub, t, "", 0, true);
  for (const auto& t : replaced) publish(pub, t, "new", 0, true);
  publish(pub, "plant/new", "fresh", 0, true);
  // The subscriber has them live (retain 0): the clears, the new values, the new topic.
  std::map<std::string, std::string> live;
  for (const auto& r : sub.take()) {
    ASSERT_TRUE(r.is(PacketType::kPublish));
    EXPECT_FALSE(r.pub.retain);
    live[r.pub.topic] = r.pub.payload;
  }
  EXPECT_EQ(live.size(), cleared.size() + replaced.size() + 1);

  for (const auto& ch : drain_all(sub)) {
    for (const auto& r : ch.rx) {
      const auto it = live.find(r.pub.topic);
      EXPECT_TRUE(it == live.end()) << r.pub.topic << " sent from the old list after it changed";
    }
    count(ch.rx, seen);
  }
  EXPECT_EQ(seen.size(), size_t(n) - cleared.size() - replaced.size());
  for (const auto& [t, k] : seen) EXPECT_EQ(k, 1) << t;
  // A new subscriber gets the current set in one go of chunks: the replaced values, the
  // new topic, none of the cleared.
  Client& late = connected("late");
  late.link.out_is_pending = true;
  std::map<std::string, int> late_seen;
  std::map<std::string, std::string> late_payload;
  auto collect = [&](const std::vector<Rx>& v) {
    for (const auto& r : v) {
      if (!r.is(PacketType::kPublish)) continue;
      ++late_seen[r.pub.topic];
      late_payload[r.pub.topic] = r.pub.payload;
    }
  };
  collect(subscribe(late, "plant/#", 0));
  for (const auto& ch : drain_all(late)) collect(ch.rx);
  EXPECT_EQ(late_seen.size(), size_t(n) - cleared.size() + 1);
  for (const auto& t : cleared) EXPECT_EQ(late_seen.count(t), 0u) << t;
  for (const auto& t : replaced) EXPECT_EQ(late_payload[t], "new") << t;
  EXPECT_EQ(late_payload["plant/new"], "fresh");
}

TEST_F(CoreRetainedChunks, QoS1RetainedFollowTheWindowAndAreNeverDroppedByTheQueueLimit) {
  cfg.max_inflight_messages = 10;
  cfg.max_queued_messages = 100;  // far fewer than the retained set
  const int n = 2000;
  retain_many("plant", n, 20, 1);
  Client& sub = connected("dash");
  sub.link.out_is_pending = true;
  auto rx = subscribe(sub, "plant/#", 1);
  ASSERT_EQ(rx.size(), 11u) << "SUBACK and a full in-flight window";
  std::map<std::string, int> seen;
  std::vector<RxPublish> todo;
  for (auto& r : rx)
    if (r.is(PacketType::kPublish)) todo.push_back(r.pub);
  EXPECT_TRUE(sub.s->queue.empty()) << "retained messages wait in their list, not the queue";
  // Acknowledge as they come; each acknowledgement lets one more go.
  for (int guard = 0; !todo.empty() && guard < 10 * n; ++guard) {
    RxPublish p = todo.front();
    todo.erase(todo.begin());
    EXPECT_EQ(p.qos, 1);
    EXPECT_TRUE(p.retain);
    ++seen[p.topic];
    ack(sub, PacketType::kPuback, p.packet_id);
    for (auto& r : sub.take())
      if (r.is(PacketType::kPublish)) todo.push_back(r.pub);
    if (todo.empty()) {
      core().on_drained(sub.s);
      for (auto& r : sub.take())
        if (r.is(PacketType::kPublish)) todo.push_back(r.pub);
    }
    EXPECT_LE(sub.s->inflight.size(), 10u);
  }
  EXPECT_EQ(seen.size(), size_t(n));
  for (const auto& [t, k] : seen) EXPECT_EQ(k, 1) << t;
  EXPECT_EQ(stats().dropped_queue_full.get(), 0u);
  EXPECT_TRUE(sub.s->retained_pending.empty());
}

TEST_F(CoreRetainedChunks, LiveQoS1QueuedMessagesGoBeforeTheRestOfTheRetainedSet) {
  cfg.max_inflight_messages = 2;
  retain_many("plant", 10, 20, 1);
  Client& sub = connected("dash");
  auto rx = subscribe(sub, "plant/#", 1);
  ASSERT_EQ(rx.size(), 3u);  // SUBACK and two retained in flight
  Client& pub = connected("live");
  publish(pub, "plant/live", "now", 1, false);
  EXPECT_EQ(sub.s->queue.size(), 1u) << "the live message waits in the queue";
  // The first acknowledgement lets the queued live message go, not a retained one.
  ack(sub, PacketType::kPuback, rx[1].pub.packet_id);
  auto next = sub.pubs();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].topic, "plant/live");
  ack(sub, PacketType::kPuback, rx[2].pub.packet_id);
  next = sub.pubs();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_TRUE(next[0].retain) << "then the retained ones go on";
}

}  // namespace
}  // namespace petrel::broker::coretest
