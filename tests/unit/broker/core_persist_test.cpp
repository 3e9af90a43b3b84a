// The broker core's journal into the durable store, with a fake Store that keeps the
// submitted batches until the test commits (or fails) them: what is journaled for which
// session, acknowledgements held until their changes are durable (also across workers),
// refused ones (0x97 for v5, none for 3.x), order, and sessions rebuilt from records.
#include <deque>
#include <mutex>

#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

class FakeStore final : public persist::Store {
 public:
  Result<persist::Snapshot> load() override { return persist::Snapshot{}; }
  void submit(persist::Batch batch, DurableCallback cb) override {
    pending.push_back({std::move(batch), std::move(cb)});
  }
  uint64_t new_message_id() override { return ++ids; }
  bool healthy() const override { return ok; }
  bool backlogged() const override { return backlog; }
  persist::StoreStats stats() const override { return {}; }
  void close() override {}

  // Commits (or fails) every pending batch in order; returns their operations.
  std::vector<persist::Op> commit(bool success = true) {
    std::vector<persist::Op> ops;
    auto p = std::move(pending);
    pending.clear();
    for (auto& b : p) {
      if (success) ops.insert(ops.end(), b.batch.ops().begin(), b.batch.ops().end());
      if (b.cb) b.cb(success);
    }
    ok = success;
    return ops;
  }
  size_t pending_ops() const {
    size_t n = 0;
    for (const auto& b : pending) n += b.batch.size();
    return n;
  }

  struct Pending {
    persist::Batch batch;
    DurableCallback cb;
  };
  std::deque<Pending> pending;
  uint64_t ids = 0;
  bool ok = true;
  bool backlog = false;
};

template <class T>
size_t count_ops(const std::vector<persist::Op>& ops) {
  size_t n = 0;
  for (const auto& o : ops) n += std::holds_alternative<T>(o) ? 1 : 0;
  return n;
}

class CorePersist : public CoreTest {
 public:
  void with_store(bool hold = true) {
    start();
    for (auto& k : cores_) k->set_store(&store, hold, hold ? 0 : 20);
  }
  // Ends the turn on every worker, commits what they submitted, and hands the durable
  // reports to their workers (as the Server's post would).
  std::vector<persist::Op> settle(bool success = true) {
    end_turn();
    auto ops = store.commit(success);
    deliver_posts();
    return ops;
  }
  void deliver_posts() {
    auto posts = std::move(hub.durable_posts);
    hub.durable_posts.clear();
    for (auto& p : posts) core(p.worker).turn_durable(p.turn, p.ok);
  }
  static std::vector<PacketType> types(const std::vector<Rx>& rx) {
    std::vector<PacketType> t;
    for (const auto& r : rx) t.push_back(r.type);
    return t;
  }

  FakeStore store;
};

TEST_F(CorePersist, AckHeldUntilTheQueuedMessageIsDurable) {
  with_store();
  Client& sub = connected("sub", Version::kV311, false);
  subscribe(sub, "t/#", 1);
  drop(sub);
  Client& pub = connected("pub");
  publish(pub, "t/1", "m1", 1, false, 7);
  EXPECT_TRUE(pub.take().empty()) << "no PUBACK before the store has it";
  end_turn();
  EXPECT_TRUE(pub.take().empty());
  auto ops = store.commit();
  EXPECT_EQ(count_ops<persist::op::AppendOutgoing>(ops), 1u);
  EXPECT_TRUE(pub.take().empty()) << "the worker is told on its own thread";
  deliver_posts();
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].is(PacketType::kPuback));
  EXPECT_EQ(rx[0].ack().packet_id, 7);
}

TEST_F(CorePersist, CleanSessionsAndQos0NeverTouchTheStore) {
  with_store();
  Client& sub = connected("clean-sub");
  subscribe(sub, "t/#", 1);
  Client& pub = connected("pub");
  publish(pub, "t/1", "m1", 1);
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback}) << "acknowledged at once";
  Client& psub = connected("persistent", Version::kV311, false);
  subscribe(psub, "q0/#", 0);
  std::vector<persist::Op> ops = settle();  // its SUBACK waits for the subscription
  EXPECT_EQ(types(psub.take()), std::vector<PacketType>{PacketType::kSuback});
  publish(pub, "q0/x", "zero", 0);
  EXPECT_EQ(psub.pubs().size(), 1u);
  end_turn();
  // Only the persistent session itself (header, subscription) was written.
  for (auto& p : store.pending) ops.insert(ops.end(), p.batch.ops().begin(), p.batch.ops().end());
  EXPECT_EQ(count_ops<persist::op::AppendOutgoing>(ops), 0u);
  EXPECT_EQ(count_ops<persist::op::PutSubscription>(ops), 1u);
  for (const auto& o : ops) {
    if (auto* put = std::get_if<persist::op::PutSession>(&o)) {
      EXPECT_EQ(put->header.client_id, "persistent");
    }
  }
}

TEST_F(CorePersist, OnlineDeliveryIsStoredUntilAcknowledged) {
  with_store();
  Client& sub = connected(mk5("sub", false, 600));
  subscribe(sub, "t/#", 1);
  settle();
  EXPECT_EQ(types(sub.take()), std::vector<PacketType>{PacketType::kSuback});
  Client& pub = connected("pub");
  publish(pub, "t/1", "m1", 1, false, 9);
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(pub.take().empty());
  auto ops = settle();
  ASSERT_EQ(count_ops<persist::op::AppendOutgoing>(ops), 1u);
  for (const auto& o : ops)
    if (auto* a = std::get_if<persist::op::AppendOutgoing>(&o)) {
      EXPECT_EQ(a->entry.state, persist::OutgoingRecord::State::kSent);
      EXPECT_EQ(a->entry.packet_id, got[0].packet_id);
      EXPECT_EQ(a->entry.msg.record->payload, "m1");
    }
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback});
  ack(sub, PacketType::kPuback, got[0].packet_id);
  ops = settle();
  EXPECT_EQ(count_ops<persist::op::RemoveOutgoing>(ops), 1u);
}

TEST_F(CorePersist, AckWaitsForTheOtherWorkersBatch) {
  workers = 2;
  with_store();
  Client& sub = connected(mk5(id_on(1, "sub"), false, 600));
  subscribe(sub, "t/#", 2);
  drop(sub);
  store.commit();
  Client& pub = connected(mk(id_on(0, "pub")));
  publish(pub, "t/x", "cross", 1, false, 11);
  // Worker 0 journaled nothing itself; worker 1 stores the delivery when the batch
  // arrives (FakeHub delivers during worker 0's end of turn), and submits at its own.
  core(0).end_of_turn();
  EXPECT_TRUE(pub.take().empty());
  EXPECT_EQ(store.pending_ops(), 0u);
  store.commit();
  deliver_posts();
  EXPECT_TRUE(pub.take().empty()) << "worker 1 has not submitted its batch yet";
  core(1).end_of_turn();
  store.commit();
  deliver_posts();
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback});
}

TEST_F(CorePersist, RefusedWhenTheStoreFails) {
  with_store();
  Client& sub = connected("sub", Version::kV311, false);
  subscribe(sub, "t/#", 1);
  drop(sub);
  store.commit();
  Client& p5 = connected(mk5("p5"));
  Client& p3 = connected("p3");
  publish(p5, "t/a", "five", 1, false, 21);
  publish(p3, "t/b", "three", 1, false, 22);
  settle(false);
  auto rx = p5.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].ack().reason, rc::kQuotaExceeded);
  EXPECT_TRUE(p3.take().empty()) << "3.x: no acknowledgement, the client sends it again";
  // While the store fails, what it would have to hold is refused before it goes anywhere.
  publish(p5, "t/d", "refused", 1, false, 24);
  rx = p5.take();
  ASSERT_EQ(rx.size(), 1u) << "refused at once";
  EXPECT_EQ(rx[0].ack().reason, rc::kQuotaExceeded);
  publish(p3, "t/e", "withheld", 1, false, 25);
  EXPECT_TRUE(p3.take().empty());
  publish(p3, "nobody/x", "stored nowhere", 1, false, 26);
  EXPECT_EQ(types(p3.take()), std::vector<PacketType>{PacketType::kPuback}) << "needs no store";
  // Worker 0 probes the disk once a second with a small write; it works again.
  end_turn();
  ASSERT_EQ(store.pending.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<persist::op::Probe>(store.pending[0].batch.ops().at(0)));
  store.commit();
  // The failed batch's session is written again whole (from memory, which dropped what
  // was refused).
  publish(p5, "t/c", "again", 1, false, 23);
  auto ops = settle();
  EXPECT_EQ(p5.take()[0].ack().reason, 0);
  size_t replaced = 0;
  for (const auto& o : ops) {
    if (auto* put = std::get_if<persist::op::PutSession>(&o); put && put->header.client_id == "sub") ++replaced;
  }
  EXPECT_GE(replaced, 1u);
  Client& back = open(mk("sub", Version::kV311, false));
  auto brx = back.take();
  ASSERT_FALSE(brx.empty());
  EXPECT_TRUE(brx[0].connack().session_present);
  std::vector<std::string> got;
  for (auto& r : brx)
    if (r.is(PacketType::kPublish)) got.push_back(r.pub.payload);
  EXPECT_EQ(got, (std::vector<std::string>{"again"})) << "refused messages are not delivered";
}

TEST_F(CorePersist, Qos2PublishAndPubrelWaitForTheirRecords) {
  with_store();
  Client& sub = connected(mk5("sub2", false, 600));
  subscribe(sub, "q2/#", 2);
  settle();
  Client& pub = connected("pub");
  publish(pub, "q2/a", "two", 2, false, 31);
  EXPECT_TRUE(sub.pubs().empty()) << "the PUBLISH waits until its packet id is stored";
  settle();
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 2);
  ack(sub, PacketType::kPubrec, got[0].packet_id);
  EXPECT_TRUE(sub.take().empty()) << "PUBREL waits until the record says released";
  auto ops = settle();
  EXPECT_EQ(count_ops<persist::op::UpdateOutgoing>(ops), 1u);
  auto rx = sub.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].is(PacketType::kPubrel));
}

TEST_F(CorePersist, AcknowledgementsKeepTheirOrder) {
  with_store();
  Client& sub = connected("sub", Version::kV311, false);
  subscribe(sub, "keep/#", 1);
  drop(sub);
  store.commit();
  Client& pub = connected("pub");
  publish(pub, "keep/1", "a", 1, false, 1);    // stored: held
  publish(pub, "nobody/1", "b", 1, false, 2);  // stores nothing, but goes after 1
  EXPECT_TRUE(pub.take().empty());
  settle();
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0].ack().packet_id, 1);
  EXPECT_EQ(rx[1].ack().packet_id, 2);
}

TEST_F(CorePersist, Qos2IdsAndPubcompWaitForTheStore) {
  with_store();
  Client& pub = connected(mk5("pub2", false, 600));
  publish(pub, "nobody", "x", 2, false, 5);
  EXPECT_TRUE(pub.take().empty()) << "PUBREC waits for the stored id";
  auto ops = settle();
  EXPECT_EQ(count_ops<persist::op::AddQos2Incoming>(ops), 1u);
  auto rx = pub.take();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_TRUE(rx[0].is(PacketType::kPubrec));
  ack(pub, PacketType::kPubrel, 5);
  EXPECT_TRUE(pub.take().empty()) << "PUBCOMP waits until the id is gone from the store";
  ops = settle();
  EXPECT_EQ(count_ops<persist::op::RemoveQos2Incoming>(ops), 1u);
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPubcomp});
}

TEST_F(CorePersist, RetainedChangesAreStoredButNotSys) {
  with_store();
  Client& pub = connected("pub");
  publish(pub, "r/1", "kept", 1, true, 3);
  EXPECT_TRUE(pub.take().empty());
  auto ops = settle();
  ASSERT_EQ(count_ops<persist::op::PutRetained>(ops), 1u);
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback});
  publish(pub, "r/1", "", 0, true);
  core(0).publish_internal("$SYS/broker/version", "petrel", true);
  ops = settle();
  EXPECT_EQ(count_ops<persist::op::EraseRetained>(ops), 1u);
  EXPECT_EQ(count_ops<persist::op::PutRetained>(ops), 0u);
}

TEST_F(CorePersist, SessionLifecycleIsJournaled) {
  with_store();
  Client& c = connected(mk5("life", false, 600));
  subscribe(c, "a/b", 1);
  unsubscribe(c, {"a/b"});
  disconnect(c, 0, 0);  // expiry 0 at DISCONNECT: the session ends
  auto ops = settle();
  EXPECT_EQ(count_ops<persist::op::PutSubscription>(ops), 1u);
  EXPECT_EQ(count_ops<persist::op::EraseSubscription>(ops), 1u);
  ASSERT_FALSE(ops.empty());
  EXPECT_TRUE(std::holds_alternative<persist::op::EraseSession>(ops.back()));
}

TEST_F(CorePersist, SessionRebuiltFromItsRecord) {
  with_store();
  persist::SessionRecord r;
  r.client_id = "back";
  r.protocol_version = 5;
  r.expiry_interval = 600;
  r.disconnected_wall_s = clock.wall_seconds() - 10;
  r.subscriptions.push_back({"s/#", 1, false, true, 0, 42});
  persist::MessageRecord m;
  m.topic = "s/1";
  m.qos = 1;
  auto out = [&](std::string payload, uint64_t seq, persist::OutgoingRecord::State st, uint16_t pid) {
    persist::OutgoingRecord o;
    o.msg = m;
    o.msg.payload = std::move(payload);
    o.qos = 1;
    o.seq = seq;
    o.state = st;
    o.packet_id = pid;
    o.subscription_ids = {42};
    r.outgoing.push_back(o);
  };
  out("inflight", 4, persist::OutgoingRecord::State::kSent, 300);
  out("queued", 9, persist::OutgoingRecord::State::kQueued, 0);
  r.qos2_incoming = {77};
  std::unordered_map<uint64_t, MessageRef> shared;
  core(0).restore_session(r, shared);

  Client& pub = connected("pub");
  publish(pub, "s/2", "live", 1, false, 1);  // routed to the restored subscription
  Client& c = open(mk5("back", false, 600));
  auto rx = c.take();
  ASSERT_GE(rx.size(), 3u);
  ASSERT_TRUE(rx[0].is(PacketType::kConnack));
  EXPECT_TRUE(rx[0].connack().session_present);
  ASSERT_TRUE(rx[1].is(PacketType::kPublish));
  EXPECT_TRUE(rx[1].pub.dup);
  EXPECT_EQ(rx[1].pub.packet_id, 300);
  EXPECT_EQ(rx[1].pub.payload, "inflight");
  EXPECT_EQ(rx[1].pub.sub_ids, std::vector<uint32_t>{42});
  EXPECT_EQ(rx[2].pub.payload, "queued");
  EXPECT_NE(rx[2].pub.packet_id, 300);
  ASSERT_GE(rx.size(), 4u);
  EXPECT_EQ(rx[3].pub.payload, "live");
  // The next record continues after the loaded seqs; QoS 2 id 77 is known (a resent
  // PUBLISH is not delivered again).
  auto ops = settle();
  for (const auto& o : ops) {
    if (auto* u = std::get_if<persist::op::UpdateOutgoing>(&o)) {
      EXPECT_GE(u->seq, 9u) << "the queued record (9) and the new one (10) were sent";
    }
    if (auto* a = std::get_if<persist::op::AppendOutgoing>(&o)) {
      EXPECT_GT(a->entry.seq, 9u);
    }
  }
  Client& other = connected(mk5("watcher"));
  subscribe(other, "dup/#", 1);
  Pub p;
  p.topic = "dup/x";
  p.payload = "once";
  p.qos = 2;
  p.id = 77;
  p.dup = true;
  publish(c, p);
  settle();
  EXPECT_TRUE(other.pubs().empty());
}

TEST_F(CorePersist, HeldPubacksCountAgainstReceiveMaximum) {
  cfg.max_inflight_messages = 2;
  with_store();
  Client& sub = connected("sub", Version::kV311, false);
  subscribe(sub, "t/#", 1);
  drop(sub);
  Client& pub = connected(mk5("pub5"));
  EXPECT_TRUE(publish(pub, "t/1", "a", 1, false, 1));
  EXPECT_TRUE(publish(pub, "t/2", "b", 1, false, 2));
  EXPECT_TRUE(pub.take().empty());
  EXPECT_FALSE(publish(pub, "t/3", "c", 1, false, 3)) << "a third unanswered QoS 1 PUBLISH";
  auto rx = pub.take();
  ASSERT_FALSE(rx.empty());
  EXPECT_EQ(rx.back().disconnect().reason, rc::kReceiveMaximumExceeded);
  // Answered in time, the same count is fine.
  Client& ok = connected(mk5("pub5b"));
  EXPECT_TRUE(publish(ok, "t/1", "a", 1, false, 1));
  EXPECT_TRUE(publish(ok, "t/2", "b", 1, false, 2));
  settle();
  EXPECT_EQ(ok.take().size(), 2u);
  EXPECT_TRUE(publish(ok, "t/3", "c", 1, false, 3));
  EXPECT_TRUE(publish(ok, "t/4", "d", 1, false, 4));
}

TEST_F(CorePersist, IntervalHoldsAcksOnlyWhileTheStoreIsBehind) {
  with_store(false);  // persistence_sync interval: acknowledged at once
  Client& sub = connected("sub", Version::kV311, false);
  subscribe(sub, "t/#", 1);
  drop(sub);
  Client& pub = connected("pub");
  publish(pub, "t/1", "a", 1, false, 1);
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback});
  store.backlog = true;
  end_turn();  // the worker sees it at the end of its turn
  publish(pub, "t/2", "b", 1, false, 2);
  EXPECT_TRUE(pub.take().empty()) << "held until the batch is written";
  settle();
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback});
  store.backlog = false;
  settle();
  publish(pub, "t/3", "c", 1, false, 3);
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback}) << "caught up: at once again";
}

TEST_F(CorePersist, SubackAndUnsubackWaitForTheStore) {
  with_store();
  Client& c = connected(mk5("subs", false, 600));
  settle();
  EXPECT_TRUE(subscribe(c, "a/#", 1).empty()) << "no SUBACK before the subscription is stored";
  EXPECT_TRUE(send(c, pr::Pingreq{}));
  EXPECT_TRUE(c.take().empty()) << "a reply waits behind the held SUBACK";
  auto ops = settle();
  EXPECT_EQ(count_ops<persist::op::PutSubscription>(ops), 1u);
  EXPECT_EQ(types(c.take()), (std::vector<PacketType>{PacketType::kSuback, PacketType::kPingresp}));
  EXPECT_TRUE(unsubscribe(c, {"a/#"}).empty());
  ops = settle();
  EXPECT_EQ(count_ops<persist::op::EraseSubscription>(ops), 1u);
  EXPECT_EQ(types(c.take()), std::vector<PacketType>{PacketType::kUnsuback});
  // Nothing changed (no such subscription): answered at once; so is a PINGREQ.
  EXPECT_EQ(types(unsubscribe(c, {"none"})), std::vector<PacketType>{PacketType::kUnsuback});
  EXPECT_TRUE(send(c, pr::Pingreq{}));
  EXPECT_EQ(types(c.take()), std::vector<PacketType>{PacketType::kPingresp});
  // A session that is not stored is answered at once.
  Client& clean = connected(mk5("clean"));
  EXPECT_EQ(types(subscribe(clean, "a/#", 1)), std::vector<PacketType>{PacketType::kSuback});
}

TEST_F(CorePersist, HeldSubackFailedStillAnswers) {
  with_store();
  Client& c = connected(mk5("subs", false, 600));
  settle();
  EXPECT_TRUE(subscribe(c, "a/#", 1).empty());
  settle(false);  // memory has the subscription; the session is written again later
  EXPECT_EQ(types(c.take()), std::vector<PacketType>{PacketType::kSuback});
}

namespace {
pr::Connect will_of(pr::Connect c, uint32_t delay = 0) {
  c.will = pr::Will{};
  c.will->topic = "will/" + c.client_id;
  c.will->payload = "bye";
  c.will->qos = 1;
  if (delay) c.will->props.will_delay_interval = delay;
  return c;
}
const persist::SessionHeader* header_in(const std::vector<persist::Op>& ops, const std::string& id) {
  const persist::SessionHeader* h = nullptr;
  for (const auto& o : ops)
    if (auto* put = std::get_if<persist::op::PutSession>(&o); put && put->header.client_id == id) h = &put->header;
  return h;
}
}  // namespace

TEST_F(CorePersist, ConnectedClientsWillIsStored) {
  with_store();
  Client& c = connected(will_of(mk5("wp", false, 600), 30));
  auto ops = settle();
  const persist::SessionHeader* h = header_in(ops, "wp");
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->will.has_value()) << "a crash ends this connection: its will must be known after it";
  EXPECT_EQ(h->will->msg.topic, "will/wp");
  EXPECT_EQ(h->will->msg.payload, "bye");
  EXPECT_EQ(h->will->delay_interval, 30u);
  EXPECT_EQ(h->will_due_wall_s, 0) << "due from when the broker finds it";
  EXPECT_EQ(h->disconnected_wall_s, 0);
  disconnect(c);  // normal DISCONNECT: the will is discarded, and so is its record
  ops = settle();
  h = header_in(ops, "wp");
  ASSERT_NE(h, nullptr);
  EXPECT_FALSE(h->will.has_value());
  EXPECT_NE(h->disconnected_wall_s, 0);
}

TEST_F(CorePersist, CleanSessionKeptForItsWillAlone) {
  with_store();
  Client& w = connected("watch");
  subscribe(w, "will/#", 1);
  Client& plain = connected("nowill");  // clean, no will: nothing stored
  EXPECT_EQ(store.pending_ops(), 0u);
  end_turn();
  EXPECT_EQ(store.pending_ops(), 0u);
  Client& c = connected(will_of(mk("cw")));
  auto ops = settle();
  const persist::SessionHeader* h = header_in(ops, "cw");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->expiry_interval, 0u);
  ASSERT_TRUE(h->will.has_value());
  EXPECT_EQ(count_ops<persist::op::PutSubscription>(ops), 0u);
  subscribe(c, "x/#", 1);
  EXPECT_EQ(count_ops<persist::op::PutSubscription>(settle()), 0u) << "its subscriptions are not stored";
  drop(c);  // the will goes out now, and the record with it
  EXPECT_EQ(w.pubs().size(), 1u);
  ops = settle();
  ASSERT_FALSE(ops.empty());
  EXPECT_TRUE(std::holds_alternative<persist::op::EraseSession>(ops.back()));
  drop(plain);
  EXPECT_EQ(store.pending_ops(), 0u);
}

TEST_F(CorePersist, WillOfAConnectionTheCrashEndedIsPublished) {
  with_store();
  Client& w = connected("watch");
  subscribe(w, "will/#", 1);
  auto record = [&](const std::string& id, uint8_t version, uint32_t expiry, uint32_t delay) {
    persist::SessionRecord r;
    r.client_id = id;
    r.protocol_version = version;
    r.expiry_interval = expiry;
    r.disconnected_wall_s = 0;  // connected when the broker stopped
    persist::WillRecord wr;
    wr.msg.topic = "will/" + id;
    wr.msg.payload = "bye-" + id;
    wr.msg.qos = 1;
    wr.delay_interval = delay;
    r.will = wr;
    std::unordered_map<uint64_t, MessageRef> shared;
    core(0).restore_session(r, shared);
  };
  record("clean", 4, 0, 0);
  record("kept", 4, UINT32_MAX, 0);
  record("delayed", 5, 600, 5);
  advance(300);
  std::vector<std::string> got;
  for (const auto& p : w.pubs()) got.push_back(p.payload);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"bye-clean", "bye-kept"}));
  auto ops = settle();
  EXPECT_EQ(count_ops<persist::op::EraseSession>(ops), 1u) << "the session kept for its will alone ends";
  EXPECT_TRUE(w.pubs().empty()) << "not before its delay";
  advance(5000);
  auto late = w.pubs();
  ASSERT_EQ(late.size(), 1u) << "the delay counts from the restart";
  EXPECT_EQ(late[0].payload, "bye-delayed");
  // Resumed before its delay, a will is not sent.
  record("back", 5, 600, 5);
  Client& b = open(mk5("back", false, 600));
  EXPECT_TRUE(b.open());
  advance(6000);
  EXPECT_TRUE(w.pubs().empty());
}

// persistence_sync interval: the journal stays open across turns (up to 20 ms), and a
// record appended and removed within it is never submitted; one still standing goes with
// its latest state and its message.
TEST_F(CorePersist, IntervalRecordAcknowledgedWithinTheOpenBatchIsNeverWritten) {
  with_store(false);
  Client& sub = connected(mk5("sub", false, 600));
  subscribe(sub, "t/#", 1);
  Client& sub2 = connected(mk5("sub2", false, 600));
  subscribe(sub2, "q2/#", 2);
  end_turn();
  EXPECT_TRUE(store.pending.empty()) << "left open";
  advance(25);
  auto ops = settle();
  EXPECT_EQ(count_ops<persist::op::PutSubscription>(ops), 2u);
  EXPECT_TRUE(store.pending.empty());
  Client& pub = connected("pub");

  publish(pub, "t/1", "m1", 1, false, 1);
  EXPECT_EQ(types(pub.take()), std::vector<PacketType>{PacketType::kPuback});
  end_turn();
  EXPECT_TRUE(store.pending.empty()) << "left open";
  auto got = sub.pubs();
  ASSERT_EQ(got.size(), 1u);
  ack(sub, PacketType::kPuback, got[0].packet_id);
  publish(pub, "q2/1", "m2", 2, false, 2);
  (void)pub.take();
  auto got2 = sub2.pubs();
  ASSERT_EQ(got2.size(), 1u);
  ack(sub2, PacketType::kPubrec, got2[0].packet_id);
  end_turn();
  EXPECT_TRUE(store.pending.empty());
  ack(sub2, PacketType::kPubcomp, got2[0].packet_id);
  publish(pub, "t/2", "m3", 1, false, 3);  // not acknowledged before the batch goes
  auto got3 = sub.pubs();
  ASSERT_EQ(got3.size(), 1u);
  publish(pub, "q2/2", "m4", 2, false, 4);
  auto got4 = sub2.pubs();
  ASSERT_EQ(got4.size(), 1u);
  ack(sub2, PacketType::kPubrec, got4[0].packet_id);
  advance(25);
  ops = settle();
  EXPECT_EQ(count_ops<persist::op::RemoveOutgoing>(ops), 0u);
  EXPECT_EQ(count_ops<persist::op::UpdateOutgoing>(ops), 0u) << "the PUBREC changed the open append";
  EXPECT_EQ(count_ops<persist::op::Nothing>(ops), 0u);
  ASSERT_EQ(count_ops<persist::op::AppendOutgoing>(ops), 2u);
  std::vector<std::string> payloads;
  for (const auto& o : ops)
    if (auto* a = std::get_if<persist::op::AppendOutgoing>(&o)) {
      payloads.push_back(a->entry.msg.record->payload);
      if (a->client_id == "sub") {
        EXPECT_EQ(a->entry.state, persist::OutgoingRecord::State::kSent);
        EXPECT_EQ(a->entry.packet_id, got3[0].packet_id);
      } else {
        EXPECT_EQ(a->entry.state, persist::OutgoingRecord::State::kReleased);
        EXPECT_EQ(a->entry.packet_id, got4[0].packet_id);
      }
    }
  EXPECT_EQ(payloads, (std::vector<std::string>{"m3", "m4"}));
  // Acknowledged after its append was submitted: removed as usual.
  ack(sub, PacketType::kPuback, got3[0].packet_id);
  end_turn();
  advance(25);
  ops = settle();
  EXPECT_EQ(count_ops<persist::op::RemoveOutgoing>(ops), 1u);
}

// Under commit nothing is left open: each turn's batch goes at the end of the turn.
TEST_F(CorePersist, CommitSubmitsEveryTurn) {
  with_store();
  Client& sub = connected(mk5("sub", false, 600));
  subscribe(sub, "t/#", 1);
  end_turn();
  EXPECT_EQ(store.pending.size(), 1u);
}

}  // namespace
}  // namespace petrel::broker::coretest
