// Fan-out through the broker core: one PUBLISH frame from a client routed by WorkerCore to
// S subscribers of its topic on the same worker (match, encode once per layout, copy and
// patch per subscriber, append to each connection's output). Per iteration: one message
// in, S deliveries out; the sinks' buffers are emptied every 64 messages as the network
// layer's flush would.
#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/worker_core.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/codec.h"
#include "protocol/framer.h"

namespace petrel::broker {
namespace {

namespace pr = protocol;

class SinkLink final : public Link {
 public:
  std::string& out() override { return out_; }
  void mark_dirty() override {}
  void close(bool) override {}
  const std::string& peer() const override { return peer_; }
  int listener_index() const override { return -1; }
  size_t pending_bytes() const override { return 0; }
  void set_queue_pressure(bool) override {}
  std::string out_;
  std::string peer_ = "127.0.0.1:1";
};

class NoHub final : public Hub {
 public:
  void send_batch(int, std::vector<Delivery>&&, std::shared_ptr<DurableHold>) override {}
  void post_durable(int, uint64_t, bool) override {}
};

struct Rig {
  ManualClock clock;
  Logger log;
  NoHub hub;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<WorkerCore> core;
  std::vector<std::unique_ptr<SinkLink>> links;
  std::vector<Session*> sessions;

  explicit Rig(int subscribers, uint8_t qos) {
    broker = std::make_unique<Broker>(log, clock, 1);
    config::Config cfg;
    cfg.security.allow_anonymous = true;
    cfg.sys_interval = 0;
    cfg.connection_messages = false;
    cfg.max_inflight_messages = 0;  // unlimited window: measure routing, not queueing
    core = std::make_unique<WorkerCore>(*broker, 0, hub, std::make_shared<const config::Config>(cfg));
    for (int i = 0; i <= subscribers; ++i) {
      links.push_back(std::make_unique<SinkLink>());
      pr::Connect c;
      c.protocol_name = "MQTT";
      c.client_id = "c" + std::to_string(i);
      c.keepalive = 60;
      Session* s0 = core->on_connect(*links.back(), std::move(c));
      if (!s0) throw std::runtime_error("the core refused a benchmark client");
      sessions.push_back(s0);
      if (i == 0) continue;  // client 0 publishes
      pr::Subscribe s;
      s.packet_id = 1;
      pr::SubscribeTopic t;
      t.filter = "bench/topic";
      t.qos = qos;
      s.topics.push_back(t);
      feed(i, s);
    }
    for (auto& l : links) l->out_.clear();
  }
  void feed(int i, const pr::Packet& p) {
    std::string wire;
    pr::encode(p, pr::Version::kV311, wire);
    feed_bytes(i, wire);
  }
  void feed_bytes(int i, const std::string& wire) {
    pr::Frame f;
    pr::try_frame(wire.data(), wire.size(), 0, f);
    core->on_frame(sessions[size_t(i)], f.header, std::string_view(wire.data() + f.header_len, f.remaining));
  }
};

void fan_out(benchmark::State& state, uint8_t qos) {
  const int subscribers = int(state.range(0));
  Rig rig(subscribers, qos);
  pr::Publish p;
  p.topic = "bench/topic";
  p.qos = qos;
  p.packet_id = qos ? 1 : 0;  // acknowledged at once, so the id can be reused
  std::string payload(64, 'x');
  p.payload = payload;
  std::string wire;
  pr::encode_publish(p, pr::Version::kV311, wire);
  pr::Frame f;
  pr::try_frame(wire.data(), wire.size(), 0, f);
  const std::string_view body(wire.data() + f.header_len, f.remaining);
  std::vector<std::string> acks(size_t(subscribers) + 1);
  uint64_t n = 0;
  for (auto _ : state) {
    rig.core->on_frame(rig.sessions[0], f.header, body);
    if (++n % 64 == 0) {
      state.PauseTiming();
      rig.links[0]->out_.clear();  // the publisher's PUBACKs
      for (size_t i = 1; i < rig.links.size(); ++i) {
        std::string& out = rig.links[i]->out_;
        if (qos) {
          // Acknowledge what was delivered, so the in-flight windows stay small.
          size_t pos = 0;
          while (pos < out.size()) {
            pr::Frame g;
            if (pr::try_frame(out.data() + pos, out.size() - pos, 0, g) != pr::FrameStatus::kComplete) break;
            const char* b = out.data() + pos + g.header_len;
            const uint16_t tlen = uint16_t(uint8_t(b[0]) << 8 | uint8_t(b[1]));
            const uint16_t id = uint16_t(uint8_t(b[2 + tlen]) << 8 | uint8_t(b[3 + tlen]));
            acks[i].clear();
            pr::encode_ack(pr::PacketType::kPuback, id, 0, pr::Version::kV311, acks[i]);
            rig.feed_bytes(int(i), acks[i]);
            pos += g.total();
          }
        }
        out.clear();
      }
      rig.core->end_of_turn();
      state.ResumeTiming();
    }
  }
  state.counters["deliveries/s"] =
      benchmark::Counter(double(state.iterations()) * subscribers, benchmark::Counter::kIsRate);
}

void BM_FanOutQos0(benchmark::State& state) { fan_out(state, 0); }
void BM_FanOutQos1(benchmark::State& state) { fan_out(state, 1); }
BENCHMARK(BM_FanOutQos0)->Arg(1)->Arg(50);
BENCHMARK(BM_FanOutQos1)->Arg(1)->Arg(50);

}  // namespace
}  // namespace petrel::broker
