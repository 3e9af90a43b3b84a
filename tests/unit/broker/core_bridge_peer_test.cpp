// WorkerCore and incoming v3 bridges (CONNECT protocol level with bit 7 set, Mosquitto's
// try_private): every subscription of such a session is no-local and retain-as-published,
// so brokers bridged both ways do not loop and retained state propagates.
#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

class CoreBridgePeer : public CoreTest {
 protected:
  Client& bridge(const std::string& id, Version v = Version::kV311) {
    pr::Connect c = mk(id, v);
    c.bridge = true;
    return connected(std::move(c));
  }
};

TEST_F(CoreBridgePeer, OwnMessagesNotSentBack) {
  Client& br = bridge("br");
  subscribe(br, "t/#", 1);
  Client& n = connected("n");
  subscribe(n, "t/#", 1);
  publish(br, "t/1", "from-bridge", 1);
  (void)br.take();  // PUBACK
  EXPECT_TRUE(br.pubs().empty()) << "a bridge's own message came back to it";
  EXPECT_EQ(payloads(n.pubs()), std::vector<std::string>{"from-bridge"});
  publish(n, "t/2", "from-n");
  EXPECT_EQ(payloads(br.pubs()), std::vector<std::string>{"from-n"});
}

TEST_F(CoreBridgePeer, RetainFlagKeptOnLiveDelivery) {
  Client& br = bridge("br");
  subscribe(br, "t/#", 1);
  Client& n = connected("n");
  subscribe(n, "t/#", 1);
  Client& p = connected("p");
  publish(p, "t/r", "state", 1, true);
  publish(p, "t/x", "plain", 1, false);
  auto got = br.pubs();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].retain) << "retain as published for a bridge";
  EXPECT_FALSE(got[1].retain);
  auto normal = n.pubs();
  ASSERT_EQ(normal.size(), 2u);
  EXPECT_FALSE(normal[0].retain) << "a normal v3 subscriber gets retain 0 on live delivery";
}

TEST_F(CoreBridgePeer, RetainedOnSubscribeAndV31Bridge) {
  Client& p = connected("p");
  publish(p, "t/r", "state", 0, true);
  Client& br = bridge("br31", Version::kV31);
  auto rx = subscribe(br, "t/#", 0);
  ASSERT_EQ(rx.size(), 2u);  // SUBACK, retained message
  EXPECT_TRUE(rx[1].is(PacketType::kPublish));
  EXPECT_TRUE(rx[1].pub.retain);
  publish(br, "t/y", "own");
  EXPECT_TRUE(br.pubs().empty());
  publish(p, "t/r", "state2", 0, true);
  auto got = br.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].retain);
}

TEST_F(CoreBridgePeer, AcrossWorkers) {
  workers = 2;
  pr::Connect c = mk(id_on(1, "br"));
  c.bridge = true;
  Client& br = connected(std::move(c));
  subscribe(br, "t/#", 1);
  Client& p = connected(mk(id_on(0, "p")));
  publish(p, "t/r", "state", 1, true);
  end_turn();
  auto got = br.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].retain);
  publish(br, "t/own", "own", 1);
  end_turn();
  (void)br.take();
  EXPECT_TRUE(br.pubs().empty());
}

TEST_F(CoreBridgePeer, NormalV311ClientUnchanged) {
  Client& c = connected("c");
  subscribe(c, "t/#");
  publish(c, "t/1", "echo", 0, true);
  auto got = c.pubs();
  ASSERT_EQ(got.size(), 1u) << "without the bridge bit a client gets its own messages";
  EXPECT_FALSE(got[0].retain);
}

TEST_F(CoreBridgePeer, V5BridgeBitLeavesOptionsToTheClient) {
  // A v5 bridge states no local / retain as published itself (as Mosquitto's v5 bridges
  // do); the core does not force them.
  pr::Connect c = mk5("br5");
  c.bridge = true;
  Client& br = connected(std::move(c));
  subscribe(br, "t/#");
  publish(br, "t/1", "echo", 0, true);
  auto got = br.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].retain);
}

}  // namespace
}  // namespace petrel::broker::coretest
