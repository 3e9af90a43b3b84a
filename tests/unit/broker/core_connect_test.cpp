// WorkerCore CONNECT handling: client identifiers, authentication refusals, keepalive
// limits, session present, takeover and the v5 CONNACK properties.
#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

using CoreConnect = CoreTest;

// The single CONNACK a refused client got; checks the link is closing after it.
pr::Connack refused(Client& c) {
  auto rx = c.take();
  EXPECT_EQ(rx.size(), 1u);
  EXPECT_FALSE(c.open());
  EXPECT_EQ(c.link.closes, std::vector<bool>{true}) << "refusal must flush the CONNACK";
  if (rx.empty() || !rx[0].is(PacketType::kConnack)) {
    ADD_FAILURE() << "no CONNACK";
    return {};
  }
  return rx[0].connack();
}

pr::Connack accepted(Client& c) {
  auto rx = c.take();
  EXPECT_TRUE(c.open());
  EXPECT_FALSE(c.link.closed());
  EXPECT_GE(c.link.dirty_count, 1);
  if (rx.empty() || !rx[0].is(PacketType::kConnack)) {
    ADD_FAILURE() << "no CONNACK";
    return {};
  }
  EXPECT_EQ(rx[0].connack().reason, 0);
  return rx[0].connack();
}

TEST_F(CoreConnect, AssignedClientIdentifierHashesToThisWorker_MQTT_3_2_2_16) {
  workers = 2;
  Client& c = open(mk5(""), -1, /*worker=*/1);
  pr::Connack ack = accepted(c);
  ASSERT_TRUE(ack.props.assigned_client_identifier.has_value());
  const std::string id = *ack.props.assigned_client_identifier;
  EXPECT_EQ(id.rfind("auto-", 0), 0u) << id;
  EXPECT_EQ(broker().home_worker(id), 1) << "the session must live where the id hashes";
  EXPECT_EQ(c.s->client_id, id);
  EXPECT_EQ(core(1).session_count(), 1u);
  EXPECT_EQ(core(0).session_count(), 0u);
  // A second empty id gets a different identifier.
  Client& d = open(mk5(""), -1, 1);
  pr::Connack ack2 = accepted(d);
  ASSERT_TRUE(ack2.props.assigned_client_identifier.has_value());
  EXPECT_NE(*ack2.props.assigned_client_identifier, id);
}

TEST_F(CoreConnect, EmptyClientIdCleanSession1AcceptedV311_MQTT_3_1_3_6) {
  Client& c = open(mk("", Version::kV311, true));
  pr::Connack ack = accepted(c);
  EXPECT_FALSE(ack.session_present);
  EXPECT_FALSE(ack.props.assigned_client_identifier.has_value()) << "v3 CONNACK has no properties";
  EXPECT_EQ(core().session_count(), 1u);
}

TEST_F(CoreConnect, EmptyClientIdCleanSession0Refused_MQTT_3_1_3_8) {
  Client& c = open(mk("", Version::kV311, false));
  EXPECT_EQ(refused(c).reason, rc::kV3IdentifierRejected);
  EXPECT_EQ(core().session_count(), 0u);
  EXPECT_EQ(stats().clients_connected.get(), 0u);
}

TEST_F(CoreConnect, EmptyClientIdRefusedForV31) {
  // MQTT 3.1 requires a 1..23 character client identifier.
  Client& c = open(mk("", Version::kV31, true));
  EXPECT_EQ(refused(c).reason, rc::kV3IdentifierRejected);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreConnect, AllowZeroLengthClientIdFalseRefusesV311AndV5_MQTT_3_1_3_9) {
  cfg.security.allow_zero_length_clientid = false;
  Client& a = open(mk("", Version::kV311, true));
  EXPECT_EQ(refused(a).reason, rc::kV3IdentifierRejected);
  Client& b = open(mk5(""));
  EXPECT_EQ(refused(b).reason, rc::kClientIdentifierNotValid);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreConnect, AnonymousRefusedV311ReturnCode5) {
  cfg.security.allow_anonymous = false;
  Client& c = open(mk("anon"));
  EXPECT_EQ(refused(c).reason, rc::kV3NotAuthorized);
  EXPECT_EQ(core().session_count(), 0u);
  pr::Connect named = mk("named");
  named.username = "alice";
  Client& d = open(std::move(named));
  accepted(d);
  EXPECT_EQ(d.s->username, "alice");
}

TEST_F(CoreConnect, AnonymousRefusedV5NotAuthorized0x87) {
  cfg.security.allow_anonymous = false;
  Client& c = open(mk5("anon5"));
  pr::Connack ack = refused(c);
  EXPECT_EQ(ack.reason, rc::kNotAuthorized);
  EXPECT_TRUE(ack.props.reason_string.has_value());
  // Without request problem information the refusal carries no reason string.
  pr::Connect quiet = mk5("anon5b");
  quiet.props.request_problem_information = 0;
  Client& d = open(std::move(quiet));
  pr::Connack ack2 = refused(d);
  EXPECT_EQ(ack2.reason, rc::kNotAuthorized);
  EXPECT_FALSE(ack2.props.reason_string.has_value());
}

TEST_F(CoreConnect, PerListenerAllowAnonymous) {
  cfg.per_listener_settings = true;
  cfg.listeners.resize(2);
  cfg.listeners[0].security.allow_anonymous = false;
  cfg.listeners[1].security.allow_anonymous = true;
  Client& a = open(mk("on-l0"), /*listener=*/0);
  EXPECT_EQ(refused(a).reason, rc::kV3NotAuthorized);
  Client& b = open(mk("on-l1"), /*listener=*/1);
  accepted(b);
}

TEST_F(CoreConnect, PerListenerAutoIdPrefix) {
  // SecuritySettings::auto_id_prefix is per listener when per_listener_settings is true
  // (mosquitto.conf scopes auto_id_prefix like allow_zero_length_clientid).
  cfg.per_listener_settings = true;
  cfg.listeners.resize(2);
  cfg.listeners[0].security.allow_anonymous = true;
  cfg.listeners[0].security.auto_id_prefix = "zero-";
  cfg.listeners[1].security.allow_anonymous = true;
  cfg.listeners[1].security.auto_id_prefix = "one-";
  Client& c = open(mk5(""), /*listener=*/1);
  pr::Connack ack = accepted(c);
  ASSERT_TRUE(ack.props.assigned_client_identifier.has_value());
  EXPECT_EQ(ack.props.assigned_client_identifier->rfind("one-", 0), 0u)
      << "assigned " << *ack.props.assigned_client_identifier << " on listener 1";
}

TEST_F(CoreConnect, AuthenticationMethodRefusedBadAuthenticationMethod0x8C) {
  pr::Connect c = mk5("enh");
  c.props.authentication_method = "SCRAM-SHA-1";
  Client& cl = open(std::move(c));
  EXPECT_EQ(refused(cl).reason, rc::kBadAuthenticationMethod);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreConnect, KeepaliveAboveMaxKeepaliveRefusedV311) {
  cfg.max_keepalive = 30;
  pr::Connect c = mk("ka");
  c.keepalive = 31;
  Client& a = open(std::move(c));
  EXPECT_EQ(refused(a).reason, rc::kV3IdentifierRejected);
  pr::Connect ok = mk("ka2");
  ok.keepalive = 30;
  Client& b = open(std::move(ok));
  accepted(b);
  EXPECT_EQ(b.s->keepalive, 30);
}

TEST_F(CoreConnect, ServerKeepAliveV5_MQTT_3_2_2_21) {
  cfg.max_keepalive = 30;
  pr::Connect c = mk5("ka5");
  c.keepalive = 100;
  Client& a = open(std::move(c));
  pr::Connack ack = accepted(a);
  ASSERT_TRUE(ack.props.server_keep_alive.has_value());
  EXPECT_EQ(*ack.props.server_keep_alive, 30);
  // [MQTT-3.2.2-22]: the server's value is the one in force.
  advance(45'000);
  EXPECT_TRUE(a.open());
  advance(1);
  EXPECT_FALSE(a.open());
  auto rx = a.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].disconnect().reason, rc::kKeepAliveTimeout);

  pr::Connect zero = mk5("ka0");
  zero.keepalive = 0;  // "no keepalive" is above any max_keepalive
  Client& b = open(std::move(zero));
  pr::Connack ack0 = accepted(b);
  ASSERT_TRUE(ack0.props.server_keep_alive.has_value());
  EXPECT_EQ(*ack0.props.server_keep_alive, 30);

  pr::Connect within = mk5("ka10");
  within.keepalive = 10;
  Client& d = open(std::move(within));
  EXPECT_FALSE(accepted(d).props.server_keep_alive.has_value());
}

TEST_F(CoreConnect, SessionPresentFlag_MQTT_3_2_2_1_to_3) {
  Client& a = open(mk("sp", Version::kV311, false));
  EXPECT_FALSE(accepted(a).session_present) << "no session existed";
  subscribe(a, "t/#", 1);
  disconnect(a);
  EXPECT_EQ(core().session_count(), 1u);

  Client& b = open(mk("sp", Version::kV311, false));
  EXPECT_TRUE(accepted(b).session_present) << "[MQTT-3.2.2-2] resumed session";
  EXPECT_EQ(b.s->subs.size(), 1u);
  disconnect(b);

  Client& c = open(mk("sp", Version::kV311, true));
  EXPECT_FALSE(accepted(c).session_present) << "[MQTT-3.2.2-1] clean session";
  EXPECT_TRUE(c.s->subs.empty()) << "[MQTT-3.1.2-6] the old session is discarded";
  Client& pub = connected("sp-pub");
  publish(pub, "t/x", "m", 1);
  EXPECT_TRUE(c.pubs().empty()) << "old subscription still routed";
}

TEST_F(CoreConnect, SessionPresentV5CleanStartAndResume_MQTT_3_2_2_2) {
  Client& a = open(mk5("sp5", false, 300));
  EXPECT_FALSE(accepted(a).session_present);
  disconnect(a);
  Client& b = open(mk5("sp5", false, 300));
  EXPECT_TRUE(accepted(b).session_present);
  disconnect(b);
  Client& c = open(mk5("sp5", true, 300));
  EXPECT_FALSE(accepted(c).session_present);
  EXPECT_EQ(core().session_count(), 1u);
}

TEST_F(CoreConnect, TakeoverV5SendsSessionTakenOver0x8E_MQTT_3_1_4_3) {
  Client& watcher = connected("watcher");
  subscribe(watcher, "will/#", 0);
  pr::Connect first = mk5("dup", false, 600);
  first.will = pr::Will{};
  first.will->topic = "will/dup";
  first.will->payload = "gone";
  Client& a = open(std::move(first));
  accepted(a);
  subscribe(a, "x/y", 1);

  Client& b = open(mk5("dup", false, 600));
  pr::Connack ack = accepted(b);
  EXPECT_TRUE(ack.session_present);
  auto old = a.take();
  ASSERT_EQ(old.size(), 1u);
  ASSERT_TRUE(old[0].is(PacketType::kDisconnect));
  EXPECT_EQ(old[0].disconnect().reason, rc::kSessionTakenOver);
  EXPECT_EQ(a.link.closes, std::vector<bool>{true});
  EXPECT_FALSE(a.open());
  EXPECT_TRUE(b.open());
  EXPECT_EQ(core().session_count(), 2u);  // watcher + dup
  EXPECT_EQ(stats().clients_connected.get(), 2u);
  EXPECT_EQ(b.s->subs.size(), 1u);
  // The old connection ended without DISCONNECT: its will (no delay) is published.
  EXPECT_EQ(payloads(watcher.pubs()), std::vector<std::string>{"gone"});
  // The new connection is the live one.
  EXPECT_TRUE(send(b, pr::Pingreq{}));
  auto rx = b.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].is(PacketType::kPingresp));
}

TEST_F(CoreConnect, TakeoverV311ClosesOldWithoutDisconnect_MQTT_3_1_4_2) {
  Client& a = connected("dup3", Version::kV311, false);
  Client& b = open(mk("dup3", Version::kV311, false));
  EXPECT_TRUE(accepted(b).session_present);
  EXPECT_TRUE(a.take().empty()) << "3.1.1 has no server DISCONNECT";
  EXPECT_TRUE(a.link.closed());
  EXPECT_FALSE(a.open());
  EXPECT_EQ(core().session_count(), 1u);
  EXPECT_EQ(stats().clients_connected.get(), 1u);
  // Takeover with a clean session: nothing resumed.
  Client& c = open(mk("dup3", Version::kV311, true));
  EXPECT_FALSE(accepted(c).session_present);
  EXPECT_TRUE(b.link.closed());
  EXPECT_EQ(core().session_count(), 1u);
}

TEST_F(CoreConnect, ConnackV5PropertiesFromConfig_MQTT_3_2_2_9_to_15) {
  cfg.max_inflight_messages = 7;
  cfg.max_topic_alias = 5;
  cfg.max_qos = 1;
  cfg.retain_available = false;
  cfg.max_packet_size = 4096;
  Client& c = open(mk5("props"));
  pr::Connack ack = accepted(c);
  EXPECT_EQ(ack.props.receive_maximum, std::optional<uint16_t>(7));
  EXPECT_EQ(ack.props.topic_alias_maximum, std::optional<uint16_t>(5));
  EXPECT_EQ(ack.props.maximum_qos, std::optional<uint8_t>(1));       // [MQTT-3.2.2-9]
  EXPECT_EQ(ack.props.retain_available, std::optional<uint8_t>(0));
  EXPECT_EQ(ack.props.maximum_packet_size, std::optional<uint32_t>(4096));
  EXPECT_FALSE(ack.props.assigned_client_identifier.has_value());
}

TEST_F(CoreConnect, ConnackV5DefaultsOmitUnlimitedProperties) {
  cfg.max_inflight_messages = 0;
  Client& c = open(mk5("defaults"));
  pr::Connack ack = accepted(c);
  EXPECT_FALSE(ack.props.receive_maximum.has_value()) << "absent = 65535";
  EXPECT_FALSE(ack.props.maximum_qos.has_value()) << "absent = QoS 2";
  EXPECT_FALSE(ack.props.retain_available.has_value()) << "absent = available";
  EXPECT_FALSE(ack.props.maximum_packet_size.has_value()) << "absent = no limit";
  EXPECT_FALSE(ack.props.server_keep_alive.has_value());
}

TEST_F(CoreConnect, PerListenerMaximumQosAndTopicAlias) {
  // config.h: Listener::max_qos / max_topic_alias are authoritative for connections on
  // that listener; Config::max_qos / max_topic_alias only mirror the largest.
  cfg.listeners.resize(2);
  cfg.listeners[0].max_qos = 1;
  cfg.listeners[0].max_topic_alias = 2;
  cfg.listeners[1].max_qos = 2;
  cfg.listeners[1].max_topic_alias = 10;
  cfg.max_qos = 2;
  cfg.max_topic_alias = 10;
  Client& c = open(mk5("lim"), /*listener=*/0);
  pr::Connack ack = accepted(c);
  EXPECT_EQ(ack.props.maximum_qos, std::optional<uint8_t>(1));  // [MQTT-3.2.2-9]
  EXPECT_EQ(ack.props.topic_alias_maximum, std::optional<uint16_t>(2));
  // And the limit is enforced on that connection [MQTT-3.2.2-11]: QoS 2 PUBLISH -> 0x9B.
  publish(c, "q/2", "x", 2);
  EXPECT_FALSE(c.open());
}

TEST_F(CoreConnect, WillQosAboveMaximumQosRefused0x9B_MQTT_3_2_2_12) {
  cfg.max_qos = 1;
  pr::Connect c = mk5("willq");
  c.will = pr::Will{};
  c.will->topic = "w";
  c.will->payload = "p";
  c.will->qos = 2;
  Client& cl = open(std::move(c));
  EXPECT_EQ(refused(cl).reason, rc::kQosNotSupported);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreConnect, WillRetainWithoutRetainAvailableRefused0x9A_MQTT_3_2_2_13) {
  cfg.retain_available = false;
  pr::Connect c = mk5("willr");
  c.will = pr::Will{};
  c.will->topic = "w";
  c.will->payload = "p";
  c.will->retain = true;
  Client& cl = open(std::move(c));
  EXPECT_EQ(refused(cl).reason, rc::kRetainNotSupported);
  EXPECT_EQ(core().session_count(), 0u);
}

TEST_F(CoreConnect, SecondConnectIsProtocolError_MQTT_3_1_0_2) {
  Client& v5 = connected(mk5("twice5"));
  std::string bytes;
  pr::encode(mk5("twice5"), Version::kV5, bytes);
  EXPECT_FALSE(feed(v5, bytes));
  auto rx = v5.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].disconnect().reason, rc::kProtocolError);
  EXPECT_TRUE(v5.link.closed());

  Client& v3 = connected("twice3");
  bytes.clear();
  pr::encode(mk("twice3"), Version::kV311, bytes);
  EXPECT_FALSE(feed(v3, bytes));
  EXPECT_TRUE(v3.take().empty());
  EXPECT_TRUE(v3.link.closed());
  EXPECT_EQ(core().session_count(), 0u);
  EXPECT_EQ(stats().clients_connected.get(), 0u);
}

TEST_F(CoreConnect, ConnectedGaugesAndMaximum) {
  Client& a = connected("g1");
  Client& b = connected("g2", Version::kV311, false);
  EXPECT_EQ(stats().clients_connected.get(), 2u);
  EXPECT_EQ(stats().sessions.get(), 2u);
  EXPECT_EQ(broker().clients_maximum(), 2u);
  drop(a);
  drop(b);
  EXPECT_EQ(stats().clients_connected.get(), 0u);
  EXPECT_EQ(stats().sessions.get(), 1u) << "g2 is persistent";
  EXPECT_EQ(core().session_count(), 1u);
  EXPECT_EQ(broker().clients_maximum(), 2u);
}

TEST_F(CoreConnect, PingreqAnswered_MQTT_3_12_4_1) {
  Client& c = connected("ping");
  EXPECT_TRUE(send(c, pr::Pingreq{}));
  auto rx = c.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].is(PacketType::kPingresp));
}


// Runs a CONNECT that fails to decode through refuse_undecodable_connect, as the network
// layer does, and returns the link.
FakeLink undecodable(std::string bytes) {
  FakeLink link;
  pr::Frame f;
  EXPECT_EQ(pr::try_frame(bytes.data(), bytes.size(), 0, f), pr::FrameStatus::kComplete);
  std::string_view body(bytes.data() + f.header_len, f.remaining);
  auto c = pr::decode_connect(f.header, body);
  EXPECT_FALSE(c.ok()) << "the test CONNECT decoded";
  if (!c.ok()) WorkerCore::refuse_undecodable_connect(link, f.header, body, c.error());
  return link;
}

std::string connect_bytes(const pr::Connect& c) {
  std::string b;
  pr::encode(c, c.version, b);
  return b;
}

TEST_F(CoreConnect, UnsupportedProtocolLevelGetsV3ReturnCode1_MQTT_3_1_2_2) {
  std::string b = connect_bytes(mk("lvl"));
  ASSERT_EQ(b[8], 4);  // 0x10, len, 0x00 0x04 'M' 'Q' 'T' 'T', level
  b[8] = 6;
  FakeLink link = undecodable(b);
  EXPECT_EQ(link.out_, std::string("\x20\x02\x00\x01", 4));
  EXPECT_EQ(link.closes, std::vector<bool>{true});
}

TEST_F(CoreConnect, MalformedV5ConnectGetsV5Connack0x81_MQTT_3_1_2_3) {
  std::string b = connect_bytes(mk5("mal5"));
  b[9] |= 0x01;  // reserved connect flag
  FakeLink link = undecodable(b);
  Client reader;
  reader.v = Version::kV5;
  reader.link.out_ = link.out_;
  auto rx = reader.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].connack().reason, rc::kMalformedPacket);
  EXPECT_EQ(link.closes, std::vector<bool>{true});
}

TEST_F(CoreConnect, MalformedV311ConnectClosedWithoutConnack_MQTT_3_1_2_3) {
  std::string b = connect_bytes(mk("mal3"));
  b[9] |= 0x01;
  FakeLink link = undecodable(b);
  EXPECT_TRUE(link.out_.empty());
  EXPECT_TRUE(link.closed());
}

TEST_F(CoreConnect, ConfigChangeAppliesToNewConnections) {
  Client& before = connected(mk5("before"));
  cfg.security.allow_anonymous = false;
  cfg.max_qos = 1;
  reconfigure();
  Client& after = open(mk5("after"));
  EXPECT_EQ(refused(after).reason, rc::kNotAuthorized);
  pr::Connect named = mk5("named5");
  named.username = "u";
  Client& n = open(std::move(named));
  EXPECT_EQ(accepted(n).props.maximum_qos, std::optional<uint8_t>(1));
  EXPECT_TRUE(before.open());
}


TEST_F(CoreConnect, V31ClientConnectsAndReceives) {
  Client& old = open(mk("legacy31", Version::kV31, false));
  pr::Connack ack = accepted(old);
  EXPECT_FALSE(ack.session_present) << "3.1 has no session present flag";
  subscribe(old, "v31", 1);
  disconnect(old);
  Client& again = open(mk("legacy31", Version::kV31, false));
  EXPECT_FALSE(accepted(again).session_present);
  EXPECT_EQ(again.s->subs.size(), 1u) << "the session was resumed all the same";
  Client& pub = connected("v31p");
  publish(pub, "v31", "m", 1);
  auto got = again.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
}

TEST_F(CoreConnect, AcceptProtocolVersionsRefusesOtherVersions) {
  cfg.listeners.resize(2);
  cfg.listeners[0].accept_protocol_versions = 0b110;  // 3.1.1 and 5
  cfg.listeners[1].accept_protocol_versions = 0b010;  // 3.1.1 only
  Client& v31 = open(mk("old", Version::kV31), 0);
  EXPECT_EQ(refused(v31).reason, rc::kV3UnacceptableProtocolVersion);
  accepted(open(mk("mid", Version::kV311), 0));
  accepted(open(mk5("new"), 0));
  Client& v5 = open(mk5("new-on-1"), 1);
  pr::Connack ack = refused(v5);
  EXPECT_EQ(ack.reason, rc::kUnsupportedProtocolVersion);
  EXPECT_TRUE(ack.props.reason_string.has_value());
  EXPECT_EQ(core().session_count(), 2u) << "refused before any session exists";
}

TEST_F(CoreConnect, ListenerAllowAnonymousAndAutoIdPrefixOverrideTheGlobalOnes) {
  cfg.security.allow_anonymous = false;
  cfg.security.auto_id_prefix = "global-";
  cfg.listeners.resize(2);
  cfg.listeners[1].listener_allow_anonymous = true;
  cfg.listeners[1].listener_auto_id_prefix = "l1-";
  Client& a = open(mk("anon0"), 0);
  EXPECT_EQ(refused(a).reason, rc::kV3NotAuthorized);
  Client& b = open(mk5(""), 1);
  pr::Connack ack = accepted(b);
  ASSERT_TRUE(ack.props.assigned_client_identifier.has_value());
  EXPECT_EQ(ack.props.assigned_client_identifier->rfind("l1-", 0), 0u) << *ack.props.assigned_client_identifier;
  // and the other way round: a listener that refuses anonymous clients the global allows
  cfg.security.allow_anonymous = true;
  cfg.listeners[1].listener_allow_anonymous = false;
  reconfigure();
  Client& c = open(mk("anon1"), 1);
  EXPECT_EQ(refused(c).reason, rc::kV3NotAuthorized);
  accepted(open(mk("anon0b"), 0));
}

TEST_F(CoreConnect, ClientIdPrefixesRefusesOtherIdsNotAuthorized) {
  cfg.clientid_prefixes = "plant-";
  accepted(open(mk("plant-7")));
  Client& b = open(mk("office-1"));
  EXPECT_EQ(refused(b).reason, rc::kV3NotAuthorized);
  Client& c = open(mk5("office-2"));
  EXPECT_EQ(refused(c).reason, rc::kNotAuthorized);
  // an identifier the broker assigns must carry the prefix too (as in Mosquitto)
  Client& d = open(mk5(""));
  EXPECT_EQ(refused(d).reason, rc::kNotAuthorized);
  cfg.security.auto_id_prefix = "plant-auto-";
  reconfigure();
  accepted(open(mk5("")));
}

TEST_F(CoreConnect, GlobalMaxClientsCountsSessionsNotConnections) {
  cfg.global_max_clients = 2;
  workers = 2;
  Client& a = open(mk("keep-a", Version::kV311, false));
  accepted(a);
  disconnect(a);  // its session stays and still counts
  accepted(open(mk5("b")));
  Client& c = open(mk5("c"));
  pr::Connack ack = refused(c);
  EXPECT_EQ(ack.reason, rc::kServerBusy);
  Client& d = open(mk("d"));
  EXPECT_EQ(refused(d).reason, rc::kV3ServerUnavailable);
  // resuming the kept session, and a clean start replacing it, are not new sessions
  Client& a2 = open(mk("keep-a", Version::kV311, false));
  EXPECT_TRUE(accepted(a2).session_present);
  disconnect(a2);
  accepted(open(mk("keep-a", Version::kV311, true)));
  EXPECT_EQ(broker().sessions(), 2);
  // once one ends, a new client fits again
  cfg.global_max_clients = -1;
  reconfigure();
  accepted(open(mk5("e")));
  EXPECT_EQ(broker().sessions(), 3);
}

TEST_F(CoreConnect, MemoryLimitRefusesNewMessagesAndConnectionsWhileOver) {
  Client& v5 = connected(mk5("mem5"));
  Client& v3 = connected("mem3");
  Client& sub = connected("mem-sub");
  subscribe(sub, "m/#", 1);
  cfg.memory_limit = 1;  // any heap is over it
  reconfigure();
  advance(250);  // worker 0's tick measures the heap
  ASSERT_TRUE(broker().memory_over());
  publish(v5, "m/a", "refused", 1);
  auto rx = v5.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().reason, rc::kQuotaExceeded);
  publish(v5, "m/a", "dropped", 0);
  EXPECT_TRUE(sub.pubs().empty()) << "nothing routed while over";
  publish(v3, "m/a", "v3", 1);
  EXPECT_FALSE(v3.open()) << "a 3.x client has no refusal: it is disconnected and sends again later";
  Client& late = open(mk5("late"));
  EXPECT_EQ(refused(late).reason, rc::kServerBusy);
  cfg.memory_limit = uint64_t(1) << 50;
  reconfigure();
  advance(250);
  EXPECT_FALSE(broker().memory_over());
  publish(v5, "m/a", "accepted", 1);
  EXPECT_EQ(payloads(sub.pubs()), std::vector<std::string>{"accepted"});
}

}  // namespace
}  // namespace petrel::broker::coretest
