// WorkerCore $SYS tree: published by worker 0 every sys_interval seconds as retained
// messages with Mosquitto's topic names and meanings, summed over all workers, invisible
// to '#' subscribers.
#include <map>

#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

class CoreSys : public CoreTest {
 public:
  CoreSys() { cfg.sys_interval = 1; }
  // topic -> payload of the PUBLISH packets c received (the last one wins).
  static std::map<std::string, std::string> values(Client& c) {
    std::map<std::string, std::string> m;
    for (auto& p : c.pubs()) m[p.topic] = p.payload;
    return m;
  }
};

TEST_F(CoreSys, PublishedEverySysInterval) {
  Client& sub = connected("sys");
  subscribe(sub, "$SYS/#");
  advance(0);
  auto v = values(sub);
  ASSERT_FALSE(v.empty()) << "first tick publishes";
  EXPECT_EQ(v["$SYS/broker/version"].rfind("petrel version ", 0), 0u) << v["$SYS/broker/version"];
  EXPECT_EQ(v["$SYS/broker/uptime"], "0 seconds");
  EXPECT_EQ(v["$SYS/broker/clients/connected"], "1");
  EXPECT_EQ(v["$SYS/broker/clients/total"], "1");
  EXPECT_EQ(v["$SYS/broker/subscriptions/count"], "1");
  EXPECT_TRUE(v.count("$SYS/broker/messages/received"));
  EXPECT_TRUE(v.count("$SYS/broker/load/messages/received/1min"));

  advance(999);
  EXPECT_TRUE(sub.pubs().empty()) << "not before sys_interval";
  advance(1);
  v = values(sub);
  EXPECT_EQ(v["$SYS/broker/uptime"], "1 seconds");
  advance(5'000);
  v = values(sub);
  EXPECT_EQ(v["$SYS/broker/uptime"], "6 seconds");
}

TEST_F(CoreSys, HashAloneDoesNotMatchSys_MQTT_4_7_2_1) {
  Client& all = connected("all");
  subscribe(all, "#");
  Client& plus = connected("plus");
  subscribe(plus, "+/broker/#");
  Client& shared = connected(mk5("shared"));
  subscribe(shared, "$share/g/#");
  advance(0);
  EXPECT_TRUE(all.pubs().empty());
  EXPECT_TRUE(plus.pubs().empty());
  EXPECT_TRUE(shared.pubs().empty()) << "the rule holds inside a shared subscription";
  // Nor are the retained $SYS values sent to a new '#' subscription.
  ASSERT_GT(broker().retained().count(), 0u);
  Client& late = connected("late");
  EXPECT_EQ(subscribe(late, "#").size(), 1u) << "SUBACK only";
}

TEST_F(CoreSys, ValuesAreRetained) {
  advance(0);
  Client& late = connected("late");
  auto rx = subscribe(late, "$SYS/broker/version");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_TRUE(rx[1].pub.retain);
  EXPECT_EQ(rx[1].pub.payload.rfind("petrel version ", 0), 0u);
}

TEST_F(CoreSys, ClientCountersMeanWhatMosquittoMeans) {
  cfg.persistent_client_expiration = 1;
  Client& sub = connected("counter");
  subscribe(sub, "$SYS/broker/clients/#");
  Client& p1 = connected("p1", Version::kV311, false);
  Client& p2 = connected("p2", Version::kV311, false);
  connected("c3");
  drop(p1);
  advance(0);
  auto v = values(sub);
  EXPECT_EQ(v["$SYS/broker/clients/connected"], "3");
  EXPECT_EQ(v["$SYS/broker/clients/disconnected"], "1") << "persistent and offline";
  EXPECT_EQ(v["$SYS/broker/clients/total"], "4");
  EXPECT_EQ(v["$SYS/broker/clients/maximum"], "4");
  EXPECT_EQ(v["$SYS/broker/clients/expired"], "0");
  drop(p2);
  advance(1'000);  // p1 and p2 expire (persistent_client_expiration 1 s)
  advance(1'000);
  v = values(sub);
  EXPECT_EQ(v["$SYS/broker/clients/expired"], "2");
  EXPECT_EQ(v["$SYS/broker/clients/total"], "2");
  EXPECT_EQ(v["$SYS/broker/clients/disconnected"], "0");
}

TEST_F(CoreSys, MessageCounters) {
  Client& sub = connected("mc");
  subscribe(sub, "$SYS/broker/publish/#");
  Client& pub = connected("mcp");
  Client& rcv = connected("mcr");
  subscribe(rcv, "data");
  publish(pub, "data", "12345", 1);
  publish(pub, "data", "678", 0);
  advance(0);
  auto v = values(sub);
  EXPECT_EQ(v["$SYS/broker/publish/messages/received"], "2");
  EXPECT_EQ(v["$SYS/broker/publish/bytes/received"], "8");
  // Sent counts every PUBLISH the core wrote, $SYS ones to "mc" included; at least the two.
  EXPECT_GE(std::stoull(v["$SYS/broker/publish/messages/sent"]), 2u);
}

TEST_F(CoreSys, DisabledWithSysIntervalZero) {
  cfg.sys_interval = 0;
  Client& sub = connected("off");
  subscribe(sub, "$SYS/#");
  advance(0);
  advance(60'000);
  EXPECT_TRUE(sub.pubs().empty());
  EXPECT_EQ(broker().retained().count(), 0u);
}

TEST_F(CoreSys, OnlyWorkerZeroPublishesAndTotalsSpanWorkers) {
  workers = 2;
  Client& sub = connected(mk(id_on(1, "sys1-")));
  ASSERT_EQ(sub.worker, 1);
  subscribe(sub, "$SYS/broker/clients/connected");
  connected(mk(id_on(0, "sys0-")));
  core(1).tick();
  end_turn();
  EXPECT_TRUE(sub.pubs().empty()) << "worker 1 does not publish $SYS";
  core(0).tick();
  end_turn();
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "2") << "summed over both workers";
}

TEST_F(CoreSys, LoadConnectionsCountsConnectPackets) {
  // Mosquitto: "$SYS/broker/load/connections/+: the moving average of the number of
  // CONNECT packets received by the broker". The core sees every CONNECT.
  Client& sub = connected("load");
  subscribe(sub, "$SYS/broker/load/connections/1min");
  advance(0);
  sub.pubs();
  for (int i = 0; i < 30; ++i) connected("burst" + std::to_string(i));
  advance(60'000);
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GT(std::stod(got[0].payload), 0.0) << "30 CONNECTs in the last minute";
}

}  // namespace
}  // namespace petrel::broker::coretest
