// RFC 6455 framing: client frames in (masked, fragmented, several MQTT packets per frame,
// packets across frames, control frames, errors), server frames out.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "net/websocket_frame.h"

namespace petrel::net::ws {
namespace {

constexpr uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

// A client frame written independently of the decoder (header fields spelled out).
std::string client_frame(uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true,
                         uint8_t rsv = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode));
  const uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() <= 0xffff) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((uint64_t(payload.size()) >> (8 * i)) & 0xff));
  }
  if (masked) f.append(reinterpret_cast<const char*>(kMask), 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ (masked ? kMask[i % 4] : 0)));
  }
  return f;
}

struct Decoded {
  std::string data;
  std::vector<FrameDecoder::Event> events;
};

// Feeds `wire` in chunks of `chunk` bytes with an output buffer of `cap` bytes.
Decoded run(FrameDecoder& d, const std::string& wire, size_t chunk = SIZE_MAX, size_t cap = 1 << 20) {
  Decoded out;
  std::string buf(cap, '\0');
  for (size_t off = 0; off < wire.size();) {
    const size_t len = std::min(chunk, wire.size() - off);
    size_t used = 0;
    while (used < len) {
      auto st = d.decode(wire.data() + off + used, len - used, buf.data(), cap);
      used += st.consumed;
      out.data.append(buf.data(), st.produced);
      if (st.event != FrameDecoder::Event::kNone) out.events.push_back(st.event);
      if (st.event == FrameDecoder::Event::kError || st.event == FrameDecoder::Event::kClose) return out;
      if (st.consumed == 0 && st.produced == 0) break;
    }
    off += len;
  }
  return out;
}

// Two MQTT packets: PINGREQ and a QoS 0 PUBLISH "a/b" = "hi".
const std::string kPingreq("\xc0\x00", 2);
const std::string kPublish("\x30\x07\x00\x03" "a/b" "hi", 9);

TEST(WebSocketFrame, BinaryFrameIsUnmasked) {
  FrameDecoder d;
  Decoded r = run(d, client_frame(0x2, kPublish));
  EXPECT_EQ(r.data, kPublish);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(d.at_frame_boundary());
}

TEST(WebSocketFrame, SeveralPacketsInOneFrame_MQTT_6_0_0_2) {
  FrameDecoder d;
  EXPECT_EQ(run(d, client_frame(0x2, kPingreq + kPublish + kPingreq)).data, kPingreq + kPublish + kPingreq);
}

TEST(WebSocketFrame, PacketSplitAcrossFrames_MQTT_6_0_0_2) {
  // Unfragmented frames each carrying part of a packet...
  FrameDecoder d;
  std::string wire = client_frame(0x2, kPublish.substr(0, 3)) + client_frame(0x2, kPublish.substr(3));
  EXPECT_EQ(run(d, wire).data, kPublish);
  // ...and a fragmented message: binary (FIN 0), continuation (FIN 0), continuation (FIN 1).
  FrameDecoder f;
  wire = client_frame(0x2, kPublish.substr(0, 2), false) + client_frame(0x0, kPublish.substr(2, 4), false) +
         client_frame(0x0, kPublish.substr(6), true) + client_frame(0x2, kPingreq);
  EXPECT_EQ(run(f, wire).data, kPublish + kPingreq);
}

TEST(WebSocketFrame, ControlFrameInsideFragmentedMessage) {
  FrameDecoder d;
  std::string wire = client_frame(0x2, "ab", false) + client_frame(0x9, "ping!") + client_frame(0x0, "cd", true);
  Decoded r = run(d, wire);
  EXPECT_EQ(r.data, "abcd");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], FrameDecoder::Event::kPing);
  EXPECT_EQ(d.control_payload(), "ping!");
}

TEST(WebSocketFrame, ByteByByteEqualsWhole) {
  std::string payload;
  for (int i = 0; i < 70000; ++i) payload.push_back(static_cast<char>(i * 7));
  std::string wire = client_frame(0x2, payload.substr(0, 300)) + client_frame(0x2, payload.substr(300, 1), false) +
                     client_frame(0x0, payload.substr(301));
  FrameDecoder whole, bytes, small_out;
  EXPECT_EQ(run(whole, wire).data, payload);
  EXPECT_EQ(run(bytes, wire, 1).data, payload);
  EXPECT_EQ(run(small_out, wire, 4096, 13).data, payload);  // output smaller than frames
}

TEST(WebSocketFrame, LengthEncodings) {
  for (size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 100000u}) {
    std::string payload(n, 'x');
    FrameDecoder d;
    EXPECT_EQ(run(d, client_frame(0x2, payload)).data.size(), n) << n;
  }
}

TEST(WebSocketFrame, DecodesInPlace) {
  std::string wire = client_frame(0x2, kPublish) + client_frame(0x2, std::string(1000, 'z'));
  std::string expected = kPublish + std::string(1000, 'z');
  FrameDecoder d;
  size_t used = 0, made = 0;
  while (used < wire.size()) {
    auto st = d.decode(wire.data() + used, wire.size() - used, wire.data() + made, wire.size() - made);
    ASSERT_EQ(st.event, FrameDecoder::Event::kNone);
    used += st.consumed;
    made += st.produced;
  }
  EXPECT_EQ(wire.substr(0, made), expected);
}

TEST(WebSocketFrame, PingPongAndClose) {
  FrameDecoder d;
  Decoded r = run(d, client_frame(0x9, "") + client_frame(0xA, "x"));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], FrameDecoder::Event::kPing);
  EXPECT_EQ(r.events[1], FrameDecoder::Event::kPong);
  FrameDecoder c;
  r = run(c, client_frame(0x8, std::string("\x03\xe8" "bye", 5)));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], FrameDecoder::Event::kClose);
  EXPECT_EQ(c.close_code(), 1000);
  FrameDecoder empty;
  r = run(empty, client_frame(0x8, ""));
  EXPECT_EQ(r.events.at(0), FrameDecoder::Event::kClose);
  EXPECT_EQ(empty.close_code(), 0);
}

struct BadFrame {
  const char* name;
  std::string wire;
  uint16_t code;
  const char* why;
};

TEST(WebSocketFrame, ProtocolErrors) {
  const BadFrame cases[] = {
      {"unmasked", client_frame(0x2, "abc", true, false), kCloseProtocolError, "unmasked frame"},
      {"rsv1", client_frame(0x2, "abc", true, true, 4), kCloseProtocolError, "reserved bits"},
      {"text", client_frame(0x1, "{}"), kCloseUnsupportedData, "text frame"},
      {"lone continuation", client_frame(0x0, "abc"), kCloseProtocolError, "continuation frame"},
      {"binary inside message", client_frame(0x2, "a", false) + client_frame(0x2, "b"), kCloseProtocolError,
       "inside a fragmented message"},
      {"fragmented ping", client_frame(0x9, "a", false), kCloseProtocolError, "fragmented control frame"},
      {"oversize ping", client_frame(0x9, std::string(126, 'p')), kCloseProtocolError, "control frame of 126 bytes"},
      {"1-byte close", client_frame(0x8, "x"), kCloseProtocolError, "1-byte payload"},
      {"close code 1005", client_frame(0x8, std::string("\x03\xed", 2)), kCloseProtocolError, "invalid close code"},
      {"opcode 3", client_frame(0x3, "a"), kCloseProtocolError, "unknown opcode"},
      {"length over 2^63", std::string("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14), kCloseTooBig,
       "above 2^63"},
  };
  for (const auto& c : cases) {
    FrameDecoder d;
    Decoded r = run(d, c.wire);
    ASSERT_FALSE(r.events.empty()) << c.name;
    EXPECT_EQ(r.events.back(), FrameDecoder::Event::kError) << c.name;
    EXPECT_EQ(d.error_code(), c.code) << c.name;
    EXPECT_NE(d.error().find(c.why), std::string::npos) << c.name << ": " << d.error();
    // Sticky: nothing more is decoded.
    char out[8];
    EXPECT_EQ(d.decode(kPingreq.data(), 2, out, 8).event, FrameDecoder::Event::kError) << c.name;
  }
}

// Untrusted input: arbitrary bytes (and mutated valid streams) must never crash, and how
// they are chunked must not change what comes out (a cheap stand-in for a fuzz target).
TEST(WebSocketFrame, ArbitraryInputIsSafeAndChunkingDoesNotMatter) {
  std::mt19937 rng(12345);
  const std::string valid = client_frame(0x2, kPublish, false) + client_frame(0x9, "p") +
                            client_frame(0x0, std::string(300, 'x')) + client_frame(0x2, kPingreq) +
                            client_frame(0x8, std::string("\x03\xe8", 2));
  for (int round = 0; round < 2000; ++round) {
    std::string wire;
    if (round % 2 == 0) {
      wire = valid;
      for (int k = 0; k < 1 + round % 5; ++k) wire[rng() % wire.size()] = static_cast<char>(rng());
    } else {
      wire.resize(rng() % 200);
      for (auto& c : wire) c = static_cast<char>(rng());
    }
    FrameDecoder whole, pieces;
    Decoded a = run(whole, wire);
    Decoded b = run(pieces, wire, 1 + rng() % 7, 1 + rng() % 50);
    ASSERT_EQ(a.data, b.data) << round;
    ASSERT_EQ(a.events, b.events) << round;
    ASSERT_EQ(whole.error_code(), pieces.error_code()) << round;
  }
}

TEST(WebSocketFrame, ServerFramesAreUnmaskedBinary) {
  std::string out;
  append_frame(out, Opcode::kBinary, kPublish);
  EXPECT_EQ(out, std::string("\x82\x09", 2) + kPublish);
  out.clear();
  append_frame_header(out, Opcode::kBinary, 126);
  EXPECT_EQ(out, std::string("\x82\x7e\x00\x7e", 4));
  out.clear();
  append_frame_header(out, Opcode::kBinary, 65536);
  EXPECT_EQ(out, std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  out.clear();
  append_close_frame(out, kCloseProtocolError, "bad");
  EXPECT_EQ(out, std::string("\x88\x05\x03\xea" "bad", 7));
  out.clear();
  append_close_frame(out, 0);
  EXPECT_EQ(out, std::string("\x88\x00", 2));
}

TEST(WebSocketFrame, MaskHelperKeepsPosition) {
  const std::string text = "hello, websocket world";
  std::string masked(text.size(), '\0'), back(text.size(), '\0');
  uint8_t pos = apply_mask(kMask, 0, text.data(), masked.data(), 5);
  pos = apply_mask(kMask, pos, text.data() + 5, masked.data() + 5, text.size() - 5);
  EXPECT_EQ(pos, text.size() % 4);
  apply_mask(kMask, 0, masked.data(), back.data(), masked.size());
  EXPECT_EQ(back, text);
  for (size_t i = 0; i < text.size(); ++i) EXPECT_EQ(uint8_t(masked[i]), uint8_t(text[i]) ^ kMask[i % 4]);
}

}  // namespace
}  // namespace petrel::net::ws
