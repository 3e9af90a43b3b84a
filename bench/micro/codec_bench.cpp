// Codec hot paths: PUBLISH decode (3.1.1, and 5.0 with properties), PUBLISH encode, and
// framing a buffer that holds many packets (one large read).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/framer.h"

namespace {

using namespace petrel::protocol;

const std::string kPayload(64, 'p');
const std::string kForward = [] {
  Properties p;
  p.payload_format_indicator = 1;
  p.content_type = "application/json";
  p.user_properties = {{"trace", "abc123"}, {"source", "room1"}};
  std::string out;
  encode_forward_props(p, out);
  return out;
}();

Publish sample(Version v) {
  Publish p;
  p.qos = 1;
  p.packet_id = 42;
  p.topic = "sensors/building-7/room-1/temperature";
  p.payload = kPayload;
  if (v == Version::kV5) {
    p.topic_alias = 3;
    p.message_expiry_interval = 3600;
    p.payload_format_indicator = 1;
    p.forward_props = kForward;
  }
  return p;
}

void decode_publish_bench(benchmark::State& state, Version v) {
  std::string wire;
  encode_publish(sample(v), v, wire);
  Frame f;
  try_frame(wire.data(), wire.size(), 0, f);
  const std::string_view body(wire.data() + f.header_len, f.remaining);
  if (!decode(f.header, body, v).ok()) state.SkipWithError("decode");
  for (auto _ : state) {
    auto r = decode(f.header, body, v);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
}
void BM_DecodePublishV311(benchmark::State& state) { decode_publish_bench(state, Version::kV311); }
void BM_DecodePublishV5Props(benchmark::State& state) { decode_publish_bench(state, Version::kV5); }
BENCHMARK(BM_DecodePublishV311);
BENCHMARK(BM_DecodePublishV5Props);

// decode_publish with the caller's scratch: no Packet variant in between.
void BM_DecodePublishDirectV5(benchmark::State& state) {
  std::string wire;
  encode_publish(sample(Version::kV5), Version::kV5, wire);
  Frame f;
  try_frame(wire.data(), wire.size(), 0, f);
  const std::string_view body(wire.data() + f.header_len, f.remaining);
  std::string scratch;
  if (!decode_publish(f.header, body, Version::kV5, scratch).ok()) state.SkipWithError("decode");
  for (auto _ : state) {
    auto r = decode_publish(f.header, body, Version::kV5, scratch);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DecodePublishDirectV5);

void encode_publish_bench(benchmark::State& state, Version v) {
  const Publish p = sample(v);
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(encode_publish(p, v, out));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(out.size()));
}
void BM_EncodePublishV311(benchmark::State& state) { encode_publish_bench(state, Version::kV311); }
void BM_EncodePublishV5(benchmark::State& state) { encode_publish_bench(state, Version::kV5); }
BENCHMARK(BM_EncodePublishV311);
BENCHMARK(BM_EncodePublishV5);

void BM_PublishSizeV5(benchmark::State& state) {
  const Publish p = sample(Version::kV5);
  for (auto _ : state) benchmark::DoNotOptimize(publish_size(p, Version::kV5));
}
BENCHMARK(BM_PublishSizeV5);

// One large read holding many small packets: frame them all.
void BM_TryFrameMany(benchmark::State& state) {
  const auto count = size_t(state.range(0));
  std::string buf;
  const Publish p = sample(Version::kV311);
  for (size_t i = 0; i < count; ++i) {
    encode_publish(p, Version::kV311, buf);
    encode_ack(PacketType::kPuback, uint16_t(i + 1), 0, Version::kV311, buf);
  }
  for (auto _ : state) {
    size_t pos = 0, n = 0;
    Frame f;
    while (try_frame(buf.data() + pos, buf.size() - pos, 0, f) == FrameStatus::kComplete) {
      pos += f.total();
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(2 * count));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
}
BENCHMARK(BM_TryFrameMany)->Arg(1000);

// Frame + decode every packet of the same buffer (the per-read work of a connection).
void BM_FrameAndDecodeMany(benchmark::State& state) {
  std::string buf;
  const Publish p = sample(Version::kV5);
  for (int i = 0; i < 1000; ++i) encode_publish(p, Version::kV5, buf);
  for (auto _ : state) {
    size_t pos = 0;
    Frame f;
    while (try_frame(buf.data() + pos, buf.size() - pos, 0, f) == FrameStatus::kComplete) {
      auto r = decode(f.header, std::string_view(buf.data() + pos + f.header_len, f.remaining),
                      Version::kV5);
      benchmark::DoNotOptimize(r);
      pos += f.total();
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 1000);
}
BENCHMARK(BM_FrameAndDecodeMany);

}  // namespace
