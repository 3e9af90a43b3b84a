// Worker: what the broker sends. Every packet is decoded with Petrel's codec (a 3.x
// PUBLISH on the topic validated last has only its fixed fields checked and its topic
// compared: quick_publish); deliveries are checked against their publisher's sequence
// numbers and timed by their stamp.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <variant>

#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/packets.h"
#include "protocol/reason_codes.h"
#include "worker.h"

namespace petrel::bench {
namespace {

std::string hex(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%02x", v);
  return b;
}

}  // namespace

// Every complete packet in buf; returns the bytes consumed (the rest is a partial packet).
// Lives beside the handlers so that parse -> on_packet -> on_publish inline.
size_t Worker::parse(Client& c, const char* buf, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    protocol::Frame f;
    protocol::FrameStatus st = protocol::try_frame(buf + pos, len - pos, 0, f);
    if (st == protocol::FrameStatus::kNeedMore) break;
    if (st != protocol::FrameStatus::kComplete) {
      lose(c, "malformed packet from the broker (bad remaining length)");
      return pos;
    }
    std::string_view body(buf + pos + f.header_len, f.remaining);
    if ((f.header >> 4) == uint8_t(protocol::PacketType::kPublish)) {  // the hot path: no Packet variant
      if (c.sub) ++result_.publish_packets, result_.publish_bytes += f.total();
      protocol::Publish quick;
      if (c.sub && quick_publish(*c.sub, f.header, body, quick)) {
        on_publish(c, quick);
      } else {
        Result<protocol::Publish> r = protocol::decode_publish(f.header, body, opt_.version, scratch_);
        if (!r) {
          lose(c, "undecodable PUBLISH from the broker: " + r.error().message);
          break;
        }
        if (c.sub && opt_.version != protocol::Version::kV5) c.sub->checked_topic.assign(r->topic);
        if (r->topic_alias && !resolve_alias(c, *r)) break;
        on_publish(c, *r);
      }
    } else {
      on_packet(c, f.header, body);
    }
    if (c.fd < 0) break;
    pos += f.total();
  }
  flush_latency();
  return pos;
}

// A 3.x PUBLISH on the topic the codec last validated for this subscriber: the topic's
// bytes are compared instead of validated again (UTF-8, wildcards), and the fixed fields
// are checked as the codec checks them. Anything else (another topic, MQTT 5, a bad
// field) goes through decode_publish, which reports it.
bool Worker::quick_publish(const SubscriberState& s, uint8_t header, std::string_view body,
                           protocol::Publish& p) const {
  if (opt_.version == protocol::Version::kV5 || s.checked_topic.empty()) return false;
  const uint8_t qos = (header >> 1) & 0x03;
  const bool dup = (header & 0x08) != 0;
  if (qos == 3 || (dup && qos == 0)) return false;
  const size_t tlen = s.checked_topic.size();
  const size_t need = 2 + tlen + (qos ? 2 : 0);
  if (body.size() < need) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(body.data());
  if ((size_t(b[0]) << 8 | b[1]) != tlen || std::memcmp(body.data() + 2, s.checked_topic.data(), tlen) != 0)
    return false;
  p.qos = qos;
  p.dup = dup;
  p.retain = (header & 0x01) != 0;
  p.topic = std::string_view(body.data() + 2, tlen);
  if (qos) {
    p.packet_id = uint16_t(b[2 + tlen] << 8 | b[3 + tlen]);
    if (p.packet_id == 0) return false;
  }
  p.payload = body.substr(need);
  return true;
}

// A v5 PUBLISH carrying a Topic Alias: only within the maximum this client offered
// [MQTT-3.3.2-9]; with a topic it sets the alias, without one it stands for the topic it
// was last set to, which must exist [MQTT-3.3.4-6]. With a filter without wildcards the
// resolved topic must be that filter. False when the connection was lost over it.
bool Worker::resolve_alias(Client& c, protocol::Publish& p) {
  const uint16_t a = *p.topic_alias;
  if (!c.sub || a == 0 || a > opt_.topic_alias_max) {
    lose(c, "PUBLISH from the broker with topic alias " + std::to_string(a) + " outside the 1.." +
                std::to_string(c.sub ? opt_.topic_alias_max : 0) + " this client offered");
    return false;
  }
  std::vector<std::string>& table = c.sub->aliases;
  if (table.size() <= a) table.resize(size_t(a) + 1);
  if (!p.topic.empty()) {
    table[a].assign(p.topic);
    return true;
  }
  if (table[a].empty()) {
    lose(c, "PUBLISH from the broker with topic alias " + std::to_string(a) + " that it never set");
    return false;
  }
  p.topic = table[a];
  ++result_.aliased;
  const std::string& f = c.sub->filter;
  if (f.find_first_of("+#") == f.npos && p.topic != f) ++result_.misrouted;
  return true;
}

void Worker::on_packet(Client& c, uint8_t header, std::string_view body) {
  Result<protocol::Packet> r = protocol::decode(header, body, opt_.version);
  if (!r) {
    auto type = protocol::PacketType(header >> 4);
    return lose(c, "undecodable " + std::string(protocol::packet_type_name(type)) + " from the broker: " +
                       r.error().message);
  }
  protocol::Packet& p = *r;
  if (auto* ack = std::get_if<protocol::Ack>(&p)) return on_ack(c, *ack);
  if (auto* pub = std::get_if<protocol::Publish>(&p)) return on_publish(c, *pub);  // (parse() takes these)
  if (std::holds_alternative<protocol::Pingresp>(p)) return void(++c_.pongs);
  if (auto* a = std::get_if<protocol::Connack>(&p)) return on_connack(c, *a);
  if (auto* a = std::get_if<protocol::Suback>(&p)) return on_suback(c, *a);
  if (auto* d = std::get_if<protocol::Disconnect>(&p))
    return lose(c, "DISCONNECT from the broker: " + hex(d->reason) + " " +
                       std::string(protocol::reason_code_name(d->reason)));
  lose(c, "unexpected " + std::string(protocol::packet_type_name(protocol::packet_type(p))) + " from the broker");
}

void Worker::on_connack(Client& c, const protocol::Connack& a) {
  if (c.state != ConnState::kWaitConnack) return lose(c, "unexpected CONNACK");
  if (a.reason != 0) {
    std::string why = opt_.version == protocol::Version::kV5
                          ? std::string(protocol::reason_code_name(a.reason))
                          : "return code " + std::to_string(a.reason);
    return lose(c, "connection refused by the broker: " + hex(a.reason) + " " + why);
  }
  c.state = ConnState::kReady;
  if (c.pub && a.props.receive_maximum && *a.props.receive_maximum < c.pub->window) {
    c.pub->window = *a.props.receive_maximum;  // [MQTT-3.3.4-7]: never more in flight than it allows
    ++result_.window_capped;
  }
  --connecting_;
  ++c_.connected;
  connect_latency_.record(uint64_t(now_ - c.connect_ns));
  c_.last_connack_ns = now_;
  if (c.sub && phase_ >= (c.sub->deferred ? Phase::kRetainSubscribe : Phase::kSubscribe)) subscribe(c);
  start_connects();
}

void Worker::on_suback(Client& c, const protocol::Suback& a) {
  if (!c.sub || !c.suback_pending) return lose(c, "unexpected SUBACK");
  c.suback_pending = false;
  uint8_t r = a.reasons.empty() ? 0x80 : a.reasons[0];
  if (r >= 0x80)
    return lose(c, "subscription to '" + c.sub->filter + "' refused by the broker: " + hex(r));
  if (r < opt_.qos) ++result_.downgraded;
  c.sub->granted = r;
  ++c_.subscribed;
}

uint32_t Worker::tracker_for(Client& c, uint32_t publisher) {
  SubscriberState& s = *c.sub;
  if (s.expect != kAnyPublisher) {
    if (publisher != s.expect) return ++result_.misrouted, ~0u;
    if (s.tracker == ~0u) {
      s.tracker = uint32_t(trackers_.size());
      trackers_.emplace_back(s.stream, publisher);
    }
    return s.tracker;
  }
  if (publisher >= plan_.publishers) return ++result_.foreign, ~0u;
  std::vector<uint32_t>& m = s.stream == kGroupStream ? group_by_publisher_ : s.by_publisher;
  if (m.empty()) m.assign(plan_.publishers, ~0u);
  if (m[publisher] == ~0u) {
    m[publisher] = uint32_t(trackers_.size());
    trackers_.emplace_back(s.stream, publisher);
  }
  return m[publisher];
}

void Worker::on_publish(Client& c, const protocol::Publish& p) {
  if (p.qos == 1) append_ack(c, puback_, p.packet_id);
  else if (p.qos == 2) append_ack(c, pubrec_, p.packet_id);
  if (!c.sub || p.payload.size() < kStampBytes) {
    if (phase_ < Phase::kCleanup) ++result_.foreign;  // (cleanup: the emptied retained messages)
    return;
  }
  uint64_t word = get_u64(p.payload.data());
  int64_t sent_ns = int64_t(get_u64(p.payload.data() + 8));
  if (sent_ns < plan_.start_ns) return void(++result_.foreign);  // an earlier run's message
  uint64_t seq = word & kSeqMask;
  uint32_t publisher = uint32_t(word >> kSeqBits);
  SubscriberState& s = *c.sub;
  uint32_t t = s.last_publisher == publisher ? s.last_tracker : tracker_for(c, publisher);
  if (t == ~0u) return;
  s.last_publisher = publisher;
  s.last_tracker = t;
  SeqTracker& tr = trackers_[t];
  if (!tr.plausible(seq)) return void(++result_.foreign);
  tr.mark(seq);
  ++c_.received;
  if (plan_.retained) {
    c_.last_receive_ns = now_;
    if (measuring_) latency_.record(uint64_t(now_ - c_.subscribe_ns));
  } else if (measuring_) {
    // A batch carries one stamp and a read one arrival time: count runs, record once.
    uint64_t lat = now_ > sent_ns ? uint64_t(now_ - sent_ns) : 0;
    if (lat == run_latency_) ++run_count_;
    else flush_latency(), run_latency_ = lat, run_count_ = 1;
  }
}

void Worker::flush_latency() {
  if (run_count_) latency_.record(run_latency_, run_count_);
  run_count_ = 0;
}

void Worker::append_ack(Client& c, const PacketTemplate& t, uint16_t packet_id) {
  size_t n = t.bytes.size();
  char* w = c.out.prepare(n);
  std::memcpy(w, t.bytes.data(), n);
  put_u16be(w + t.pid_off, packet_id);
  c.out.commit(n);
  mark_dirty(c);
}

void Worker::on_ack(Client& c, const protocol::Ack& a) {
  using protocol::PacketType;
  if (a.type == PacketType::kPubrel) return append_ack(c, pubcomp_, a.packet_id);  // QoS 2 delivery
  if (!c.pub || a.packet_id >= c.pub->pid_state.size()) return void(++result_.bad_acks);
  PublisherState& p = *c.pub;
  uint8_t& st = p.pid_state[a.packet_id];
  bool failed = a.reason >= 0x80;
  bool done = false;
  if (a.type == PacketType::kPuback && st == 1 && p.qos == 1) {
    done = true;
  } else if (a.type == PacketType::kPubrec && st == 1 && p.qos == 2) {
    if (failed) done = true;
    else st = 2, append_ack(c, pubrel_, a.packet_id);
  } else if (a.type == PacketType::kPubcomp && st == 2) {
    done = true;
  } else {
    ++result_.bad_acks;
  }
  if (!done) return;
  st = 0;
  if (measuring_) ack_latency_.record(uint64_t(std::max<int64_t>(0, now_ - p.pid_sent_ns[a.packet_id])));
  --p.inflight;
  ++p.acked;
  ++c_.acked;
  --c_.inflight;
  if (failed) ++result_.rejected;
}

}  // namespace petrel::bench
