// Property blocks on their own: parse_properties, encode_properties, encode_forward_props.
#include "test_util.h"

namespace petrel::protocol {
namespace {

using test::B;

TEST(Properties, EncodeForwardPropsGolden) {
  Properties p;
  p.payload_format_indicator = 1;
  p.content_type = "ct";
  p.response_topic = "rt";
  p.correlation_data = "cd";
  p.user_properties = {{"a", "1"}, {"a", "2"}};
  p.message_expiry_interval = 9;  // not forwarded: left out
  p.topic_alias = 4;              // not forwarded: left out
  std::string out;
  encode_forward_props(p, out);
  EXPECT_EQ(test::hex(out), test::hex(B({
                                0x01, 0x01,                          // payload format indicator 1
                                0x03, 0x00, 0x02, 'c', 't',          // content type "ct"
                                0x08, 0x00, 0x02, 'r', 't',          // response topic "rt"
                                0x09, 0x00, 0x02, 'c', 'd',          // correlation data "cd"
                                0x26, 0x00, 0x01, 'a', 0x00, 0x01, '1',  // user property a=1
                                0x26, 0x00, 0x01, 'a', 0x00, 0x01, '2',  // user property a=2 (order kept)
                            })));
  auto back = parse_properties(out, PacketType::kPublish);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->content_type, "ct");
  EXPECT_EQ(back->user_properties, p.user_properties);
}

TEST(Properties, EncodePropertiesHasLengthPrefix) {
  Properties p;
  p.session_expiry_interval = 1;
  p.receive_maximum = 2;
  std::string out;
  encode_properties(p, out);
  EXPECT_EQ(out, B({
                     0x08,                    // property length 8
                     0x11, 0x00, 0x00, 0x00, 0x01,  // session expiry interval 1
                     0x21, 0x00, 0x02,        // receive maximum 2
                 }));
  std::string empty;
  encode_properties(Properties{}, empty);
  EXPECT_EQ(empty, B({0x00}));
}

TEST(Properties, LongBlockUsesMultiByteLength) {
  Properties p;
  p.reason_string = std::string(200, 'r');  // 1 + 2 + 200 = 203 bytes
  std::string out;
  encode_properties(p, out);
  ASSERT_EQ(out.size(), 2u + 203u);
  EXPECT_EQ(uint8_t(out[0]), 0xCB);  // 203 = 0x4B | 0x80 ...
  EXPECT_EQ(uint8_t(out[1]), 0x01);  // ... + 1 * 128
  auto back = parse_properties(std::string_view(out).substr(2), PacketType::kDisconnect);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->reason_string, p.reason_string);
}

TEST(Properties, ParseChecksTheType) {
  const std::string alias = B({0x23, 0x00, 0x01});
  EXPECT_TRUE(parse_properties(alias, PacketType::kPublish).ok());
  auto r = parse_properties(alias, PacketType::kConnect);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, rc::kMalformedPacket);
}

TEST(Properties, TruncatedValuesAreMalformed) {
  for (const std::string& block :
       {B({0x02, 0x00, 0x00}), B({0x23, 0x00}), B({0x03, 0x00, 0x05, 'a'}), B({0x26, 0x00, 0x01, 'a'}),
        B({0x26, 0x00, 0x01, 'a', 0x00}), B({0x0B}), B({0x01})}) {
    auto r = parse_properties(block, PacketType::kPublish);
    ASSERT_FALSE(r.ok()) << test::hex(block);
    EXPECT_EQ(r.error().code, rc::kMalformedPacket) << test::hex(block);
  }
}

TEST(Properties, SubscriptionIdentifierRepeatsOnlyInPublish) {
  const std::string two = B({0x0B, 0x01, 0x0B, 0x02});
  auto pub = parse_properties(two, PacketType::kPublish);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->subscription_identifiers, (std::vector<uint32_t>{1, 2}));
  auto sub = parse_properties(two, PacketType::kSubscribe);
  ASSERT_FALSE(sub.ok());
  EXPECT_EQ(sub.error().code, rc::kProtocolError);
}

TEST(Properties, LargestSubscriptionIdentifier) {
  auto r = parse_properties(B({0x0B, 0xFF, 0xFF, 0xFF, 0x7F}), PacketType::kSubscribe);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->subscription_identifiers, (std::vector<uint32_t>{268'435'455}));
}

TEST(Properties, EncodeRespectsThePacketsAllowedSet) {
  // A Disconnect carrying a CONNECT-only property: encode leaves it out, so the result
  // still decodes.
  Disconnect d;
  d.reason = rc::kServerShuttingDown;
  d.props.receive_maximum = 5;
  d.props.reason_string = "r";
  const std::string wire = test::encoded(d, Version::kV5);
  EXPECT_EQ(wire, B({0xE0, 0x06, 0x8B, 0x04, 0x1F, 0x00, 0x01, 'r'}));
  EXPECT_TRUE(test::decode_wire(wire, Version::kV5).ok());
}

}  // namespace
}  // namespace petrel::protocol
