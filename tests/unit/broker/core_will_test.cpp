// WorkerCore keepalive enforcement and will messages: when a will is published or
// discarded, will delay (v5), will retain and QoS, forwarded will properties.
#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

class CoreWill : public CoreTest {
 public:
  // A CONNECT with a will on "will/<id>" carrying payload "bye-<id>".
  static pr::Connect with_will(pr::Connect c, uint8_t qos = 0, bool retain = false,
                               std::optional<uint32_t> delay = {}) {
    c.will = pr::Will{};
    c.will->topic = "will/" + c.client_id;
    c.will->payload = "bye-" + c.client_id;
    c.will->qos = qos;
    c.will->retain = retain;
    c.will->props.will_delay_interval = delay;
    return c;
  }
  Client& watcher(uint8_t qos = 2, Version v = Version::kV311) {
    Client& w = connected(mk("watcher", v));
    subscribe(w, "will/#", qos);
    return w;
  }
};

TEST_F(CoreWill, KeepaliveTimeoutClosesWith0x8DAndPublishesWill_MQTT_3_1_2_22) {
  Client& w = watcher();
  pr::Connect c = with_will(mk5("ka"));
  c.keepalive = 10;
  Client& cl = connected(std::move(c));
  advance(15'000);  // exactly 1.5 x keepalive: still allowed
  EXPECT_TRUE(cl.open());
  EXPECT_TRUE(w.pubs().empty());
  advance(1);
  EXPECT_FALSE(cl.open());
  auto rx = cl.take();
  ASSERT_EQ(rx.size(), 1u);
  ASSERT_TRUE(rx[0].is(PacketType::kDisconnect));
  EXPECT_EQ(rx[0].disconnect().reason, rc::kKeepAliveTimeout);
  EXPECT_EQ(cl.link.closes, std::vector<bool>{true});
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-ka"});
  EXPECT_EQ(stats().clients_connected.get(), 1u);
}

TEST_F(CoreWill, KeepaliveActivityResetsTimer_MQTT_3_1_2_22) {
  pr::Connect c = mk("busy");
  c.keepalive = 10;
  Client& cl = connected(std::move(c));
  for (int i = 0; i < 5; ++i) {
    advance(14'000);
    ASSERT_TRUE(cl.open()) << "round " << i;
    send(cl, pr::Pingreq{});
  }
  publish(cl, "any", "thing");  // any packet counts, not only PINGREQ
  advance(15'000);
  EXPECT_TRUE(cl.open());
  advance(1);
  EXPECT_FALSE(cl.open());
  EXPECT_TRUE(cl.link.closed());
  bool disconnect_sent = false;
  for (auto& r : cl.take()) disconnect_sent |= r.is(PacketType::kDisconnect);
  EXPECT_FALSE(disconnect_sent) << "3.1.1 has no server DISCONNECT";
}

TEST_F(CoreWill, KeepaliveZeroNeverTimesOut) {
  pr::Connect c = mk("idle");
  c.keepalive = 0;
  Client& cl = connected(std::move(c));
  advance(int64_t(10) * 24 * 3600 * 1000);
  EXPECT_TRUE(cl.open());
}

TEST_F(CoreWill, AbnormalClosePublishesWill_MQTT_3_1_2_8) {
  Client& w = watcher();
  Client& cl = connected(with_will(mk("ab"), 1));
  drop(cl);
  auto got = w.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "will/ab");
  EXPECT_EQ(got[0].payload, "bye-ab");
  EXPECT_EQ(got[0].qos, 1);
  EXPECT_FALSE(got[0].retain);
  EXPECT_EQ(core().session_count(), 1u) << "only the watcher's session is left";
}

TEST_F(CoreWill, NormalDisconnectDiscardsWill_MQTT_3_14_4_3) {
  Client& w = watcher();
  Client& a = connected(with_will(mk("n3")));
  EXPECT_FALSE(disconnect(a));
  Client& b = connected(with_will(mk5("n5")));
  EXPECT_FALSE(disconnect(b, rc::kSuccess));
  EXPECT_TRUE(a.link.closed());
  EXPECT_TRUE(b.link.closed());
  EXPECT_TRUE(w.pubs().empty());
}

TEST_F(CoreWill, V5DisconnectWithWillMessage0x04Publishes_MQTT_3_1_2_8) {
  Client& w = watcher();
  Client& c = connected(with_will(mk5("w4")));
  EXPECT_FALSE(disconnect(c, rc::kDisconnectWithWill));
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-w4"});
}

TEST_F(CoreWill, ProtocolErrorPublishesWill_MQTT_3_1_2_8) {
  Client& w = watcher();
  Client& c = connected(with_will(mk5("pe")));
  send(c, pr::Auth{});  // AUTH without an authentication method
  EXPECT_FALSE(c.open());
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-pe"});
}

TEST_F(CoreWill, WillDelayPublishesAfterDelay_MQTT_3_1_3_9) {
  Client& w = watcher();
  Client& c = connected(with_will(mk5("wd", false, 100), 0, false, 10));
  drop(c);
  EXPECT_TRUE(w.pubs().empty()) << "delayed";
  advance(9'999);
  EXPECT_TRUE(w.pubs().empty());
  advance(1);
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-wd"});
  advance(20'000);
  EXPECT_TRUE(w.pubs().empty()) << "published once";
  EXPECT_EQ(core().session_count(), 2u) << "the session itself lives on";
}

TEST_F(CoreWill, ReconnectWithinWillDelayCancelsWill_MQTT_3_1_3_9) {
  Client& w = watcher();
  Client& c = connected(with_will(mk5("wr", false, 100), 0, false, 10));
  drop(c);
  advance(5'000);
  Client& back = connected(mk5("wr", false, 100));
  advance(60'000);
  EXPECT_TRUE(w.pubs().empty());
  drop(back);  // the new connection has no will
  advance(60'000);
  EXPECT_TRUE(w.pubs().empty());
}

TEST_F(CoreWill, TakeoverWithinWillDelayCancelsWill_MQTT_3_1_3_9) {
  Client& w = watcher();
  Client& a = connected(with_will(mk5("wt", false, 100), 0, false, 10));
  Client& b = connected(mk5("wt", false, 100));
  EXPECT_TRUE(a.link.closed());
  EXPECT_TRUE(b.open());
  advance(30'000);
  EXPECT_TRUE(w.pubs().empty());
}

TEST_F(CoreWill, SessionEndBeforeWillDelayPublishesWill_MQTT_3_1_3_9) {
  Client& w = watcher();
  Client& c = connected(with_will(mk5("we", false, 5), 0, false, 60));
  drop(c);
  advance(4'999);
  EXPECT_TRUE(w.pubs().empty());
  advance(1);
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-we"});
  EXPECT_EQ(core().session_count(), 1u) << "session expired";
}

TEST_F(CoreWill, WillDelayWithoutSessionExpiryPublishesAtOnce) {
  Client& w = watcher();
  Client& c = connected(with_will(mk5("w0"), 0, false, 60));  // session ends at close
  drop(c);
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-w0"});
}

TEST_F(CoreWill, WillRetainStoredInRetainedStore_MQTT_3_1_2_17) {
  Client& c = connected(with_will(mk("wret"), 1, true));
  drop(c);
  EXPECT_EQ(broker().retained().count(), 1u);
  Client& late = connected("late");
  auto rx = subscribe(late, "will/#", 1);
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.payload, "bye-wret");
  EXPECT_TRUE(rx[1].pub.retain);
  EXPECT_EQ(rx[1].pub.qos, 1);
}

TEST_F(CoreWill, WillNotRetainedWhenRetainFlagClear_MQTT_3_1_2_16) {
  Client& c = connected(with_will(mk("wnr"), 0, false));
  drop(c);
  EXPECT_EQ(broker().retained().count(), 0u);
}

TEST_F(CoreWill, WillQosAndDowngrade_MQTT_3_1_2_14) {
  Client& w2 = watcher(2);
  Client& w1 = connected("w1");
  subscribe(w1, "will/#", 1);
  Client& c = connected(with_will(mk("wq"), 2));
  drop(c);
  auto g2 = w2.pubs();
  auto g1 = w1.pubs();
  ASSERT_EQ(g2.size(), 1u);
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(g2[0].qos, 2);
  EXPECT_EQ(g1[0].qos, 1);
}

TEST_F(CoreWill, WillPropertiesForwarded_MQTT_3_1_3_10) {
  Client& w = watcher(1, Version::kV5);
  pr::Connect c = with_will(mk5("wp"), 1);
  c.will->props.content_type = "text/plain";
  c.will->props.response_topic = "reply/here";
  c.will->props.correlation_data = std::string("\x00\x01", 2);
  c.will->props.payload_format_indicator = 1;
  c.will->props.message_expiry_interval = 30;
  c.will->props.user_properties = {{"k1", "v1"}, {"k1", "v2"}};
  Client& cl = connected(std::move(c));
  drop(cl);
  auto got = w.pubs();
  ASSERT_EQ(got.size(), 1u);
  const auto& p = got[0].props;
  EXPECT_EQ(p.content_type, std::optional<std::string>("text/plain"));
  EXPECT_EQ(p.response_topic, std::optional<std::string>("reply/here"));
  EXPECT_EQ(p.correlation_data, std::optional<std::string>(std::string("\x00\x01", 2)));
  EXPECT_EQ(p.payload_format_indicator, std::optional<uint8_t>(1));
  EXPECT_EQ(p.user_properties, (pr::UserProperties{{"k1", "v1"}, {"k1", "v2"}}));
  EXPECT_EQ(got[0].expiry, std::optional<uint32_t>(30));
  EXPECT_FALSE(p.will_delay_interval.has_value());
}

TEST_F(CoreWill, ShutdownSendsServerShuttingDown0x8B) {
  Client& a = connected(mk5("sd5"));
  Client& b = connected("sd3");
  core().shutdown_all();
  sweep();
  auto rx = a.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].disconnect().reason, rc::kServerShuttingDown);
  EXPECT_TRUE(a.link.closed());
  EXPECT_TRUE(b.take().empty());
  EXPECT_TRUE(b.link.closed());
  EXPECT_EQ(stats().clients_connected.get(), 0u);
}


TEST_F(CoreWill, V5DisconnectWithErrorReasonKeepsWill_MQTT_3_1_2_10) {
  // Only a DISCONNECT with reason 0x00 removes the will; a client that disconnects with
  // an error reason (here 0x80 Unspecified error) still has its will published.
  Client& w = watcher();
  Client& c = connected(with_will(mk5("w80")));
  EXPECT_FALSE(disconnect(c, rc::kUnspecifiedError));
  EXPECT_TRUE(c.link.closed());
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-w80"});
}


TEST_F(CoreWill, WillDueBeforeReconnectIsNotLost_MQTT_3_1_3_9) {
  // The will delay passed (the will is due) but no tick ran before the client came back:
  // only a reconnect *before* the delay cancels the will.
  Client& w = watcher();
  Client& c = connected(with_will(mk5("due", false, 100), 0, false, 10));
  drop(c);
  clock.advance_ms(10'500);  // delay over, no tick yet
  connected(mk5("due", false, 100));
  advance(0);
  EXPECT_EQ(payloads(w.pubs()), std::vector<std::string>{"bye-due"});
}

}  // namespace
}  // namespace petrel::broker::coretest
