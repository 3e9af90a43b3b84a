// Worker: generating load. Publishers copy their pre-encoded PUBLISH in batches, patching
// sequence word, send time and packet id, and write each batch straight away; a publisher
// whose socket is full waits for EPOLLOUT (its messages are delayed, never dropped).
#include <algorithm>

#include "protocol/framer.h"
#include "worker.h"

namespace petrel::bench {
namespace {

constexpr int kPumpRounds = 4;  // batches per publisher per loop turn, then the others' turn

}  // namespace

void Worker::start_publishing(bool retained_stage) {
  for (uint32_t s : publishers_) {
    Client& c = *clients_[s];
    PublisherState& p = *c.pub;
    if (c.role == Role::kPublisher && !retained_stage) p.start_ns = now_;
    if (c.role == Role::kRetainPublisher) {
      p.limit = uint64_t(opt_.retained) * (retained_stage ? 2 : 1);  // second stage: empty them
      p.start_ns = now_;
    }
  }
}

void Worker::pump_all() {
  hot_ = false;
  for (uint32_t s : publishers_) pump(*clients_[s]);
}

void Worker::pump(Client& c) {
  if (c.fd < 0 || c.state != ConnState::kReady || c.blocked || !c.pub->start_ns) return;
  for (int round = 0; round < kPumpRounds; ++round) {
    uint64_t n = budget(c);
    if (n == 0) return;
    if (c.role == Role::kRetainPublisher) generate_retained(c, n);
    else generate(c, n);
    flush(c);
    if (c.blocked || c.fd < 0) return;
  }
  hot_ = true;  // more is allowed right now: poll instead of sleeping
}

uint64_t Worker::budget(const Client& c) const {
  const PublisherState& p = *c.pub;
  uint64_t n = max_batch_;
  if (p.limit != ~uint64_t(0)) n = std::min(n, p.limit > p.generated ? p.limit - p.generated : 0);
  if (p.qos) n = std::min<uint64_t>(n, p.inflight < p.window ? p.window - p.inflight : 0);
  if (opt_.rate > 0 && c.role == Role::kPublisher) {
    uint64_t due = uint64_t(double(now_ - p.start_ns) * 1e-9 * opt_.rate) + 1;
    n = std::min(n, due > p.generated ? due - p.generated : 0);
  }
  return n;
}

uint16_t Worker::take_packet_id(PublisherState& p) {
  // At most --inflight ids are taken, at most half of pid_span (or all 65535), so a free
  // one is always near.
  const uint16_t last = p.pid_span;
  while (p.pid_state[p.next_pid]) p.next_pid = p.next_pid == last ? 1 : uint16_t(p.next_pid + 1);
  uint16_t id = p.next_pid;
  p.pid_state[id] = 1;
  p.pid_sent_ns[id] = now_;
  p.next_pid = id == last ? 1 : uint16_t(id + 1);
  return id;
}

void Worker::generate(Client& c, uint64_t n) {
  PublisherState& p = *c.pub;
  const std::string& t = p.tmpl.bytes;
  const size_t len = t.size(), at = p.tmpl.payload_off;
  char* w = c.out.prepare(n * len);
  uint64_t word = uint64_t(p.index) << kSeqBits | p.generated;
  const uint64_t stamp = uint64_t(now_);
  for (uint64_t i = 0; i < n; ++i, w += len, ++word) {
    std::memcpy(w, t.data(), len);
    put_u64(w + at, word);
    put_u64(w + at + 8, stamp);
    if (p.qos) put_u16be(w + p.tmpl.pid_off, take_packet_id(p));
  }
  c.out.commit(n * len);
  p.generated += n;
  c_.sent += n;
  if (p.qos) p.inflight += uint32_t(n), c_.inflight += n;
}

// Retained: message i goes to topic/i (one topic each), then the cleanup stage publishes an
// empty retained message to each topic so no run leaves state behind.
void Worker::generate_retained(Client& c, uint64_t n) {
  PublisherState& p = *c.pub;
  const uint64_t total = opt_.retained;
  std::string payload(opt_.size, 'x'), tmp;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t seq = p.generated++;
    bool clearing = seq >= total;
    std::string topic = p.topic + "/" + std::to_string(clearing ? seq - total : seq);
    put_u64(payload.data(), uint64_t(p.index) << kSeqBits | seq);
    put_u64(payload.data() + 8, uint64_t(now_));
    tmp.clear();
    append_publish(tmp, topic, p.qos, true, take_packet_id(p), clearing ? std::string_view() : payload,
                   opt_.version);
    c.out.append(tmp);
  }
  c_.sent += n;
  p.inflight += uint32_t(n);
  c_.inflight += n;
}

void Worker::send_pings() {
  if (phase_ < Phase::kConnect || phase_ >= Phase::kDisconnect || clients_.empty()) return;
  // Every client pings once per keepalive/2, spread evenly over that interval.
  const double interval_ns = double(opt_.keepalive) * 1e9 / 2;
  const uint64_t n = clients_.size();
  uint64_t target = uint64_t(double(now_ - ping_origin_) / interval_ns * double(n));
  std::string ping;
  while (pinged_ < target) {
    Client& c = *clients_[ping_cursor_];
    ping_cursor_ = (ping_cursor_ + 1) % n;
    ++pinged_;
    if (c.fd < 0 || c.state != ConnState::kReady) continue;
    if (ping.empty()) append_pingreq(ping, opt_.version);
    c.out.append(ping);
    mark_dirty(c);
    ++c_.pings;
  }
}

uint64_t Worker::count_unsent() const {
  uint64_t unsent = 0;
  for (uint32_t s : publishers_) {
    const Client& c = *clients_[s];
    if (c.fd < 0) continue;
    const char* d = c.out.data();
    size_t len = c.out.size(), pos = 0;
    protocol::Frame f;
    while (pos < len && protocol::try_frame(d + pos, len - pos, 0, f) == protocol::FrameStatus::kComplete) {
      if ((f.header >> 4) == 3) ++unsent;
      pos += f.total();
    }
  }
  return unsent;
}

}  // namespace petrel::bench
