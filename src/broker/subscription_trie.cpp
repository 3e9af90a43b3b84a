// SubscriptionTrie: one node per filter level. match() is the publish hot path: it walks
// the topic by string_view slices, probes literal children with heterogeneous lookup and
// never allocates. Writers (subscribe/unsubscribe/set_shared_online) hold the exclusive
// lock; the only state readers mutate is the shared groups' atomic round-robin cursor.
#include "broker/subscription_trie.h"

#include <mutex>
#include <unordered_map>
#include <utility>

#include "broker/trie_util.h"
#include "protocol/topic.h"

namespace petrel::broker {

// Types private to this file. Named (not anonymous) namespace because the class's private
// Node derives from SubNode.
namespace trie_detail {

// The normal subscriptions held by one node. A plain vector for fast iteration in match();
// once it grows past kIndexAt entries (e.g. thousands of devices on "cmd/#") a key -> slot
// index keeps subscribe/unsubscribe O(1).
class SubList {
 public:
  const std::vector<Match>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

  // Adds or replaces; returns true when key was not there yet.
  bool upsert(SessionKey key, const SubOptions& opts, bool shared) {
    if (Match* m = find(key)) {
      m->opts = opts;
      return false;
    }
    items_.push_back(Match{key, opts, shared});
    if (index_) {
      index_->emplace(key, static_cast<uint32_t>(items_.size() - 1));
    } else if (items_.size() > kIndexAt) {
      build_index();
    }
    return true;
  }

  bool erase(SessionKey key) {
    const size_t pos = position(key);
    if (pos == items_.size()) return false;
    const size_t last = items_.size() - 1;
    if (pos != last) {
      items_[pos] = items_[last];
      if (index_) (*index_)[items_[pos].key] = static_cast<uint32_t>(pos);
    }
    items_.pop_back();
    if (index_) {
      index_->erase(key);
      if (items_.size() < kIndexAt / 2) index_.reset();
    }
    if (items_.empty()) items_.shrink_to_fit();
    return true;
  }

  Match* find(SessionKey key) {
    const size_t pos = position(key);
    return pos == items_.size() ? nullptr : &items_[pos];
  }

 private:
  static constexpr size_t kIndexAt = 16;

  size_t position(SessionKey key) const {
    if (index_) {
      auto it = index_->find(key);
      return it == index_->end() ? items_.size() : it->second;
    }
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].key == key) return i;
    }
    return items_.size();
  }

  void build_index() {
    index_ = std::make_unique<std::unordered_map<SessionKey, uint32_t>>();
    index_->reserve(items_.size() * 2);
    for (size_t i = 0; i < items_.size(); ++i) {
      index_->emplace(items_[i].key, static_cast<uint32_t>(i));
    }
  }

  std::vector<Match> items_;
  std::unique_ptr<std::unordered_map<SessionKey, uint32_t>> index_;
};

// One $share group on one filter. Members are partitioned: [0, online_) are online, the
// rest offline, so picking the next online member is one modulo, and the rotation stays
// fair however many members are offline.
struct SharedGroup {
  explicit SharedGroup(std::string_view n) : name(n) {}

  std::string name;
  std::vector<Match> members;  // Match::shared is always true
  size_t online = 0;
  mutable std::atomic<uint32_t> cursor{0};

  size_t position(SessionKey key) const {
    for (size_t i = 0; i < members.size(); ++i) {
      if (members[i].key == key) return i;
    }
    return members.size();
  }

  // Returns true when key is a new member (joins online).
  bool upsert(SessionKey key, const SubOptions& opts) {
    const size_t pos = position(key);
    if (pos != members.size()) {
      members[pos].opts = opts;
      return false;
    }
    members.push_back(Match{key, opts, true});
    std::swap(members.back(), members[online]);
    ++online;
    return true;
  }

  bool erase(SessionKey key) {
    size_t pos = position(key);
    if (pos == members.size()) return false;
    if (pos < online) {  // move it to the first offline slot first
      std::swap(members[pos], members[online - 1]);
      pos = --online;
    }
    std::swap(members[pos], members.back());
    members.pop_back();
    return true;
  }

  void set_online(SessionKey key, bool on) {
    const size_t pos = position(key);
    if (pos == members.size()) return;
    if (on && pos >= online) {
      std::swap(members[pos], members[online]);
      ++online;
    } else if (!on && pos < online) {
      std::swap(members[pos], members[online - 1]);
      --online;
    }
  }

  // Round robin over online members; over all members when none is online.
  const Match& pick() const {
    const size_t n = online != 0 ? online : members.size();
    const uint32_t c = cursor.fetch_add(1, std::memory_order_relaxed);
    return members[c % n];
  }
};

// One filter level.
struct SubNode {
  LevelMap<std::unique_ptr<SubNode>> children;  // literal levels
  std::unique_ptr<SubNode> plus;   // '+' child
  std::unique_ptr<SubNode> hash;   // '#' child: a leaf; matches this level and every deeper one
  SubList subs;
  std::vector<std::unique_ptr<SharedGroup>> groups;

  bool empty() const {
    return subs.empty() && groups.empty() && children.empty() && !plus && !hash;
  }

  SharedGroup* find_group(std::string_view name) const {
    for (const auto& g : groups) {
      if (g->name == name) return g.get();
    }
    return nullptr;
  }
};

}  // namespace trie_detail

// The root. Only the root is a Node; every other level is a plain SubNode.
struct SubscriptionTrie::Node : trie_detail::SubNode {};

namespace {

using trie_detail::next_level;
using trie_detail::SharedGroup;
using trie_detail::SubNode;

}  // namespace

SubscriptionTrie::SubscriptionTrie() : root_(std::make_unique<Node>()) {}
SubscriptionTrie::~SubscriptionTrie() {
  // Tear down without recursion: a filter may have tens of thousands of levels.
  std::vector<std::unique_ptr<SubNode>> stack;
  auto take_children = [&stack](SubNode& n) {
    for (auto& [level, child] : n.children) stack.push_back(std::move(child));
    if (n.plus) stack.push_back(std::move(n.plus));
    if (n.hash) stack.push_back(std::move(n.hash));
  };
  take_children(*root_);
  while (!stack.empty()) {
    std::unique_ptr<SubNode> n = std::move(stack.back());
    stack.pop_back();
    take_children(*n);
  }
}

namespace {

struct ParsedFilter {
  std::string_view filter;
  std::string_view group;  // empty for a normal subscription
  bool shared = false;
};

ParsedFilter parse(std::string_view full) {
  ParsedFilter p;
  p.filter = full;
  std::string_view group, filter;
  if (protocol::split_shared(full, group, filter)) {
    p.shared = true;
    p.group = group;
    p.filter = filter;
  }
  return p;
}

}  // namespace

bool SubscriptionTrie::subscribe(SessionKey key, std::string_view full_filter,
                                 const SubOptions& opts) {
  const ParsedFilter pf = parse(full_filter);
  std::unique_lock lk(mu_);
  SubNode* n = root_.get();
  std::string_view rest = pf.filter;
  bool last = false;
  while (!last) {
    const std::string_view level = next_level(rest, last);
    std::unique_ptr<SubNode>* slot;
    if (level == "+") {
      slot = &n->plus;
    } else if (level == "#") {
      slot = &n->hash;
    } else {
      auto it = n->children.find(level);
      if (it == n->children.end()) {
        it = n->children.emplace(std::string(level), nullptr).first;
      }
      slot = &it->second;
    }
    if (!*slot) {
      *slot = std::make_unique<SubNode>();
      nodes_.fetch_add(1, std::memory_order_relaxed);
    }
    n = slot->get();
  }

  bool added;
  if (pf.shared) {
    SharedGroup* g = n->find_group(pf.group);
    if (g == nullptr) {
      n->groups.push_back(std::make_unique<SharedGroup>(pf.group));
      g = n->groups.back().get();
    }
    added = g->upsert(key, opts);
  } else {
    added = n->subs.upsert(key, opts, false);
  }
  if (added) count_.fetch_add(1, std::memory_order_relaxed);
  if (added && pf.shared) shared_count_.fetch_add(1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  return added;
}

bool SubscriptionTrie::unsubscribe(SessionKey key, std::string_view full_filter) {
  const ParsedFilter pf = parse(full_filter);
  std::unique_lock lk(mu_);

  // The path from the root, each step with the level that leads to it, for pruning.
  struct Step {
    SubNode* node;
    std::string_view level;
  };
  std::vector<Step> path;
  path.push_back({root_.get(), {}});
  std::string_view rest = pf.filter;
  bool last = false;
  while (!last) {
    const std::string_view level = next_level(rest, last);
    SubNode* n = path.back().node;
    SubNode* child = nullptr;
    if (level == "+") {
      child = n->plus.get();
    } else if (level == "#") {
      child = n->hash.get();
    } else if (auto it = n->children.find(level); it != n->children.end()) {
      child = it->second.get();
    }
    if (child == nullptr) return false;
    path.push_back({child, level});
  }

  SubNode* n = path.back().node;
  if (pf.shared) {
    auto git = n->groups.begin();
    while (git != n->groups.end() && (*git)->name != pf.group) ++git;
    if (git == n->groups.end() || !(*git)->erase(key)) return false;
    if ((*git)->members.empty()) n->groups.erase(git);
    shared_count_.fetch_sub(1, std::memory_order_relaxed);
  } else if (!n->subs.erase(key)) {
    return false;
  }
  count_.fetch_sub(1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);

  // Prune empty nodes bottom-up; the root always stays.
  for (size_t i = path.size() - 1; i > 0 && path[i].node->empty(); --i) {
    nodes_.fetch_sub(1, std::memory_order_relaxed);
    SubNode* parent = path[i - 1].node;
    const std::string_view level = path[i].level;
    if (level == "+") {
      parent->plus.reset();
    } else if (level == "#") {
      parent->hash.reset();
    } else {
      parent->children.erase(parent->children.find(level));
    }
  }
  return true;
}

void SubscriptionTrie::set_shared_online(SessionKey key, std::string_view shared_filter,
                                         bool online) {
  const ParsedFilter pf = parse(shared_filter);
  if (!pf.shared) return;
  std::unique_lock lk(mu_);
  const SubNode* n = root_.get();
  std::string_view rest = pf.filter;
  bool last = false;
  while (!last && n != nullptr) {
    const std::string_view level = next_level(rest, last);
    if (level == "+") {
      n = n->plus.get();
    } else if (level == "#") {
      n = n->hash.get();
    } else {
      auto it = n->children.find(level);
      n = it == n->children.end() ? nullptr : it->second.get();
    }
  }
  if (n == nullptr) return;
  if (SharedGroup* g = n->find_group(pf.group)) g->set_online(key, online);
}

namespace {

// Reports every subscription held directly by n.
inline void emit(const SubNode& n, void* ctx, void (*fn)(void*, const Match&)) {
  for (const Match& m : n.subs.items()) fn(ctx, m);
  for (const auto& g : n.groups) fn(ctx, g->pick());
}

// Pending '+' branches of a match. Levels pushed are strictly increasing from bottom to
// top (a branch popped at level L only pushes deeper ones), so the depth never exceeds the
// topic's level count. The first kInline live on the stack; only pathological topics
// (more pending '+' branches than that, e.g. "+/+/+/..." filters against a deep topic)
// spill to the heap. Iterative on purpose: a 65535-byte topic has 32768 levels, and
// recursion that deep overflows a worker's stack.
class BranchStack {
 public:
  struct Item {
    const SubNode* node;
    std::string_view rest;  // remaining topic, at least one level
  };

  bool empty() const { return size_ == 0; }

  void push(const SubNode* node, std::string_view rest) {
    if (size_ < kInline) {
      inline_[size_] = Raw{node, rest.data(), rest.size()};
    } else {
      spill_.push_back(Item{node, rest});
    }
    ++size_;
  }

  Item pop() {
    --size_;
    if (size_ < kInline) {
      const Raw& r = inline_[size_];
      return Item{r.node, std::string_view(r.data, r.size)};
    }
    Item item = spill_.back();
    spill_.pop_back();
    return item;
  }

 private:
  static constexpr size_t kInline = 32;
  // Trivially default-constructible (unlike string_view), so the inline slots are not
  // zeroed on every match().
  struct Raw {
    const SubNode* node;
    const char* data;
    size_t size;
  };
  Raw inline_[kInline];
  size_t size_ = 0;
  std::vector<Item> spill_;
};

// Reports every subscription below start matching the remaining topic levels (rest, at
// least one level). Literal children are followed in the inner loop; '+' branches are
// deferred on a BranchStack, so the common no-wildcard path never touches it.
void walk(const SubNode* start, std::string_view topic, void* ctx,
          void (*fn)(void*, const Match&)) {
  BranchStack branches;
  branches.push(start, topic);
  while (!branches.empty()) {
    const BranchStack::Item item = branches.pop();
    const SubNode* n = item.node;
    std::string_view rest = item.rest;
    bool last = false;
    for (;;) {
      // "x/#" matches "x" itself and everything below it [MQTT-4.7.1-2].
      if (n->hash) emit(*n->hash, ctx, fn);
      const std::string_view level = next_level(rest, last);
      if (const SubNode* plus = n->plus.get()) {
        if (last) {
          emit(*plus, ctx, fn);
          if (plus->hash) emit(*plus->hash, ctx, fn);
        } else {
          branches.push(plus, rest);
        }
      }
      if (n->children.empty()) break;
      auto it = n->children.find(level);
      if (it == n->children.end()) break;
      n = it->second.get();
      if (last) {
        emit(*n, ctx, fn);
        if (n->hash) emit(*n->hash, ctx, fn);
        break;
      }
    }
  }
}

}  // namespace

void SubscriptionTrie::match_locked(std::string_view topic, void* ctx, VisitFn fn) const {
  if (topic.empty()) return;
  const SubNode* root = root_.get();
  if (topic.front() != '$') {
    walk(root, topic, ctx, fn);
    return;
  }
  // [MQTT-4.7.2-1] a topic starting with '$' is not matched by a filter whose first level
  // is a wildcard: skip the root's '#' and '+' children, follow only the literal level.
  if (root->children.empty()) return;
  std::string_view rest = topic;
  bool last = false;
  const std::string_view level = next_level(rest, last);
  auto it = root->children.find(level);
  if (it == root->children.end()) return;
  const SubNode* n = it->second.get();
  if (last) {
    emit(*n, ctx, fn);
    if (n->hash) emit(*n->hash, ctx, fn);
    return;
  }
  walk(n, rest, ctx, fn);
}

}  // namespace petrel::broker
