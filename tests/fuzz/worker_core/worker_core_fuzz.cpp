// libFuzzer target: the broker core (broker/worker_core.h) driven the way the network layer
// drives it, with no I/O: two WorkerCores sharing one Broker, a fake clock, links that
// record what the core writes, a hub that hands cross-worker batches over at once. The
// input is a sequence of operations by four clients (ids c0..c3, each on its home worker):
// CONNECT (MQTT 3.1, 3.1.1 or 5, clean or not, with or without a will), SUBSCRIBE,
// UNSUBSCRIBE, PUBLISH (QoS 0..2, retained or not, colliding packet ids), acknowledgements
// (right or wrong), raw frames of any type and bytes, DISCONNECT, a dropped connection,
// PINGREQ, time passing (keepalive, will delay, expiry timers) and "the client answers
// everything it was sent". After every operation each core ends its loop turn and every
// byte the core wrote must frame and decode for the client's protocol version.
//
// Invariants checked:
//  - the core answers each well-formed QoS 1/2 PUBLISH (PUBACK / PUBREC with its packet
//    id), PUBREL (PUBCOMP), SUBSCRIBE (SUBACK with one code per filter), UNSUBSCRIBE
//    (UNSUBACK) and PINGREQ (PINGRESP), or closes the connection;
//  - a CONNACK that refuses is followed by the close;
//  - QoS 1/2 PUBLISH packets the core sends carry a packet id, never one still in flight
//    for that client unless marked DUP, and at most max_inflight_messages (20) are
//    unacknowledged at a time;
//  - a QoS 1/2 message the core accepted (success reason) is delivered to every other
//    client that was connected with a matching, granted, non-shared subscription at QoS
//    1 or 2 and stayed connected and subscribed: once the clients answer everything,
//    each has received it;
//  - no crash, no undefined behaviour, no leak (ASan/UBSan/LeakSanitizer) when everything
//    is torn down at the end of the input.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/link.h"
#include "broker/worker_core.h"
#include "common/clock.h"
#include "common/log.h"
#include "config/config.h"
#include "fuzz_check.h"
#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/topic.h"

using namespace petrel;
using namespace petrel::broker;
namespace pr = petrel::protocol;
using pr::PacketType;
using pr::Version;
using petrel::fuzz::Bytes;

namespace {

constexpr int kWorkers = 2;
constexpr int kSlots = 4;
constexpr size_t kMaxInflight = 20;  // config::Config::max_inflight_messages default
constexpr uint8_t kReleased = 3;

const char* const kTopics[] = {"a", "a/b", "a/b/c", "b", "$SYS/x", "x/y", "a/+", ""};
const char* const kFilters[] = {"a", "a/#", "+/b", "#", "a/+/c", "$share/g/a", "$SYS/#", "a/b", "+", "", "x/#/y"};

class TestLink final : public Link {
 public:
  std::string& out() override { return out_; }
  void mark_dirty() override {}
  void close(bool) override { closed = true; }
  const std::string& peer() const override { return peer_; }
  int listener_index() const override { return -1; }
  size_t pending_bytes() const override { return 0; }
  void set_queue_pressure(bool) override {}
  std::string out_;
  bool closed = false;

 private:
  std::string peer_ = "192.0.2.1:1883";
};

class SyncHub final : public Hub {
 public:
  void send_batch(int worker, std::vector<Delivery>&& batch, std::shared_ptr<DurableHold> hold) override {
    cores.at(size_t(worker))->deliver_batch(batch, std::move(hold));
  }
  void post_durable(int, uint64_t, bool) override {}
  std::vector<WorkerCore*> cores;
};

// One connection of a client.
struct Conn {
  int slot = 0;
  Version v = Version::kV311;
  bool clean = true;
  int worker = 0;
  TestLink link;
  Session* s = nullptr;
  bool open() const { return s != nullptr; }
  // What the core owes this connection for the operation just fed.
  std::vector<std::pair<PacketType, uint16_t>> owed;
  std::map<uint16_t, size_t> sub_pending;  // SUBSCRIBE id -> filter count
  std::map<uint16_t, std::vector<std::string>> sub_filters;
  std::set<std::string> granted;           // filters granted QoS 1/2 (not shared)
  std::set<std::string> received;          // payloads of PUBLISH packets received
  std::vector<std::pair<uint16_t, uint8_t>> to_answer;  // (packet id, qos) of received QoS 1/2
  std::vector<uint16_t> pubrels;           // PUBREL ids from the core, awaiting PUBCOMP
};

// Per client id, across its connections (as the session is).
struct ClientState {
  // core -> client: id -> qos while awaiting PUBACK / PUBREC, kReleased after PUBREC (the id
  // stays in use until PUBCOMP).
  std::map<uint16_t, uint8_t> out_inflight;
  std::set<uint16_t> qos2_open;              // client -> core: QoS 2 ids not yet released
  bool qos2_unknown = false;                 // a raw frame may have opened or released one
};

struct Expect {
  Conn* sub;
  std::string payload;
};

class Harness {
 public:
  Harness() {
    LogSettings ls;
    ls.levels = kLogNone;
    ls.dests = 0;
    (void)log_.configure(ls);
    config::Config cfg;
    cfg.security.allow_anonymous = true;
    cfg.sys_interval = 0;
    cfg.connection_messages = false;
    broker_ = std::make_unique<Broker>(log_, clock_, kWorkers);
    auto c = std::make_shared<const config::Config>(cfg);
    for (int i = 0; i < kWorkers; ++i) {
      cores_.push_back(std::make_unique<WorkerCore>(*broker_, i, hub_, c));
      hub_.cores.push_back(cores_.back().get());
    }
  }
  ~Harness() {
    cores_.clear();  // the cores before the broker they share
    broker_.reset();
  }

  void run(Bytes& in) {
    for (int ops = 0; !in.empty() && ops < 256; ++ops) step(in);
    drain();
    for (const Expect& e : expects_) {
      if (!e.sub->open()) continue;
      FUZZ_CHECK(e.sub->received.count(e.payload) == 1);
    }
  }

 private:
  Conn* current(int slot) { return slot_conn_[slot]; }

  void step(Bytes& in) {
    const uint8_t op = in.u8();
    const int slot = (op >> 4) & 3;
    Conn* c = current(slot);
    switch (op & 15) {
      case 0: connect(slot, in.u8()); break;
      case 1:
        if (c && c->open()) subscribe(*c, in.u8(), in.u8());
        break;
      case 2:
        if (c && c->open()) unsubscribe(*c, in.u8());
        break;
      case 3: case 4:
        if (c && c->open()) publish(*c, in.u8(), in.u8());
        break;
      case 5:
        if (c && c->open()) client_ack(*c, in.u8(), in.u8());
        break;
      case 6:
        if (c && c->open()) raw(*c, in);
        break;
      case 7:
        if (c && c->open()) {
          cores_[size_t(c->worker)]->on_link_closed(c->s);
          c->s = nullptr;
        }
        break;
      case 8:
        if (c && c->open()) {
          pr::Disconnect d;
          d.reason = (in.u8() & 1) ? 0x04 : 0;  // 0x04: with will message
          send(*c, d);
        }
        break;
      case 9: advance(int64_t(in.u16()) * 50); break;
      case 10:
        if (c && c->open()) {
          c->owed.push_back({PacketType::kPingresp, 0});
          send(*c, pr::Pingreq{});
        }
        break;
      case 11:
        if (c && c->open()) answer_all(*c);
        break;
      case 12:
        if (c && c->open()) cores_[size_t(c->worker)]->on_drained(c->s);
        break;
      default: break;
    }
    settle();
  }

  void connect(int slot, uint8_t flags) {
    pr::Connect cn;
    cn.version = (flags & 3) == 0 ? Version::kV31 : (flags & 3) == 1 ? Version::kV311 : Version::kV5;
    cn.protocol_name = cn.version == Version::kV31 ? "MQIsdp" : "MQTT";
    cn.client_id = "c" + std::to_string(slot);
    cn.clean_start = flags & 4;
    cn.keepalive = (flags & 8) ? 2 : 60;
    if (flags & 16) {
      pr::Will w;
      w.topic = "will/" + cn.client_id;
      w.payload = "will";
      w.qos = (flags >> 5) & 1;
      cn.will = w;
    }
    if (cn.version == Version::kV5 && !(flags & 64)) cn.props.session_expiry_interval = 300;
    auto conn = std::make_unique<Conn>();
    conn->slot = slot;
    conn->v = cn.version;
    conn->clean = cn.clean_start;
    conn->worker = cores_[0]->home_worker(cn, -1);
    FUZZ_CHECK(conn->worker == broker_->home_worker(cn.client_id));
    Conn& ref = *conn;
    conns_.push_back(std::move(conn));
    slot_conn_[slot] = &ref;
    ref.s = cores_[size_t(ref.worker)]->on_connect(ref.link, std::move(cn));
    expect_connack_ = &ref;
  }

  void subscribe(Conn& c, uint8_t pick, uint8_t opts) {
    pr::Subscribe sub;
    sub.packet_id = next_id();
    const size_t n = 1 + (pick >> 6);
    for (size_t i = 0; i < n; ++i) {
      pr::SubscribeTopic t;
      t.filter = kFilters[(pick + i * 3) % std::size(kFilters)];
      t.qos = opts & 3;
      if (c.v == Version::kV5) {
        t.no_local = opts & 4;
        t.retain_handling = (opts >> 3) & 3;
        t.retain_as_published = opts & 32;
      }
      sub.topics.push_back(t);
    }
    c.sub_pending[sub.packet_id] = sub.topics.size();
    for (const auto& t : sub.topics) {
      // A no-local subscription is never expected to bring a client its own message, and
      // the harness expects no delivery to the publisher anyway.
      c.sub_filters[sub.packet_id].push_back(t.qos >= 1 && t.qos <= 2 ? t.filter : std::string());
    }
    c.owed.push_back({PacketType::kSuback, sub.packet_id});
    send(c, sub);
  }

  void unsubscribe(Conn& c, uint8_t pick) {
    pr::Unsubscribe u;
    u.packet_id = next_id();
    u.filters.push_back(kFilters[pick % std::size(kFilters)]);
    forget_subscriptions(c);
    c.owed.push_back({PacketType::kUnsuback, u.packet_id});
    send(c, u);
  }

  // Messages already queued may or may not still come: no longer expected anywhere.
  void forget_subscriptions(Conn& c) {
    c.granted.clear();
    for (Expect& e : expects_)
      if (e.sub == &c) e.sub = &dead_;
  }

  void publish(Conn& c, uint8_t pick, uint8_t flags) {
    pr::Publish p;
    const std::string topic = kTopics[pick % std::size(kTopics)];
    const std::string payload = "p" + std::to_string(++serial_);
    p.topic = topic;
    p.payload = payload;
    p.qos = flags & 3;
    if (p.qos == 3) p.qos = 1;
    p.retain = flags & 4;
    p.dup = flags & 8;
    p.packet_id = p.qos ? uint16_t(1 + ((flags >> 4) & 3)) : 0;
    std::string buf;
    pr::encode_publish(p, c.v, buf);
    ClientState& cs = state_[c.slot];
    const bool duplicate_qos2 = p.qos == 2 && (cs.qos2_unknown || cs.qos2_open.count(p.packet_id));
    if (p.qos) c.owed.push_back({p.qos == 1 ? PacketType::kPuback : PacketType::kPubrec, p.packet_id});
    pending_pub_ = PendingPub{&c, payload, topic, p.qos, p.packet_id, duplicate_qos2};
    feed(c, buf);
  }

  // The client acknowledges: the right answer to something it holds, or any ack at all.
  void client_ack(Conn& c, uint8_t pick, uint8_t id) {
    pr::Ack a;
    const PacketType types[] = {PacketType::kPuback, PacketType::kPubrec, PacketType::kPubrel, PacketType::kPubcomp};
    a.type = types[pick & 3];
    a.packet_id = (pick & 4) ? uint16_t(id) : uint16_t(1 + (id & 3));
    if (c.v == Version::kV5 && (pick & 8)) a.reason = 0x80;
    ClientState& cs = state_[c.slot];
    if (a.type == PacketType::kPubrel) {
      c.owed.push_back({PacketType::kPubcomp, a.packet_id});
      cs.qos2_open.erase(a.packet_id);
    }
    note_client_ack(cs, a);
    send(c, a);
  }

  void note_client_ack(ClientState& cs, const pr::Ack& a) {
    auto it = cs.out_inflight.find(a.packet_id);
    if (it == cs.out_inflight.end()) return;
    if ((a.type == PacketType::kPuback && it->second == 1) ||
        (a.type == PacketType::kPubcomp && it->second == kReleased))
      cs.out_inflight.erase(it);
    else if (a.type == PacketType::kPubrec && it->second == 2)
      it->second = kReleased;
  }

  // Answers every QoS 1/2 PUBLISH and PUBREL the client was sent, as a client would.
  void answer_all(Conn& c) {
    ClientState& cs = state_[c.slot];
    auto todo = std::move(c.to_answer);
    auto rels = std::move(c.pubrels);
    c.to_answer.clear();
    c.pubrels.clear();
    for (auto [id, qos] : todo) {
      if (!c.open()) return;
      pr::Ack a;
      a.type = qos == 1 ? PacketType::kPuback : PacketType::kPubrec;
      a.packet_id = id;
      note_client_ack(cs, a);
      send(c, a);
    }
    for (uint16_t id : rels) {
      if (!c.open()) return;
      pr::Ack a;
      a.type = PacketType::kPubcomp;
      a.packet_id = id;
      note_client_ack(cs, a);
      send(c, a);
    }
  }

  // A frame of any type with fuzzer bytes as its body.
  void raw(Conn& c, Bytes& in) {
    const uint8_t header = in.u8();
    const std::string body(in.take(in.u8() & 63));
    const int type = header >> 4;
    if (type == 1) return;  // a second CONNECT is the network layer's to refuse
    // What the harness cannot follow: QoS 2 ids taken or released, subscriptions removed.
    if (type == 3 || type == 6) state_[c.slot].qos2_unknown = true;
    if (type == 10) forget_subscriptions(c);
    on_frame(c, header, body);
  }

  void send(Conn& c, const pr::Packet& p) {
    std::string buf;
    pr::encode(p, c.v, buf);
    feed(c, buf);
  }

  void feed(Conn& c, const std::string& bytes) {
    pr::Frame f;
    FUZZ_CHECK(pr::try_frame(bytes.data(), bytes.size(), 0, f) == pr::FrameStatus::kComplete);
    on_frame(c, f.header, std::string_view(bytes).substr(f.header_len, f.remaining));
  }

  void on_frame(Conn& c, uint8_t header, std::string_view body) {
    // The network layer stops reading once the core closed the link.
    if (!c.open() || c.link.closed) return;
    if (!cores_[size_t(c.worker)]->on_frame(c.s, header, body)) {
      // The core ended the connection; it is not reported back.
      c.link.closed = true;
    }
  }

  void advance(int64_t ms) {
    clock_.advance_ms(ms);
    for (auto& k : cores_) k->tick();
  }

  // End of the loop turn on every worker (twice: a batch sent by the second may need the
  // first again), then what each client was sent is read and checked.
  void settle() {
    for (int round = 0; round < 2; ++round)
      for (auto& k : cores_) k->end_of_turn();
    for (auto& c : conns_) {
      if (c->s && c->link.closed) c->s = nullptr;
      read_output(*c);
    }
    if (pending_pub_) {
      const PendingPub& p = *pending_pub_;
      if (p.conn->open()) {
        // Accepted (or QoS 0): who should receive it.
        const bool refused = p.qos > 0 && p.reason >= 0x80;
        if (p.qos > 0 && !refused && !p.duplicate_qos2 && p.topic[0] != '$' && pr::valid_topic_name(p.topic)) {
          for (auto& c : conns_) {
            if (c.get() == p.conn || !c->open()) continue;
            for (const std::string& f : c->granted) {
              if (pr::topic_matches(f, p.topic)) {
                expects_.push_back({c.get(), p.payload});
                break;
              }
            }
          }
        }
        if (p.qos == 2 && !refused) state_[p.conn->slot].qos2_open.insert(p.packet_id);
      }
      pending_pub_.reset();
    }
    for (auto& c : conns_) {
      if (!c->open()) {
        c->owed.clear();
        continue;
      }
      FUZZ_CHECK(c->owed.empty());
    }
    expect_connack_ = nullptr;
  }

  void read_output(Conn& c) {
    pr::StreamFramer fr;
    fr.feed(c.link.out_);
    c.link.out_.clear();
    ClientState& cs = state_[c.slot];
    for (;;) {
      uint8_t h = 0;
      std::string_view body;
      const pr::FrameStatus st = fr.next(h, body);
      if (st == pr::FrameStatus::kNeedMore) break;
      FUZZ_CHECK(st == pr::FrameStatus::kComplete);
      auto d = pr::decode(h, body, c.v);
      FUZZ_CHECK(d.ok());
      const auto type = PacketType(h >> 4);
      switch (type) {
        case PacketType::kConnack: {
          const auto& ca = std::get<pr::Connack>(*d);
          FUZZ_CHECK(&c == expect_connack_);
          if (ca.reason != 0) FUZZ_CHECK(c.link.closed);
          if (c.v == Version::kV31 && !c.clean) {
            // MQTT 3.1's CONNACK does not say whether the session was resumed.
            cs.out_inflight.clear();  // resends come marked DUP and are taken again
            cs.qos2_unknown = true;
          } else if (!ca.session_present) {
            cs = ClientState{};
          }
          break;
        }
        case PacketType::kPublish: {
          const auto& p = std::get<pr::Publish>(*d);
          c.received.insert(std::string(p.payload));
          if (p.qos > 0) {
            FUZZ_CHECK(p.packet_id != 0);
            auto [it, fresh] = cs.out_inflight.emplace(p.packet_id, p.qos);
            if (!fresh) FUZZ_CHECK(p.dup);  // an id in flight is only used again to resend
            it->second = p.qos;
            const auto unacked = std::count_if(cs.out_inflight.begin(), cs.out_inflight.end(),
                                               [](const auto& e) { return e.second != kReleased; });
            FUZZ_CHECK(size_t(unacked) <= kMaxInflight);
            c.to_answer.push_back({p.packet_id, p.qos});
          }
          break;
        }
        case PacketType::kPuback:
        case PacketType::kPubrec:
        case PacketType::kPubcomp: {
          const auto& a = std::get<pr::Ack>(*d);
          settle_owed(c, type, a.packet_id);
          if (pending_pub_ && pending_pub_->conn == &c && a.packet_id == pending_pub_->packet_id &&
              type != PacketType::kPubcomp)
            pending_pub_->reason = a.reason;
          break;
        }
        case PacketType::kPubrel:
          c.pubrels.push_back(std::get<pr::Ack>(*d).packet_id);
          break;
        case PacketType::kSuback: {
          const auto& s = std::get<pr::Suback>(*d);
          auto it = c.sub_pending.find(s.packet_id);
          if (it != c.sub_pending.end()) {
            FUZZ_CHECK(s.reasons.size() == it->second);
            const auto& filters = c.sub_filters[s.packet_id];
            for (size_t i = 0; i < s.reasons.size() && i < filters.size(); ++i) {
              const std::string& f = filters[i];
              if (s.reasons[i] >= 1 && s.reasons[i] <= 2 && !f.empty() && f.rfind("$share/", 0) != 0)
                c.granted.insert(f);
            }
            c.sub_pending.erase(it);
            c.sub_filters.erase(s.packet_id);
          }
          settle_owed(c, type, s.packet_id);
          break;
        }
        case PacketType::kUnsuback:
          settle_owed(c, type, std::get<pr::Unsuback>(*d).packet_id);
          break;
        case PacketType::kPingresp:
          settle_owed(c, type, 0);
          break;
        case PacketType::kDisconnect:
          FUZZ_CHECK(c.v == Version::kV5);
          break;
        default:
          FUZZ_CHECK(false && "a packet type the server never sends");
      }
    }
    FUZZ_CHECK(fr.buffered() == 0);  // the core writes whole packets
  }

  void settle_owed(Conn& c, PacketType type, uint16_t id) {
    auto it = std::find(c.owed.begin(), c.owed.end(), std::make_pair(type, id));
    if (it != c.owed.end()) c.owed.erase(it);
  }

  // Every client answers everything until the core has nothing more to send.
  void drain() {
    for (int round = 0; round < 64; ++round) {
      bool any = false;
      for (auto& c : conns_) {
        if (!c->open() || (c->to_answer.empty() && c->pubrels.empty())) continue;
        any = true;
        answer_all(*c);
      }
      settle();
      if (!any) break;
    }
  }

  uint16_t next_id() { return uint16_t(1 + (id_++ % 1000)); }

  struct PendingPub {
    Conn* conn;
    std::string payload, topic;
    uint8_t qos;
    uint16_t packet_id;
    bool duplicate_qos2;
    uint8_t reason = 0;
  };

  ManualClock clock_;
  Logger log_;
  std::unique_ptr<Broker> broker_;
  SyncHub hub_;
  std::vector<std::unique_ptr<WorkerCore>> cores_;
  std::vector<std::unique_ptr<Conn>> conns_;  // every connection, kept to the end as links
  Conn* slot_conn_[kSlots] = {};
  ClientState state_[kSlots];
  std::vector<Expect> expects_;
  Conn dead_;  // stands for a subscriber no longer expected to receive
  std::optional<PendingPub> pending_pub_;
  Conn* expect_connack_ = nullptr;
  uint64_t serial_ = 0;
  uint32_t id_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  Harness h;
  h.run(in);
  return 0;
}
