#pragma once
// SubscriptionTrie: the global topic-filter index. Read-mostly: match() takes a shared
// lock, (un)subscribe take the exclusive lock. One node per topic level; '+' and '#'
// children are kept apart from literal children so matching is O(levels) in the common
// case. Shared subscriptions ($share/group/filter) live in the node of their filter, one
// group per name, with a round-robin cursor; match() yields one member per group,
// preferring online members.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "broker/trie_rwlock.h"

namespace petrel::broker {

// Identifies a session: (worker << 56) | (slot << 32) | generation. Opaque to the trie.
using SessionKey = uint64_t;

struct SubOptions {
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;  // 0 = none
  // Not an MQTT option: the subscriber's session is journaled in the durable store, so a
  // QoS 1/2 message routed to it is acknowledged only once stored (persistence_sync commit).
  bool durable = false;
};

struct Match {
  SessionKey key;
  SubOptions opts;
  bool shared;  // delivered as a member of a $share group
};

class SubscriptionTrie {
 public:
  SubscriptionTrie();
  ~SubscriptionTrie();
  SubscriptionTrie(const SubscriptionTrie&) = delete;
  SubscriptionTrie& operator=(const SubscriptionTrie&) = delete;

  // Adds or replaces key's subscription to filter (a normal or "$share/g/f" filter, already
  // validated). Returns true when it is new, false when an existing one was replaced.
  bool subscribe(SessionKey key, std::string_view filter, const SubOptions& opts);
  // Removes it; returns false when key had no such subscription.
  bool unsubscribe(SessionKey key, std::string_view filter);
  // Marks key online/offline in the shared group of a "$share/g/f" filter it holds.
  void set_shared_online(SessionKey key, std::string_view shared_filter, bool online);

  // Calls visit(const Match&) for every subscription matching topic (a valid topic name):
  // each normal subscription, and one chosen member per matching shared group (round
  // robin over online members; over all members when none is online). Shared lock, so
  // visit must not call back into the trie.
  // [MQTT-4.7.2-1]: wildcards at the first level do not match topics starting with '$'.
  template <class F>
  void match(std::string_view topic, F&& visit) const {
    std::shared_lock lk(mu_);
    // A function_ref-style callback: no std::function allocation or type erasure cost
    // beyond one indirect call per reported match.
    using Fn = std::remove_reference_t<F>;
    void* ctx = const_cast<void*>(static_cast<const void*>(std::addressof(visit)));
    match_locked(topic, ctx, [](void* p, const Match& m) {
      (*static_cast<Fn*>(p))(m);
    });
  }

  size_t count() const { return count_.load(std::memory_order_relaxed); }
  // Of those, the members of $share groups.
  size_t shared_count() const { return shared_count_.load(std::memory_order_relaxed); }
  // Changes whenever the set of normal subscriptions or their options change, so a
  // worker can cache match results per topic and know when to drop them. (Shared-group
  // online state does not bump it: results with shared members are never cached.)
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Trie nodes below the root (memory accounting, $SYS; shows that unsubscribe prunes).
  size_t node_count() const { return nodes_.load(std::memory_order_relaxed); }

 private:
  struct Node;
  using VisitFn = void (*)(void* ctx, const Match& m);
  void match_locked(std::string_view topic, void* ctx, VisitFn fn) const;
  mutable TrieRwLock mu_;  // writer-preferring; see trie_rwlock.h
  std::unique_ptr<Node> root_;
  std::atomic<size_t> count_{0};
  std::atomic<size_t> shared_count_{0};
  std::atomic<uint64_t> generation_{1};
  std::atomic<size_t> nodes_{0};
};

}  // namespace petrel::broker
