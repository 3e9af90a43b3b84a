// Client against a scripted fake server: golden bytes each way for CONNECT/CONNACK,
// refusals, QoS 1 and 2 in both directions, the in-flight window, keepalive and reconnect
// with DUP re-sends.
#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include "client/client.h"
#include "fake_server.h"

namespace petrel::client::test {
namespace {

using protocol::Version;

class ClientTest : public ::testing::Test {
 protected:
  asio::io_context io;
  FakeNetwork net{io, {}, 0, {}};
  std::vector<Message> messages;
  std::vector<ClientError> failures, losses;
  int connects = 0;
  bool last_session_present = false;

  std::shared_ptr<Client> make(ClientOptions o) {
    Handlers h;
    h.on_connect = [this](const ConnackInfo& i) { ++connects; last_session_present = i.session_present; };
    h.on_connect_failed = [this](const ClientError& e) { failures.push_back(e); };
    h.on_connection_lost = [this](const ClientError& e) { losses.push_back(e); };
    h.on_message = [this](const Message& m) { messages.push_back(m); };
    return Client::create(io.get_executor(), net.factory(), std::move(o), std::move(h));
  }

  static ClientOptions v311(std::string id = "c1") {
    ClientOptions o;
    o.client_id = std::move(id);
    return o;
  }

  // Connects and answers the CONNECT with the given CONNACK bytes.
  std::shared_ptr<Client> connected(ClientOptions o, std::string connack = hex("20 02 00 00")) {
    auto c = make(std::move(o));
    c->connect();
    EXPECT_TRUE(run_until(io, [&] { return !net.conns.empty() && !net.last().written.empty(); }));
    net.last().take();
    net.last().send(connack);
    EXPECT_TRUE(run_until(io, [&] { return c->is_connected(); }));
    return c;
  }

  std::string wait_written(size_t n = 1) {
    EXPECT_TRUE(run_until(io, [&] { return !net.conns.empty() && net.last().written.size() >= n; }));
    if (net.conns.empty()) return {};
    return net.last().take();
  }
};

TEST_F(ClientTest, ConnectV311GoldenBytes) {
  auto c = make(v311());
  c->connect();
  // 10 0e | 00 04 "MQTT" | level 4 | flags 02 (clean) | keepalive 60 | id "c1"
  EXPECT_EQ(wait_written(), hex("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31"));
  net.last().send(hex("20 02 00 00"));
  EXPECT_TRUE(run_until(io, [&] { return connects == 1; }));
}

TEST_F(ClientTest, ConnectV5WithWillCredentialsAndSessionExpiry) {
  ClientOptions o = v311("id");
  o.version = Version::kV5;
  o.keepalive = 10;
  o.clean_start = false;
  o.username = "u";
  o.password = "p";
  o.connect_props.session_expiry_interval = 0xFFFFFFFF;
  o.will = protocol::Will{"w", "bye", 1, true, {}};
  auto c = make(o);
  c->connect();
  // flags: user 80 | password 40 | will retain 20 | will qos1 08 | will 04 = ec
  // props: 05 | 11 ff ff ff ff ; will props 00
  EXPECT_EQ(wait_written(), hex("10 23 00 04 4d 51 54 54 05 ec 00 0a 05 11 ff ff ff ff 00 02 69 64"
                                "00 00 01 77 00 03 62 79 65 00 01 75 00 01 70"));
}

TEST_F(ClientTest, RefusedConnackV311ReportsReturnCode) {
  auto c = make(v311());
  c->connect();
  wait_written();
  net.last().send(hex("20 02 00 05"));  // not authorised
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].kind, ErrorKind::kRefused);
  EXPECT_EQ(failures[0].reason, 5);
  EXPECT_EQ(failures[0].message, "Connection Refused: not authorised.");
  EXPECT_FALSE(c->is_connected());
}

TEST_F(ClientTest, RefusedConnackV5ReportsReasonCode) {
  ClientOptions o = v311();
  o.version = Version::kV5;
  auto c = make(o);
  c->connect();
  wait_written();
  net.last().send(hex("20 03 00 87 00"));
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].reason, 0x87);
}

TEST_F(ClientTest, TransportFailureReported) {
  net.fail_next = 1;
  auto c = make(v311());
  c->connect();
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].kind, ErrorKind::kTransport);
  EXPECT_EQ(failures[0].message, "Connection refused");
}

TEST_F(ClientTest, PublishQos1Flow) {
  auto c = connected(v311());
  std::optional<PublishResult> done;
  auto id = c->publish({"t", "hi", 1, false, {}}, [&](const PublishResult& r) { done = r; });
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 1);
  EXPECT_EQ(wait_written(), hex("32 07 00 01 74 00 01 68 69"));
  EXPECT_EQ(c->inflight(), 1u);
  net.last().send(hex("40 02 00 01"));
  ASSERT_TRUE(run_until(io, [&] { return done.has_value(); }));
  EXPECT_EQ(done->packet_id, 1);
  EXPECT_EQ(c->inflight(), 0u);
}

TEST_F(ClientTest, PublishQos2FlowSendsPubrelThenCompletes) {
  auto c = connected(v311());
  bool done = false;
  (void)c->publish({"t", "x", 2, true, {}}, [&](const PublishResult&) { done = true; });
  EXPECT_EQ(wait_written(), hex("35 06 00 01 74 00 01 78"));  // QoS 2 + retain
  net.last().send(hex("50 02 00 01"));                       // PUBREC
  EXPECT_EQ(wait_written(), hex("62 02 00 01"));             // PUBREL
  EXPECT_FALSE(done);
  net.last().send(hex("70 02 00 01"));  // PUBCOMP
  ASSERT_TRUE(run_until(io, [&] { return done; }));
}

TEST_F(ClientTest, Qos0CompletesWhenWritten) {
  auto c = connected(v311());
  bool done = false;
  (void)c->publish({"a/b", "", 0, false, {}}, [&](const PublishResult&) { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(net.last().take(), hex("30 05 00 03 61 2f 62"));
}

TEST_F(ClientTest, InboundQos1IsAckedAndDelivered) {
  auto c = connected(v311());
  net.last().send(hex("32 08 00 01 74 00 07 70 61 79"));
  ASSERT_TRUE(run_until(io, [&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0].topic, "t");
  EXPECT_EQ(messages[0].payload, "pay");
  EXPECT_EQ(messages[0].packet_id, 7);
  EXPECT_EQ(wait_written(), hex("40 02 00 07"));
}

TEST_F(ClientTest, InboundQos2DeliveredOnceOnPubrel) {
  auto c = connected(v311());
  net.last().send(hex("34 06 00 01 74 00 09 41"));
  EXPECT_EQ(wait_written(), hex("50 02 00 09"));  // PUBREC
  run_until(io, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_TRUE(messages.empty());  // held until PUBREL
  net.last().send(hex("3c 06 00 01 74 00 09 41"));  // DUP re-send before PUBREL
  EXPECT_EQ(wait_written(), hex("50 02 00 09"));
  net.last().send(hex("62 02 00 09"));  // PUBREL
  EXPECT_EQ(wait_written(), hex("70 02 00 09"));  // PUBCOMP
  ASSERT_TRUE(run_until(io, [&] { return messages.size() == 1; }));
  run_until(io, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_EQ(messages.size(), 1u);
}

TEST_F(ClientTest, InflightWindowFollowsReceiveMaximum) {
  ClientOptions o = v311();
  o.version = Version::kV5;
  auto c = connected(o, hex("20 06 00 00 03 21 00 01"));  // receive maximum 1
  (void)c->publish({"t", "1", 1, false, {}});
  (void)c->publish({"t", "2", 1, false, {}});
  const std::string first = wait_written();
  run_until(io, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_EQ(net.last().written, "");  // the second waits for the window
  EXPECT_EQ(c->queued(), 1u);
  EXPECT_EQ(first, hex("32 07 00 01 74 00 01 00 31"));
  net.last().send(hex("40 02 00 01"));
  EXPECT_EQ(wait_written(), hex("32 07 00 01 74 00 02 00 32"));
}

TEST_F(ClientTest, PublishAboveServerMaximumQosIsDowngraded) {  // [MQTT-3.2.2-11]
  ClientOptions o = v311();
  o.version = Version::kV5;
  auto c = connected(o, hex("20 05 00 00 02 24 01"));  // Maximum QoS 1
  (void)c->publish({"t", "x", 2, false, {}});
  EXPECT_EQ(wait_written(), hex("32 07 00 01 74 00 01 00 78"));
}

TEST_F(ClientTest, KeepaliveSendsPingreqAndTimesOut) {
  ClientOptions o = v311();
  o.keepalive = 1;
  auto c = connected(o);
  // After a second without sending: PINGREQ.
  EXPECT_TRUE(run_until(io, [&] { return net.last().written == hex("c0 00"); }, std::chrono::milliseconds(2500)));
  net.last().take();
  net.last().send(hex("d0 00"));  // PINGRESP
  EXPECT_TRUE(run_until(io, [&] { return net.last().written == hex("c0 00"); }, std::chrono::milliseconds(2500)));
  // No PINGRESP this time: the connection is declared lost one keepalive later.
  ASSERT_TRUE(run_until(io, [&] { return !losses.empty(); }, std::chrono::milliseconds(2500)));
  EXPECT_EQ(losses[0].kind, ErrorKind::kTimeout);
}

TEST_F(ClientTest, ReconnectResendsUnackedWithDupOnResumedSession) {
  ClientOptions o = v311();
  o.clean_start = false;
  o.reconnect.enabled = true;
  o.reconnect.initial_delay = std::chrono::milliseconds(10);
  auto c = connected(o);
  bool done1 = false, done2 = false;
  (void)c->publish({"t", "a", 1, false, {}}, [&](const PublishResult&) { done1 = true; });
  (void)c->publish({"t", "b", 2, false, {}}, [&](const PublishResult&) { done2 = true; });
  EXPECT_EQ(wait_written(16), hex("32 06 00 01 74 00 01 61 34 06 00 01 74 00 02 62"));
  net.last().send(hex("50 02 00 02"));  // PUBREC for the QoS 2 one
  EXPECT_EQ(wait_written(), hex("62 02 00 02"));
  net.last().hang_up();
  ASSERT_TRUE(run_until(io, [&] { return net.conns.size() == 2 && !net.last().written.empty(); }));
  EXPECT_EQ(losses.size(), 1u);
  // CONNECT again with clean session 0 (flags 00).
  EXPECT_EQ(net.last().take(), hex("10 0e 00 04 4d 51 54 54 04 00 00 3c 00 02 63 31"));
  net.last().send(hex("20 02 01 00"));  // session present
  // The QoS 1 PUBLISH again with DUP (0x3a), the QoS 2 one is past PUBREC: PUBREL again.
  EXPECT_EQ(wait_written(12), hex("3a 06 00 01 74 00 01 61 62 02 00 02"));
  EXPECT_TRUE(last_session_present);
  net.last().send(hex("40 02 00 01 70 02 00 02"));
  ASSERT_TRUE(run_until(io, [&] { return done1 && done2; }));
}

TEST_F(ClientTest, ReconnectWithoutSessionResendsAsNew) {
  ClientOptions o = v311();
  o.reconnect.enabled = true;
  o.reconnect.initial_delay = std::chrono::milliseconds(10);
  auto c = connected(o);
  (void)c->publish({"t", "a", 1, false, {}});
  wait_written();
  net.last().hang_up();
  ASSERT_TRUE(run_until(io, [&] { return net.conns.size() == 2 && !net.last().written.empty(); }));
  net.last().take();
  net.last().send(hex("20 02 00 00"));
  EXPECT_EQ(wait_written(), hex("32 06 00 01 74 00 01 61"));  // no DUP
}

TEST_F(ClientTest, PublishBeforeConnectIsQueued) {
  auto c = make(v311());
  (void)c->publish({"t", "q", 0, false, {}});
  c->connect();
  wait_written();
  net.last().send(hex("20 02 00 00"));
  EXPECT_EQ(wait_written(), hex("30 04 00 01 74 71"));
}

TEST_F(ClientTest, SubscribeAndUnsubscribe) {
  auto c = connected(v311());
  std::optional<protocol::Suback> suback;
  protocol::SubscribeTopic t{"a/#", 1, false, false, 0};
  ASSERT_TRUE(c->subscribe({t}, {}, [&](const protocol::Suback& s) { suback = s; }).ok());
  EXPECT_EQ(wait_written(), hex("82 08 00 01 00 03 61 2f 23 01"));
  net.last().send(hex("90 03 00 01 01"));
  ASSERT_TRUE(run_until(io, [&] { return suback.has_value(); }));
  EXPECT_EQ(suback->reasons, std::vector<uint8_t>{1});
  bool unsubbed = false;
  ASSERT_TRUE(c->unsubscribe({"a/#"}, {}, [&](const protocol::Unsuback&) { unsubbed = true; }).ok());
  EXPECT_EQ(wait_written(), hex("a2 07 00 02 00 03 61 2f 23"));
  net.last().send(hex("b0 02 00 02"));
  ASSERT_TRUE(run_until(io, [&] { return unsubbed; }));
}

TEST_F(ClientTest, V5PropertiesKeptInWireOrderAndAliasesResolved) {
  ClientOptions o = v311();
  o.version = Version::kV5;
  auto c = connected(o, hex("20 03 00 00 00"));
  // topic "t", alias 3, user property k=v, content type "c"; then alias only.
  net.last().send(hex("30 13 00 01 74 0e 23 00 03 26 00 01 6b 00 01 76 03 00 01 63 41"));
  net.last().send(hex("30 07 00 00 03 23 00 03 42"));
  ASSERT_TRUE(run_until(io, [&] { return messages.size() == 2; }));
  ASSERT_EQ(messages[0].props.size(), 3u);
  EXPECT_EQ(messages[0].props[0].id, protocol::prop::kTopicAlias);
  EXPECT_EQ(messages[0].props[1].key, "k");
  EXPECT_EQ(messages[0].props[2].value, "c");
  EXPECT_EQ(messages[1].topic, "t");
  EXPECT_EQ(messages[1].payload, "B");
}

TEST_F(ClientTest, MalformedPacketEndsConnection) {
  auto c = connected(v311());
  net.last().send(hex("32 02 00 05"));  // PUBLISH shorter than its topic
  ASSERT_TRUE(run_until(io, [&] { return !losses.empty(); }));
  EXPECT_EQ(losses[0].kind, ErrorKind::kProtocol);
}

TEST_F(ClientTest, ServerDisconnectV5Reported) {
  ClientOptions o = v311();
  o.version = Version::kV5;
  auto c = connected(o, hex("20 03 00 00 00"));
  net.last().send(hex("e0 02 8e 00"));  // session taken over
  ASSERT_TRUE(run_until(io, [&] { return !losses.empty(); }));
  EXPECT_EQ(losses[0].kind, ErrorKind::kServerDisconnect);
  EXPECT_EQ(losses[0].reason, 0x8e);
}

// The peer refuses and closes while the client is writing: the write fails with EPIPE,
// but what the peer sent first is still readable and is what gets reported.
TEST_F(ClientTest, FailedConnectWriteReportsTheRefusingConnack) {
  net.write_error = asio::error::broken_pipe;
  auto c = make(v311());
  c->connect();
  ASSERT_TRUE(run_until(io, [&] { return !net.conns.empty() && net.last().pending; }));
  run_until(io, [] { return false; }, std::chrono::milliseconds(50));  // the write fails
  EXPECT_TRUE(failures.empty());
  net.last().send(hex("20 02 00 05"));
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].kind, ErrorKind::kRefused);
  EXPECT_EQ(failures[0].message, "Connection Refused: not authorised.");
}

TEST_F(ClientTest, FailedConnectWriteReportsTheTlsAlertRead) {
  asio::ssl::context loads_strings(asio::ssl::context::tls_client);  // libssl's error texts
  net.write_error = asio::error::connection_reset;
  auto c = make(v311());
  c->connect();
  ASSERT_TRUE(run_until(io, [&] { return !net.conns.empty() && net.last().pending; }));
  run_until(io, [] { return false; }, std::chrono::milliseconds(50));
  EXPECT_TRUE(failures.empty());
  const boost::system::error_code alert(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED),
                                        asio::error::get_ssl_category());
  net.last().fail_read(alert);
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }));
  EXPECT_NE(failures[0].message.find("certificate expired"), std::string::npos) << failures[0].message;
}

TEST_F(ClientTest, FailedWriteReportsTheServersDisconnectReason) {
  ClientOptions o = v311();
  o.version = Version::kV5;
  auto c = connected(o, hex("20 03 00 00 00"));
  net.last().write_error = asio::error::broken_pipe;
  c->publish({.topic = "t", .payload = "x", .qos = 1});
  run_until(io, [] { return false; }, std::chrono::milliseconds(50));
  EXPECT_TRUE(losses.empty());
  net.last().send(hex("e0 02 97 00"));  // quota exceeded
  ASSERT_TRUE(run_until(io, [&] { return !losses.empty(); }));
  EXPECT_EQ(losses[0].kind, ErrorKind::kServerDisconnect);
  EXPECT_EQ(losses[0].reason, 0x97);
}

// A peer that neither sends nor closes after the failed write: the write error is
// reported after the bounded wait (2 s).
TEST_F(ClientTest, FailedWriteWithSilentPeerReportsTheWriteError) {
  net.write_error = asio::error::broken_pipe;
  auto c = make(v311());
  c->connect();
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }, std::chrono::milliseconds(6000)));
  EXPECT_EQ(failures[0].kind, ErrorKind::kConnectionLost);
  EXPECT_EQ(failures[0].message, asio::error::make_error_code(asio::error::broken_pipe).message());
}

TEST_F(ClientTest, DisconnectSendsDisconnectAndCloses) {
  auto c = connected(v311());
  bool done = false;
  c->disconnect(0, {}, [&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(net.last().take(), hex("e0 00"));
  EXPECT_TRUE(net.last().closed);
  EXPECT_TRUE(losses.empty());
}

TEST_F(ClientTest, ManualAckAcknowledgesOnlyWhenTheOwnerSays) {
  ClientOptions o = v311();
  o.manual_ack = true;
  auto c = connected(o);
  net.last().send(hex("32 08 00 01 74 00 07 70 61 79"));  // QoS 1, id 7
  ASSERT_TRUE(run_until(io, [&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0].packet_id, 7);
  EXPECT_EQ(messages[0].connection, c->connection());
  run_until(io, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_TRUE(net.last().written.empty()) << "no PUBACK before ack()";
  c->ack(7, 1, messages[0].connection);
  EXPECT_EQ(wait_written(), hex("40 02 00 07"));
  // QoS 2: delivered on PUBLISH; a re-send before ack() is neither delivered nor answered;
  // after ack(), PUBREC, and a re-send only gets PUBREC again; PUBREL delivers nothing.
  net.last().send(hex("34 06 00 01 74 00 09 41"));
  ASSERT_TRUE(run_until(io, [&] { return messages.size() == 2; }));
  net.last().send(hex("3c 06 00 01 74 00 09 41"));
  run_until(io, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_EQ(messages.size(), 2u);
  EXPECT_TRUE(net.last().written.empty());
  c->ack(9, 2, messages[1].connection);
  EXPECT_EQ(wait_written(), hex("50 02 00 09"));
  net.last().send(hex("3c 06 00 01 74 00 09 41"));
  EXPECT_EQ(wait_written(), hex("50 02 00 09"));
  net.last().send(hex("62 02 00 09"));
  EXPECT_EQ(wait_written(), hex("70 02 00 09"));
  run_until(io, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_EQ(messages.size(), 2u);
}

TEST_F(ClientTest, ManualAckOfAnEndedConnectionIsIgnored) {
  ClientOptions o = v311();
  o.manual_ack = true;
  o.clean_start = false;
  o.reconnect.enabled = true;
  o.reconnect.initial_delay = std::chrono::milliseconds(10);
  auto c = connected(o);
  net.last().send(hex("34 06 00 01 74 00 09 41"));  // QoS 2, id 9, not acknowledged
  ASSERT_TRUE(run_until(io, [&] { return messages.size() == 1; }));
  const uint64_t first = messages[0].connection;
  net.last().hang_up();
  ASSERT_TRUE(run_until(io, [&] { return net.conns.size() == 2 && !net.last().written.empty(); }));
  net.last().take();
  net.last().send(hex("20 02 01 00"));  // session present
  ASSERT_TRUE(run_until(io, [&] { return c->is_connected(); }));
  c->ack(9, 2, first);  // the old connection's: nothing is sent
  run_until(io, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_TRUE(net.last().written.empty());
  // The server sends it again: delivered again on this connection, acknowledged there.
  net.last().send(hex("3c 06 00 01 74 00 09 41"));
  ASSERT_TRUE(run_until(io, [&] { return messages.size() == 2; }));
  EXPECT_NE(messages[1].connection, first);
  c->ack(9, 2, messages[1].connection);
  EXPECT_EQ(wait_written(), hex("50 02 00 09"));
}

TEST(HexToBytes, AcceptsEvenHexOnly) {
  EXPECT_EQ(hex_to_bytes("00ffA0"), std::string("\x00\xff\xa0", 3));
  EXPECT_FALSE(hex_to_bytes("abc").has_value());
  EXPECT_FALSE(hex_to_bytes("zz").has_value());
  // A PSK key as Mosquitto reads it: an odd count of digits has a leading 0.
  EXPECT_EQ(psk_key_from_hex("12345"), std::string("\x01\x23\x45", 3));
  EXPECT_EQ(psk_key_from_hex("0012"), std::string("\x00\x12", 2));
  EXPECT_FALSE(psk_key_from_hex("").has_value());
  EXPECT_FALSE(psk_key_from_hex("12g").has_value());
}

}  // namespace
}  // namespace petrel::client::test
