// CONNECT and CONNACK: golden bytes (written by hand from the spec, one comment per field)
// and malformed vectors for MQTT 3.1, 3.1.1 and 5.0.
#include "test_util.h"

namespace petrel::protocol {
namespace {

using test::B;
using test::cat;
using test::decode_error;
using test::decode_wire;
using test::expect_golden;
using test::frame;
using test::lstr;

// ---- golden --------------------------------------------------------------------------

TEST(Connect, GoldenV311Minimal) {
  const std::string wire = B({
      0x10,                          // CONNECT, flags 0
      0x0F,                          // remaining length 15
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name "MQTT"
      0x04,                          // protocol level 4 (3.1.1)
      0x02,                          // connect flags: clean session
      0x00, 0x3C,                    // keep alive 60
      0x00, 0x03, 'a', 'b', 'c',     // client identifier "abc"
  });
  Connect c;
  c.version = Version::kV311;
  c.protocol_name = "MQTT";
  c.clean_start = true;
  c.keepalive = 60;
  c.client_id = "abc";
  expect_golden(c, Version::kV311, wire);
}

TEST(Connect, GoldenV311WillUserPassword) {
  const std::string wire = B({
      0x10,                          // CONNECT
      0x1E,                          // remaining length 30
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x04,                          // level 4
      0xEC,                          // user name | password | will retain | will QoS 1 | will flag
      0x00, 0x0A,                    // keep alive 10
      0x00, 0x02, 'c', '1',          // client identifier "c1"
      0x00, 0x03, 'w', '/', 't',     // will topic "w/t"
      0x00, 0x03, 'b', 'y', 'e',     // will message "bye"
      0x00, 0x01, 'u',               // user name "u"
      0x00, 0x01, 'p',               // password "p"
  });
  Connect c;
  c.version = Version::kV311;
  c.clean_start = false;
  c.keepalive = 10;
  c.client_id = "c1";
  c.will = Will{"w/t", "bye", 1, true, {}};
  c.username = "u";
  c.password = "p";
  expect_golden(c, Version::kV311, wire);
}

TEST(Connect, GoldenV31) {
  const std::string wire = B({
      0x10,                                    // CONNECT
      0x1B,                                    // remaining length 27
      0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p',  // protocol name "MQIsdp"
      0x03,                                    // level 3 (3.1)
      0xC2,                                    // user name | password | clean session
      0x00, 0x0F,                              // keep alive 15
      0x00, 0x03, 'c', 'l', 'i',               // client identifier "cli"
      0x00, 0x04, 'u', 's', 'e', 'r',          // user name "user"
      0x00, 0x02, 'p', 'w',                    // password "pw"
  });
  Connect c;
  c.version = Version::kV31;
  c.protocol_name = "MQIsdp";
  c.keepalive = 15;
  c.client_id = "cli";
  c.username = "user";
  c.password = "pw";
  expect_golden(c, Version::kV31, wire);
}

TEST(Connect, GoldenV5EveryProperty) {
  const std::string wire = B({
      0x10,                                // CONNECT
      0x65,                                // remaining length 101
      0x00, 0x04, 'M', 'Q', 'T', 'T',      // protocol name
      0x05,                                // level 5
      0xD6,                                // user name | password | will QoS 2 | will | clean start
      0x00, 0x1E,                          // keep alive 30
      0x25,                                // property length 37
      0x11, 0x00, 0x00, 0x0E, 0x10,        // session expiry interval 3600
      0x15, 0x00, 0x02, 'm', '1',          // authentication method "m1"
      0x16, 0x00, 0x02, 0x01, 0x02,        // authentication data 01 02
      0x17, 0x00,                          // request problem information 0
      0x19, 0x01,                          // request response information 1
      0x21, 0x00, 0x14,                    // receive maximum 20
      0x22, 0x00, 0x0A,                    // topic alias maximum 10
      0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property k=v
      0x27, 0x00, 0x00, 0x04, 0x00,        // maximum packet size 1024
      0x00, 0x03, 'v', '5', 'c',           // client identifier "v5c"
      0x22,                                // will property length 34
      0x01, 0x01,                          // payload format indicator 1
      0x02, 0x00, 0x00, 0x00, 0x3C,        // message expiry interval 60
      0x03, 0x00, 0x03, 't', '/', 'p',     // content type "t/p"
      0x08, 0x00, 0x01, 'r',               // response topic "r"
      0x09, 0x00, 0x02, 'c', 'd',          // correlation data "cd"
      0x18, 0x00, 0x00, 0x00, 0x05,        // will delay interval 5
      0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b',  // user property a=b
      0x00, 0x01, 'w',                     // will topic "w"
      0x00, 0x01, 'x',                     // will payload "x"
      0x00, 0x01, 'u',                     // user name "u"
      0x00, 0x02, 'p', 'w',                // password "pw"
  });
  Connect c;
  c.version = Version::kV5;
  c.keepalive = 30;
  c.client_id = "v5c";
  c.props.session_expiry_interval = 3600;
  c.props.authentication_method = "m1";
  c.props.authentication_data = std::string("\x01\x02", 2);
  c.props.request_problem_information = 0;
  c.props.request_response_information = 1;
  c.props.receive_maximum = 20;
  c.props.topic_alias_maximum = 10;
  c.props.user_properties = {{"k", "v"}};
  c.props.maximum_packet_size = 1024;
  Will w;
  w.topic = "w";
  w.payload = "x";
  w.qos = 2;
  w.props.payload_format_indicator = 1;
  w.props.message_expiry_interval = 60;
  w.props.content_type = "t/p";
  w.props.response_topic = "r";
  w.props.correlation_data = "cd";
  w.props.will_delay_interval = 5;
  w.props.user_properties = {{"a", "b"}};
  c.will = w;
  c.username = "u";
  c.password = "pw";
  expect_golden(c, Version::kV5, wire);
}

TEST(Connect, BridgeBitOfProtocolLevel) {
  const std::string wire = B({
      0x10, 0x0C,                      // CONNECT, remaining length 12
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x84,                            // level 4 with bit 7 = bridge (try_private)
      0x00,                            // flags: none
      0x00, 0x00,                      // keep alive 0
      0x00, 0x00,                      // empty client identifier
  });
  Connect c;
  c.version = Version::kV311;
  c.bridge = true;
  c.clean_start = false;
  c.keepalive = 0;
  expect_golden(c, Version::kV311, wire);
}

TEST(Connect, V5PasswordWithoutUserNameIsAllowed) {
  const std::string wire = B({
      0x10, 0x10,                      // CONNECT, remaining length 16
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x05,                            // level 5
      0x42,                            // password | clean start
      0x00, 0x05,                      // keep alive 5
      0x00,                            // no properties
      0x00, 0x00,                      // empty client identifier
      0x00, 0x01, 0xFF,                // password (binary) FF
  });
  Connect c;
  c.version = Version::kV5;
  c.keepalive = 5;
  c.password = "\xFF";
  expect_golden(c, Version::kV5, wire);
}

TEST(Connect, PeekVersion) {
  EXPECT_EQ(peek_connect_version(cat({lstr("MQTT"), B({5})})), Version::kV5);
  EXPECT_EQ(peek_connect_version(cat({lstr("MQTT"), B({0x84})})), Version::kV311);
  EXPECT_EQ(peek_connect_version(cat({lstr("MQIsdp"), B({3})})), Version::kV31);
  EXPECT_EQ(peek_connect_version(cat({lstr("MQTT"), B({6})})), std::nullopt);
  EXPECT_EQ(peek_connect_version(lstr("MQ")), std::nullopt);
}

TEST(Connect, EncodeV3DropsPasswordWithoutUserName_MQTT_3_1_2_22) {
  Connect c;
  c.client_id = "a";
  c.password = "secret";
  c.props.session_expiry_interval = 5;  // v5 only: dropped too
  const std::string wire = B({
      0x10, 0x0D,                      // CONNECT, remaining length 13
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x04, 0x02, 0x00, 0x3C,          // level 4, clean session, keep alive 60
      0x00, 0x01, 'a',                 // client identifier
  });
  EXPECT_EQ(test::hex(test::encoded(c, Version::kV311)), test::hex(wire));
}

// ---- malformed -----------------------------------------------------------------------

// A 3.1.1 / 5.0 CONNECT body with the given flags and the rest hand-assembled.
std::string connect_body(uint8_t level, uint8_t flags, std::string_view rest) {
  return cat({lstr("MQTT"), B({level, flags, 0x00, 0x3C}), rest});
}
uint8_t connect_error(std::string_view body, uint8_t header = 0x10) {
  auto r = decode_connect(header, body);
  EXPECT_FALSE(r.ok());
  return r.ok() ? 0 : r.error().code;
}

TEST(Connect, ReservedFlagMustBeZero_MQTT_3_1_2_3) {
  EXPECT_EQ(connect_error(connect_body(4, 0x03, lstr("a"))), rc::kMalformedPacket);
  EXPECT_EQ(connect_error(connect_body(5, 0x03, cat({B({0}), lstr("a")}))), rc::kMalformedPacket);
}

TEST(Connect, FixedHeaderFlagsMustBeZero_MQTT_2_2_2_2) {
  EXPECT_EQ(connect_error(connect_body(4, 0x02, lstr("a")), 0x11), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(frame(0x18, connect_body(4, 0x02, lstr("a"))), Version::kV311),
            rc::kMalformedPacket);
}

TEST(Connect, WillQosWithoutWillFlag_MQTT_3_1_2_11) {
  EXPECT_EQ(connect_error(connect_body(4, 0x0A, lstr("a"))), rc::kMalformedPacket);
  EXPECT_EQ(connect_error(connect_body(5, 0x12, cat({B({0}), lstr("a")}))), rc::kMalformedPacket);
}

TEST(Connect, WillRetainWithoutWillFlag_MQTT_3_1_2_13) {
  EXPECT_EQ(connect_error(connect_body(4, 0x22, lstr("a"))), rc::kMalformedPacket);
  EXPECT_EQ(connect_error(connect_body(5, 0x22, cat({B({0}), lstr("a")}))), rc::kMalformedPacket);
}

TEST(Connect, WillQos3IsMalformed_MQTT_3_1_2_12) {
  const std::string will = cat({lstr("a"), lstr("t"), lstr("p")});
  EXPECT_EQ(connect_error(connect_body(4, 0x1E, will)), rc::kMalformedPacket);
  EXPECT_EQ(connect_error(connect_body(5, 0x1E, cat({B({0}), lstr("a"), B({0}), lstr("t"), lstr("p")}))),
            rc::kMalformedPacket);
}

TEST(Connect, PasswordWithoutUserNameV311_MQTT_3_1_2_22) {
  EXPECT_EQ(connect_error(connect_body(4, 0x42, cat({lstr("a"), lstr("pw")}))), rc::kMalformedPacket);
  const std::string v31 = cat({lstr("MQIsdp"), B({3, 0x42, 0, 10}), lstr("a"), lstr("pw")});
  EXPECT_EQ(connect_error(v31), rc::kMalformedPacket);
}

TEST(Connect, UnsupportedProtocolLevel_MQTT_3_1_2_2) {
  EXPECT_EQ(connect_error(connect_body(6, 0x02, lstr("a"))), rc::kUnsupportedProtocolVersion);
  EXPECT_EQ(connect_error(connect_body(3, 0x02, lstr("a"))), rc::kUnsupportedProtocolVersion);
  const std::string mqisdp4 = cat({lstr("MQIsdp"), B({4, 0x02, 0, 10}), lstr("a")});
  EXPECT_EQ(connect_error(mqisdp4), rc::kUnsupportedProtocolVersion);
}

TEST(Connect, UnknownProtocolName_MQTT_3_1_2_1) {
  const std::string body = cat({lstr("MQTX"), B({4, 0x02, 0, 10}), lstr("a")});
  EXPECT_EQ(connect_error(body), rc::kUnsupportedProtocolVersion);
}

TEST(Connect, EveryTruncationIsMalformed) {
  const std::string body = connect_body(
      4, 0xEC, cat({lstr("c1"), lstr("w/t"), lstr("bye"), lstr("u"), lstr("p")}));
  ASSERT_TRUE(decode_connect(0x10, body).ok());
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(connect_error(body.substr(0, n)), rc::kMalformedPacket) << "prefix " << n;
  }
}

TEST(Connect, TrailingBytesAreMalformed) {
  EXPECT_EQ(connect_error(connect_body(4, 0x02, cat({lstr("a"), B({0})}))), rc::kMalformedPacket);
}

TEST(Connect, ClientIdMustBeUtf8_MQTT_3_1_3_4) {
  EXPECT_EQ(connect_error(connect_body(4, 0x02, lstr("a\xC0\x80"))), rc::kMalformedPacket);
  EXPECT_EQ(connect_error(connect_body(4, 0x02, lstr(std::string("a\0", 2)))), rc::kMalformedPacket);
}

TEST(Connect, UserNameMustBeUtf8_MQTT_3_1_3_12) {
  EXPECT_EQ(connect_error(connect_body(4, 0x82, cat({lstr("a"), lstr("\xED\xA0\x80")}))),
            rc::kMalformedPacket);
}

TEST(Connect, WillTopicRules) {
  // Invalid UTF-8 [MQTT-3.1.3-11]: malformed.
  EXPECT_EQ(connect_error(connect_body(4, 0x06, cat({lstr("a"), lstr("\xFF"), lstr("p")}))),
            rc::kMalformedPacket);
  // Wildcards or empty: a well-formed but invalid topic name.
  EXPECT_EQ(connect_error(connect_body(4, 0x06, cat({lstr("a"), lstr("w/+"), lstr("p")}))),
            rc::kTopicNameInvalid);
  EXPECT_EQ(connect_error(connect_body(4, 0x06, cat({lstr("a"), lstr("#"), lstr("p")}))),
            rc::kTopicNameInvalid);
  EXPECT_EQ(connect_error(connect_body(4, 0x06, cat({lstr("a"), lstr(""), lstr("p")}))),
            rc::kTopicNameInvalid);
}

std::string v5_connect_with_props(std::string_view props) {
  return connect_body(5, 0x02, cat({B({uint8_t(props.size())}), props, lstr("a")}));
}

TEST(Connect, V5PropertyNotAllowedInConnectIsMalformed) {
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x23, 0x00, 0x01}))), rc::kMalformedPacket);  // topic alias
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x24, 0x01}))), rc::kMalformedPacket);  // maximum QoS
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x18, 0, 0, 0, 1}))), rc::kMalformedPacket);  // will delay
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x7F, 0x00}))), rc::kMalformedPacket);  // unknown id
}

TEST(Connect, V5WillPropertyNotAllowedIsMalformed) {
  const std::string body = connect_body(
      5, 0x06, cat({B({0}), lstr("a"), B({5, 0x11, 0, 0, 0, 1}), lstr("t"), lstr("p")}));
  EXPECT_EQ(connect_error(body), rc::kMalformedPacket);  // session expiry in will properties
}

TEST(Connect, V5DuplicatePropertyIsProtocolError) {
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2}))),
            rc::kProtocolError);
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x15, 0, 1, 'm', 0x15, 0, 1, 'n'}))),
            rc::kProtocolError);
}

TEST(Connect, V5PropertyValueRules) {
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x21, 0x00, 0x00}))), rc::kProtocolError);  // receive max 0
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x27, 0, 0, 0, 0}))), rc::kProtocolError);  // max packet 0
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x17, 0x02}))), rc::kProtocolError);  // request problem 2
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x19, 0x02}))), rc::kProtocolError);  // request response 2
  EXPECT_EQ(connect_error(v5_connect_with_props(B({0x16, 0, 1, 'd'}))), rc::kProtocolError);  // data w/o method
}

TEST(Connect, V5PropertyLengthBeyondPacketIsMalformed) {
  EXPECT_EQ(connect_error(connect_body(5, 0x02, cat({B({0x20, 0x11, 0, 0}), lstr("a")}))),
            rc::kMalformedPacket);
}

// ---- CONNACK -------------------------------------------------------------------------

TEST(Connack, GoldenV311) {
  Connack c;
  c.session_present = true;
  expect_golden(c, Version::kV311, B({
                                       0x20,  // CONNACK
                                       0x02,  // remaining length 2
                                       0x01,  // acknowledge flags: session present
                                       0x00,  // return code 0 accepted
                                   }));
  Connack refused;
  refused.reason = rc::kV3NotAuthorized;
  expect_golden(refused, Version::kV311, B({0x20, 0x02, 0x00, 0x05}));  // 5 not authorized
}

TEST(Connack, GoldenV31) {
  Connack c;
  c.reason = rc::kV3IdentifierRejected;
  expect_golden(c, Version::kV31, B({
                                      0x20,  // CONNACK
                                      0x02,  // remaining length 2
                                      0x00,  // reserved (3.1 has no session present)
                                      0x02,  // return code 2 identifier rejected
                                  }));
}

TEST(Connack, GoldenV5EveryProperty) {
  const std::string wire = B({
      0x20,                                    // CONNACK
      0x45,                                    // remaining length 69
      0x01,                                    // session present
      0x00,                                    // reason: success
      0x42,                                    // property length 66
      0x11, 0x00, 0x00, 0x00, 0x78,            // session expiry interval 120
      0x12, 0x00, 0x03, 'i', 'd', '1',         // assigned client identifier "id1"
      0x13, 0x00, 0x1E,                        // server keep alive 30
      0x15, 0x00, 0x01, 'm',                   // authentication method "m"
      0x16, 0x00, 0x01, 'd',                   // authentication data "d"
      0x1A, 0x00, 0x02, 'r', 'i',              // response information "ri"
      0x1C, 0x00, 0x03, 's', 'r', 'v',         // server reference "srv"
      0x1F, 0x00, 0x02, 'o', 'k',              // reason string "ok"
      0x21, 0x00, 0x64,                        // receive maximum 100
      0x22, 0x00, 0x05,                        // topic alias maximum 5
      0x24, 0x01,                              // maximum QoS 1
      0x25, 0x00,                              // retain available 0
      0x26, 0x00, 0x01, 'x', 0x00, 0x01, 'y',  // user property x=y
      0x27, 0x00, 0x01, 0x00, 0x00,            // maximum packet size 65536
      0x28, 0x01,                              // wildcard subscription available 1
      0x29, 0x00,                              // subscription identifiers available 0
      0x2A, 0x01,                              // shared subscription available 1
  });
  Connack c;
  c.session_present = true;
  Properties& p = c.props;
  p.session_expiry_interval = 120;
  p.assigned_client_identifier = "id1";
  p.server_keep_alive = 30;
  p.authentication_method = "m";
  p.authentication_data = "d";
  p.response_information = "ri";
  p.server_reference = "srv";
  p.reason_string = "ok";
  p.receive_maximum = 100;
  p.topic_alias_maximum = 5;
  p.maximum_qos = 1;
  p.retain_available = 0;
  p.user_properties = {{"x", "y"}};
  p.maximum_packet_size = 65536;
  p.wildcard_subscription_available = 1;
  p.subscription_identifier_available = 0;
  p.shared_subscription_available = 1;
  expect_golden(c, Version::kV5, wire);
}

TEST(Connack, GoldenV5Refusal) {
  Connack c;
  c.reason = rc::kNotAuthorized;
  expect_golden(c, Version::kV5, B({
                                     0x20,  // CONNACK
                                     0x03,  // remaining length 3
                                     0x00,  // no session present
                                     0x87,  // reason: not authorized
                                     0x00,  // property length 0
                                 }));
}

TEST(Connack, EncodeV3MapsV5ReasonCodes) {
  Connack c;
  c.reason = rc::kBadUserNameOrPassword;
  EXPECT_EQ(test::encoded(c, Version::kV311), B({0x20, 0x02, 0x00, 0x04}));
  c.reason = rc::kServerBusy;
  EXPECT_EQ(test::encoded(c, Version::kV31), B({0x20, 0x02, 0x00, 0x03}));
}

TEST(Connack, ReservedAcknowledgeFlags_MQTT_3_2_2_1) {
  EXPECT_EQ(decode_error(B({0x20, 0x02, 0x02, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x20, 0x03, 0x80, 0x00, 0x00}), Version::kV5), rc::kMalformedPacket);
  // 3.1 leaves the byte unused: ignored.
  EXPECT_TRUE(decode_wire(B({0x20, 0x02, 0xFF, 0x00}), Version::kV31).ok());
}

TEST(Connack, SessionPresentWithRefusal_MQTT_3_2_2_6) {
  EXPECT_EQ(decode_error(B({0x20, 0x02, 0x01, 0x05}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x20, 0x03, 0x01, 0x87, 0x00}), Version::kV5), rc::kProtocolError);
}

TEST(Connack, ReasonCodeRules) {
  EXPECT_EQ(decode_error(B({0x20, 0x02, 0x00, 0x06}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x20, 0x03, 0x00, 0x04, 0x00}), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x20, 0x03, 0x00, 0x8E, 0x00}), Version::kV5), rc::kProtocolError);
}

TEST(Connack, LengthRules) {
  EXPECT_EQ(decode_error(B({0x20, 0x03, 0x00, 0x00, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x20, 0x01, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x20, 0x02, 0x00, 0x00}), Version::kV5), rc::kMalformedPacket);  // no props len
  EXPECT_EQ(decode_error(B({0x21, 0x02, 0x00, 0x00}), Version::kV311), rc::kMalformedPacket);  // flags
}

TEST(Connack, V5PropertyRules) {
  // Topic alias is not a CONNACK property.
  EXPECT_EQ(decode_error(B({0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01}), Version::kV5),
            rc::kMalformedPacket);
  // Maximum QoS 2 [3.2.2.3.4: "a value other than 0 or 1" is a Protocol Error].
  EXPECT_EQ(decode_error(B({0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02}), Version::kV5),
            rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x20, 0x05, 0x00, 0x00, 0x02, 0x25, 0x03}), Version::kV5),
            rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x20, 0x07, 0x00, 0x00, 0x04, 0x13, 0, 1, 0x13}), Version::kV5),
            rc::kMalformedPacket);  // truncated second server keep alive
  EXPECT_EQ(decode_error(B({0x20, 0x09, 0x00, 0x00, 0x06, 0x13, 0, 1, 0x13, 0, 2}), Version::kV5),
            rc::kProtocolError);  // server keep alive twice
}

}  // namespace
}  // namespace petrel::protocol
