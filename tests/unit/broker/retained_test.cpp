// The in-memory RetainedStore: set/replace/clear, wildcard matching cross-checked against
// protocol::topic_matches, the '$' rule, expiry, and count/bytes bookkeeping.
#include "broker/retained_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "protocol/topic.h"

namespace petrel::broker {
namespace {

RetainedPtr msg(std::string topic, std::string payload, int64_t expiry_at_ms = 0) {
  auto m = std::make_shared<RetainedMessage>();
  m->topic = std::move(topic);
  m->payload = std::move(payload);
  m->expiry_at_ms = expiry_at_ms;
  return m;
}

std::vector<std::string> topics(RetainedStore& store, std::string_view filter,
                                int64_t now_ms = 0) {
  std::vector<std::string> out;
  store.match(filter, now_ms, [&](const RetainedPtr& m) { out.push_back(m->topic); });
  std::sort(out.begin(), out.end());
  return out;
}

using Topics = std::vector<std::string>;

TEST(RetainedStore, SnapshotMatchesAndMarksWhatIsLaterSuperseded) {
  auto store = make_memory_retained_store();
  store->set(msg("s/a", "1"));
  store->set(msg("s/b", "2"));
  store->set(msg("s/c", "3", 100));  // expires at 100
  store->set(msg("t/x", "4"));
  auto snap = store->snapshot("s/#", 50);
  ASSERT_EQ(snap.size(), 3u);
  std::sort(snap.begin(), snap.end(), [](const RetainedPtr& x, const RetainedPtr& y) { return x->topic < y->topic; });
  for (const auto& m : snap) EXPECT_FALSE(m->is_superseded()) << m->topic;
  store->set(msg("s/a", "new"));  // replaced
  store->erase("s/b");             // cleared
  EXPECT_EQ(store->snapshot("s/#", 150).size(), 1u) << "s/c expired (and is removed)";
  EXPECT_TRUE(snap[0]->is_superseded());
  EXPECT_TRUE(snap[1]->is_superseded());
  EXPECT_TRUE(snap[2]->is_superseded()) << "expired out of the store";
  auto now = store->snapshot("s/a", 150);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0]->payload, "new");
  EXPECT_FALSE(now[0]->is_superseded());
  store->set(msg("s/a", ""));  // an empty payload clears too
  EXPECT_TRUE(now[0]->is_superseded());
}

TEST(RetainedStore, SetReplaceAndClear_MQTT_3_3_1_10) {
  auto store = make_memory_retained_store();
  EXPECT_EQ(store->count(), 0u);
  store->set(msg("a/b", "one"));
  EXPECT_EQ(store->count(), 1u);
  EXPECT_EQ(store->bytes(), 3u + 3u);

  store->set(msg("a/b", "second"));  // replaces
  EXPECT_EQ(store->count(), 1u);
  EXPECT_EQ(store->bytes(), 3u + 6u);
  std::vector<std::string> payloads;
  store->match("a/b", 0, [&](const RetainedPtr& m) { payloads.push_back(m->payload); });
  EXPECT_EQ(payloads, Topics{"second"});

  store->set(msg("a", "x"));  // a parent level holds its own message
  EXPECT_EQ(store->count(), 2u);
  EXPECT_EQ(store->bytes(), 9u + 2u);

  store->set(msg("a/b", ""));  // an empty payload clears
  EXPECT_EQ(store->count(), 1u);
  EXPECT_EQ(store->bytes(), 2u);
  EXPECT_EQ(topics(*store, "#"), Topics{"a"});
  store->set(msg("nothing/here", ""));  // clearing what is not there is a no-op
  EXPECT_EQ(store->count(), 1u);

  store->erase("a");
  store->erase("a");
  store->erase("zz/top");
  EXPECT_EQ(store->count(), 0u);
  EXPECT_EQ(store->bytes(), 0u);
  EXPECT_TRUE(topics(*store, "#").empty());
}

TEST(RetainedStore, EraseKeepsChildrenAndParents) {
  auto store = make_memory_retained_store();
  store->set(msg("a", "1"));
  store->set(msg("a/b", "1"));
  store->set(msg("a/b/c", "1"));
  store->erase("a/b");
  EXPECT_EQ(topics(*store, "#"), (Topics{"a", "a/b/c"}));
  store->erase("a/b/c");
  EXPECT_EQ(topics(*store, "#"), (Topics{"a"}));
  store->set(msg("a/b/c", "2"));
  EXPECT_EQ(topics(*store, "a/+/c"), (Topics{"a/b/c"}));
}

TEST(RetainedStore, WildcardMatch) {
  auto store = make_memory_retained_store();
  for (const char* t : {"a", "a/b", "a/c", "a/b/c", "a/b/d", "b", "/", "/a", "a/", "a//b",
                        "x/y/z"}) {
    store->set(msg(t, "p"));
  }
  EXPECT_EQ(topics(*store, "a/b"), (Topics{"a/b"}));
  EXPECT_EQ(topics(*store, "a/x"), Topics{});
  EXPECT_EQ(topics(*store, "a/+"), (Topics{"a/", "a/b", "a/c"}));
  EXPECT_EQ(topics(*store, "a/#"), (Topics{"a", "a/", "a//b", "a/b", "a/b/c", "a/b/d", "a/c"}));
  EXPECT_EQ(topics(*store, "a/+/#"), (Topics{"a/", "a//b", "a/b", "a/b/c", "a/b/d", "a/c"}));
  EXPECT_EQ(topics(*store, "+/+/c"), (Topics{"a/b/c"}));
  EXPECT_EQ(topics(*store, "+"), (Topics{"a", "b"}));
  EXPECT_EQ(topics(*store, "+/+"), (Topics{"/", "/a", "a/", "a/b", "a/c"}));
  EXPECT_EQ(topics(*store, "/#"), (Topics{"/", "/a"}));
  EXPECT_EQ(topics(*store, "a/+/b"), (Topics{"a//b"}));
  EXPECT_EQ(topics(*store, "#").size(), 11u);
}

TEST(RetainedStore, DollarTopicsNeedALiteralFirstLevel_MQTT_4_7_2_1) {
  auto store = make_memory_retained_store();
  store->set(msg("$SYS/broker/uptime", "1"));
  store->set(msg("$SYS", "1"));
  store->set(msg("a/$b", "1"));
  EXPECT_EQ(topics(*store, "#"), (Topics{"a/$b"}));
  EXPECT_EQ(topics(*store, "+/broker/uptime"), Topics{});
  EXPECT_EQ(topics(*store, "+"), Topics{});
  EXPECT_EQ(topics(*store, "$SYS/#"), (Topics{"$SYS", "$SYS/broker/uptime"}));
  EXPECT_EQ(topics(*store, "$SYS/+/uptime"), (Topics{"$SYS/broker/uptime"}));
  EXPECT_EQ(topics(*store, "a/+"), (Topics{"a/$b"}));
}

TEST(RetainedStore, ExpiredMessagesAreRemovedAndNotVisited_MQTT_3_3_2_3_3) {
  auto store = make_memory_retained_store();
  store->set(msg("t/never", "p"));
  store->set(msg("t/soon", "p", 1000));
  store->set(msg("t/later", "pp", 5000));
  EXPECT_EQ(store->count(), 3u);
  EXPECT_EQ(topics(*store, "t/#", 999), (Topics{"t/later", "t/never", "t/soon"}));
  EXPECT_EQ(topics(*store, "t/#", 1000), (Topics{"t/later", "t/never"}));  // at expiry: gone
  EXPECT_EQ(store->count(), 2u);
  EXPECT_EQ(store->bytes(), 7u + 1u + 7u + 2u);
  // Not seen by a match that does not cover it; removed when one does.
  EXPECT_EQ(topics(*store, "t/never", 6000), (Topics{"t/never"}));
  EXPECT_EQ(store->count(), 2u);
  EXPECT_EQ(topics(*store, "t/later", 6000), Topics{});
  EXPECT_EQ(store->count(), 1u);
  EXPECT_EQ(store->bytes(), 7u + 1u);
  // A replacement resets expiry.
  store->set(msg("t/soon", "p", 9000));
  EXPECT_EQ(topics(*store, "+/soon", 8000), (Topics{"t/soon"}));
}

TEST(RetainedStore, VisitorMayCallBackIntoTheStore) {
  auto store = make_memory_retained_store();
  store->set(msg("a/1", "p"));
  store->set(msg("a/2", "p"));
  store->match("a/+", 0, [&](const RetainedPtr& m) { store->erase(m->topic); });
  EXPECT_EQ(store->count(), 0u);
}

TEST(RetainedStore, RandomizedCrossCheckAgainstTopicMatches) {
  std::mt19937 rng(7);
  const std::vector<std::string> levels = {"a", "b", "", "$x", "cc"};
  std::uniform_int_distribution<int> depth(1, 5);
  std::uniform_int_distribution<size_t> pick(0, levels.size() - 1);
  auto store = make_memory_retained_store();
  std::vector<std::string> all;
  size_t bytes = 0;
  for (int i = 0; i < 600; ++i) {
    std::string t;
    for (int d = depth(rng), j = 0; j < d; ++j) t += (j ? "/" : "") + levels[pick(rng)];
    if (t.empty() || std::find(all.begin(), all.end(), t) != all.end()) continue;
    all.push_back(t);
    bytes += t.size() + 1;
    store->set(msg(t, "p"));
  }
  EXPECT_EQ(store->count(), all.size());
  EXPECT_EQ(store->bytes(), bytes);
  const std::vector<std::string> filter_levels = {"a", "b", "", "$x", "+", "+"};
  std::uniform_int_distribution<size_t> fpick(0, filter_levels.size() - 1);
  for (int i = 0; i < 2000; ++i) {
    std::string f;
    const int d = depth(rng);
    for (int j = 0; j < d; ++j) f += (j ? "/" : "") + filter_levels[fpick(rng)];
    if (f.empty()) f = "+";
    if (i % 3 == 0) f += "/#";
    if (i % 50 == 0) f = "#";
    ASSERT_TRUE(protocol::valid_topic_filter(f)) << f;
    Topics want;
    for (const auto& t : all) {
      if (protocol::topic_matches(f, t)) want.push_back(t);
    }
    std::sort(want.begin(), want.end());
    ASSERT_EQ(topics(*store, f), want) << "filter '" << f << "'";
  }
}

TEST(RetainedStore, DeepTopicsDoNotExhaustTheStack) {
  auto store = make_memory_retained_store();
  const std::string deep(32767, '/');  // 32768 empty levels
  store->set(msg(deep, "p"));
  store->set(msg(deep.substr(1) + "x", "p"));
  EXPECT_EQ(topics(*store, "#").size(), 2u);
  EXPECT_EQ(topics(*store, deep.substr(1) + "+"), (Topics{deep.substr(1) + "x"}));
  store->erase(deep);
  EXPECT_EQ(store->count(), 1u);
}

TEST(RetainedStore, ConcurrentSetAndMatch) {
  auto store = make_memory_retained_store();
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 2000; ++i) {
        const std::string t = "w" + std::to_string(w) + "/" + std::to_string(i % 50);
        store->set(msg(t, i % 5 == 4 ? "" : "p", i % 7 == 0 ? 10 : 0));
        std::vector<RetainedPtr> seen;
        store->match("+/" + std::to_string(i % 50), 5 + i % 10,
                     [&](const RetainedPtr& m) { seen.push_back(m); });
        for (const auto& m : seen) ASSERT_FALSE(m->payload.empty());
      }
    });
  }
  for (auto& t : threads) t.join();
  size_t n = 0;
  store->match("#", 0, [&](const RetainedPtr&) { ++n; });
  EXPECT_EQ(store->count(), n);
}

}  // namespace
}  // namespace petrel::broker
