// PUBLISH: golden bytes per version, the zero-copy forward_props contract, encode_publish
// / publish_size, and malformed vectors.
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

Publish decode_ok(std::string_view wire, Version v) {
  auto r = decode_wire(wire, v);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok() || !std::holds_alternative<Publish>(*r)) return {};
  return std::get<Publish>(*r);
}

// ---- golden --------------------------------------------------------------------------

TEST(Publish, GoldenQos0AllVersions) {
  const std::string wire = B({
      0x30,                     // PUBLISH, QoS 0, no DUP, no retain
      0x07,                     // remaining length 7
      0x00, 0x03, 'a', '/', 'b',  // topic "a/b"
      'h', 'i',                 // payload "hi"
  });
  Publish p;
  p.topic = "a/b";
  p.payload = "hi";
  expect_golden(p, Version::kV31, wire);
  expect_golden(p, Version::kV311, wire);
}

TEST(Publish, GoldenQos1DupRetainV311) {
  const std::string wire = B({
      0x3B,             // PUBLISH, DUP | QoS 1 | retain
      0x06,             // remaining length 6
      0x00, 0x01, 't',  // topic "t"
      0x12, 0x34,       // packet identifier 0x1234
      'x',              // payload "x"
  });
  Publish p;
  p.dup = true;
  p.qos = 1;
  p.retain = true;
  p.topic = "t";
  p.packet_id = 0x1234;
  p.payload = "x";
  expect_golden(p, Version::kV311, wire);
  expect_golden(p, Version::kV31, wire);
}

TEST(Publish, GoldenQos2EmptyPayloadV311) {
  const std::string wire = B({
      0x34,             // PUBLISH, QoS 2
      0x05,             // remaining length 5
      0x00, 0x01, 't',  // topic "t"
      0x00, 0x01,       // packet identifier 1
  });                   // empty payload
  Publish p;
  p.qos = 2;
  p.topic = "t";
  p.packet_id = 1;
  expect_golden(p, Version::kV311, wire);
}

TEST(Publish, GoldenV5EveryProperty) {
  const std::string forward = B({
      0x01, 0x01,                              // payload format indicator 1 (UTF-8)
      0x03, 0x00, 0x01, 'j',                   // content type "j"
      0x08, 0x00, 0x03, 'r', '/', '1',         // response topic "r/1"
      0x09, 0x00, 0x01, 'c',                   // correlation data "c"
      0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property k=v
  });
  const std::string wire = cat({B({
                                    0x32,                          // PUBLISH, QoS 1
                                    0x2E,                          // remaining length 46
                                    0x00, 0x03, 's', '/', 't',     // topic "s/t"
                                    0x00, 0x07,                    // packet identifier 7
                                    0x24,                          // property length 36
                                    0x23, 0x00, 0x03,              // topic alias 3
                                    0x02, 0x00, 0x00, 0x00, 0x64,  // message expiry interval 100
                                    0x0B, 0x01,                    // subscription identifier 1
                                    0x0B, 0xAC, 0x02,              // subscription identifier 300
                                }),
                                forward,  // the forwarded properties above
                                B({'p', 'l'})});  // payload "pl"
  Publish p;
  p.qos = 1;
  p.topic = "s/t";
  p.packet_id = 7;
  p.topic_alias = 3;
  p.message_expiry_interval = 100;
  p.payload_format_indicator = 1;
  p.subscription_identifiers = {1, 300};
  p.forward_props = forward;
  p.payload = "pl";
  expect_golden(p, Version::kV5, wire);
}

TEST(Publish, GoldenV5EmptyTopicWithAlias) {
  const std::string wire = B({
      0x30,              // PUBLISH, QoS 0
      0x07,              // remaining length 7
      0x00, 0x00,        // empty topic (the alias stands for it)
      0x03,              // property length 3
      0x23, 0x00, 0x02,  // topic alias 2
      'z',               // payload "z"
  });
  Publish p;
  p.topic_alias = 2;
  p.payload = "z";
  expect_golden(p, Version::kV5, wire);
}

TEST(Publish, DecodeViewsIntoTheBody) {
  const std::string wire = B({0x30, 0x0C, 0x00, 0x01, 't', 0x05, 0x01, 0x00, 0x03, 0x00, 0x00,
                              'p', 'a', 'y'});
  // 30 0C | topic "t" | props len 5: PFI 0, content type "" | payload "pay"
  const Publish p = decode_ok(wire, Version::kV5);
  const char* lo = wire.data();
  const char* hi = wire.data() + wire.size();
  EXPECT_GE(p.topic.data(), lo);
  EXPECT_LE(p.topic.data() + p.topic.size(), hi);
  EXPECT_GE(p.forward_props.data(), lo);
  EXPECT_LE(p.forward_props.data() + p.forward_props.size(), hi);
  EXPECT_EQ(p.forward_props, B({0x01, 0x00, 0x03, 0x00, 0x00}));
  EXPECT_EQ(p.payload_format_indicator, 0);
  EXPECT_EQ(p.payload, "pay");
  EXPECT_GE(p.payload.data(), lo);
}

TEST(Publish, InterleavedForwardPropsAreGathered) {
  const std::string wire = B({
      0x30, 0x13,                    // PUBLISH QoS 0, remaining length 19
      0x00, 0x01, 't',               // topic "t"
      0x0E,                          // property length 14
      0x01, 0x01,                    // payload format indicator 1   (forwarded)
      0x02, 0x00, 0x00, 0x00, 0x0A,  // message expiry interval 10   (not forwarded)
      0x03, 0x00, 0x01, 'j',         // content type "j"             (forwarded)
      0x23, 0x00, 0x01,              // topic alias 1                (not forwarded)
      'P',                           // payload
  });
  const std::string expected = B({0x01, 0x01, 0x03, 0x00, 0x01, 'j'});
  // Through decode(): the thread_local scratch.
  const Publish p = decode_ok(wire, Version::kV5);
  EXPECT_EQ(p.forward_props, expected);
  EXPECT_EQ(p.message_expiry_interval, 10u);
  EXPECT_EQ(p.topic_alias, 1);
  EXPECT_EQ(p.payload, "P");
  // Through decode_publish() with the caller's scratch.
  std::string scratch;
  auto r = decode_publish(0x30, std::string_view(wire).substr(2), Version::kV5, scratch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->forward_props, expected);
  EXPECT_EQ(r->forward_props.data(), scratch.data());
  // The gathered block parses as PUBLISH properties.
  auto props = parse_properties(r->forward_props, PacketType::kPublish);
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(props->payload_format_indicator, 1);
  EXPECT_EQ(props->content_type, "j");
}

TEST(Publish, V3EncodingDropsV5Fields) {
  Publish p;
  p.qos = 1;
  p.packet_id = 2;
  p.topic = "t";
  p.topic_alias = 4;
  p.message_expiry_interval = 9;
  p.subscription_identifiers = {5};
  const std::string fwd = B({0x01, 0x01});
  p.forward_props = fwd;
  p.payload = "x";
  EXPECT_EQ(test::encoded(p, Version::kV311), B({0x32, 0x06, 0x00, 0x01, 't', 0x00, 0x02, 'x'}));
}

// ---- encode_publish / publish_size ----------------------------------------------------

TEST(Publish, EncodePublishReturnsPacketIdOffset) {
  Publish p;
  p.qos = 1;
  p.topic = "abc";
  p.packet_id = 0xBEEF;
  p.payload = "data";
  std::string out = "prefix";
  const size_t at = encode_publish(p, Version::kV311, out);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(at, 6u + 1 + 1 + 2 + 3);  // prefix, header, length, topic
  EXPECT_EQ(uint8_t(out[at]), 0xBE);
  EXPECT_EQ(uint8_t(out[at + 1]), 0xEF);
  // Patching the id gives the packet for another subscriber.
  out[at] = 0x00;
  out[at + 1] = 0x09;
  const Publish q = decode_ok(std::string_view(out).substr(6), Version::kV311);
  EXPECT_EQ(q.packet_id, 9);

  p.qos = 0;
  std::string out0;
  EXPECT_EQ(encode_publish(p, Version::kV5, out0), std::string::npos);
}

TEST(Publish, PublishSizeIsExact) {
  const std::string fwd = B({0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v'});
  for (size_t payload : {0u, 1u, 100u, 113u, 114u, 120u, 127u, 128u, 16'370u, 16'383u, 16'384u,
                         2'097'140u, 2'097'152u}) {
    const std::string body(payload, 'x');
    for (uint8_t qos : {0, 1, 2}) {
      for (Version v : {Version::kV31, Version::kV311, Version::kV5}) {
        Publish p;
        p.qos = qos;
        p.packet_id = qos ? 1 : 0;
        p.topic = "some/topic";
        p.payload = body;
        if (v == Version::kV5) {
          p.topic_alias = 1;
          p.message_expiry_interval = 5;
          p.subscription_identifiers = {1, 200, 70'000};
          p.forward_props = fwd;
        }
        std::string out;
        encode_publish(p, v, out);
        ASSERT_EQ(publish_size(p, v), out.size()) << payload << " " << int(qos);
        const Publish q = decode_ok(out, v);
        test::expect_same_publish(q, p);
      }
    }
  }
}

// ---- malformed -----------------------------------------------------------------------

TEST(Publish, Qos3IsMalformed_MQTT_3_3_1_4) {
  for (Version v : {Version::kV31, Version::kV311, Version::kV5})
    EXPECT_EQ(decode_error(B({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), v), rc::kMalformedPacket);
}

TEST(Publish, DupOnQos0IsProtocolError_MQTT_3_3_1_2) {
  EXPECT_EQ(decode_error(B({0x38, 0x03, 0x00, 0x01, 't'}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x38, 0x04, 0x00, 0x01, 't', 0x00}), Version::kV5), rc::kProtocolError);
}

TEST(Publish, WildcardInTopicIsTopicNameInvalid_MQTT_3_3_2_2) {
  EXPECT_EQ(decode_error(frame(0x30, lstr("a/+")), Version::kV311), rc::kTopicNameInvalid);
  EXPECT_EQ(decode_error(frame(0x30, lstr("#")), Version::kV311), rc::kTopicNameInvalid);
  EXPECT_EQ(decode_error(frame(0x30, cat({lstr("a/#"), B({0})})), Version::kV5), rc::kTopicNameInvalid);
}

TEST(Publish, WildcardFoundAtEveryPosition_MQTT_3_3_2_2) {
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (char w : {'+', '#'}) {
        std::string topic(len, 'a');
        topic[at] = w;
        EXPECT_EQ(decode_error(frame(0x30, lstr(topic)), Version::kV311), rc::kTopicNameInvalid)
            << len << " " << at;
      }
    }
  }
}

TEST(Publish, NearWildcardBytesAreFine) {
  // '*' 0x2A, ',' 0x2C, '"' 0x22, '$' 0x24, and U+00A3 / U+00AB whose second bytes are
  // 0xA3 / 0xAB ('#' / '+' with the high bit set).
  const std::string topic = "$*,\"/\xC2\xA3/\xC2\xAB/abcdefgh/\xC2\xA3\xC2\xAB";
  const std::string wire = frame(0x30, lstr(topic));  // the decoded views point into it
  const Publish p = decode_ok(wire, Version::kV311);
  EXPECT_EQ(p.topic, topic);
}

TEST(Publish, TopicMustBeUtf8_MQTT_3_3_2_1) {
  EXPECT_EQ(decode_error(frame(0x30, lstr("\xC0\x80")), Version::kV311), rc::kMalformedPacket);  // overlong NUL
  EXPECT_EQ(decode_error(frame(0x30, lstr(std::string("a\0b", 3))), Version::kV311), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(frame(0x30, cat({lstr("\xED\xA0\x80"), B({0})})), Version::kV5),
            rc::kMalformedPacket);  // surrogate U+D800
  EXPECT_EQ(decode_error(frame(0x30, cat({lstr("\xF4\x90\x80\x80"), B({0})})), Version::kV5),
            rc::kMalformedPacket);  // above U+10FFFF
}

TEST(Publish, PacketIdentifierZero_MQTT_2_3_1_1) {
  EXPECT_EQ(decode_error(B({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), Version::kV311), rc::kProtocolError);
  EXPECT_EQ(decode_error(B({0x34, 0x06, 0x00, 0x01, 't', 0x00, 0x00, 0x00}), Version::kV5),
            rc::kProtocolError);
}

TEST(Publish, EmptyTopic_MQTT_4_7_3_1) {
  EXPECT_EQ(decode_error(B({0x30, 0x03, 0x00, 0x00, 'x'}), Version::kV311), rc::kProtocolError);
  // v5 3.3.2.3.4: zero-length topic without a topic alias is a Protocol Error.
  EXPECT_EQ(decode_error(B({0x30, 0x04, 0x00, 0x00, 0x00, 'x'}), Version::kV5), rc::kProtocolError);
}

TEST(Publish, TopicAliasZero_MQTT_3_3_2_8) {
  EXPECT_EQ(decode_error(B({0x30, 0x07, 0x00, 0x01, 't', 0x03, 0x23, 0x00, 0x00}), Version::kV5),
            rc::kTopicAliasInvalid);
}

std::string v5_publish_props(std::string_view props) {
  return frame(0x30, cat({lstr("t"), B({uint8_t(props.size())}), props, B({'p'})}));
}

TEST(Publish, DuplicatePropertiesAreProtocolErrors) {
  EXPECT_EQ(decode_error(v5_publish_props(B({0x23, 0, 1, 0x23, 0, 2})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 1})), Version::kV5),
            rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x01, 0, 0x01, 1})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x03, 0, 0, 0x03, 0, 0})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x08, 0, 1, 'r', 0x08, 0, 1, 'r'})), Version::kV5),
            rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x09, 0, 0, 0x09, 0, 0})), Version::kV5), rc::kProtocolError);
}

TEST(Publish, RepeatableProperties) {
  const std::string wire =
      v5_publish_props(B({0x26, 0, 1, 'a', 0, 0, 0x0B, 0x05, 0x26, 0, 1, 'a', 0, 0, 0x0B, 0x06}));
  const Publish p = decode_ok(wire, Version::kV5);
  EXPECT_EQ(p.subscription_identifiers, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.forward_props, B({0x26, 0, 1, 'a', 0, 0, 0x26, 0, 1, 'a', 0, 0}));
}

TEST(Publish, SubscriptionIdentifierRules) {
  EXPECT_EQ(decode_error(v5_publish_props(B({0x0B, 0x00})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x0B, 0x80, 0x80, 0x80, 0x80, 0x01})), Version::kV5),
            rc::kMalformedPacket);  // five-byte variable byte integer
  EXPECT_EQ(decode_error(v5_publish_props(B({0x0B, 0x80})), Version::kV5), rc::kMalformedPacket);
}

TEST(Publish, PropertyNotAllowedOrUnknownIsMalformed) {
  EXPECT_EQ(decode_error(v5_publish_props(B({0x11, 0, 0, 0, 1})), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x1F, 0, 0})), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x18, 0, 0, 0, 1})), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x00})), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x7F})), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(v5_publish_props(B({0xFF, 0x01})), Version::kV5), rc::kMalformedPacket);
}

TEST(Publish, PropertyValueRules) {
  EXPECT_EQ(decode_error(v5_publish_props(B({0x01, 0x02})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x08, 0, 1, '#'})), Version::kV5), rc::kProtocolError);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x03, 0, 1, 0xFF})), Version::kV5), rc::kMalformedPacket);
  EXPECT_EQ(decode_error(v5_publish_props(B({0x26, 0, 1, 'k', 0, 1, 0x00})), Version::kV5),
            rc::kMalformedPacket);  // U+0000 in a user property value
}

TEST(Publish, TruncationsAreMalformed) {
  // Property length past the end of the packet.
  EXPECT_EQ(decode_error(B({0x30, 0x05, 0x00, 0x01, 't', 0x09, 0x01}), Version::kV5), rc::kMalformedPacket);
  // Topic length past the end.
  EXPECT_EQ(decode_error(B({0x30, 0x03, 0x00, 0x05, 't'}), Version::kV311), rc::kMalformedPacket);
  // No room for the packet identifier.
  EXPECT_EQ(decode_error(B({0x32, 0x04, 0x00, 0x01, 't', 0x00}), Version::kV311), rc::kMalformedPacket);
  // No property length at all in v5.
  EXPECT_EQ(decode_error(B({0x30, 0x03, 0x00, 0x01, 't'}), Version::kV5), rc::kMalformedPacket);
}

}  // namespace
}  // namespace petrel::protocol
