// SqliteStore: every record type and field survives a round trip and a reopen; order of
// outgoing messages and bridge queues; shared messages stored once; callbacks in
// submission order, after their commit; a random workload matches the reference model.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "store_test_util.h"

namespace petrel::persist {
namespace store_test {

using namespace petrel::persist::testing;

// Every field of every record, with the awkward values: NUL bytes, empty payloads,
// UINT32_MAX, unicode topics, all states.
Snapshot every_field() {
  Snapshot s;
  MessageRecord r1 = message("caf\xC3\xA9/\xE2\x82\xAC/\xF0\x9F\x90\xA7", std::string("a\0b\0\0c", 6), 2);
  r1.props = std::string("\x01\x01\x26\x00\x01k\x00\x01v", 9);
  r1.retain = true;
  r1.expiry_wall_s = 1'900'000'000;
  r1.expiry_interval = UINT32_MAX;
  MessageRecord r2 = message("empty", "", 0);
  r2.retain = true;
  s.retained = {RetainedRecord{r1}, RetainedRecord{r2}};

  SessionRecord a;
  a.client_id = "a-\xE6\x97\xA5\xE6\x9C\xAC";
  a.username = "alice";
  a.protocol_version = 5;
  a.expiry_interval = UINT32_MAX;
  a.disconnected_wall_s = 1'700'000'123;
  a.subscriptions = {
      SubscriptionRecord{"$share/g/x/#", 2, true, true, 2, 268'435'455},
      SubscriptionRecord{"sensors/+/t", 1, false, false, 0, 0},
  };
  OutgoingRecord o1;
  o1.msg = message("sensors/1/t", std::string("\0\xff\0", 3), 2);
  o1.msg.props = std::string("\x02\x00\x00\x00\x3c", 5);
  o1.msg.expiry_wall_s = 1'800'000'000;
  o1.msg.expiry_interval = 60;
  o1.qos = 2;
  o1.retain = true;
  o1.subscription_ids = {1, 268'435'455, UINT32_MAX};
  o1.packet_id = 65535;
  o1.state = OutgoingRecord::State::kReleased;
  o1.seq = 7;
  o1.message_id = 100;
  OutgoingRecord o2;
  o2.msg = message("sensors/2/t", "", 1);
  o2.qos = 1;
  o2.packet_id = 1;
  o2.state = OutgoingRecord::State::kSent;
  o2.seq = 8;
  o2.message_id = 101;
  OutgoingRecord o3;
  o3.msg = message("sensors/3/t", std::string(70'000, 'x'), 0);  // overflow pages
  o3.seq = UINT32_MAX + uint64_t{5};
  o3.message_id = 102;
  a.outgoing = {o1, o2, o3};
  a.qos2_incoming = {1, 2, 65535};
  WillRecord w;
  w.msg = message("wills/a", std::string("bye\0", 4), 1);
  w.msg.props = "\x03\x00\x04text";
  w.msg.retain = true;
  w.msg.expiry_interval = 10;
  w.delay_interval = UINT32_MAX;
  a.will = w;
  a.will_due_wall_s = 1'700'000'999;

  SessionRecord b;
  b.client_id = "b";
  b.protocol_version = 3;
  b.expiry_interval = 0;
  OutgoingRecord shared_o1 = o1;  // the same message as a's first record
  shared_o1.seq = 1;
  shared_o1.qos = 1;
  shared_o1.packet_id = 0;
  shared_o1.state = OutgoingRecord::State::kQueued;
  shared_o1.subscription_ids = {};
  b.outgoing = {shared_o1};
  s.sessions = {a, b};

  MessageRecord q1 = message("remote/x", std::string("\0", 1), 1);
  q1.props = "p";
  MessageRecord q2 = message("remote/y", "", 2);
  q2.expiry_wall_s = 5;
  q2.expiry_interval = 1;
  s.bridge_queues["up"] = {BridgeQueuedRecord{q1, 3}, BridgeQueuedRecord{q2, 9}};
  s.bridge_queues["\xC3\xA9t\xC3\xA9"] = {BridgeQueuedRecord{q1, 1}};
  return s;
}

TEST(SqliteStore, RoundTripOfEveryRecordAndFieldAndAfterReopen) {
  TempDir dir;
  const std::string path = dir.file("petrel.db");
  const Snapshot want = every_field();
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    Batch b;
    b.add_snapshot(want);
    ASSERT_TRUE(store->write(std::move(b)));
    auto got = store->load();
    ASSERT_TRUE(got) << got.error().message;
    expect_same(*got, want, "before close");
    EXPECT_EQ(store->counts().messages, 3);  // o1 is shared by a and b
    EXPECT_EQ(store->stats().messages_written, 3u);
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  auto got = store->load();
  ASSERT_TRUE(got) << got.error().message;
  expect_same(*got, want, "after reopen");
}

TEST(SqliteStore, SessionHeaderChangesKeepWhatTheSessionHolds) {
  TempDir dir;
  auto store = open_store(dir.file("s.db"));
  ASSERT_TRUE(store);
  Snapshot want = every_field();
  Batch b;
  b.add_snapshot(want);
  SessionHeader h = SessionHeader::of(want.sessions[0]);
  h.will.reset();
  h.disconnected_wall_s = 42;
  h.username = "";
  b.put_session(h);
  ASSERT_TRUE(store->write(std::move(b)));
  want.sessions[0].will.reset();
  want.sessions[0].will_due_wall_s = 0;
  want.sessions[0].disconnected_wall_s = 42;
  want.sessions[0].username = "";
  auto got = store->load();
  ASSERT_TRUE(got);
  expect_same(*got, want);
}

TEST(SqliteStore, OutgoingAndBridgeQueuesKeepTheirOrderAcrossManyBatches) {
  TempDir dir;
  const std::string path = dir.file("order.db");
  std::vector<uint64_t> want_a, want_b, want_bridge;
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    Batch first;
    first.put_session(session("a"));
    first.put_session(session("b"));
    store->submit(std::move(first), nullptr);
    uint64_t seq_a = 0, seq_b = 0, seq_q = 0;
    for (int i = 0; i < 300; ++i) {
      Batch b;
      for (int k = 0; k < 1 + i % 4; ++k) {
        OutgoingEntry e;
        e.seq = ++seq_a;
        e.msg = SharedMessage{store->new_message_id(), shared(message("t", std::to_string(e.seq)))};
        b.append_outgoing("a", e);
        want_a.push_back(e.seq);
        if (k == 0) {
          OutgoingEntry eb = e;
          eb.seq = ++seq_b;
          b.append_outgoing("b", eb);
          want_b.push_back(eb.seq);
        }
        ++seq_q;
        b.bridge_push("br", seq_q, message("q", std::to_string(seq_q)));
        want_bridge.push_back(seq_q);
      }
      if (i % 5 == 4) {  // acknowledge the oldest of a and of the bridge
        b.remove_outgoing("a", want_a.front());
        want_a.erase(want_a.begin());
        b.bridge_ack("br", want_bridge.front());
        want_bridge.erase(want_bridge.begin());
      }
      store->submit(std::move(b), nullptr);
    }
    // seq 0: appended after the last, in the order given.
    Batch tail;
    for (int k = 0; k < 3; ++k) {
      OutgoingEntry e;
      e.msg.record = shared(message("t", "tail"));
      tail.append_outgoing("b", e);
      tail.bridge_push("br", 0, message("q", "tail"));
    }
    ASSERT_TRUE(store->write(std::move(tail)));
    for (int k = 1; k <= 3; ++k) {
      want_b.push_back(seq_b + uint64_t(k));
      want_bridge.push_back(seq_q + uint64_t(k));
    }
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  auto snap = store->load();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->sessions.size(), 2u);
  std::vector<uint64_t> got_a, got_b, got_bridge;
  for (const auto& o : snap->sessions[0].outgoing) {
    got_a.push_back(o.seq);
    EXPECT_EQ(o.msg.payload, std::to_string(o.seq));
  }
  for (const auto& o : snap->sessions[1].outgoing) got_b.push_back(o.seq);
  for (const auto& q : snap->bridge_queues["br"]) {
    got_bridge.push_back(q.seq);
    if (q.msg.payload != "tail") {
      EXPECT_EQ(q.msg.payload, std::to_string(q.seq));
    }
  }
  EXPECT_EQ(got_a, want_a);
  EXPECT_EQ(got_b, want_b);
  EXPECT_EQ(got_bridge, want_bridge);
  EXPECT_EQ(snap->sessions[1].outgoing.back().msg.payload, "tail");
  // b's messages are a's (shared ids) except its tail: one row per distinct id.
  std::set<uint64_t> ids;
  for (const auto& s : snap->sessions) {
    for (const auto& o : s.outgoing) ids.insert(o.message_id);
  }
  EXPECT_EQ(store->counts().messages, int64_t(ids.size()));
  EXPECT_LT(ids.size(), want_a.size() + want_b.size());
}

TEST(SqliteStore, AMessageForThousandSessionsIsStoredOnce) {
  TempDir dir;
  auto store = open_store(dir.file("fan.db"));
  ASSERT_TRUE(store);
  constexpr int kSessions = 1000;
  {
    Batch b;
    for (int i = 0; i < kSessions; ++i) b.put_session(session("s" + std::to_string(i)));
    ASSERT_TRUE(store->write(std::move(b)));
  }
  const uint64_t before = store->stats().bytes_written;
  const std::string payload(10'000, 'p');
  auto msg = shared(message("fan/out", payload));
  const uint64_t id = store->new_message_id();
  // Four workers' batches, as the broker would submit them.
  for (int w = 0; w < 4; ++w) {
    Batch b;
    for (int i = w; i < kSessions; i += 4) {
      OutgoingEntry e;
      e.seq = 1;
      e.msg = SharedMessage{id, msg};
      e.qos = 1;
      b.append_outgoing("s" + std::to_string(i), e);
    }
    store->submit(std::move(b), nullptr);
  }
  ASSERT_TRUE(store->write(Batch{}));
  EXPECT_EQ(store->stats().messages_written, 1u);
  EXPECT_EQ(store->counts().messages, 1);
  EXPECT_EQ(store->counts().outgoing, kSessions);
  const uint64_t written = store->stats().bytes_written - before;
  EXPECT_LT(written, uint64_t(kSessions) * payload.size() / 20) << "the payload was written more than once";
  // The message stays while any session holds it.
  Batch most;
  for (int i = 0; i < kSessions - 1; ++i) most.remove_outgoing("s" + std::to_string(i), 1);
  ASSERT_TRUE(store->write(std::move(most)));
  EXPECT_EQ(store->counts().messages, 1);
  auto snap = store->load();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->sessions.size(), size_t(kSessions));
  size_t holding = 0;
  for (const auto& s : snap->sessions) {
    if (!s.outgoing.empty()) {
      ++holding;
      EXPECT_EQ(s.outgoing[0].msg.payload, payload);
      EXPECT_EQ(s.outgoing[0].message_id, id);
    }
  }
  EXPECT_EQ(holding, 1u);
  Batch last;
  last.erase_session("s" + std::to_string(kSessions - 1));  // erasing the session frees it too
  ASSERT_TRUE(store->write(std::move(last)));
  EXPECT_EQ(store->counts().messages, 0);
  EXPECT_EQ(store->counts().outgoing, 0);
}

TEST(SqliteStore, AMessageAppendedAndRemovedInOneTransactionIsNeverWritten) {
  TempDir dir;
  auto store = open_store(dir.file("x.db"));
  ASSERT_TRUE(store);
  Batch b;
  b.put_session(session("s"));
  OutgoingEntry e;
  e.seq = 1;
  e.msg = SharedMessage{store->new_message_id(), shared(message("t", "p"))};
  b.append_outgoing("s", e);
  b.remove_outgoing("s", 1);
  ASSERT_TRUE(store->write(std::move(b)));
  EXPECT_EQ(store->stats().messages_written, 0u);
  EXPECT_EQ(store->counts().messages, 0);
}

TEST(SqliteStore, AppendsAndRemovalsInOneTransactionLeaveWhatTheModelSays) {
  TempDir dir;
  auto store = open_store(dir.file("pairs.db"));
  ASSERT_TRUE(store);
  Model model;
  auto m1 = SharedMessage{store->new_message_id(), shared(message("t", "one"))};
  auto m2 = SharedMessage{store->new_message_id(), shared(message("t", "two"))};
  auto entry = [](uint64_t seq, const SharedMessage& m) {
    OutgoingEntry e;
    e.seq = seq;
    e.msg = m;
    return e;
  };
  Batch b;
  b.put_session(session("s"));
  b.put_session(session("t"));
  b.append_outgoing("s", entry(1, m1));  // sent, updated, acknowledged: nothing stays
  b.update_outgoing("s", 1, 7, OutgoingRecord::State::kSent);
  b.remove_outgoing("s", 1);
  b.append_outgoing("s", entry(2, m1));  // the same message stays for seq 2
  b.append_outgoing("t", entry(5, m2));  // appended, the session ends and starts again,
  b.erase_session("t");                  // the new session's seq 5 is removed
  b.put_session(session("t"));
  b.append_outgoing("t", entry(5, m2));
  b.remove_outgoing("t", 5);
  b.append_outgoing("t", entry(6, m2));  // a seq appended twice, then removed: nothing stays
  b.append_outgoing("t", entry(6, m1));
  b.remove_outgoing("t", 6);
  b.append_outgoing("t", entry(9, m2));
  b.append_outgoing("s", entry(0, m1));  // a seq the store assigns (3), before a pair
  b.append_outgoing("s", entry(20, m2));
  b.remove_outgoing("s", 20);
  b.append_outgoing("s", entry(21, m2));
  b.append_outgoing("t", entry(30, m1));  // a pair across a seq the store assigns stays
  b.append_outgoing("t", entry(0, m2));
  b.remove_outgoing("t", 30);
  model.apply(b);
  ASSERT_TRUE(store->write(std::move(b)));
  Batch later;  // removed in a later transaction: the usual path
  later.remove_outgoing("t", 9);
  model.apply(later);
  ASSERT_TRUE(store->write(std::move(later)));
  auto got = store->load();
  ASSERT_TRUE(got);
  expect_same(*got, model.snapshot());
  EXPECT_EQ(store->counts().messages, int64_t(model.live_messages()));
  EXPECT_GT(store->stats().cancelled_ops, 0u);
}

TEST(SqliteStore, CallbacksRunInSubmissionOrderAndAfterTheirCommit) {
  TempDir dir;
  auto store = open_store(dir.file("cb.db"));
  ASSERT_TRUE(store);
  constexpr int kBatches = 400;
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> not_committed{0};
  for (int i = 0; i < kBatches; ++i) {
    Batch b;
    b.put_retained(message("r/" + std::to_string(i % 10), std::to_string(i)));
    store->submit(std::move(b), [&, i](bool ok) {
      EXPECT_TRUE(ok);
      // The commit holding batch i is counted before its callback runs.
      if (store->stats().batches < uint64_t(i + 1)) ++not_committed;
      std::lock_guard lk(mu);
      order.push_back(i);
    });
  }
  ASSERT_TRUE(store->write(Batch{}));
  ASSERT_EQ(order.size(), size_t(kBatches));
  for (int i = 0; i < kBatches; ++i) ASSERT_EQ(order[size_t(i)], i);
  EXPECT_EQ(not_committed.load(), 0);
  const StoreStats st = store->stats();
  EXPECT_GE(st.batches, uint64_t(kBatches));  // (+1 when the empty batch shared the last commit)
  EXPECT_LE(st.batches, uint64_t(kBatches) + 1);
  EXPECT_LE(st.commits, st.batches);
  EXPECT_GT(st.bytes_written, 0u);
  EXPECT_EQ(st.pending_batches, 0u);
  EXPECT_TRUE(st.healthy);
}

TEST(SqliteStore, ConcurrentSubmittersEachSeeTheirOwnOrder) {
  TempDir dir;
  auto store = open_store(dir.file("mt.db"));
  ASSERT_TRUE(store);
  constexpr int kThreads = 4, kEach = 250;
  std::vector<std::vector<int>> seen(kThreads);
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Batch b;
        b.bridge_push("b" + std::to_string(t), uint64_t(i + 1), message("q", std::to_string(i)));
        store->submit(std::move(b), [&, t, i](bool ok) {
          EXPECT_TRUE(ok);
          std::lock_guard lk(mu);
          seen[size_t(t)].push_back(i);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  store->close();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[size_t(t)].size(), size_t(kEach));
    for (int i = 0; i < kEach; ++i) ASSERT_EQ(seen[size_t(t)][size_t(i)], i);
  }
  const StoreStats st = store->stats();
  EXPECT_EQ(st.batches, uint64_t(kThreads * kEach));
  EXPECT_LT(st.commits, st.batches) << "no group commit happened";
  bool late = true;
  store->submit(Batch{}, [&](bool ok) { late = ok; });
  EXPECT_FALSE(late) << "a batch submitted after close() must be refused";
}

TEST(SqliteStore, ARandomWorkloadMatchesTheModelBeforeAndAfterReopen) {
  TempDir dir;
  const std::string path = dir.file("model.db");
  Model model;
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    BatchStream s1(1234, "x-", 1), s2(99, "y-", 1'000'000);
    for (int i = 0; i < 400; ++i) {
      Batch b = (i % 3 == 0) ? s2.next() : s1.next();
      model.apply(b);
      store->submit(std::move(b), nullptr);
    }
    ASSERT_TRUE(store->write(Batch{}));
    auto got = store->load();
    ASSERT_TRUE(got) << got.error().message;
    expect_same(*got, model.snapshot(), "open");
    EXPECT_EQ(store->counts().messages, int64_t(model.live_messages()));
    EXPECT_EQ(store->counts().dangling_outgoing, 0);
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  auto got = store->load();
  ASSERT_TRUE(got);
  expect_same(*got, model.snapshot(), "reopened");
  // Ids handed out after a reopen never collide with stored messages.
  EXPECT_GT(store->new_message_id(), 1'000'000u);
}

TEST(SqliteStore, ChangesToASessionItDoesNotHoldAreSkippedAndCounted) {
  TempDir dir;
  auto store = open_store(dir.file("o.db"));
  ASSERT_TRUE(store);
  Batch b;
  b.put_subscription("nobody", subscription("a/#", 1));
  OutgoingEntry e;
  e.seq = 1;
  e.msg = SharedMessage{store->new_message_id(), shared(message("t", "p"))};
  b.append_outgoing("nobody", e);
  b.add_qos2_incoming("nobody", 5);
  b.put_retained(message("kept", "yes"));
  ASSERT_TRUE(store->write(std::move(b)));
  EXPECT_EQ(store->stats().orphan_ops, 3u);
  auto snap = store->load();
  ASSERT_TRUE(snap);
  EXPECT_TRUE(snap->sessions.empty());
  ASSERT_EQ(snap->retained.size(), 1u);
  EXPECT_EQ(store->counts().messages, 0);
}

TEST(SqliteStore, IntervalModeCommitsWithinTheInterval) {
  TempDir dir;
  StoreOptions o;
  o.sync = SyncMode::kInterval;
  o.interval = std::chrono::milliseconds(100);
  auto store = open_store(dir.file("i.db"), o);
  ASSERT_TRUE(store);
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i) {
    Batch b;
    b.put_retained(message("r/" + std::to_string(i), "v"));
    store->submit(std::move(b), [&](bool ok) {
      EXPECT_TRUE(ok);
      ++done;
    });
  }
  ASSERT_TRUE(store->write(Batch{}));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(done.load(), 50);
  EXPECT_GE(waited, std::chrono::milliseconds(90));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_LE(store->stats().commits, 2u) << "one interval, one commit (two if the loop straddled it)";
  store->close();

  // close() does not wait for the interval.
  o.interval = std::chrono::seconds(30);
  auto slow = open_store(dir.file("i.db"), o);
  ASSERT_TRUE(slow);
  Batch b;
  b.put_retained(message("last", "v"));
  bool committed = false;
  slow->submit(std::move(b), [&](bool ok) { committed = ok; });
  const auto t1 = std::chrono::steady_clock::now();
  slow->close();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(10));
  EXPECT_TRUE(committed);
  auto again = open_store(dir.file("i.db"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->counts().retained, 51);
}

}  // namespace store_test
}  // namespace petrel::persist
