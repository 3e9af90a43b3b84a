#pragma once
// Test harness for the broker core (WorkerCore) — rule 2 of DESIGN.md: no I/O, a fake clock
// and outbox, no sleeps. FakeLink stands in for net::Connection (records output, dirty
// marks and close requests, and lets a test simulate a congested socket); FakeHub hands
// cross-worker batches to the destination core synchronously and counts them; CoreTest
// owns a ManualClock, a Broker and N WorkerCores and drives clients with encoded packets.
//
// As net::Connection does, a client whose link the core closed is never reported back
// through on_link_closed (the core already ended that connection); CoreTest::sweep()
// forgets the Session* of such clients.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/broker.h"
#include "broker/link.h"
#include "broker/worker_core.h"
#include "common/clock.h"
#include "common/log.h"
#include "config/config.h"
#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/reason_codes.h"

namespace petrel::broker::coretest {

namespace pr = petrel::protocol;
using pr::PacketType;
using pr::Version;
namespace rc = petrel::protocol::rc;

class FakeLink final : public Link {
 public:
  explicit FakeLink(int listener = -1) : listener(listener) {}
  std::string& out() override { return out_; }
  void mark_dirty() override { ++dirty_count; }
  void close(bool flush_first) override { closes.push_back(flush_first); }
  const std::string& peer() const override { return peer_; }
  int listener_index() const override { return listener; }
  size_t pending_bytes() const override { return pending + (out_is_pending ? out_.size() : 0); }
  void set_queue_pressure(bool on) override { queue_pressure = on; }
  bool queue_pressure = false;

  bool closed() const { return !closes.empty(); }

  std::string out_;            // what the core wrote and the test has not taken yet
  int dirty_count = 0;
  std::vector<bool> closes;    // flush_first of every close() call
  std::string peer_ = "192.0.2.7:50000";
  int listener = -1;
  size_t pending = 0;          // simulated socket backlog (congestion above 1 MiB)
  // Count what the test has not taken yet as unwritten output, as a socket that has not
  // been able to write it would (take() is then the socket draining; the test calls
  // WorkerCore::on_drained as net::Connection does).
  bool out_is_pending = false;
};

class FakeHub final : public Hub {
 public:
  void send_batch(int worker, std::vector<Delivery>&& batch, std::shared_ptr<DurableHold> durable) override {
    sends.emplace_back(worker, batch.size());
    if (hold) {
      held.emplace_back(worker, std::move(batch));
      return;
    }
    cores.at(worker)->deliver_batch(batch, std::move(durable));
  }
  // Durable turns are reported at once, on the caller's thread (the store tests' thread
  // calls WorkerCore::turn_durable itself when it wants them later).
  void post_durable(int worker, uint64_t turn, bool ok) override {
    durable_posts.push_back({worker, turn, ok});
  }
  struct DurablePost {
    int worker;
    uint64_t turn;
    bool ok;
  };
  std::vector<DurablePost> durable_posts;
  void release() {
    auto h = std::move(held);
    held.clear();
    for (auto& [w, b] : h) cores.at(w)->deliver_batch(b);
  }

  std::vector<WorkerCore*> cores;
  std::vector<std::pair<int, size_t>> sends;  // (destination worker, deliveries)
  bool hold = false;                            // keep batches instead of delivering
  std::vector<std::pair<int, std::vector<Delivery>>> held;
};

// A PUBLISH as the client received it (owned copies of the views).
struct RxPublish {
  bool dup = false;
  uint8_t qos = 0;
  bool retain = false;
  std::string topic;
  uint16_t packet_id = 0;
  std::optional<uint32_t> expiry;
  std::optional<uint16_t> topic_alias;
  std::vector<uint32_t> sub_ids;
  std::string forward_props;  // raw, as forwarded
  pr::Properties props;       // forward_props parsed
  std::string payload;
};

struct Rx {
  PacketType type{};
  std::optional<pr::Packet> pkt;  // every type but PUBLISH
  RxPublish pub;                  // PUBLISH
  bool is(PacketType t) const { return type == t; }
  const pr::Connack& connack() const { return std::get<pr::Connack>(*pkt); }
  const pr::Ack& ack() const { return std::get<pr::Ack>(*pkt); }
  const pr::Suback& suback() const { return std::get<pr::Suback>(*pkt); }
  const pr::Unsuback& unsuback() const { return std::get<pr::Unsuback>(*pkt); }
  const pr::Disconnect& disconnect() const { return std::get<pr::Disconnect>(*pkt); }
};

struct Client {
  std::string id;
  Version v = Version::kV311;
  int worker = 0;
  FakeLink link;
  Session* s = nullptr;  // null once the connection ended
  bool open() const { return s != nullptr; }

  // Decodes and consumes everything the core wrote to this client so far.
  std::vector<Rx> take() {
    std::vector<Rx> rx;
    pr::StreamFramer fr;
    fr.feed(link.out_);
    link.out_.clear();
    for (;;) {
      uint8_t h = 0;
      std::string_view body;
      const pr::FrameStatus st = fr.next(h, body);
      if (st == pr::FrameStatus::kNeedMore) break;
      if (st != pr::FrameStatus::kComplete) {
        ADD_FAILURE() << "client " << id << ": output does not frame";
        break;
      }
      auto d = pr::decode(h, body, v);
      if (!d) {
        ADD_FAILURE() << "client " << id << ": output does not decode: " << d.error().message;
        continue;
      }
      Rx r;
      r.type = static_cast<PacketType>(h >> 4);
      if (r.type == PacketType::kPublish) {
        const auto& p = std::get<pr::Publish>(*d);
        r.pub.dup = p.dup;
        r.pub.qos = p.qos;
        r.pub.retain = p.retain;
        r.pub.topic = std::string(p.topic);
        r.pub.packet_id = p.packet_id;
        r.pub.expiry = p.message_expiry_interval;
        r.pub.topic_alias = p.topic_alias;
        r.pub.sub_ids = p.subscription_identifiers;
        r.pub.forward_props = std::string(p.forward_props);
        r.pub.payload = std::string(p.payload);
        if (!p.forward_props.empty()) {
          auto props = pr::parse_properties(r.pub.forward_props, PacketType::kPublish);
          EXPECT_TRUE(props.ok());
          if (props) r.pub.props = *props;
        }
      } else {
        r.pkt = std::move(*d);
      }
      rx.push_back(std::move(r));
    }
    EXPECT_EQ(fr.buffered(), 0u) << "client " << id << ": partial packet in output";
    return rx;
  }

  // Only the PUBLISH packets of take().
  std::vector<RxPublish> pubs() {
    std::vector<RxPublish> out;
    for (auto& r : take())
      if (r.is(PacketType::kPublish)) out.push_back(std::move(r.pub));
    return out;
  }
};

inline std::vector<std::string> payloads(const std::vector<RxPublish>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.payload);
  return out;
}

// An outgoing PUBLISH with owned storage (protocol::Publish holds views).
struct Pub {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t id = 0;
  std::optional<uint16_t> alias;
  std::optional<uint32_t> expiry;
  std::vector<uint32_t> sub_ids;
  std::string fwd;  // forwardable properties, encoded (encode_forward_props)
};

class CoreTest : public ::testing::Test {
 public:  // public so free helper functions in the tests can drive it
  CoreTest() {
    LogSettings ls;
    ls.levels = kLogError;  // keep the test output readable
    (void)log.configure(ls);
    cfg.security.allow_anonymous = true;
    cfg.sys_interval = 0;
    cfg.connection_messages = false;
  }

  // Builds the broker and cores from cfg/workers on first use.
  void start() {
    if (broker_) return;
    broker_ = std::make_unique<Broker>(log, clock, workers);
    auto c = std::make_shared<const config::Config>(cfg);
    for (int i = 0; i < workers; ++i) {
      cores_.push_back(std::make_unique<WorkerCore>(*broker_, i, hub, c));
      hub.cores.push_back(cores_.back().get());
    }
  }
  Broker& broker() { start(); return *broker_; }
  WorkerCore& core(int i = 0) { start(); return *cores_.at(i); }
  WorkerStats& stats(int i = 0) { return broker().stats(i); }
  // Applies a changed cfg to every core (after start()).
  void reconfigure() {
    auto c = std::make_shared<const config::Config>(cfg);
    for (auto& k : cores_) k->apply_config(c);
  }

  static pr::Connect mk(std::string id, Version v = Version::kV311, bool clean = true) {
    pr::Connect c;
    c.version = v;
    c.protocol_name = v == Version::kV31 ? "MQIsdp" : "MQTT";
    c.client_id = std::move(id);
    c.clean_start = clean;
    c.keepalive = 60;
    return c;
  }
  static pr::Connect mk5(std::string id, bool clean = true, std::optional<uint32_t> expiry = {}) {
    pr::Connect c = mk(std::move(id), Version::kV5, clean);
    c.props.session_expiry_interval = expiry;
    return c;
  }

  // A client id whose home is worker w (for multi-worker tests).
  std::string id_on(int w, const std::string& prefix) {
    for (int i = 0;; ++i) {
      std::string id = prefix + std::to_string(i);
      if (broker().home_worker(id) == w) return id;
    }
  }

  // CONNECT on the client id's home worker (worker 0 for an empty id unless given).
  Client& open(pr::Connect c, int listener = -1, int worker = -1) {
    start();
    auto cl = std::make_unique<Client>();
    cl->link.listener = listener;
    cl->id = c.client_id;
    cl->v = c.version;
    cl->worker = worker >= 0 ? worker : core(0).home_worker(c, listener);
    Client& ref = *cl;
    clients_.push_back(std::move(cl));
    ref.s = core(ref.worker).on_connect(ref.link, std::move(c));
    sweep();
    if (ref.s && ref.id.empty()) ref.id = ref.s->client_id;
    return ref;
  }
  // Connected, CONNACK consumed (asserted successful).
  Client& connected(pr::Connect c, int listener = -1) {
    Client& cl = open(std::move(c), listener);
    auto rx = cl.take();
    EXPECT_TRUE(cl.open()) << "client " << cl.id << " was refused";
    EXPECT_FALSE(rx.empty());
    if (!rx.empty()) {
      EXPECT_TRUE(rx[0].is(PacketType::kConnack));
      if (rx[0].is(PacketType::kConnack)) {
        EXPECT_EQ(rx[0].connack().reason, 0);
      }
    }
    return cl;
  }
  Client& connected(const std::string& id, Version v = Version::kV311, bool clean = true) {
    return connected(mk(id, v, clean));
  }

  // Forgets the session of every client whose link the core closed.
  void sweep() {
    for (auto& c : clients_)
      if (c->link.closed()) c->s = nullptr;
  }

  // Feeds raw bytes (one or more whole packets) as frames; false when the core closed.
  bool feed(Client& c, std::string_view bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      if (!c.s) {
        ADD_FAILURE() << "client " << c.id << " is not connected";
        return false;
      }
      pr::Frame f;
      const auto st = pr::try_frame(bytes.data() + off, bytes.size() - off, 0, f);
      if (st != pr::FrameStatus::kComplete) {
        ADD_FAILURE() << "test bytes do not frame";
        return false;
      }
      std::string_view body(bytes.data() + off + f.header_len, f.remaining);
      off += f.total();
      const bool ok = core(c.worker).on_frame(c.s, f.header, body);
      sweep();
      if (!ok) return false;
    }
    return true;
  }
  bool send(Client& c, const pr::Packet& p) {
    std::string buf;
    pr::encode(p, c.v, buf);
    return feed(c, buf);
  }
  bool publish(Client& c, const Pub& p) {
    pr::Publish w;
    w.topic = p.topic;
    w.payload = p.payload;
    w.qos = p.qos;
    w.retain = p.retain;
    w.dup = p.dup;
    w.packet_id = p.id;
    w.topic_alias = p.alias;
    w.message_expiry_interval = p.expiry;
    w.subscription_identifiers = p.sub_ids;
    w.forward_props = p.fwd;
    std::string buf;
    pr::encode_publish(w, c.v, buf);
    return feed(c, buf);
  }
  bool publish(Client& c, const std::string& topic, const std::string& payload, uint8_t qos = 0,
               bool retain = false, uint16_t id = 0) {
    Pub p;
    p.topic = topic;
    p.payload = payload;
    p.qos = qos;
    p.retain = retain;
    p.id = qos ? (id ? id : next_id_++) : 0;
    return publish(c, p);
  }
  bool ack(Client& c, PacketType t, uint16_t id, uint8_t reason = 0) {
    pr::Ack a;
    a.type = t;
    a.packet_id = id;
    a.reason = reason;
    return send(c, a);
  }
  // SUBSCRIBE; returns everything the core answered (SUBACK, then retained messages).
  std::vector<Rx> subscribe(Client& c, std::vector<pr::SubscribeTopic> topics,
                            std::optional<uint32_t> sub_id = {}) {
    pr::Subscribe s;
    s.packet_id = next_id_++;
    s.topics = std::move(topics);
    if (sub_id) s.props.subscription_identifiers.push_back(*sub_id);
    send(c, s);
    return c.take();
  }
  std::vector<Rx> subscribe(Client& c, const std::string& filter, uint8_t qos = 0,
                            std::optional<uint32_t> sub_id = {}) {
    pr::SubscribeTopic t;
    t.filter = filter;
    t.qos = qos;
    return subscribe(c, {t}, sub_id);
  }
  std::vector<Rx> unsubscribe(Client& c, std::vector<std::string> filters) {
    pr::Unsubscribe u;
    u.packet_id = next_id_++;
    u.filters = std::move(filters);
    send(c, u);
    return c.take();
  }
  bool disconnect(Client& c, uint8_t reason = 0, std::optional<uint32_t> expiry = {}) {
    pr::Disconnect d;
    d.reason = reason;
    d.props.session_expiry_interval = expiry;
    return send(c, d);
  }
  // The network dropped the connection (no DISCONNECT).
  void drop(Client& c) {
    ASSERT_TRUE(c.s) << "client " << c.id << " is not connected";
    core(c.worker).on_link_closed(c.s);
    c.s = nullptr;
  }
  // Advances the fake clock and runs every core's timers.
  void advance(int64_t ms) {
    clock.advance_ms(ms);
    start();
    for (auto& k : cores_) k->tick();
    sweep();
  }
  void end_turn() {
    for (auto& k : cores_) k->end_of_turn();
  }

  ManualClock clock;
  Logger log;
  config::Config cfg;
  int workers = 1;
  std::unique_ptr<Broker> broker_;
  FakeHub hub;
  std::vector<std::unique_ptr<WorkerCore>> cores_;
  std::vector<std::unique_ptr<Client>> clients_;
  uint16_t next_id_ = 100;
};

// Encoded forwardable properties (content type, response topic, user properties, ...).
inline std::string fwd_props(const pr::Properties& p) {
  std::string s;
  pr::encode_forward_props(p, s);
  return s;
}

inline pr::SubscribeTopic sub_topic(std::string filter, uint8_t qos = 0) {
  pr::SubscribeTopic t;
  t.filter = std::move(filter);
  t.qos = qos;
  return t;
}

}  // namespace petrel::broker::coretest
