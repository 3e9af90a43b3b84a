// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK: golden bytes and malformed vectors.
#include "test_util.h"

namespace petrel::protocol {
namespace {

using test::B;
using test::cat;
using test::decode_error;
using test::expect_golden;
using test::frame;
using test::lstr;

TEST(Subscribe, GoldenV3) {
  const std::string wire = B({
      0x82,                          // SUBSCRIBE, flags 0010
      0x0C,                          // remaining length 12
      0x00, 0x0A,                    // packet identifier 10
      0x00, 0x03, 'a', '/', '#', 0x01,  // filter "a/#", requested QoS 1
      0x00, 0x01, 'b', 0x02,         // filter "b", requested QoS 2
  });
  Subscribe s;
  s.packet_id = 10;
  s.topics = {{"a/#", 1, false, false, 0}, {"b", 2, false, false, 0}};
  expect_golden(s, Version::kV311, wire);
  expect_golden(s, Version::kV31, wire);
}

TEST(Subscribe, GoldenV5) {
  const std::string wire = B({
      0x82,                                    // SUBSCRIBE
      0x1F,                                    // remaining length 31
      0x00, 0x0B,                              // packet identifier 11
      0x09,                                    // property length 9
      0x0B, 0x2A,                              // subscription identifier 42
      0x26, 0x00, 0x01, 'u', 0x00, 0x01, '1',  // user property u=1
      0x00, 0x03, 'x', '/', '+',               // filter "x/+"
      0x2D,                                    // QoS 1 | no local | retain as published | retain handling 2
      0x00, 0x0A, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'y',  // "$share/g/y"
      0x10,                                    // QoS 0, retain handling 1
  });
  Subscribe s;
  s.packet_id = 11;
  s.props.subscription_identifiers = {42};
  s.props.user_properties = {{"u", "1"}};
  s.topics = {{"x/+", 1, true, true, 2}, {"$share/g/y", 0, false, false, 1}};
  expect_golden(s, Version::kV5, wire);
}

TEST(Subscribe, V3EncodingDropsV5Options) {
  Subscribe s;
  s.packet_id = 1;
  s.props.subscription_identifiers = {3};
  s.topics = {{"t", 2, true, true, 2}};
  EXPECT_EQ(test::encoded(s, Version::kV311), B({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x02}));
}

TEST(Subscribe, ReservedFixedHeaderFlags_MQTT_3_8_1_1) {
  const std::string body = cat({B({0x00, 0x01}), lstr("t"), B({0x00})});
  EXPECT_EQ(decode_error(frame(0x80, body), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(frame(0x83, body), Version::kV311), rc::kMalformedPacket);
}

TEST(Subscribe, NoTopicsIsProtocolError_MQTT_3_8_3_3) {
  EXPECT_EQ(decode_error(B({0x82, 0x02, 0x00, 0x01}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x82, 0x03, 0x00, 0x01, 0x00}), Version::kV5), rc::kProtocolError);
}

TEST(Subscribe, PacketIdentifierZero_MQTT_2_3_1_1) {
  EXPECT_EQ(decode_error(frame(0x82, cat({B({0, 0}), lstr("t"), B({0})})), Version::kV311),
            rc::kProtocolError);
}

TEST(Subscribe, V3ReservedOptionBits_MQTT_3_8_3_4) {
  EXPECT_EQ(decode_error(frame(0x82, cat({B({0, 1}), lstr("t"), B({0x04})})), Version::kV311),
            rc::kMalformedPacket);
  EXPECT_EQ(decode_error(frame(0x82, cat({B({0, 1}), lstr("t"), B({0x03})})), Version::kV311),
            rc::kMalformedPacket);  // QoS 3
}

std::string v5_subscribe(uint8_t options, std::string_view props = {}) {
  return frame(0x82, cat({B({0, 1, uint8_t(props.size())}), props, lstr("t"), B({options})}));
}

TEST(Subscribe, V5ReservedOptionBits_MQTT_3_8_3_5) {
  EXPECT_EQ(decode_error(v5_subscribe(0x40), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(v5_subscribe(0x80), Version::kV5), rc::kMalformedPacket);
}

TEST(Subscribe, V5RetainHandling3IsProtocolError) {
  EXPECT_EQ(decode_error(v5_subscribe(0x30), Version::kV5), rc::kProtocolError);
}

TEST(Subscribe, V5MaximumQos3IsProtocolError) {
  EXPECT_EQ(decode_error(v5_subscribe(0x03), Version::kV5), rc::kProtocolError);
}

TEST(Subscribe, V5SubscriptionIdentifierRules) {
  EXPECT_EQ(decode_error(v5_subscribe(0, B({0x0B, 0x00})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_subscribe(0, B({0x0B, 0x01, 0x0B, 0x02})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_subscribe(0, B({0x1F, 0x00, 0x00})), Version::kV5), rc::kMalformedPacket);
}

TEST(Subscribe, FilterMustBeUtf8_MQTT_3_8_3_1) {
  EXPECT_EQ(decode_error(frame(0x82, cat({B({0, 1}), lstr("\xC3"), B({0})})), Version::kV311),
            rc::kMalformedPacket);
}

TEST(Subscribe, MissingOptionsByteIsMalformed) {
  EXPECT_EQ(decode_error(frame(0x82, cat({B({0, 1}), lstr("t")})), Version::kV311), rc::kMalformedPacket);
}

// ---- SUBACK --------------------------------------------------------------------------

TEST(Suback, GoldenV3) {
  Suback s;
  s.packet_id = 10;
  s.reasons = {1, rc::kV3SubackFailure};
  const std::string wire = B({
      0x90,        // SUBACK
      0x04,        // remaining length 4
      0x00, 0x0A,  // packet identifier 10
      0x01,        // granted QoS 1
      0x80,        // failure
  });
  expect_golden(s, Version::kV311, wire);
  expect_golden(s, Version::kV31, wire);
}

TEST(Suback, GoldenV5) {
  Suback s;
  s.packet_id = 11;
  s.props.reason_string = "r";
  s.props.user_properties = {{"a", "b"}};
  s.reasons = {rc::kGrantedQos1, rc::kSuccess, rc::kWildcardSubscriptionsNotSupported};
  expect_golden(s, Version::kV5, B({
                                     0x90,                          // SUBACK
                                     0x11,                          // remaining length 17
                                     0x00, 0x0B,                    // packet identifier 11
                                     0x0B,                          // property length 11
                                     0x1F, 0x00, 0x01, 'r',         // reason string "r"
                                     0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b',  // user property a=b
                                     0x01,                          // granted QoS 1
                                     0x00,                          // granted QoS 0
                                     0xA2,                          // wildcards not supported
                                 }));
}

TEST(Suback, EncodeV3MapsFailures) {
  Suback s;
  s.packet_id = 1;
  s.reasons = {rc::kNotAuthorized, 2};
  EXPECT_EQ(test::encoded(s, Version::kV311), B({0x90, 0x04, 0x00, 0x01, 0x80, 0x02}));
}

TEST(Suback, ReasonCodeRules_MQTT_3_9_3_2) {
  EXPECT_EQ(decode_error(B({0x90, 0x03, 0x00, 0x01, 0x03}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x90, 0x04, 0x00, 0x01, 0x00, 0x10}), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x90, 0x02, 0x00, 0x01}), Version::kV311), rc::kProtocolError);  // none
  EXPECT_EQ(decode_error(B({0x91, 0x03, 0x00, 0x01, 0x00}), Version::kV311), rc::kMalformedPacket);
}

// ---- UNSUBSCRIBE ---------------------------------------------------------------------

TEST(Unsubscribe, GoldenV3) {
  Unsubscribe u;
  u.packet_id = 12;
  u.filters = {"a", "b/c"};
  const std::string wire = B({
      0xA2,                          // UNSUBSCRIBE, flags 0010
      0x0A,                          // remaining length 10
      0x00, 0x0C,                    // packet identifier 12
      0x00, 0x01, 'a',               // filter "a"
      0x00, 0x03, 'b', '/', 'c',     // filter "b/c"
  });
  expect_golden(u, Version::kV311, wire);
  expect_golden(u, Version::kV31, wire);
}

TEST(Unsubscribe, GoldenV5) {
  Unsubscribe u;
  u.packet_id = 13;
  u.props.user_properties = {{"k", "v"}};
  u.filters = {"a"};
  expect_golden(u, Version::kV5, B({
                                     0xA2,                          // UNSUBSCRIBE
                                     0x0D,                          // remaining length 13
                                     0x00, 0x0D,                    // packet identifier 13
                                     0x07,                          // property length 7
                                     0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property k=v
                                     0x00, 0x01, 'a',               // filter "a"
                                 }));
}

TEST(Unsubscribe, ReservedFixedHeaderFlags_MQTT_3_10_1_1) {
  EXPECT_EQ(decode_error(frame(0xA0, cat({B({0, 1}), lstr("a")})), Version::kV311), rc::kMalformedPacket);
}

TEST(Unsubscribe, NoFiltersIsProtocolError_MQTT_3_10_3_2) {
  EXPECT_EQ(decode_error(B({0xA2, 0x02, 0x00, 0x01}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0xA2, 0x03, 0x00, 0x01, 0x00}), Version::kV5), rc::kProtocolError);
}

TEST(Unsubscribe, Rules) {
  EXPECT_EQ(decode_error(frame(0xA2, cat({B({0, 0}), lstr("a")})), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(frame(0xA2, cat({B({0, 1, 2, 0x0B, 1}), lstr("a")})), Version::kV5),
            rc::kMalformedPacket);  // subscription identifier not allowed
  EXPECT_EQ(decode_error(frame(0xA2, cat({B({0, 1}), lstr("\xFE")})), Version::kV311), rc::kMalformedPacket);
}

// ---- UNSUBACK ------------------------------------------------------------------------

TEST(Unsuback, GoldenV3) {
  Unsuback u;
  u.packet_id = 12;
  expect_golden(u, Version::kV311, B({
                                       0xB0,        // UNSUBACK
                                       0x02,        // remaining length 2
                                       0x00, 0x0C,  // packet identifier 12
                                   }));
  expect_golden(u, Version::kV31, B({0xB0, 0x02, 0x00, 0x0C}));
}

TEST(Unsuback, GoldenV5) {
  Unsuback u;
  u.packet_id = 13;
  u.props.reason_string = "x";
  u.props.user_properties = {{"k", "v"}};
  u.reasons = {rc::kSuccess, rc::kNoSubscriptionExisted};
  expect_golden(u, Version::kV5, B({
                                     0xB0,                   // UNSUBACK
                                     0x10,                   // remaining length 16
                                     0x00, 0x0D,             // packet identifier 13
                                     0x0B,                   // property length 11
                                     0x1F, 0x00, 0x01, 'x',  // reason string "x"
                                     0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property k=v
                                     0x00,                   // success
                                     0x11,                   // no subscription existed
                                 }));
}

TEST(Unsuback, V3EncodingDropsReasons) {
  Unsuback u;
  u.packet_id = 1;
  u.reasons = {0x11};
  EXPECT_EQ(test::encoded(u, Version::kV311), B({0xB0, 0x02, 0x00, 0x01}));
}

TEST(Unsuback, Rules) {
  EXPECT_EQ(decode_error(B({0xB0, 0x03, 0x00, 0x01, 0x00}), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(B({0xB0, 0x04, 0x00, 0x01, 0x00, 0x10}), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0xB0, 0x03, 0x00, 0x01, 0x00}), Version::kV5), rc::kProtocolError);  // none
}

}  // namespace
}  // namespace petrel::protocol
