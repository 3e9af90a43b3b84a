// PUBACK, PUBREC, PUBREL, PUBCOMP: golden bytes, v5 short forms, encode_ack, malformed.
#include "test_util.h"

namespace petrel::protocol {
namespace {

using test::B;
using test::decode_error;
using test::decode_wire;
using test::expect_golden;

Ack ack(PacketType t, uint16_t id, uint8_t reason = 0) {
  Ack a;
  a.type = t;
  a.packet_id = id;
  a.reason = reason;
  return a;
}

TEST(Ack, GoldenV3AllFour) {
  for (Version v : {Version::kV31, Version::kV311}) {
    expect_golden(ack(PacketType::kPuback, 5), v, B({
                                                      0x40,        // PUBACK
                                                      0x02,        // remaining length 2
                                                      0x00, 0x05,  // packet identifier 5
                                                  }));
    expect_golden(ack(PacketType::kPubrec, 5), v, B({0x50, 0x02, 0x00, 0x05}));  // PUBREC
    expect_golden(ack(PacketType::kPubrel, 5), v, B({0x62, 0x02, 0x00, 0x05}));  // PUBREL, flags 0010
    expect_golden(ack(PacketType::kPubcomp, 5), v, B({0x70, 0x02, 0x00, 0x05}));  // PUBCOMP
  }
}

TEST(Ack, GoldenV5ShortForms) {
  // Reason 0 without properties: reason and property length omitted (3.4.2.1).
  expect_golden(ack(PacketType::kPuback, 5), Version::kV5, B({0x40, 0x02, 0x00, 0x05}));
  expect_golden(ack(PacketType::kPuback, 5, rc::kNoMatchingSubscribers), Version::kV5,
                B({
                    0x40,        // PUBACK
                    0x03,        // remaining length 3
                    0x00, 0x05,  // packet identifier 5
                    0x10,        // reason: no matching subscribers (no property length)
                }));
  expect_golden(ack(PacketType::kPubrel, 5, rc::kPacketIdentifierNotFound), Version::kV5,
                B({0x62, 0x03, 0x00, 0x05, 0x92}));  // PUBREL, reason 0x92
}

TEST(Ack, GoldenV5WithProperties) {
  Ack a = ack(PacketType::kPubrec, 5, rc::kUnspecifiedError);
  a.reason_string = "bad";
  a.user_properties = {{"k", "v"}};
  expect_golden(a, Version::kV5, B({
                                     0x50,                          // PUBREC
                                     0x11,                          // remaining length 17
                                     0x00, 0x05,                    // packet identifier 5
                                     0x80,                          // reason: unspecified error
                                     0x0D,                          // property length 13
                                     0x1F, 0x00, 0x03, 'b', 'a', 'd',  // reason string "bad"
                                     0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property k=v
                                 }));
  Ack c = ack(PacketType::kPubcomp, 5);
  c.reason_string = "x";
  expect_golden(c, Version::kV5, B({
                                     0x70,                    // PUBCOMP
                                     0x08,                    // remaining length 8
                                     0x00, 0x05,              // packet identifier 5
                                     0x00,                    // reason: success
                                     0x04,                    // property length 4
                                     0x1F, 0x00, 0x01, 'x',   // reason string "x"
                                 }));
}

TEST(Ack, GoldenV5EveryPropertyAllFour) {
  const struct {
    PacketType type;
    uint8_t first_byte;
    uint8_t reason;
  } cases[] = {
      {PacketType::kPuback, 0x40, rc::kNoMatchingSubscribers},
      {PacketType::kPubrec, 0x50, rc::kQuotaExceeded},
      {PacketType::kPubrel, 0x62, rc::kPacketIdentifierNotFound},
      {PacketType::kPubcomp, 0x70, rc::kPacketIdentifierNotFound},
  };
  for (const auto& c : cases) {
    Ack a = ack(c.type, 0x0102, c.reason);
    a.reason_string = "r";
    a.user_properties = {{"a", "b"}, {"a", "c"}};
    expect_golden(a, Version::kV5, B({
                                       c.first_byte,            // packet type and flags
                                       0x16,                    // remaining length 22
                                       0x01, 0x02,              // packet identifier 0x0102
                                       c.reason,                // reason code
                                       0x12,                    // property length 18
                                       0x1F, 0x00, 0x01, 'r',   // reason string "r"
                                       0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b',  // user property a=b
                                       0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'c',  // user property a=c
                                   }));
  }
}

TEST(Ack, V5ZeroPropertyLengthAccepted) {
  auto r = decode_wire(B({0x40, 0x04, 0x00, 0x05, 0x00, 0x00}), Version::kV5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<Ack>(*r), ack(PacketType::kPuback, 5));
}

TEST(Ack, EncodeAck) {
  std::string out;
  encode_ack(PacketType::kPuback, 0x0102, 0, Version::kV5, out);
  EXPECT_EQ(out, B({0x40, 0x02, 0x01, 0x02}));
  out.clear();
  encode_ack(PacketType::kPubrec, 0x0102, rc::kQuotaExceeded, Version::kV5, out);
  EXPECT_EQ(out, B({0x50, 0x03, 0x01, 0x02, 0x97}));
  out.clear();
  encode_ack(PacketType::kPubrel, 7, rc::kPacketIdentifierNotFound, Version::kV311, out);
  EXPECT_EQ(out, B({0x62, 0x02, 0x00, 0x07}));  // 3.1.1 has no reason code
  out.clear();
  encode_ack(PacketType::kPubcomp, 7, 0, Version::kV31, out);
  EXPECT_EQ(out, B({0x70, 0x02, 0x00, 0x07}));
}

TEST(Ack, PubrelReservedFlags_MQTT_3_6_1_1) {
  EXPECT_EQ(decode_error(B({0x60, 0x02, 0x00, 0x05}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x60, 0x02, 0x00, 0x05}), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x6A, 0x02, 0x00, 0x05}), Version::kV311), rc::kMalformedPacket);
  // MQTT 3.1 set DUP on a re-sent PUBREL; QoS must still read 1.
  EXPECT_TRUE(decode_wire(B({0x6A, 0x02, 0x00, 0x05}), Version::kV31).ok());
  EXPECT_EQ(decode_error(B({0x60, 0x02, 0x00, 0x05}), Version::kV31), rc::kMalformedPacket);
}

TEST(Ack, OtherAcksReservedFlags_MQTT_2_2_2_2) {
  EXPECT_EQ(decode_error(B({0x42, 0x02, 0x00, 0x05}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x51, 0x02, 0x00, 0x05}), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x78, 0x02, 0x00, 0x05}), Version::kV31), rc::kMalformedPacket);
}

TEST(Ack, PacketIdentifierZero_MQTT_2_3_1_1) {
  EXPECT_EQ(decode_error(B({0x40, 0x02, 0x00, 0x00}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x62, 0x02, 0x00, 0x00}), Version::kV5), rc::kProtocolError);
}

TEST(Ack, LengthRules) {
  EXPECT_EQ(decode_error(B({0x40, 0x01, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x40, 0x03, 0x00, 0x05, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0x40, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00}), Version::kV5),
            rc::kMalformedPacket);  // trailing byte after an empty property block
  EXPECT_EQ(decode_error(B({0x40, 0x04, 0x00, 0x05, 0x00, 0x03}), Version::kV5), rc::kMalformedPacket);
}

TEST(Ack, ReasonCodeMustSuitThePacket_MQTT_3_4_2_1) {
  EXPECT_EQ(decode_error(B({0x40, 0x03, 0x00, 0x05, 0x92}), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x50, 0x03, 0x00, 0x05, 0x01}), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x62, 0x03, 0x00, 0x05, 0x10}), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x70, 0x03, 0x00, 0x05, 0x80}), Version::kV5), rc::kProtocolError);
}

TEST(Ack, PropertyRules) {
  // Session expiry is not an ack property.
  EXPECT_EQ(decode_error(B({0x40, 0x09, 0x00, 0x05, 0x00, 0x05, 0x11, 0, 0, 0, 1}), Version::kV5),
            rc::kMalformedPacket);
  // Reason string twice.
  EXPECT_EQ(decode_error(B({0x40, 0x0A, 0x00, 0x05, 0x00, 0x06, 0x1F, 0, 0, 0x1F, 0, 0}), Version::kV5),
            rc::kProtocolError);
}

// decode_ack() is the broker's hot path for acks: it must accept, refuse and report
// exactly what decode() does, for every version, valid or not.
TEST(Ack, DecodeAckAgreesWithDecode) {
  const std::vector<std::string> bodies = {
      B({0x00, 0x05}),                    // id 5
      B({0x00, 0x00}),                    // id 0: protocol error
      B({0x00}),                          // truncated
      B({}),                              // empty
      B({0x00, 0x05, 0x10}),              // v5 reason
      B({0x00, 0x05, 0x92}),              // reason allowed only in some acks
      B({0x00, 0x05, 0x00, 0x00}),        // v5 empty properties
      B({0x00, 0x05, 0x80, 0x03, 0x1F, 0x00, 0x00}),  // reason string ""
      B({0x00, 0x05, 0x00, 0x02, 0x1F}),  // properties cut short
      B({0x00, 0x05, 0x00, 0x00, 0x01}),  // trailing byte
  };
  for (Version v : {Version::kV31, Version::kV311, Version::kV5}) {
    for (int type = 4; type <= 7; ++type) {
      for (int flags = 0; flags < 16; ++flags) {
        const auto header = static_cast<uint8_t>(type << 4 | flags);
        for (const auto& body : bodies) {
          auto full = decode(header, body, v);
          auto fast = decode_ack(header, body, v);
          ASSERT_EQ(full.ok(), fast.ok()) << int(header) << " v" << int(v) << " body " << body.size();
          if (full.ok()) {
            EXPECT_EQ(std::get<Ack>(*full), *fast);
          } else {
            EXPECT_EQ(full.error().code, fast.error().code);
            EXPECT_EQ(full.error().message, fast.error().message);
          }
        }
      }
    }
  }
}

TEST(Ack, DecodeAckRefusesOtherPackets) {
  for (uint8_t header : {0x30, 0x82, 0xC0, 0xE0}) {
    auto r = decode_ack(header, B({0x00, 0x05}), Version::kV311);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, rc::kMalformedPacket);
  }
}

}  // namespace
}  // namespace petrel::protocol
