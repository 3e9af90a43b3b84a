// PINGREQ, PINGRESP, DISCONNECT, AUTH, reserved packet types, reason-code helpers.
#include "protocol/reason_codes.h"
#include "test_util.h"

namespace petrel::protocol {
namespace {

using test::B;
using test::decode_error;
using test::decode_wire;
using test::expect_golden;

TEST(Ping, GoldenAllVersions) {
  for (Version v : {Version::kV31, Version::kV311, Version::kV5}) {
    expect_golden(Pingreq{}, v, B({0xC0,    // PINGREQ
                                   0x00}));  // remaining length 0
    expect_golden(Pingresp{}, v, B({0xD0,    // PINGRESP
                                    0x00}));  // remaining length 0
  }
  std::string out;
  encode_pingresp(out);
  EXPECT_EQ(out, B({0xD0, 0x00}));
}

TEST(Ping, BodyOrFlagsAreMalformed) {
  EXPECT_EQ(decode_error(B({0xC0, 0x01, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0xD0, 0x01, 0x00}), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0xC1, 0x00}), Version::kV311), rc::kMalformedPacket);
}

// ---- DISCONNECT ----------------------------------------------------------------------

TEST(Disconnect, GoldenV3) {
  for (Version v : {Version::kV31, Version::kV311})
    expect_golden(Disconnect{}, v, B({0xE0,    // DISCONNECT
                                      0x00}));  // remaining length 0
}

TEST(Disconnect, GoldenV5ShortForms) {
  // Remaining length 0: reason 0x00 Normal disconnection, no properties.
  expect_golden(Disconnect{}, Version::kV5, B({0xE0, 0x00}));
  Disconnect d;
  d.reason = rc::kDisconnectWithWill;
  expect_golden(d, Version::kV5, B({
                                     0xE0,  // DISCONNECT
                                     0x01,  // remaining length 1
                                     0x04,  // reason: disconnect with will (no property length)
                                 }));
}

TEST(Disconnect, GoldenV5EveryProperty) {
  Disconnect d;
  d.reason = rc::kUseAnotherServer;
  d.props.session_expiry_interval = 0;
  d.props.server_reference = "s2";
  d.props.reason_string = "bye";
  d.props.user_properties = {{"a", "b"}};
  expect_golden(d, Version::kV5, B({
                                     0xE0,                          // DISCONNECT
                                     0x19,                          // remaining length 25
                                     0x9C,                          // reason: use another server
                                     0x17,                          // property length 23
                                     0x11, 0x00, 0x00, 0x00, 0x00,  // session expiry interval 0
                                     0x1C, 0x00, 0x02, 's', '2',    // server reference "s2"
                                     0x1F, 0x00, 0x03, 'b', 'y', 'e',  // reason string "bye"
                                     0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b',  // user property a=b
                                 }));
}

TEST(Disconnect, V5EmptyPropertyBlockAccepted) {
  auto r = decode_wire(B({0xE0, 0x02, 0x00, 0x00}), Version::kV5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<Disconnect>(*r), Disconnect{});
}

TEST(Disconnect, V3BodyIsMalformed) {
  EXPECT_EQ(decode_error(B({0xE0, 0x01, 0x00}), Version::kV311), rc::kMalformedPacket);
}

TEST(Disconnect, ReservedFlags_MQTT_3_14_1_1) {
  EXPECT_EQ(decode_error(B({0xE1, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0xE8, 0x00}), Version::kV5), rc::kMalformedPacket);
}

TEST(Disconnect, ReasonCodeMustSuit_MQTT_3_14_2_1) {
  EXPECT_EQ(decode_error(B({0xE0, 0x01, 0x05}), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0xE0, 0x01, 0x18}), Version::kV5), rc::kProtocolError);
}

TEST(Disconnect, PropertyRules) {
  EXPECT_EQ(decode_error(B({0xE0, 0x05, 0x00, 0x03, 0x21, 0x00, 0x01}), Version::kV5),
            rc::kMalformedPacket);  // receive maximum not allowed
  EXPECT_EQ(decode_error(B({0xE0, 0x03, 0x00, 0x00, 0x00}), Version::kV5),
            rc::kMalformedPacket);  // trailing byte
  EXPECT_EQ(decode_error(B({0xE0, 0x08, 0x00, 0x06, 0x1C, 0, 0, 0x1C, 0, 0}), Version::kV5),
            rc::kProtocolError);  // server reference twice
}

// ---- AUTH ----------------------------------------------------------------------------

TEST(Auth, GoldenV5) {
  expect_golden(Auth{}, Version::kV5, B({0xF0,    // AUTH
                                         0x00}));  // remaining length 0: success, no properties
  Auth a;
  a.reason = rc::kContinueAuthentication;
  a.props.authentication_method = "M";
  a.props.authentication_data = std::string("\x00\x01", 2);
  a.props.reason_string = "go";
  a.props.user_properties = {{"k", "v"}};
  expect_golden(a, Version::kV5, B({
                                     0xF0,                          // AUTH
                                     0x17,                          // remaining length 23
                                     0x18,                          // reason: continue authentication
                                     0x15,                          // property length 21
                                     0x15, 0x00, 0x01, 'M',         // authentication method "M"
                                     0x16, 0x00, 0x02, 0x00, 0x01,  // authentication data 00 01
                                     0x1F, 0x00, 0x02, 'g', 'o',    // reason string "go"
                                     0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property k=v
                                 }));
}

TEST(Auth, DoesNotExistBeforeV5) {
  EXPECT_EQ(decode_error(B({0xF0, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0xF0, 0x00}), Version::kV31), rc::kMalformedPacket);
  EXPECT_EQ(test::encoded(Auth{}, Version::kV311), "");
}

TEST(Auth, Rules_MQTT_3_15_2_1) {
  EXPECT_EQ(decode_error(B({0xF1, 0x00}), Version::kV5), rc::kMalformedPacket);  // flags
  EXPECT_EQ(decode_error(B({0xF0, 0x05, 0x01, 0x03, 0x15, 0, 0}), Version::kV5),
            rc::kProtocolError);  // reason 1 is not an AUTH reason
  EXPECT_EQ(decode_error(B({0xF0, 0x01, 0x18}), Version::kV5), rc::kProtocolError);  // no method
  EXPECT_EQ(decode_error(B({0xF0, 0x02, 0x18, 0x00}), Version::kV5), rc::kProtocolError);  // no method
  EXPECT_EQ(decode_error(B({0xF0, 0x06, 0x18, 0x04, 0x16, 0, 1, 'd'}), Version::kV5),
            rc::kProtocolError);  // data without method
}

TEST(ReservedPacketType, ZeroIsMalformed) {
  for (Version v : {Version::kV31, Version::kV311, Version::kV5})
    EXPECT_EQ(decode_error(B({0x00, 0x00}), v), rc::kMalformedPacket);
}

// ---- names and mappings ----------------------------------------------------------------

TEST(ReasonCodes, EveryCodeHasAName) {
  const uint8_t codes[] = {0x00, 0x01, 0x02, 0x04, 0x10, 0x11, 0x18, 0x19, 0x80, 0x81, 0x82, 0x83,
                           0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F,
                           0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B,
                           0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
  for (uint8_t c : codes) EXPECT_NE(reason_code_name(c), "Unknown reason code") << int(c);
  EXPECT_EQ(reason_code_name(0x81), "Malformed Packet");
  EXPECT_EQ(reason_code_name(0x94), "Topic Alias invalid");
  EXPECT_EQ(reason_code_name(0x03), "Unknown reason code");
}

TEST(ReasonCodes, V5ConnackToV3) {
  EXPECT_EQ(v5_connack_to_v3(rc::kSuccess), rc::kV3Accepted);
  EXPECT_EQ(v5_connack_to_v3(rc::kUnsupportedProtocolVersion), rc::kV3UnacceptableProtocolVersion);
  EXPECT_EQ(v5_connack_to_v3(rc::kClientIdentifierNotValid), rc::kV3IdentifierRejected);
  EXPECT_EQ(v5_connack_to_v3(rc::kBadUserNameOrPassword), rc::kV3BadUsernameOrPassword);
  EXPECT_EQ(v5_connack_to_v3(rc::kNotAuthorized), rc::kV3NotAuthorized);
  EXPECT_EQ(v5_connack_to_v3(rc::kBanned), rc::kV3NotAuthorized);
  EXPECT_EQ(v5_connack_to_v3(rc::kServerUnavailable), rc::kV3ServerUnavailable);
  EXPECT_EQ(v5_connack_to_v3(rc::kServerBusy), rc::kV3ServerUnavailable);
  EXPECT_EQ(v5_connack_to_v3(rc::kUnspecifiedError), rc::kV3ServerUnavailable);
  EXPECT_EQ(v5_connack_to_v3(rc::kQuotaExceeded), rc::kV3ServerUnavailable);
  EXPECT_EQ(v5_connack_to_v3(rc::kV3BadUsernameOrPassword), rc::kV3BadUsernameOrPassword);
}

TEST(PacketTypes, NamesAndVariantTypes) {
  EXPECT_EQ(packet_type_name(PacketType::kConnect), "CONNECT");
  EXPECT_EQ(packet_type_name(PacketType::kAuth), "AUTH");
  EXPECT_EQ(packet_type_name(PacketType(0)), "UNKNOWN");
  EXPECT_EQ(packet_type(Packet(Connect{})), PacketType::kConnect);
  EXPECT_EQ(packet_type(Packet(Publish{})), PacketType::kPublish);
  Ack a;
  a.type = PacketType::kPubcomp;
  EXPECT_EQ(packet_type(Packet(a)), PacketType::kPubcomp);
  EXPECT_EQ(packet_type(Packet(Unsuback{})), PacketType::kUnsuback);
  EXPECT_EQ(packet_type(Packet(Auth{})), PacketType::kAuth);
  for (int t = 1; t <= 15; ++t) EXPECT_NE(packet_type_name(PacketType(t)), "UNKNOWN");
}

}  // namespace
}  // namespace petrel::protocol
