// libFuzzer target: decoding. Frames the input and decodes every packet as CONNECT
// (decode_connect) and as each version (decode). Whatever decodes is encoded again and
// must decode to the same packet, and encoding that must give the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include "fuzz_check.h"
#include "protocol/codec.h"
#include "protocol/framer.h"

using namespace petrel::protocol;

namespace {


// A Publish with its views copied out, so it survives the next decode.
struct OwnedPublish {
  bool dup, retain;
  uint8_t qos;
  uint16_t packet_id;
  std::string topic, forward_props, payload;
  std::optional<uint16_t> topic_alias;
  std::optional<uint32_t> expiry;
  std::optional<uint8_t> format;
  std::vector<uint32_t> sub_ids;
  explicit OwnedPublish(const Publish& p)
      : dup(p.dup), retain(p.retain), qos(p.qos), packet_id(p.packet_id), topic(p.topic),
        forward_props(p.forward_props), payload(p.payload), topic_alias(p.topic_alias),
        expiry(p.message_expiry_interval), format(p.payload_format_indicator),
        sub_ids(p.subscription_identifiers) {}
  bool operator==(const OwnedPublish&) const = default;
};

// Exactly one packet in bytes: returns header and body.
void frame_one(const std::string& bytes, uint8_t& header, std::string_view& body) {
  Frame f;
  FUZZ_CHECK(try_frame(bytes.data(), bytes.size(), 0, f) == FrameStatus::kComplete);
  FUZZ_CHECK(f.total() == bytes.size());
  header = f.header;
  body = std::string_view(bytes).substr(f.header_len);
}

void roundtrip_connect(const Connect& c) {
  std::string wire;
  encode(Packet(c), c.version, wire);
  uint8_t h = 0;
  std::string_view body;
  frame_one(wire, h, body);
  auto again = decode_connect(h, body);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == c);
  FUZZ_CHECK(peek_connect_version(body) == c.version);
}

void roundtrip(const Packet& p, Version v) {
  std::string wire;
  encode(p, v, wire);
  if (std::holds_alternative<Publish>(p)) {
    FUZZ_CHECK(wire.size() == publish_size(std::get<Publish>(p), v));
  }
  uint8_t h = 0;
  std::string_view body;
  frame_one(wire, h, body);
  auto again = decode(h, body, v);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(packet_type(*again) == packet_type(p));
  if (std::holds_alternative<Publish>(p)) {
    FUZZ_CHECK(OwnedPublish(std::get<Publish>(*again)) == OwnedPublish(std::get<Publish>(p)));
  } else if (std::holds_alternative<Connect>(p)) {
    FUZZ_CHECK(std::get<Connect>(*again) == std::get<Connect>(p));
  } else {
    std::visit(
        [&](const auto& first) {
          using T = std::decay_t<decltype(first)>;
          if constexpr (!std::is_same_v<T, Publish>) FUZZ_CHECK(std::get<T>(*again) == first);
        },
        p);
  }
  std::string wire2;
  encode(*again, v, wire2);
  FUZZ_CHECK(wire2 == wire);
}

void decode_one(uint8_t header, std::string_view body) {
  // The body as a bare property block of this packet type: must not crash, and what
  // parses must survive encode_properties + parse again.
  if (const auto type = PacketType(header >> 4); type != PacketType(0)) {
    if (auto props = parse_properties(body, type); props.ok()) {
      std::string enc;
      encode_properties(*props, enc);
      uint32_t len = 0;
      const int n = decode_varint(enc.data(), enc.size(), len);
      FUZZ_CHECK(n > 0 && size_t(n) + len == enc.size());
      auto again = parse_properties(std::string_view(enc).substr(size_t(n)), type);
      FUZZ_CHECK(again.ok() && *again == *props);
    }
  }
  if ((header >> 4) == 1) {
    auto c = decode_connect(header, body);
    if (c.ok()) roundtrip_connect(*c);
    else FUZZ_CHECK(c.error().code != 0);
  }
  for (Version v : {Version::kV31, Version::kV311, Version::kV5}) {
    auto r = decode(header, body, v);
    if (!r.ok()) {
      FUZZ_CHECK(r.error().code >= 0x80);
      continue;
    }
    // A PUBLISH may view the thread_local scratch: copy what we compare first.
    if (std::holds_alternative<Publish>(*r)) {
      const Publish p = std::get<Publish>(*r);
      std::string fwd(p.forward_props);
      Publish owned = p;
      owned.forward_props = fwd;
      roundtrip(Packet(owned), v);
    } else if (std::holds_alternative<Connect>(*r)) {
      roundtrip_connect(std::get<Connect>(*r));
    } else {
      roundtrip(*r, v);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  size_t pos = 0;
  Frame f;
  while (try_frame(bytes + pos, size - pos, 0, f) == FrameStatus::kComplete) {
    decode_one(f.header, std::string_view(bytes + pos + f.header_len, f.remaining));
    pos += f.total();
  }
  // A truncated tail still goes to the decoders as a whole body: they must not read past it.
  if (pos < size && size - pos >= 1) {
    const std::string tail(bytes + pos + 1, size - pos - 1);
    decode_one(uint8_t(bytes[pos]), tail);
  }
  return 0;
}
