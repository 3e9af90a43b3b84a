// MemoryStore: the bridge's out-queue keeps every message until the remote completed it,
// in order, within its limits, and hands everything out again after rewind().
#include "bridge/store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace petrel::bridge {
namespace {

client::OutMessage msg(std::string topic, std::string payload = "p", uint8_t qos = 1) {
  return client::OutMessage{std::move(topic), std::move(payload), qos, false, {}};
}

TEST(MemoryStore, HandsOutInOrderAndKeepsUntilAcked) {
  MemoryStore s;
  ASSERT_TRUE(s.push(msg("a")));
  ASSERT_TRUE(s.push(msg("b")));
  ASSERT_TRUE(s.push(msg("c")));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.pending(), 3u);
  const StoredMessage* a = s.take_next();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->msg.topic, "a");
  const uint64_t seq_a = a->seq;
  const StoredMessage* b = s.take_next();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->msg.topic, "b");
  EXPECT_EQ(s.pending(), 1u);
  EXPECT_EQ(s.size(), 3u);  // handed out is not done
  s.ack(seq_a);
  EXPECT_EQ(s.size(), 2u);
  const StoredMessage* c = s.take_next();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->msg.topic, "c");
  EXPECT_EQ(s.take_next(), nullptr);
}

TEST(MemoryStore, OutOfOrderAcksLeaveTheRestInPlace) {
  MemoryStore s;
  for (auto t : {"a", "b", "c"}) ASSERT_TRUE(s.push(msg(t)));
  uint64_t seqs[3];
  for (auto& q : seqs) q = s.take_next()->seq;
  s.ack(seqs[1]);  // a QoS 0 message completing before an earlier QoS 1 one
  EXPECT_EQ(s.size(), 2u);
  s.rewind();
  const StoredMessage* m = s.take_next();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->msg.topic, "a");
  m = s.take_next();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->msg.topic, "c");  // b is done and is not handed out again
  EXPECT_EQ(s.take_next(), nullptr);
  s.ack(seqs[0]);
  s.ack(seqs[2]);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.bytes(), 0u);
}

TEST(MemoryStore, RewindHandsOutEverythingUnackedAgain) {
  MemoryStore s;
  for (auto t : {"a", "b"}) ASSERT_TRUE(s.push(msg(t)));
  while (s.take_next()) {
  }
  EXPECT_EQ(s.pending(), 0u);
  s.rewind();
  EXPECT_EQ(s.pending(), 2u);
  EXPECT_EQ(s.take_next()->msg.topic, "a");
}

TEST(MemoryStore, AckOfUnknownOrRepeatedSeqIsIgnored) {
  MemoryStore s;
  ASSERT_TRUE(s.push(msg("a")));
  const uint64_t seq = s.take_next()->seq;
  s.ack(seq + 100);
  s.ack(0);
  EXPECT_EQ(s.size(), 1u);
  s.ack(seq);
  s.ack(seq);
  EXPECT_EQ(s.size(), 0u);
}

TEST(MemoryStore, MessageLimitRefusesNewMessages) {
  MemoryStore s({.max_messages = 2});
  EXPECT_TRUE(s.push(msg("a")));
  EXPECT_TRUE(s.push(msg("b")));
  EXPECT_FALSE(s.push(msg("c")));
  EXPECT_EQ(s.size(), 2u);
  s.ack(s.take_next()->seq);
  EXPECT_TRUE(s.push(msg("d")));
}

TEST(MemoryStore, ByteLimitCountsTopicAndPayload) {
  MemoryStore s({.max_bytes = 10});
  EXPECT_TRUE(s.push(msg("abc", "12345")));  // 8 bytes
  EXPECT_FALSE(s.push(msg("x", "yz")));      // 11 > 10
  EXPECT_EQ(s.bytes(), 8u);
  s.set_limits({});
  EXPECT_TRUE(s.push(msg("x", "yz")));
  EXPECT_EQ(s.bytes(), 11u);
}

TEST(MemoryStore, LocalAcknowledgementsComeBackWithTheRemotesAndIgnoreTheLimits) {
  MemoryStore s({2, 0});
  ASSERT_TRUE(s.push(msg("x", "p", 0)));
  ASSERT_TRUE(s.push(msg("y", "p", 0)));
  EXPECT_FALSE(s.push(msg("z", "p", 0))) << "full";
  ASSERT_TRUE(s.push(msg("a"), LocalAck{11, 1, 5})) << "bounded by the broker's window, not the limits";
  ASSERT_TRUE(s.push(msg("b"), LocalAck{12, 2, 5}));
  s.ack(s.take_next()->seq);
  s.ack(s.take_next()->seq);
  const StoredMessage* a = s.take_next();
  ASSERT_NE(a, nullptr);
  const uint64_t seq = a->seq;  // the entry is gone once acknowledged
  const LocalAck la = s.ack(seq);
  EXPECT_EQ(la.packet_id, 11);
  EXPECT_EQ(la.qos, 1);
  EXPECT_EQ(la.connection, 5u);
  EXPECT_EQ(s.ack(seq).qos, 0) << "owed once";
}

TEST(MemoryStore, ForgetLocalDropsWhatTheBrokerSendsAgain) {
  MemoryStore s;
  ASSERT_TRUE(s.push(msg("old1"), LocalAck{1, 1, 3}));
  ASSERT_TRUE(s.push(msg("plain", "p", 0)));
  ASSERT_TRUE(s.push(msg("old2"), LocalAck{2, 1, 3}));
  ASSERT_TRUE(s.push(msg("new"), LocalAck{1, 1, 4}));
  const StoredMessage* first = s.take_next();  // in flight at the remote
  ASSERT_NE(first, nullptr);
  const uint64_t in_flight = first->seq;
  EXPECT_EQ(s.forget_local(4, true), 2u);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.ack(in_flight).qos, 0) << "the remote completing it later changes nothing";
  s.rewind();
  std::vector<std::string> left;
  while (const StoredMessage* m = s.take_next()) left.push_back(m->msg.topic);
  EXPECT_EQ(left, (std::vector<std::string>{"plain", "new"}));
  // Without a resumed session the messages stay, owing nothing.
  MemoryStore k;
  ASSERT_TRUE(k.push(msg("x"), LocalAck{7, 1, 3}));
  EXPECT_EQ(k.forget_local(4, false), 1u);
  EXPECT_EQ(k.size(), 1u);
  const StoredMessage* x = k.take_next();
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(k.ack(x->seq).qos, 0);
}

}  // namespace
}  // namespace petrel::bridge
