// SubscriptionTrie::match on the publish hot path: 100k subscriptions over a
// site/<s>/dev/<d>/<metric> topic space, mixing exact filters (70%), '+' filters (20%)
// and '#' filters (10%). Reports ns per match() (the benchmark's CPU time) and the average
// number of subscriptions each publish reaches (subs/match).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "broker/subscription_trie.h"

namespace {

using petrel::broker::Match;
using petrel::broker::SubOptions;
using petrel::broker::SubscriptionTrie;

constexpr int kSites = 100;
constexpr int kDevices = 1000;
constexpr int kMetrics = 10;
constexpr int kSubscriptions = 100'000;

std::string topic_of(int s, int d, int m) {
  return "site/" + std::to_string(s) + "/dev/" + std::to_string(d) + "/m" + std::to_string(m);
}

// 100k subscriptions over 1M possible topics. Fan-out per publish stays realistic (a
// device's own consumer, a few dashboards with '+', a few site-wide '#' monitors) so the
// time measures the trie walk rather than the visitor.
struct Fixture {
  SubscriptionTrie trie;
  std::vector<std::string> hit_topics;   // half exact-subscribed topics, half random ones
  std::vector<std::string> miss_topics;  // first level nobody subscribes to literally

  Fixture() {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> site(0, kSites - 1), dev(0, kDevices - 1),
        metric(0, kMetrics - 1), pct(0, 999);
    std::vector<std::string> exact;
    int made = 0;
    for (uint64_t key = 1; made < kSubscriptions; ++key) {
      const int s = site(rng), d = dev(rng), m = metric(rng), p = pct(rng);
      std::string f;
      if (p < 700) {  // 70% exact
        f = topic_of(s, d, m);
        exact.push_back(f);
      } else if (p < 800) {  // 10% one metric of every device of a site
        f = "site/" + std::to_string(s) + "/dev/+/m" + std::to_string(m);
      } else if (p < 900) {  // 10% one device in any site, all metrics
        f = "site/+/dev/" + std::to_string(d) + "/+";
      } else if (p < 995) {  // 9.5% everything of one device
        f = "site/" + std::to_string(s) + "/dev/" + std::to_string(d) + "/#";
      } else if (p < 999) {  // 0.4% a whole site
        f = "site/" + std::to_string(s) + "/#";
      } else {  // 0.1% first-level wildcard
        f = "+/" + std::to_string(s) + "/#";
      }
      made += trie.subscribe(key, f, SubOptions{.qos = 1}) ? 1 : 0;
    }
    std::uniform_int_distribution<size_t> pick_exact(0, exact.size() - 1);
    for (int i = 0; i < 4096; ++i) {
      hit_topics.push_back(i % 2 ? exact[pick_exact(rng)] : topic_of(site(rng), dev(rng), metric(rng)));
      miss_topics.push_back("other/" + std::to_string(site(rng)) + "/dev/" +
                            std::to_string(dev(rng)) + "/m1");
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void run(benchmark::State& state, const std::vector<std::string>& topics) {
  const SubscriptionTrie& trie = fixture().trie;
  size_t i = static_cast<size_t>(state.thread_index()) * 977;
  uint64_t delivered = 0;
  for (auto _ : state) {
    uint64_t sum = 0;
    trie.match(topics[i++ & 4095], [&](const Match& m) {
      sum += m.key;
      ++delivered;
    });
    benchmark::DoNotOptimize(sum);
  }
  state.counters["subs/match"] = benchmark::Counter(
      static_cast<double>(delivered) / static_cast<double>(state.iterations()),
      benchmark::Counter::kAvgThreads);
  state.counters["subscriptions"] =
      benchmark::Counter(static_cast<double>(trie.count()), benchmark::Counter::kAvgThreads);
}

void BM_TrieMatch100k(benchmark::State& state) { run(state, fixture().hit_topics); }
void BM_TrieMatch100kMiss(benchmark::State& state) { run(state, fixture().miss_topics); }

BENCHMARK(BM_TrieMatch100k);
BENCHMARK(BM_TrieMatch100k)->Threads(2)->UseRealTime();
BENCHMARK(BM_TrieMatch100kMiss);

// $share groups: one group of 8 members on a hot filter, round robin per match.
void BM_TrieMatchSharedGroup(benchmark::State& state) {
  static SubscriptionTrie trie;
  static const bool init = [] {
    for (uint64_t k = 0; k < 8; ++k) trie.subscribe(k, "$share/g/site/+/dev/+/m1", {});
    return true;
  }();
  benchmark::DoNotOptimize(init);
  const std::string topic = topic_of(3, 4, 1);
  for (auto _ : state) {
    uint64_t sum = 0;
    trie.match(topic, [&](const Match& m) { sum += m.key; });
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_TrieMatchSharedGroup);

}  // namespace
