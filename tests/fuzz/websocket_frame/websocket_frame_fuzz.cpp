// libFuzzer target: WebSocket frames from a client (net/websocket_frame.h). The first two
// bytes pick how the rest arrives (piece sizes) and how much output room each call has.
// The decoder is run three ways — the whole input at once into a large buffer, in pieces
// into small buffers, and in pieces decoding in place — and all three must give the same
// MQTT byte stream and the same events (pings with their data, closes with their code,
// the error with its code). Each call must make progress or say why it stopped.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "net/websocket_frame.h"

using namespace petrel::net::ws;
using petrel::fuzz::Bytes;

namespace {

struct Trace {
  std::string stream;              // the application bytes
  std::vector<std::string> events; // "ping:<data>", "close:<code>", "error:<code>"
  bool operator==(const Trace&) const = default;
};

// Feeds `in` in pieces of piece(i) bytes with `cap` bytes of output per call; in place
// when `in_place`.
template <class Piece>
Trace run(std::string in, Piece piece, size_t cap, bool in_place) {
  Trace t;
  FrameDecoder d;
  std::string out(cap, '\0');
  size_t pos = 0;
  size_t call = 0;
  bool stop = false;
  while (pos < in.size() && !stop) {
    const size_t avail = std::min(piece(call++), in.size() - pos);
    size_t used = 0;
    while (used < avail && !stop) {
      char* src = in.data() + pos + used;
      char* dst = in_place ? src : out.data();
      const size_t room = in_place ? avail - used : cap;
      const auto st = d.decode(src, avail - used, dst, room);
      FUZZ_CHECK(st.consumed <= avail - used);
      FUZZ_CHECK(st.produced <= room);
      FUZZ_CHECK(st.produced <= st.consumed);  // never more payload than input
      t.stream.append(dst, st.produced);
      used += st.consumed;
      switch (st.event) {
        case FrameDecoder::Event::kNone:
          // Stopped with input left: only because the output is full.
          if (used < avail) FUZZ_CHECK(st.produced == room);
          break;
        case FrameDecoder::Event::kPing:
          FUZZ_CHECK(d.control_payload().size() <= kMaxControlPayload);
          t.events.push_back("ping:" + d.control_payload());
          break;
        case FrameDecoder::Event::kPong:
          FUZZ_CHECK(d.control_payload().size() <= kMaxControlPayload);
          t.events.push_back("pong:" + d.control_payload());
          break;
        case FrameDecoder::Event::kClose:
          t.events.push_back("close:" + std::to_string(d.close_code()));
          stop = true;  // the connection ends: nothing after a close is read
          break;
        case FrameDecoder::Event::kError:
          FUZZ_CHECK(d.error_code() != 0 && !d.error().empty());
          t.events.push_back("error:" + std::to_string(d.error_code()));
          stop = true;
          break;
      }
      if (st.consumed == 0 && st.produced == 0 && st.event == FrameDecoder::Event::kNone) {
        FUZZ_CHECK(room == 0);
        break;
      }
    }
    pos += used;
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const uint8_t k1 = in.u8();
  const uint8_t k2 = in.u8();
  const std::string bytes(in.rest());

  const Trace whole = run(bytes, [&](size_t) { return bytes.size(); }, bytes.size() + 1, false);
  uint32_t rng = k1 | 1u;
  auto varying = [&](size_t) {
    rng = rng * 1103515245u + 12345u;
    return size_t(1 + (rng >> 16) % (1 + (k1 & 31)));
  };
  const size_t cap = 1 + (k2 & 15);
  const Trace pieces = run(bytes, varying, cap, false);
  FUZZ_CHECK(pieces == whole);
  rng = k2 | 1u;
  const Trace in_place = run(bytes, varying, 0, true);
  FUZZ_CHECK(in_place == whole);
  return 0;
}
