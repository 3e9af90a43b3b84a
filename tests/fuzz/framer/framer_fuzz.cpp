// libFuzzer target: framing. The input is a byte stream; the first byte picks a maximum
// packet size and the read sizes. try_frame over the whole buffer and StreamFramer fed
// in pieces must find exactly the same packets and end in the same state; varints must
// round-trip.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "protocol/framer.h"

using namespace petrel::protocol;

namespace {


struct Seen {
  uint8_t header;
  std::string body;
  bool operator==(const Seen&) const = default;
};

void check_varint(const char* data, size_t len) {
  uint32_t v = 0;
  const int n = decode_varint(data, len, v);
  if (n <= 0) return;
  std::string enc;
  encode_varint(v, enc);
  FUZZ_CHECK(enc.size() == varint_size(v));
  FUZZ_CHECK(enc.size() <= size_t(n));  // the input may be a non-minimal encoding
  uint32_t back = 0;
  FUZZ_CHECK(decode_varint(enc.data(), enc.size(), back) == int(enc.size()));
  FUZZ_CHECK(back == v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t knobs = data[0];
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t len = size - 1;
  static const uint32_t kLimits[] = {0, 2, 5, 16, 64, 300, 4096, 0};
  const uint32_t max = kLimits[knobs & 7];

  check_varint(bytes, len);

  // Whole buffer at once.
  std::vector<Seen> direct;
  FrameStatus direct_end = FrameStatus::kNeedMore;
  for (size_t pos = 0;;) {
    Frame f;
    direct_end = try_frame(bytes + pos, len - pos, max, f);
    if (direct_end != FrameStatus::kComplete) break;
    FUZZ_CHECK(f.total() <= len - pos);
    FUZZ_CHECK(f.header_len >= 2 && f.header_len <= 5);
    if (max) FUZZ_CHECK(f.total() <= max);
    direct.push_back({f.header, std::string(bytes + pos + f.header_len, f.remaining)});
    pos += f.total();
  }

  // The same bytes in pieces of a size chosen by the knobs (1..8 bytes, or varying).
  StreamFramer sf(max);
  std::vector<Seen> streamed;
  FrameStatus stream_end = FrameStatus::kNeedMore;
  uint32_t rng = knobs | 1u;
  for (size_t pos = 0; pos < len;) {
    rng = rng * 1103515245u + 12345u;
    const size_t piece = (knobs & 0x80) ? 1 + (rng >> 16) % 9 : 1 + ((knobs >> 3) & 7);
    const size_t n = std::min(piece, len - pos);
    sf.feed(std::string_view(bytes + pos, n));
    pos += n;
    uint8_t h = 0;
    std::string_view body;
    while ((stream_end = sf.next(h, body)) == FrameStatus::kComplete)
      streamed.push_back({h, std::string(body)});
    if (stream_end != FrameStatus::kNeedMore) break;
  }
  FUZZ_CHECK(streamed == direct);
  FUZZ_CHECK(stream_end == direct_end);
  return 0;
}
