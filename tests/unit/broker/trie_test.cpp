// SubscriptionTrie: matching is cross-checked against protocol::topic_matches (the
// reference) exhaustively over a small alphabet and randomly over a larger one; plus $share
// round robin, offline members, replace semantics, pruning and a concurrent test.
#include "broker/subscription_trie.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/topic.h"

namespace petrel::broker {
namespace {

using protocol::topic_matches;

std::vector<SessionKey> match_keys(const SubscriptionTrie& trie, std::string_view topic) {
  std::vector<SessionKey> keys;
  trie.match(topic, [&](const Match& m) { keys.push_back(m.key); });
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<Match> match_all(const SubscriptionTrie& trie, std::string_view topic) {
  std::vector<Match> out;
  trie.match(topic, [&](const Match& m) { out.push_back(m); });
  return out;
}

// Every sequence of 1..max_levels levels drawn from alphabet, joined by '/'.
std::vector<std::string> sequences(const std::vector<std::string>& alphabet, int max_levels) {
  std::vector<std::string> out;
  std::vector<std::string> frontier = {""};
  for (int depth = 1; depth <= max_levels; ++depth) {
    std::vector<std::string> next;
    for (const auto& prefix : frontier) {
      for (const auto& level : alphabet) {
        next.push_back(depth == 1 ? level : prefix + "/" + level);
      }
    }
    out.insert(out.end(), next.begin(), next.end());
    frontier = std::move(next);
  }
  return out;
}

// Subscribes filters[i] with key i and checks, for every topic, that the trie reports
// exactly the filters topic_matches() accepts.
void cross_check(const std::vector<std::string>& filters, const std::vector<std::string>& topics) {
  SubscriptionTrie trie;
  for (size_t i = 0; i < filters.size(); ++i) {
    ASSERT_TRUE(protocol::valid_topic_filter(filters[i])) << filters[i];
    trie.subscribe(i, filters[i], SubOptions{});
  }
  for (const auto& topic : topics) {
    ASSERT_TRUE(protocol::valid_topic_name(topic)) << topic;
    std::vector<SessionKey> want;
    for (size_t i = 0; i < filters.size(); ++i) {
      if (topic_matches(filters[i], topic)) want.push_back(i);
    }
    const std::vector<SessionKey> got = match_keys(trie, topic);
    ASSERT_EQ(got, want) << "topic '" << topic << "'";
  }
}

struct Case {
  const char* filter;
  const char* topic;
  bool match;
};

TEST(SubscriptionTrie, NamedCases_MQTT_4_7) {
  const Case cases[] = {
      {"#", "a", true},           {"#", "/", true},              {"#", "a/b/c", true},
      {"+/+", "/", true},         {"+/+", "a", false},           {"+", "/", false},
      {"a/+/#", "a/b", true},     {"a/+/#", "a/b/c", true},      {"a/+/#", "a", false},
      {"/", "/", true},           {"/", "a", false},             {"a//b", "a//b", true},
      {"a//b", "a/b", false},     {"a/+/b", "a//b", true},       {"/a", "/a", true},
      {"/a", "a", false},         {"a/", "a/", true},            {"a/", "a", false},
      {"/+", "/x", true},         {"+/", "x/", true},            {"a/#", "a", true},
      {"a/#", "a/", true},        {"a/#", "ab", false},          {"+/#", "a", true},
      {"#", "$SYS/x", false},     {"+/x", "$SYS/x", false},      {"+", "$SYS", false},
      {"$SYS/#", "$SYS/x", true}, {"$SYS/#", "$SYS", true},      {"$SYS/+", "$SYS/x", true},
      {"a/#", "a/$x", true},      {"$share/g/#", "$SYS/x", false},
      {"$share/g/$SYS/#", "$SYS/x", true},                       {"$share/g/a/+", "a/b", true},
  };
  for (const auto& c : cases) {
    SubscriptionTrie trie;
    trie.subscribe(7, c.filter, SubOptions{});
    EXPECT_EQ(match_keys(trie, c.topic).size(), c.match ? 1u : 0u)
        << c.filter << " vs " << c.topic;
    std::string_view g, f;
    if (!protocol::split_shared(c.filter, g, f)) {
      EXPECT_EQ(topic_matches(c.filter, c.topic), c.match) << c.filter << " vs " << c.topic;
    }
  }
}

TEST(SubscriptionTrie, ExhaustiveSmallAlphabetMatchesReference) {
  // Levels chosen to hit the edge cases: empty levels (leading/trailing/double slashes),
  // '$' at the first level, and a level that is a prefix of another.
  const std::vector<std::string> topic_levels = {"a", "ab", "", "$s"};
  const std::vector<std::string> plain_levels = {"a", "", "$s", "+"};
  std::vector<std::string> filters = sequences(plain_levels, 4);
  std::erase(filters, "");  // the one-level sequence "" is neither a filter nor a topic
  // Every filter of up to 4 levels that ends in '#'.
  filters.push_back("#");
  for (const auto& prefix : sequences(plain_levels, 3)) filters.push_back(prefix + "/#");
  ASSERT_EQ(filters.size(), 339u + 1u + 84u);
  std::vector<std::string> topics = sequences(topic_levels, 5);
  std::erase(topics, "");
  cross_check(filters, topics);
}

std::string random_topic(std::mt19937& rng, const std::vector<std::string>& levels, int max) {
  std::uniform_int_distribution<int> n_levels(1, max);
  std::uniform_int_distribution<size_t> pick(0, levels.size() - 1);
  const int n = n_levels(rng);
  std::string t;
  for (int i = 0; i < n; ++i) {
    if (i) t += '/';
    t += levels[pick(rng)];
  }
  return t.empty() ? "a" : t;  // "" is not a valid topic name
}

std::string random_filter(std::mt19937& rng, const std::vector<std::string>& levels, int max) {
  std::uniform_int_distribution<int> n_levels(1, max);
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_int_distribution<size_t> pick(0, levels.size() - 1);
  const int n = n_levels(rng);
  std::string f;
  for (int i = 0; i < n; ++i) {
    if (i) f += '/';
    const int k = kind(rng);
    if (k < 3) {
      f += '+';
    } else if (k == 3 && i == n - 1) {
      f += '#';
    } else {
      f += levels[pick(rng)];
    }
  }
  return f.empty() ? "+" : f;  // "" is not a valid filter
}

TEST(SubscriptionTrie, RandomizedCrossCheckWithUnsubscribes) {
  std::mt19937 rng(12345);
  const std::vector<std::string> levels = {"a", "b", "c", "", "$SYS", "dev", "x1", "$"};
  std::vector<std::string> filters;
  for (int i = 0; i < 3000; ++i) filters.push_back(random_filter(rng, levels, 6));
  std::vector<std::string> topics;
  for (int i = 0; i < 3000; ++i) topics.push_back(random_topic(rng, levels, 7));

  SubscriptionTrie trie;
  for (const auto& f : filters) ASSERT_TRUE(protocol::valid_topic_filter(f)) << f;
  for (const auto& t : topics) ASSERT_TRUE(protocol::valid_topic_name(t)) << t;
  std::vector<bool> live(filters.size(), true);
  for (size_t i = 0; i < filters.size(); ++i) trie.subscribe(i, filters[i], SubOptions{});
  auto check = [&] {
    for (const auto& topic : topics) {
      std::vector<SessionKey> want;
      for (size_t i = 0; i < filters.size(); ++i) {
        if (live[i] && topic_matches(filters[i], topic)) want.push_back(i);
      }
      ASSERT_EQ(match_keys(trie, topic), want) << "topic '" << topic << "'";
    }
  };
  check();
  // Drop a random half, then check again: pruning must not lose surviving subscriptions.
  std::uniform_int_distribution<int> coin(0, 1);
  size_t remaining = filters.size();
  for (size_t i = 0; i < filters.size(); ++i) {
    if (coin(rng)) {
      EXPECT_TRUE(trie.unsubscribe(i, filters[i]));
      live[i] = false;
      --remaining;
    }
  }
  EXPECT_EQ(trie.count(), remaining);
  check();
  for (size_t i = 0; i < filters.size(); ++i) {
    if (live[i]) {
      EXPECT_TRUE(trie.unsubscribe(i, filters[i]));
    }
  }
  EXPECT_EQ(trie.count(), 0u);
  EXPECT_EQ(trie.node_count(), 0u);
}

TEST(SubscriptionTrie, OverlappingSubscriptionsOfOneSessionAreAllReported) {
  SubscriptionTrie trie;
  trie.subscribe(1, "a/b", SubOptions{.qos = 0});
  trie.subscribe(1, "a/+", SubOptions{.qos = 1});
  trie.subscribe(1, "a/#", SubOptions{.qos = 2});
  trie.subscribe(1, "#", SubOptions{.qos = 1, .subscription_id = 9});
  const auto got = match_all(trie, "a/b");
  ASSERT_EQ(got.size(), 4u);
  std::multiset<uint8_t> qos;
  for (const auto& m : got) {
    EXPECT_EQ(m.key, 1u);
    EXPECT_FALSE(m.shared);
    qos.insert(m.opts.qos);
  }
  EXPECT_EQ(qos, (std::multiset<uint8_t>{0, 1, 1, 2}));
}

TEST(SubscriptionTrie, ReplaceKeepsOneSubscriptionWithNewOptions) {
  SubscriptionTrie trie;
  EXPECT_TRUE(trie.subscribe(1, "a/+", SubOptions{.qos = 0}));
  EXPECT_FALSE(trie.subscribe(1, "a/+", SubOptions{.qos = 2, .no_local = true,
                                                   .retain_as_published = true,
                                                   .retain_handling = 2,
                                                   .subscription_id = 42}));
  EXPECT_EQ(trie.count(), 1u);
  const auto got = match_all(trie, "a/x");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].opts.qos, 2);
  EXPECT_TRUE(got[0].opts.no_local);
  EXPECT_TRUE(got[0].opts.retain_as_published);
  EXPECT_EQ(got[0].opts.retain_handling, 2);
  EXPECT_EQ(got[0].opts.subscription_id, 42u);

  // Same for a shared membership.
  EXPECT_TRUE(trie.subscribe(2, "$share/g/a/+", SubOptions{.qos = 0}));
  EXPECT_FALSE(trie.subscribe(2, "$share/g/a/+", SubOptions{.qos = 1}));
  EXPECT_EQ(trie.count(), 2u);
  int shared_seen = 0;
  trie.match("a/x", [&](const Match& m) {
    if (m.shared) {
      ++shared_seen;
      EXPECT_EQ(m.key, 2u);
      EXPECT_EQ(m.opts.qos, 1);
    }
  });
  EXPECT_EQ(shared_seen, 1);
}

TEST(SubscriptionTrie, ManySessionsOnOneFilter) {
  // Goes past the SubList index threshold and back below it.
  SubscriptionTrie trie;
  for (SessionKey k = 0; k < 200; ++k) EXPECT_TRUE(trie.subscribe(k, "cmd/#", SubOptions{}));
  for (SessionKey k = 0; k < 200; k += 2) {
    EXPECT_FALSE(trie.subscribe(k, "cmd/#", SubOptions{.qos = 1}));
  }
  EXPECT_EQ(trie.count(), 200u);
  for (SessionKey k = 1; k < 200; k += 2) EXPECT_TRUE(trie.unsubscribe(k, "cmd/#"));
  EXPECT_FALSE(trie.unsubscribe(1, "cmd/#"));
  auto got = match_all(trie, "cmd/x");
  ASSERT_EQ(got.size(), 100u);
  for (const auto& m : got) {
    EXPECT_EQ(m.key % 2, 0u);
    EXPECT_EQ(m.opts.qos, 1);
  }
  for (SessionKey k = 0; k < 190; k += 2) EXPECT_TRUE(trie.unsubscribe(k, "cmd/#"));
  EXPECT_EQ(match_keys(trie, "cmd"), (std::vector<SessionKey>{190, 192, 194, 196, 198}));
  EXPECT_TRUE(trie.subscribe(194, "cmd/#", SubOptions{}) == false);
  EXPECT_EQ(trie.count(), 5u);
}

TEST(SubscriptionTrie, UnsubscribePrunesEmptyNodes) {
  SubscriptionTrie trie;
  EXPECT_EQ(trie.node_count(), 0u);
  trie.subscribe(1, "a/b/c/d", SubOptions{});
  EXPECT_EQ(trie.node_count(), 4u);
  trie.subscribe(2, "a/b/+/#", SubOptions{});
  EXPECT_EQ(trie.node_count(), 6u);
  trie.subscribe(3, "$share/g/a/b", SubOptions{});
  EXPECT_EQ(trie.node_count(), 6u);

  EXPECT_FALSE(trie.unsubscribe(1, "a/b/c"));   // no such subscription (node exists)
  EXPECT_FALSE(trie.unsubscribe(1, "a/b/x/y"));  // no such node
  EXPECT_FALSE(trie.unsubscribe(2, "a/b/c/d"));  // wrong session
  EXPECT_FALSE(trie.unsubscribe(3, "a/b"));      // shared, not normal
  EXPECT_FALSE(trie.unsubscribe(3, "$share/h/a/b"));  // other group

  EXPECT_TRUE(trie.unsubscribe(1, "a/b/c/d"));
  EXPECT_EQ(trie.node_count(), 4u);  // a, b, +, #
  EXPECT_TRUE(trie.unsubscribe(2, "a/b/+/#"));
  EXPECT_EQ(trie.node_count(), 2u);  // a, b hold the shared group
  EXPECT_TRUE(trie.unsubscribe(3, "$share/g/a/b"));
  EXPECT_EQ(trie.node_count(), 0u);
  EXPECT_EQ(trie.count(), 0u);
  EXPECT_FALSE(trie.unsubscribe(1, "a/b/c/d"));
  EXPECT_TRUE(match_keys(trie, "a/b/c/d").empty());
}

TEST(SubscriptionTrie, CountCountsNormalAndSharedMemberships) {
  SubscriptionTrie trie;
  trie.subscribe(1, "a", SubOptions{});
  trie.subscribe(1, "b", SubOptions{});
  trie.subscribe(2, "a", SubOptions{});
  trie.subscribe(1, "$share/g/a", SubOptions{});
  trie.subscribe(2, "$share/g/a", SubOptions{});
  trie.subscribe(2, "$share/h/a", SubOptions{});
  trie.subscribe(2, "$share/h/a", SubOptions{});  // replace
  EXPECT_EQ(trie.count(), 6u);
  trie.unsubscribe(2, "$share/g/a");
  EXPECT_EQ(trie.count(), 5u);
}

std::map<SessionKey, int> shared_tally(const SubscriptionTrie& trie, std::string_view topic,
                                       int messages) {
  std::map<SessionKey, int> tally;
  for (int i = 0; i < messages; ++i) {
    int per_message = 0;
    trie.match(topic, [&](const Match& m) {
      EXPECT_TRUE(m.shared);
      ++tally[m.key];
      ++per_message;
    });
    EXPECT_EQ(per_message, 1);  // exactly one member per group
  }
  return tally;
}

TEST(SubscriptionTrie, SharedGroupRoundRobin_MQTT_4_8_2) {
  SubscriptionTrie trie;
  trie.subscribe(10, "$share/g/s/+", SubOptions{});
  trie.subscribe(11, "$share/g/s/+", SubOptions{});
  trie.subscribe(12, "$share/g/s/+", SubOptions{});
  const auto tally = shared_tally(trie, "s/1", 300);
  EXPECT_EQ(tally, (std::map<SessionKey, int>{{10, 100}, {11, 100}, {12, 100}}));
  // Strict rotation: three consecutive messages reach three different members.
  std::set<SessionKey> three;
  for (int i = 0; i < 3; ++i) {
    trie.match("s/2", [&](const Match& m) { three.insert(m.key); });
  }
  EXPECT_EQ(three.size(), 3u);
}

TEST(SubscriptionTrie, SharedGroupSkipsOfflineMembersUnlessAllOffline) {
  SubscriptionTrie trie;
  for (SessionKey k : {1, 2, 3}) trie.subscribe(k, "$share/g/t", SubOptions{});
  trie.set_shared_online(2, "$share/g/t", false);
  EXPECT_EQ(shared_tally(trie, "t", 300), (std::map<SessionKey, int>{{1, 150}, {3, 150}}));
  trie.set_shared_online(2, "$share/g/t", false);  // idempotent
  trie.set_shared_online(1, "$share/g/t", false);
  EXPECT_EQ(shared_tally(trie, "t", 30), (std::map<SessionKey, int>{{3, 30}}));
  trie.set_shared_online(3, "$share/g/t", false);
  EXPECT_EQ(shared_tally(trie, "t", 300),
            (std::map<SessionKey, int>{{1, 100}, {2, 100}, {3, 100}}));
  trie.set_shared_online(2, "$share/g/t", true);
  trie.set_shared_online(2, "$share/g/t", true);
  EXPECT_EQ(shared_tally(trie, "t", 30), (std::map<SessionKey, int>{{2, 30}}));
  // Unknown members, groups and filters are ignored.
  trie.set_shared_online(9, "$share/g/t", true);
  trie.set_shared_online(2, "$share/h/t", false);
  trie.set_shared_online(2, "$share/g/u", false);
  trie.set_shared_online(2, "t", false);
  EXPECT_EQ(shared_tally(trie, "t", 3), (std::map<SessionKey, int>{{2, 3}}));
  // Removing online and offline members keeps the online/offline partition right.
  trie.set_shared_online(1, "$share/g/t", true);
  trie.subscribe(4, "$share/g/t", SubOptions{});  // joins online
  EXPECT_TRUE(trie.unsubscribe(2, "$share/g/t"));
  EXPECT_TRUE(trie.unsubscribe(3, "$share/g/t"));  // offline one
  EXPECT_EQ(shared_tally(trie, "t", 100), (std::map<SessionKey, int>{{1, 50}, {4, 50}}));
  trie.set_shared_online(4, "$share/g/t", false);
  EXPECT_TRUE(trie.unsubscribe(1, "$share/g/t"));
  EXPECT_EQ(shared_tally(trie, "t", 5), (std::map<SessionKey, int>{{4, 5}}));
}

TEST(SubscriptionTrie, SharedGroupsAreIndependentOfEachOtherAndOfNormalSubs) {
  SubscriptionTrie trie;
  trie.subscribe(1, "$share/g/a/+", SubOptions{});
  trie.subscribe(2, "$share/g/a/+", SubOptions{});
  trie.subscribe(3, "$share/h/a/+", SubOptions{});
  trie.subscribe(4, "$share/g/a/#", SubOptions{});  // same group name, other filter
  trie.subscribe(5, "a/+", SubOptions{});
  trie.subscribe(1, "a/b", SubOptions{});  // member 1 also subscribes normally
  std::map<SessionKey, int> shared, normal;
  for (int i = 0; i < 100; ++i) {
    trie.match("a/b", [&](const Match& m) { ++(m.shared ? shared : normal)[m.key]; });
  }
  EXPECT_EQ(shared, (std::map<SessionKey, int>{{1, 50}, {2, 50}, {3, 100}, {4, 100}}));
  EXPECT_EQ(normal, (std::map<SessionKey, int>{{1, 100}, {5, 100}}));
}

TEST(SubscriptionTrie, DollarTopicsAndSharedWildcards_MQTT_4_7_2_1) {
  SubscriptionTrie trie;
  trie.subscribe(1, "#", SubOptions{});
  trie.subscribe(2, "+/x", SubOptions{});
  trie.subscribe(3, "$SYS/#", SubOptions{});
  trie.subscribe(4, "$share/g/#", SubOptions{});
  trie.subscribe(5, "$share/g/$SYS/+", SubOptions{});
  trie.subscribe(6, "+", SubOptions{});
  EXPECT_EQ(match_keys(trie, "$SYS/x"), (std::vector<SessionKey>{3, 5}));
  EXPECT_EQ(match_keys(trie, "$SYS"), (std::vector<SessionKey>{3}));
  EXPECT_EQ(match_keys(trie, "a/x"), (std::vector<SessionKey>{1, 2, 4}));
  EXPECT_EQ(match_keys(trie, "a"), (std::vector<SessionKey>{1, 4, 6}));
}

TEST(SubscriptionTrie, VeryDeepFiltersAndTopicsDoNotExhaustTheStack) {
  // The largest topic allowed (65535 bytes) has 32768 levels.
  std::string deep_filter = "+";
  std::string deep_topic = "";
  for (int i = 1; i < 32768; ++i) {
    deep_filter += "/+";
    deep_topic += "/";
  }
  // The protocol refuses them (more than 200 separators, as Mosquitto); the trie must
  // still survive them, whoever calls it.
  ASSERT_FALSE(protocol::valid_topic_filter(deep_filter));
  ASSERT_FALSE(protocol::valid_topic_name(deep_topic));
  SubscriptionTrie trie;
  trie.subscribe(1, deep_filter, SubOptions{});
  trie.subscribe(2, std::string(deep_topic) + "#", SubOptions{});
  EXPECT_EQ(match_keys(trie, deep_topic), (std::vector<SessionKey>{1, 2}));
  EXPECT_EQ(match_keys(trie, deep_topic + "/"), (std::vector<SessionKey>{2}));
  EXPECT_EQ(match_keys(trie, deep_topic.substr(1)), (std::vector<SessionKey>{2}));  // parent level
  EXPECT_TRUE(match_keys(trie, deep_topic.substr(2)).empty());
  EXPECT_EQ(trie.count(), 2u);
}

TEST(SubscriptionTrie, ConcurrentMatchAndSubscribe) {
  // Readers match continuously while writers churn their own subscriptions; the stable
  // subscriptions must be seen on every match and the shared group must yield one member.
  SubscriptionTrie trie;
  trie.subscribe(1, "s/+/t", SubOptions{});
  trie.subscribe(2, "s/#", SubOptions{});
  trie.subscribe(3, "$share/g/s/#", SubOptions{});
  trie.subscribe(4, "$share/g/s/#", SubOptions{});
  std::atomic<bool> stop{false};
  std::atomic<long> matches{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      const std::string topic = "s/" + std::to_string(r) + "/t";
      while (!stop.load(std::memory_order_relaxed)) {
        bool saw1 = false, saw2 = false;
        int shared = 0;
        trie.match(topic, [&](const Match& m) {
          saw1 |= m.key == 1;
          saw2 |= m.key == 2;
          shared += m.shared;
        });
        if (!saw1 || !saw2 || shared != 1) errors.fetch_add(1);
        matches.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 2000; ++i) {
        const SessionKey key = 100 + w * 10000 + i;
        const std::string filter = "s/" + std::to_string(i % 7) + "/" + (i % 2 ? "+" : "t");
        trie.subscribe(key, filter, SubOptions{});
        trie.subscribe(key, "$share/g/s/#", SubOptions{});
        trie.set_shared_online(key, "$share/g/s/#", i % 3 != 0);
        trie.unsubscribe(key, "$share/g/s/#");
        if (i % 4 != 0) trie.unsubscribe(key, filter);
      }
    });
  }
  for (size_t i = 3; i < threads.size(); ++i) threads[i].join();
  stop = true;
  for (size_t i = 0; i < 3; ++i) threads[i].join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(matches.load(), 0);
  EXPECT_EQ(trie.count(), 4u + 2u * 500u);
}

}  // namespace
}  // namespace petrel::broker
