#pragma once
// Helpers of the store tests: a temporary directory, records with every field set, and a
// reference model of what a sequence of batches must leave in the store (plain maps), so
// tests compare the store's load() with the model's snapshot.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "persist/sqlite_store.h"
#include "persist/store.h"

namespace petrel::persist::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/petrel-store-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::unique_ptr<SqliteStore> open_store(const std::string& path, StoreOptions o = {}) {
  auto r = SqliteStore::open(path, o);
  if (!r) {
    ADD_FAILURE() << "open " << path << ": " << r.error().message;
    return nullptr;
  }
  return std::move(*r);
}

inline MessageRecord message(std::string topic, std::string payload, uint8_t qos = 1) {
  MessageRecord m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  m.qos = qos;
  return m;
}

inline SessionHeader session(std::string client_id) {
  SessionHeader h;
  h.client_id = std::move(client_id);
  return h;
}

inline SubscriptionRecord subscription(std::string filter, uint8_t qos) {
  SubscriptionRecord s;
  s.filter = std::move(filter);
  s.qos = qos;
  return s;
}

inline std::shared_ptr<const MessageRecord> shared(MessageRecord m) {
  return std::make_shared<const MessageRecord>(std::move(m));
}

// The state a sequence of batches leaves, with the store's rules (operations on a session
// that is not held are skipped; erasing a session erases what it holds).
class Model {
 public:
  void apply(const Batch& b) {
    for (const Op& o : b.ops()) std::visit([this](const auto& x) { on(x); }, o);
  }

  Snapshot snapshot() const {
    Snapshot s;
    for (const auto& [topic, r] : retained_) s.retained.push_back(r);
    for (const auto& [id, sess] : sessions_) {
      SessionRecord r;
      const SessionHeader& h = sess.header;
      r.client_id = h.client_id;
      r.username = h.username;
      r.protocol_version = h.protocol_version;
      r.expiry_interval = h.expiry_interval;
      r.disconnected_wall_s = h.disconnected_wall_s;
      r.will = h.will;
      r.will_due_wall_s = h.will ? h.will_due_wall_s : 0;
      for (const auto& [f, sub] : sess.subs) r.subscriptions.push_back(sub);
      for (const auto& [seq, o] : sess.outgoing) r.outgoing.push_back(o);
      r.qos2_incoming.assign(sess.qos2.begin(), sess.qos2.end());
      s.sessions.push_back(std::move(r));
    }
    for (const auto& [name, q] : bridges_) {
      if (q.empty()) continue;
      auto& out = s.bridge_queues[name];
      for (const auto& [seq, m] : q) out.push_back(BridgeQueuedRecord{m, seq});
    }
    return s;
  }

  // Messages still referred to by some outgoing record (what the store must keep).
  size_t live_messages() const {
    std::set<uint64_t> ids;
    for (const auto& [id, sess] : sessions_) {
      for (const auto& [seq, o] : sess.outgoing) ids.insert(o.message_id);
    }
    return ids.size();
  }

 private:
  struct Sess {
    SessionHeader header;
    std::map<std::string, SubscriptionRecord> subs;
    std::map<uint64_t, OutgoingRecord> outgoing;
    std::set<uint16_t> qos2;
  };
  Sess* find(const std::string& id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
  }
  void on(const op::PutRetained& o) { retained_[o.rec.msg.topic] = o.rec; }
  void on(const op::EraseRetained& o) { retained_.erase(o.topic); }
  void on(const op::PutSession& o) { sessions_[o.header.client_id].header = o.header; }
  void on(const op::EraseSession& o) { sessions_.erase(o.client_id); }
  void on(const op::PutSubscription& o) {
    if (Sess* s = find(o.client_id)) s->subs[o.sub.filter] = o.sub;
  }
  void on(const op::EraseSubscription& o) {
    if (Sess* s = find(o.client_id)) s->subs.erase(o.filter);
  }
  void on(const op::AppendOutgoing& o) {
    Sess* s = find(o.client_id);
    if (!s) return;
    const OutgoingEntry& e = o.entry;
    OutgoingRecord r;
    r.msg = *e.msg.record;
    r.qos = e.qos;
    r.retain = e.retain;
    r.subscription_ids = e.subscription_ids;
    r.packet_id = e.packet_id;
    r.state = e.state;
    // seq 0: the store appends after the last one stored.
    r.seq = e.seq != 0 ? e.seq : (s->outgoing.empty() ? 0 : s->outgoing.rbegin()->first) + 1;
    r.message_id = e.msg.id;
    s->outgoing[r.seq] = std::move(r);
  }
  void on(const op::UpdateOutgoing& o) {
    Sess* s = find(o.client_id);
    if (!s) return;
    auto it = s->outgoing.find(o.seq);
    if (it == s->outgoing.end()) return;
    it->second.packet_id = o.packet_id;
    it->second.state = o.state;
  }
  void on(const op::RemoveOutgoing& o) {
    if (Sess* s = find(o.client_id)) s->outgoing.erase(o.seq);
  }
  void on(const op::AddQos2Incoming& o) {
    if (Sess* s = find(o.client_id)) s->qos2.insert(o.packet_id);
  }
  void on(const op::RemoveQos2Incoming& o) {
    if (Sess* s = find(o.client_id)) s->qos2.erase(o.packet_id);
  }
  void on(const op::BridgePush& o) { bridges_[o.bridge][o.seq] = *o.msg; }
  void on(const op::BridgeAck& o) { bridges_[o.bridge].erase(o.seq); }
  void on(const op::BridgeClear& o) { bridges_.erase(o.bridge); }
  void on(const op::Probe&) {}
  void on(const op::Nothing&) {}

  std::map<std::string, RetainedRecord> retained_;
  std::map<std::string, Sess> sessions_;
  std::map<std::string, std::map<uint64_t, MessageRecord>> bridges_;
};

// A deterministic stream of batches of every kind touching only its own names (prefix):
// several streams can run concurrently and their results combine. Batch i also stores the
// header of session "<prefix>marker" with disconnected_wall_s = i, so a loaded store says
// which batches of the stream it holds.
class BatchStream {
 public:
  BatchStream(uint64_t seed, std::string prefix, uint64_t first_message_id)
      : rng_(seed), prefix_(std::move(prefix)), next_mid_(first_message_id) {}

  Batch next() {
    Batch b;
    const int64_t i = index_++;
    if (i == 0) {
      for (int c = 0; c < kClients; ++c) b.put_session(header(c));
    }
    const int n = pick(1, 6);
    for (int k = 0; k < n; ++k) add_random(b);
    SessionHeader marker;
    marker.client_id = prefix_ + "marker";
    marker.disconnected_wall_s = i;
    b.put_session(marker);
    return b;
  }
  const std::string& prefix() const { return prefix_; }

 private:
  static constexpr int kClients = 4;
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string client(int c) const { return prefix_ + "c" + std::to_string(c); }
  SessionHeader header(int c) {
    SessionHeader h;
    h.client_id = client(c);
    h.username = "user" + std::to_string(c);
    h.protocol_version = uint8_t(3 + c % 3);
    h.expiry_interval = c == 0 ? UINT32_MAX : uint32_t(pick(0, 100000));
    h.disconnected_wall_s = pick(0, 1 << 30);
    if (c % 2 == 1) {
      WillRecord w;
      w.msg = message(prefix_ + "will/" + std::to_string(c), payload(), 1);
      w.delay_interval = uint32_t(pick(1, 1000));
      h.will = w;
      h.will_due_wall_s = pick(1, 1 << 30);
    }
    return h;
  }
  std::string payload() {
    std::string p(size_t(pick(0, 300)), '\0');
    for (auto& ch : p) ch = char(pick(0, 255));
    return p;
  }
  void add_random(Batch& b) {
    const int c = pick(0, kClients - 1);
    const std::string id = client(c);
    auto& out = outstanding_[c];
    switch (pick(0, 11)) {
      case 0:
      case 1:
      case 2: {  // one message to one or two sessions (shared)
        auto msg = shared(message(prefix_ + "t/" + std::to_string(pick(0, 9)), payload(), uint8_t(pick(0, 2))));
        const uint64_t mid = next_mid_++;
        const int fan = pick(1, 2);
        for (int k = 0; k < fan; ++k) {
          const int cc = (c + k) % kClients;
          OutgoingEntry e;
          e.seq = ++seq_[cc];
          e.msg = SharedMessage{mid, msg};
          e.qos = uint8_t(pick(0, 2));
          e.retain = pick(0, 1) == 1;
          if (pick(0, 2) == 0) e.subscription_ids = {uint32_t(pick(1, 268435455)), uint32_t(pick(1, 5))};
          b.append_outgoing(client(cc), e);
          outstanding_[cc].push_back(e.seq);
        }
        break;
      }
      case 3:
      case 4:
        if (!out.empty()) {
          const size_t at = size_t(pick(0, std::min<int>(2, int(out.size()) - 1)));
          b.remove_outgoing(id, out[at]);
          out.erase(out.begin() + long(at));
        }
        break;
      case 5:
        if (!out.empty()) {
          b.update_outgoing(id, out.front(), uint16_t(pick(1, 65535)),
                            pick(0, 1) ? OutgoingRecord::State::kSent : OutgoingRecord::State::kReleased);
        }
        break;
      case 6: {
        SubscriptionRecord s;
        s.filter = prefix_ + "f/" + std::to_string(pick(0, 5)) + "/#";
        s.qos = uint8_t(pick(0, 2));
        s.no_local = pick(0, 1) == 1;
        s.retain_as_published = pick(0, 1) == 1;
        s.retain_handling = uint8_t(pick(0, 2));
        s.identifier = uint32_t(pick(0, 1000));
        if (pick(0, 3) == 0) {
          b.erase_subscription(id, s.filter);
        } else {
          b.put_subscription(id, s);
        }
        break;
      }
      case 7:
        if (pick(0, 1)) {
          b.add_qos2_incoming(id, uint16_t(pick(1, 20)));
        } else {
          b.remove_qos2_incoming(id, uint16_t(pick(1, 20)));
        }
        break;
      case 8: {
        const std::string topic = prefix_ + "r/" + std::to_string(pick(0, 7));
        if (pick(0, 3) == 0) {
          b.erase_retained(topic);
        } else {
          auto m = message(topic, payload(), uint8_t(pick(0, 2)));
          m.retain = true;
          m.expiry_wall_s = pick(0, 1) ? 0 : pick(1, 1 << 30);
          RetainedRecord r{m};
          if (pick(0, 2)) {  // published by a client (check_retain_source), or by the broker
            r.source_client_id = prefix_ + "pub-" + std::to_string(pick(0, 3));
            r.source_username = pick(0, 1) ? "" : "user-" + std::to_string(pick(0, 3));
            r.source_port = uint16_t(pick(0, 1) ? 0 : pick(1, 65535));
          }
          b.put_retained(std::move(r));
        }
        break;
      }
      case 9:
        if (pick(0, 30) == 0) {  // the bridge was removed from the configuration
          b.bridge_clear(prefix_ + "bridge");
          bridge_.clear();
        } else if (bridge_.empty() || pick(0, 2) > 0) {
          const uint64_t seq = ++bridge_seq_;
          b.bridge_push(prefix_ + "bridge", seq, message(prefix_ + "b/" + std::to_string(seq), payload()));
          bridge_.push_back(seq);
        } else {
          b.bridge_ack(prefix_ + "bridge", bridge_.front());
          bridge_.erase(bridge_.begin());
        }
        break;
      case 10:
        b.put_session(header(c));  // the header changes, what the session holds stays
        break;
      case 11:
        if (pick(0, 4) == 0) {  // the session ends and starts again empty
          b.erase_session(id);
          b.put_session(header(c));
          out.clear();
        }
        break;
    }
  }

  std::mt19937_64 rng_;
  std::string prefix_;
  uint64_t next_mid_;
  int64_t index_ = 0;
  uint64_t seq_[kClients] = {};
  std::vector<uint64_t> outstanding_[kClients];
  uint64_t bridge_seq_ = 0;
  std::vector<uint64_t> bridge_;
};

// Comparisons that say where two snapshots differ (gtest prints no Snapshot).
inline void expect_same(const Snapshot& got, const Snapshot& want, const std::string& where = "") {
  SCOPED_TRACE(where);
  ASSERT_EQ(got.retained.size(), want.retained.size());
  for (size_t i = 0; i < want.retained.size(); ++i) {
    EXPECT_TRUE(got.retained[i] == want.retained[i]) << "retained " << i << " " << want.retained[i].msg.topic;
  }
  ASSERT_EQ(got.sessions.size(), want.sessions.size());
  for (size_t i = 0; i < want.sessions.size(); ++i) {
    const auto& g = got.sessions[i];
    const auto& w = want.sessions[i];
    SCOPED_TRACE("session " + w.client_id);
    EXPECT_EQ(g.client_id, w.client_id);
    EXPECT_EQ(g.username, w.username);
    EXPECT_EQ(g.protocol_version, w.protocol_version);
    EXPECT_EQ(g.expiry_interval, w.expiry_interval);
    EXPECT_EQ(g.disconnected_wall_s, w.disconnected_wall_s);
    EXPECT_TRUE(g.will == w.will);
    EXPECT_EQ(g.will_due_wall_s, w.will_due_wall_s);
    EXPECT_TRUE(g.subscriptions == w.subscriptions) << g.subscriptions.size() << " vs " << w.subscriptions.size();
    EXPECT_EQ(g.qos2_incoming, w.qos2_incoming);
    ASSERT_EQ(g.outgoing.size(), w.outgoing.size());
    for (size_t k = 0; k < w.outgoing.size(); ++k) {
      EXPECT_TRUE(g.outgoing[k] == w.outgoing[k]) << "outgoing " << k << " seq " << w.outgoing[k].seq << " got seq "
                                                  << g.outgoing[k].seq;
    }
  }
  ASSERT_EQ(got.bridge_queues.size(), want.bridge_queues.size());
  for (const auto& [name, q] : want.bridge_queues) {
    auto it = got.bridge_queues.find(name);
    ASSERT_NE(it, got.bridge_queues.end()) << name;
    EXPECT_TRUE(it->second == q) << "bridge " << name;
  }
}

}  // namespace petrel::persist::testing
