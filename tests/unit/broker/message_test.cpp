// Message: one block per message, small ones from a per-thread pool. The contents must
// survive reuse of blocks across sizes, threads and thread exits.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "broker/message.h"

namespace petrel::broker {
namespace {

std::string bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7);
  return s;
}

struct Expect {
  std::string topic, props, payload;
};

void check(const Message& m, const Expect& e) {
  EXPECT_EQ(m.topic(), e.topic);
  EXPECT_EQ(m.props(), e.props);
  EXPECT_EQ(m.payload(), e.payload);
  EXPECT_EQ(m.size_bytes(), e.topic.size() + e.props.size() + e.payload.size());
}

TEST(Message, FieldsAndContentsRoundTrip) {
  MessageRef m(Message::create("a/b", "pp", "payload", 2, true, 1234, 5, 99));
  EXPECT_EQ(m->topic(), "a/b");
  EXPECT_EQ(m->props(), "pp");
  EXPECT_EQ(m->payload(), "payload");
  EXPECT_EQ(m->qos(), 2);
  EXPECT_TRUE(m->retain());
  EXPECT_EQ(m->expiry_at_ms(), 1234);
  EXPECT_EQ(m->expiry_interval(), 5u);
  EXPECT_EQ(m->origin(), 99u);
  EXPECT_FALSE(m->expired(1233));
  EXPECT_TRUE(m->expired(1234));
}

// Every size around the pool's block boundaries, all alive at once, then freed and
// created again in another order: a block handed out for the wrong size would overlap
// its neighbour and corrupt it.
TEST(Message, SizesAroundBlockBoundariesKeepTheirContents) {
  for (int round = 0; round < 3; ++round) {
    std::vector<MessageRef> live;
    std::vector<Expect> want;
    for (size_t n = 0; n < 2200; n += (n % 64 < 60 ? 1 : 13)) {
      const size_t size = round == 1 ? 2200 - n : n;
      Expect e{bytes(size % 17, 'a'), bytes(size % 5, 'p'), bytes(size, char('0' + round))};
      live.emplace_back(Message::create(e.topic, e.props, e.payload, 1, false, 0, 0, 0));
      want.push_back(std::move(e));
    }
    for (size_t i = 0; i < live.size(); ++i) check(*live[i], want[i]);
    // Free every other one and refill those holes with other sizes.
    for (size_t i = 0; i < live.size(); i += 2) {
      live[i].reset();
      const size_t size = (i * 37) % 1100;
      want[i] = Expect{bytes(size % 11, 'x'), "", bytes(size, 'y')};
      live[i] = MessageRef(Message::create(want[i].topic, want[i].props, want[i].payload, 0, false, 0, 0, 0));
    }
    for (size_t i = 0; i < live.size(); ++i) check(*live[i], want[i]);
  }
}

// Messages are created on one worker and often freed on another; the freeing thread
// keeps the block, and a thread that exits gives its blocks back.
TEST(Message, FreedOnOtherThreadsAndAcrossThreadExit) {
  std::vector<MessageRef> made;
  std::vector<Expect> want;
  for (int i = 0; i < 5000; ++i) {
    const size_t size = size_t(i % 600);
    want.push_back(Expect{"t/" + std::to_string(i), "", bytes(size, 'q')});
    made.emplace_back(Message::create(want.back().topic, "", want.back().payload, 1, false, 0, 0, 0));
  }
  std::thread freer([&] {
    // Freed here, then reused here for new messages, which this thread checks.
    for (auto& m : made) m.reset();
    std::vector<MessageRef> mine;
    for (int i = 0; i < 3000; ++i)
      mine.emplace_back(Message::create("x", "", bytes(size_t(i % 300), 'z'), 0, false, 0, 0, 0));
    for (int i = 0; i < 3000; ++i) EXPECT_EQ(mine[size_t(i)]->payload(), bytes(size_t(i % 300), 'z'));
    // Half of them outlive this thread: freed on the main thread after it exited.
    for (int i = 0; i < 1500; ++i) made[size_t(i)] = std::move(mine[size_t(i)]);
  });
  freer.join();
  for (int i = 0; i < 1500; ++i) EXPECT_EQ(made[size_t(i)]->payload(), bytes(size_t(i % 300), 'z'));
  made.clear();
  // The main thread's pool works as before.
  MessageRef again(Message::create("a", "", bytes(100, 'r'), 0, false, 0, 0, 0));
  EXPECT_EQ(again->payload(), bytes(100, 'r'));
}

TEST(Message, SharedReferencesKeepTheMessage) {
  MessageRef a(Message::create("t", "", "p", 1, false, 0, 0, 0));
  MessageRef b = a;
  a.reset();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->payload(), "p");
  MessageRef c(Message::create("u", "", "q", 1, false, 0, 0, 0));
  EXPECT_EQ(b->payload(), "p");
  EXPECT_EQ(c->payload(), "q");
}

}  // namespace
}  // namespace petrel::broker
