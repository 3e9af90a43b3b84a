// Variable byte integers, try_frame and StreamFramer: every split of a multi-packet
// stream, many packets in one buffer, size limits, malformed lengths.
#include <vector>

#include "test_util.h"

namespace petrel::protocol {
namespace {

using test::B;

struct VarintCase {
  uint32_t value;
  std::string bytes;
};

// MQTT 5.0 table 1-1 / 3.1.1 table 2.4 boundaries.
const std::vector<VarintCase>& varint_cases() {
  static const std::vector<VarintCase> cases = {
      {0, B({0x00})},
      {127, B({0x7F})},
      {128, B({0x80, 0x01})},
      {16'383, B({0xFF, 0x7F})},
      {16'384, B({0x80, 0x80, 0x01})},
      {2'097'151, B({0xFF, 0xFF, 0x7F})},
      {2'097'152, B({0x80, 0x80, 0x80, 0x01})},
      {268'435'455, B({0xFF, 0xFF, 0xFF, 0x7F})},
  };
  return cases;
}

TEST(Varint, SpecBoundaries) {
  for (const auto& c : varint_cases()) {
    std::string out;
    encode_varint(c.value, out);
    EXPECT_EQ(out, c.bytes) << c.value;
    EXPECT_EQ(varint_size(c.value), c.bytes.size());
    uint32_t v = 0;
    EXPECT_EQ(decode_varint(c.bytes.data(), c.bytes.size(), v), int(c.bytes.size()));
    EXPECT_EQ(v, c.value);
    // Every proper prefix needs more bytes.
    for (size_t n = 0; n < c.bytes.size(); ++n) EXPECT_EQ(decode_varint(c.bytes.data(), n, v), 0);
  }
}

TEST(Varint, FifthByteIsMalformed) {
  uint32_t v = 0;
  const std::string five = B({0xFF, 0xFF, 0xFF, 0xFF, 0x7F});
  EXPECT_EQ(decode_varint(five.data(), five.size(), v), -1);
  EXPECT_EQ(decode_varint(five.data(), 4, v), -1);  // known as soon as the 4th byte continues
  const std::string zero5 = B({0x80, 0x80, 0x80, 0x80, 0x00});
  EXPECT_EQ(decode_varint(zero5.data(), zero5.size(), v), -1);
}

TEST(TryFrame, NeedMoreThenComplete) {
  const std::string pkt = B({0x30, 0x05, 0x00, 0x01, 't', 'h', 'i'});
  Frame f;
  for (size_t n = 0; n < pkt.size(); ++n)
    EXPECT_EQ(try_frame(pkt.data(), n, 0, f), FrameStatus::kNeedMore) << n;
  ASSERT_EQ(try_frame(pkt.data(), pkt.size(), 0, f), FrameStatus::kComplete);
  EXPECT_EQ(f.header, 0x30);
  EXPECT_EQ(f.header_len, 2u);
  EXPECT_EQ(f.remaining, 5u);
  EXPECT_EQ(f.total(), pkt.size());
}

TEST(TryFrame, RemainingLengthLongerThanFourBytesIsMalformed) {
  const std::string bad = B({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  Frame f;
  EXPECT_EQ(try_frame(bad.data(), bad.size(), 0, f), FrameStatus::kMalformed);
  EXPECT_EQ(try_frame(bad.data(), 5, 0, f), FrameStatus::kMalformed);
  EXPECT_EQ(try_frame(bad.data(), 4, 0, f), FrameStatus::kNeedMore);
}

TEST(TryFrame, MaximumPacketSizeCountsTheWholePacket) {
  const std::string pkt = B({0x30, 0x05, 0x00, 0x01, 't', 'h', 'i'});  // 7 bytes in all
  Frame f;
  EXPECT_EQ(try_frame(pkt.data(), pkt.size(), 7, f), FrameStatus::kComplete);
  EXPECT_EQ(try_frame(pkt.data(), pkt.size(), 6, f), FrameStatus::kTooLarge);
  // Known from the fixed header alone, before the body arrives.
  EXPECT_EQ(try_frame(pkt.data(), 2, 6, f), FrameStatus::kTooLarge);
}

TEST(TryFrame, LargestRemainingLength) {
  const std::string hdr = B({0x30, 0xFF, 0xFF, 0xFF, 0x7F});
  Frame f;
  EXPECT_EQ(try_frame(hdr.data(), hdr.size(), 0, f), FrameStatus::kNeedMore);
  EXPECT_EQ(try_frame(hdr.data(), hdr.size(), 268'435'460, f), FrameStatus::kNeedMore);
  EXPECT_EQ(try_frame(hdr.data(), hdr.size(), 268'435'459, f), FrameStatus::kTooLarge);
}

// A stream of packets of every kind and several sizes.
std::string stream() {
  std::string s;
  s += B({0x10, 0x0F, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x03, 'a', 'b', 'c'});
  s += B({0x30, 0x05, 0x00, 0x01, 't', 'h', 'i'});
  s += B({0xC0, 0x00});
  s += B({0x62, 0x02, 0x00, 0x07});
  std::string big(300, 'x');  // remaining length 303: two-byte varint
  s += B({0x30, 0xAF, 0x02, 0x00, 0x01, 't'}) + big;
  s += B({0xE0, 0x00});
  return s;
}
const std::vector<std::pair<uint8_t, size_t>> kExpected = {
    {0x10, 15}, {0x30, 5}, {0xC0, 0}, {0x62, 2}, {0x30, 303}, {0xE0, 0}};

// Drains f, appending (header, body size) pairs; checks bodies point at the right bytes.
void drain(StreamFramer& f, std::vector<std::pair<uint8_t, size_t>>& got) {
  uint8_t h = 0;
  std::string_view body;
  FrameStatus st;
  while ((st = f.next(h, body)) == FrameStatus::kComplete) got.emplace_back(h, body.size());
  EXPECT_EQ(st, FrameStatus::kNeedMore);
}

TEST(StreamFramer, ManyPacketsInOneBuffer) {
  StreamFramer f;
  f.feed(stream());
  std::vector<std::pair<uint8_t, size_t>> got;
  drain(f, got);
  EXPECT_EQ(got, kExpected);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(StreamFramer, ManyPacketsThroughTryFrame) {
  const std::string s = stream();
  std::vector<std::pair<uint8_t, size_t>> got;
  size_t pos = 0;
  Frame fr;
  while (try_frame(s.data() + pos, s.size() - pos, 0, fr) == FrameStatus::kComplete) {
    got.emplace_back(fr.header, fr.remaining);
    pos += fr.total();
  }
  EXPECT_EQ(pos, s.size());
  EXPECT_EQ(got, kExpected);
}

TEST(StreamFramer, OneByteAtATime) {
  const std::string s = stream();
  StreamFramer f;
  std::vector<std::pair<uint8_t, size_t>> got;
  for (char c : s) {
    f.feed(std::string_view(&c, 1));
    drain(f, got);
  }
  EXPECT_EQ(got, kExpected);
}

TEST(StreamFramer, EveryTwoWaySplit) {
  const std::string s = stream();
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    StreamFramer f;
    std::vector<std::pair<uint8_t, size_t>> got;
    f.feed(std::string_view(s).substr(0, cut));
    drain(f, got);
    f.feed(std::string_view(s).substr(cut));
    drain(f, got);
    ASSERT_EQ(got, kExpected) << "cut at " << cut;
  }
}

TEST(StreamFramer, EveryThreeWaySplitOfTheSmallPackets) {
  const std::string s = stream().substr(0, 17 + 7 + 2 + 4);  // CONNECT, PUBLISH, PINGREQ, PUBREL
  const std::vector<std::pair<uint8_t, size_t>> expected(kExpected.begin(), kExpected.begin() + 4);
  for (size_t a = 0; a <= s.size(); ++a) {
    for (size_t b = a; b <= s.size(); ++b) {
      StreamFramer f;
      std::vector<std::pair<uint8_t, size_t>> got;
      f.feed(std::string_view(s).substr(0, a));
      drain(f, got);
      f.feed(std::string_view(s).substr(a, b - a));
      drain(f, got);
      f.feed(std::string_view(s).substr(b));
      drain(f, got);
      ASSERT_EQ(got, expected) << a << "," << b;
    }
  }
}

TEST(StreamFramer, BodiesAreTheRightBytes) {
  StreamFramer f;
  f.feed(B({0x30, 0x05, 0x00, 0x01, 't', 'h', 'i', 0xC0}));
  uint8_t h = 0;
  std::string_view body;
  ASSERT_EQ(f.next(h, body), FrameStatus::kComplete);
  EXPECT_EQ(body, B({0x00, 0x01, 't', 'h', 'i'}));
  EXPECT_EQ(f.next(h, body), FrameStatus::kNeedMore);
  EXPECT_EQ(f.buffered(), 1u);
  f.feed(B({0x00}));
  ASSERT_EQ(f.next(h, body), FrameStatus::kComplete);
  EXPECT_EQ(h, 0xC0);
  EXPECT_TRUE(body.empty());
}

TEST(StreamFramer, TooLargeIsSticky) {
  StreamFramer f(10);
  f.feed(B({0xC0, 0x00, 0x30, 0x0A}));  // PINGREQ, then a 12-byte PUBLISH header
  uint8_t h = 0;
  std::string_view body;
  EXPECT_EQ(f.next(h, body), FrameStatus::kComplete);
  EXPECT_EQ(f.next(h, body), FrameStatus::kTooLarge);
  f.feed(B({0xC0, 0x00}));
  EXPECT_EQ(f.next(h, body), FrameStatus::kTooLarge);
}

TEST(StreamFramer, MalformedLengthIsSticky) {
  StreamFramer f;
  f.feed(B({0x30, 0x80, 0x80, 0x80}));
  uint8_t h = 0;
  std::string_view body;
  EXPECT_EQ(f.next(h, body), FrameStatus::kNeedMore);
  f.feed(B({0x80}));
  EXPECT_EQ(f.next(h, body), FrameStatus::kMalformed);
  EXPECT_EQ(f.next(h, body), FrameStatus::kMalformed);
}

TEST(StreamFramer, LargePacket) {
  Publish p;
  p.topic = "big";
  const std::string payload(3'000'000, 'z');
  p.payload = payload;
  std::string wire;
  encode_publish(p, Version::kV311, wire);
  StreamFramer f;
  for (size_t i = 0; i < wire.size(); i += 65'536) f.feed(std::string_view(wire).substr(i, 65'536));
  uint8_t h = 0;
  std::string_view body;
  ASSERT_EQ(f.next(h, body), FrameStatus::kComplete);
  EXPECT_EQ(body.size(), 2 + 3 + payload.size());
}

}  // namespace
}  // namespace petrel::protocol
