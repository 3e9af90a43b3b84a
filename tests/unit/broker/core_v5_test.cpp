// WorkerCore MQTT 5 specifics: topic aliases, the client's Maximum Packet Size,
// subscription identifiers from clients, forwarded properties, reason strings and
// Request Problem Information, AUTH.
#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

using CoreV5 = CoreTest;

// The DISCONNECT reason a closed v5 client got (0xFF when none).
uint8_t disconnect_reason(Client& c) {
  EXPECT_FALSE(c.open());
  EXPECT_TRUE(c.link.closed());
  uint8_t r = 0xFF;
  for (auto& rx : c.take())
    if (rx.is(PacketType::kDisconnect)) r = rx.disconnect().reason;
  return r;
}

Pub aliased(std::string topic_name, std::optional<uint16_t> alias, std::string payload) {
  Pub p;
  p.topic = std::move(topic_name);
  p.alias = alias;
  p.payload = std::move(payload);
  return p;
}

TEST_F(CoreV5, TopicAliasSetAndUsed_MQTT_3_3_2_12) {
  Client& sub = connected("as");
  subscribe(sub, "alias/#");
  Client& c = connected(mk5("ap"));
  EXPECT_TRUE(publish(c, aliased("alias/t", 3, "set")));
  EXPECT_TRUE(publish(c, aliased("", 3, "use")));
  EXPECT_TRUE(publish(c, aliased("alias/u", 3, "remap")));
  EXPECT_TRUE(publish(c, aliased("", 3, "use2")));
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].topic, "alias/t");
  EXPECT_EQ(got[1].topic, "alias/t");
  EXPECT_EQ(got[2].topic, "alias/u");
  EXPECT_EQ(got[3].topic, "alias/u");
  EXPECT_EQ(got[3].payload, "use2");
}

TEST_F(CoreV5, TopicAliasedRetainedMessageStoredUnderTopic) {
  Client& c = connected(mk5("ar"));
  publish(c, aliased("ret/alias", 1, "a"));
  Pub p = aliased("", 1, "b");
  p.retain = true;
  publish(c, p);
  Client& sub = connected(mk5("ars"));
  auto rx = subscribe(sub, "ret/alias");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[1].pub.topic, "ret/alias");
  EXPECT_EQ(rx[1].pub.payload, "b");
  EXPECT_FALSE(rx[1].pub.topic_alias.has_value()) << "the server sends no topic aliases";
}

TEST_F(CoreV5, TopicAliasZeroIsInvalid0x94_MQTT_3_3_2_8) {
  Client& c = connected(mk5("a0"));
  EXPECT_FALSE(publish(c, aliased("t", 0, "x")));
  EXPECT_EQ(disconnect_reason(c), rc::kTopicAliasInvalid);
}

TEST_F(CoreV5, TopicAliasAboveMaximumIsInvalid0x94_MQTT_3_3_2_10) {
  cfg.max_topic_alias = 5;
  Client& c = connected(mk5("a6"));
  EXPECT_TRUE(publish(c, aliased("t", 5, "x")));
  EXPECT_FALSE(publish(c, aliased("t", 6, "x")));
  EXPECT_EQ(disconnect_reason(c), rc::kTopicAliasInvalid);
}

TEST_F(CoreV5, TopicAliasMaximumZeroAllowsNoAlias_MQTT_3_2_2_17) {
  cfg.max_topic_alias = 0;
  Client& c = open(mk5("anone"));
  auto rx = c.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].connack().props.topic_alias_maximum.value_or(0), 0);
  EXPECT_FALSE(publish(c, aliased("t", 1, "x")));
  EXPECT_EQ(disconnect_reason(c), rc::kTopicAliasInvalid);
}

TEST_F(CoreV5, UnknownTopicAliasIsProtocolError0x82) {
  Client& c = connected(mk5("aunk"));
  EXPECT_TRUE(publish(c, aliased("t", 1, "x")));
  EXPECT_FALSE(publish(c, aliased("", 2, "x")));
  EXPECT_EQ(disconnect_reason(c), rc::kProtocolError);
}

TEST_F(CoreV5, TopicAliasesEndWithTheConnection_MQTT_3_3_2_7) {
  Client& a = connected(mk5("alife", false, 60));
  EXPECT_TRUE(publish(a, aliased("t", 1, "x")));
  drop(a);
  Client& b = connected(mk5("alife", false, 60));
  EXPECT_FALSE(publish(b, aliased("", 1, "x")));
  EXPECT_EQ(disconnect_reason(b), rc::kProtocolError);
}

TEST_F(CoreV5, ClientMaximumPacketSizeHonoured_MQTT_3_1_2_24_and_25) {
  pr::Connect c = mk5("small");
  c.props.maximum_packet_size = 100;
  Client& sub = connected(std::move(c));
  subscribe(sub, "mps", 1);
  Client& pub = connected("mpsp");
  publish(pub, "mps", std::string(200, 'x'), 1);
  publish(pub, "mps", "fits", 1);
  auto got = sub.pubs();
  ASSERT_EQ(payloads(got), std::vector<std::string>{"fits"}) << "too large: discarded";
  EXPECT_EQ(sub.s->inflight.size(), 1u) << "the discarded message holds no in-flight slot";
  EXPECT_EQ(stats().pub_dropped.get(), 1u);
  // Also for retained messages sent on subscribe.
  publish(pub, "mps/r", std::string(200, 'y'), 0, true);
  auto rx = subscribe(sub, "mps/r", 0);
  EXPECT_EQ(rx.size(), 1u) << "SUBACK only";
}

TEST_F(CoreV5, SubscriptionIdentifierFromClientIsProtocolError_MQTT_3_3_4_6) {
  Client& c = connected(mk5("sidc"));
  Pub p;
  p.topic = "t";
  p.payload = "x";
  p.sub_ids = {5};
  EXPECT_FALSE(publish(c, p));
  EXPECT_EQ(disconnect_reason(c), rc::kProtocolError);
}

TEST_F(CoreV5, WildcardInTopicNameIsTopicNameInvalid0x90_MQTT_3_3_2_2) {
  Client& c = connected(mk5("wild"));
  EXPECT_FALSE(publish(c, "a/+", "x"));
  EXPECT_EQ(disconnect_reason(c), rc::kTopicNameInvalid);
}

TEST_F(CoreV5, ForwardedPropertiesUnchanged_MQTT_3_3_2_15_to_20) {
  Client& v5 = connected(mk5("fps"));
  subscribe(v5, "fp", 1);
  Client& v3 = connected("fp3");
  subscribe(v3, "fp", 1);
  Client& pub = connected(mk5("fpp"));
  pr::Properties props;
  props.payload_format_indicator = 1;
  props.content_type = "text/plain; charset=utf-8";
  props.response_topic = "answers/42";
  props.correlation_data = std::string("\x00\xff\x10", 3);
  props.user_properties = {{"b", "2"}, {"a", "1"}, {"b", "3"}};  // order and repeats kept
  Pub p;
  p.topic = "fp";
  p.payload = "hello";
  p.qos = 1;
  p.id = 9;
  p.fwd = fwd_props(props);
  publish(pub, p);
  auto got = v5.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].forward_props, p.fwd) << "byte for byte [MQTT-3.3.2-17,18,20]";
  EXPECT_EQ(got[0].props.user_properties, props.user_properties);
  EXPECT_EQ(got[0].props.correlation_data, props.correlation_data);
  EXPECT_EQ(got[0].props.payload_format_indicator, std::optional<uint8_t>(1));
  auto g3 = v3.pubs();
  ASSERT_EQ(g3.size(), 1u);
  EXPECT_TRUE(g3[0].forward_props.empty()) << "3.1.1 has no properties";
  EXPECT_EQ(g3[0].payload, "hello");
}

TEST_F(CoreV5, ReasonStringOnlyWithRequestProblemInformation_MQTT_3_1_2_29) {
  cfg.message_size_limit = 4;
  Client& loud = connected(mk5("loud"));
  publish(loud, "big", "0123456789", 1, false, 1);
  auto rx = loud.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().reason, rc::kQuotaExceeded);
  EXPECT_FALSE(rx[0].ack().reason_string.empty());

  pr::Connect c = mk5("quiet");
  c.props.request_problem_information = 0;
  Client& quiet = connected(std::move(c));
  publish(quiet, "big", "0123456789", 1, false, 1);
  rx = quiet.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().reason, rc::kQuotaExceeded);
  EXPECT_TRUE(rx[0].ack().reason_string.empty()) << "no reason string on PUBACK";
  publish(quiet, "$SYS/broker/x", "f", 2, false, 2);
  rx = quiet.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].is(PacketType::kPubrec));
  EXPECT_EQ(rx[0].ack().reason, rc::kNotAuthorized);
  EXPECT_TRUE(rx[0].ack().reason_string.empty());
}

TEST_F(CoreV5, OversizedPayloadDroppedNotRouted) {
  cfg.message_size_limit = 4;
  Client& sub = connected("osub");
  subscribe(sub, "big");
  Client& pub = connected(mk5("opub"));
  publish(pub, "big", "0123456789", 1, false, 1);
  EXPECT_TRUE(sub.pubs().empty());
  EXPECT_EQ(stats().pub_dropped.get(), 1u);
  EXPECT_TRUE(pub.open());
}

TEST_F(CoreV5, ClientsCannotPublishIntoSys) {
  Client& sub = connected("syssub");
  subscribe(sub, "$SYS/#");
  Client& pub = connected(mk5("sysp"));
  publish(pub, "$SYS/broker/version", "fake", 1, true, 1);
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().reason, rc::kNotAuthorized);
  EXPECT_TRUE(sub.pubs().empty());
  EXPECT_EQ(broker().retained().count(), 0u);
}

TEST_F(CoreV5, AuthWithoutAuthenticationMethodIsProtocolError_MQTT_4_12_0_1) {
  Client& c = connected(mk5("auth"));
  EXPECT_FALSE(send(c, pr::Auth{}));
  EXPECT_EQ(disconnect_reason(c), rc::kProtocolError);
}

TEST_F(CoreV5, ProtocolErrorDisconnectCarriesReasonStringUnlessSuppressed) {
  Client& a = connected(mk5("rs1"));
  publish(a, aliased("", 2, "x"));
  auto rx = a.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].disconnect().props.reason_string.has_value());
  pr::Connect c = mk5("rs0");
  c.props.request_problem_information = 0;
  Client& b = connected(std::move(c));
  publish(b, aliased("", 2, "x"));
  rx = b.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].disconnect().reason, rc::kProtocolError);
  EXPECT_FALSE(rx[0].disconnect().props.reason_string.has_value());
}

TEST_F(CoreV5, MalformedPacketClosesWith0x81) {
  Client& c = connected(mk5("mal"));
  // SUBSCRIBE with a reserved fixed-header flag pattern (must be 0b0010).
  std::string bytes = {char(0x80), 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00};
  bytes[1] = char(bytes.size() - 2);
  EXPECT_FALSE(feed(c, bytes));
  EXPECT_EQ(disconnect_reason(c), rc::kMalformedPacket);
}


// Sizes of the whole packets in bytes (header included).
std::vector<size_t> packet_sizes(const std::string& out) {
  std::vector<size_t> sizes;
  size_t off = 0;
  while (off < out.size()) {
    pr::Frame f;
    if (pr::try_frame(out.data() + off, out.size() - off, 0, f) != pr::FrameStatus::kComplete) break;
    sizes.push_back(f.total());
    off += f.total();
  }
  return sizes;
}

TEST_F(CoreV5, ReasonStringDroppedWhenAboveClientMaximumPacketSize_MQTT_3_4_2_2_and_3_14_2_3) {
  // "The sender MUST NOT send this property if it would increase the size of the PUBACK
  // (DISCONNECT) packet beyond the Maximum Packet Size specified by the receiver."
  cfg.message_size_limit = 1;
  pr::Connect c = mk5("tiny");
  c.props.maximum_packet_size = 16;
  Client& cl = connected(std::move(c));
  publish(cl, "t", "too big", 1, false, 1);  // PUBACK 0x97 + reason string
  publish(cl, aliased("", 9, "x"));          // unknown alias: DISCONNECT 0x82 + reason string
  EXPECT_FALSE(cl.open());
  const auto sizes = packet_sizes(cl.link.out_);
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_LE(sizes[0], 16u) << "PUBACK";
  EXPECT_LE(sizes[1], 16u) << "DISCONNECT";
  auto rx = cl.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0].ack().reason, rc::kQuotaExceeded);
  EXPECT_EQ(rx[1].disconnect().reason, rc::kProtocolError);
}

}  // namespace
}  // namespace petrel::broker::coretest
