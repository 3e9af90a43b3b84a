// The in-memory RetainedStore: a trie of topic levels under one mutex. A subscribe with a
// selective filter ("site/3/+/temp") only walks the matching branches instead of testing
// every retained topic. Matches are collected under the lock and visited after it is
// released, so a visitor may call back into the store and slow visitors do not block
// publishers.
#include "broker/retained_store.h"

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "broker/trie_util.h"

namespace petrel::broker {

namespace retained_detail {

struct RetainedNode {
  trie_detail::LevelMap<std::unique_ptr<RetainedNode>> children;
  RetainedPtr msg;  // the retained message whose topic ends at this level, if any
};

// Tears a subtree down without recursion (a topic may have tens of thousands of levels).
void destroy_iteratively(std::unique_ptr<RetainedNode> root) {
  std::vector<std::unique_ptr<RetainedNode>> stack;
  stack.push_back(std::move(root));
  while (!stack.empty()) {
    std::unique_ptr<RetainedNode> n = std::move(stack.back());
    stack.pop_back();
    for (auto& [level, child] : n->children) stack.push_back(std::move(child));
  }
}

class MemoryRetainedStore final : public RetainedStore {
 public:
  MemoryRetainedStore() : root_(std::make_unique<RetainedNode>()) {}
  ~MemoryRetainedStore() override { destroy_iteratively(std::move(root_)); }

  void set(RetainedPtr msg) override {
    if (!msg) return;
    if (msg->payload.empty()) {  // [MQTT-3.3.1-10] an empty retained payload clears it
      erase(msg->topic);
      return;
    }
    std::lock_guard lk(mu_);
    RetainedNode* n = root_.get();
    std::string_view rest = msg->topic;
    bool last = false;
    while (!last) {
      const std::string_view level = trie_detail::next_level(rest, last);
      auto it = n->children.find(level);
      if (it == n->children.end()) {
        it = n->children.emplace(std::string(level), std::make_unique<RetainedNode>()).first;
      }
      n = it->second.get();
    }
    const size_t add = size_of(*msg);
    if (n->msg) {
      n->msg->superseded.store(true, std::memory_order_release);
      bytes_.fetch_sub(size_of(*n->msg), std::memory_order_relaxed);
    } else {
      count_.fetch_add(1, std::memory_order_relaxed);
    }
    bytes_.fetch_add(add, std::memory_order_relaxed);
    n->msg = std::move(msg);
  }

  void erase(std::string_view topic) override {
    std::lock_guard lk(mu_);
    erase_locked(topic);
  }

  void match(std::string_view filter, int64_t now_ms,
             const std::function<void(const RetainedPtr&)>& visit) override {
    std::vector<RetainedPtr> found;
    {
      std::lock_guard lk(mu_);
      std::vector<RetainedPtr> expired;
      collect_locked(filter, now_ms, found, expired);
      for (const RetainedPtr& m : expired) erase_locked(m->topic);
    }
    for (const RetainedPtr& m : found) visit(m);
  }

  std::vector<RetainedPtr> snapshot(std::string_view filter, int64_t now_ms) override {
    std::vector<RetainedPtr> found;
    std::lock_guard lk(mu_);
    std::vector<RetainedPtr> expired;
    collect_locked(filter, now_ms, found, expired);
    for (const RetainedPtr& m : expired) erase_locked(m->topic);
    return found;
  }

  std::vector<std::string> expire(int64_t now_ms) override {
    std::vector<std::string> topics;
    std::lock_guard lk(mu_);
    std::vector<const RetainedNode*> stack{root_.get()};
    while (!stack.empty()) {
      const RetainedNode* n = stack.back();
      stack.pop_back();
      if (n->msg && is_expired(*n->msg, now_ms)) topics.push_back(n->msg->topic);
      for (const auto& [level, child] : n->children) stack.push_back(child.get());
    }
    for (const std::string& t : topics) erase_locked(t);
    return topics;
  }

  size_t count() const override { return count_.load(std::memory_order_relaxed); }
  size_t bytes() const override { return bytes_.load(std::memory_order_relaxed); }

 private:
  static size_t size_of(const RetainedMessage& m) { return m.topic.size() + m.payload.size(); }

  static bool is_expired(const RetainedMessage& m, int64_t now_ms) {
    return m.expiry_at_ms != 0 && m.expiry_at_ms <= now_ms;
  }

  void erase_locked(std::string_view topic) {
    // Remember the path to prune the levels left empty.
    struct Step {
      RetainedNode* node;
      std::string_view level;
    };
    std::vector<Step> path;
    path.push_back({root_.get(), {}});
    std::string_view rest = topic;
    bool last = false;
    while (!last) {
      const std::string_view level = trie_detail::next_level(rest, last);
      RetainedNode* n = path.back().node;
      auto it = n->children.find(level);
      if (it == n->children.end()) return;
      path.push_back({it->second.get(), level});
    }
    RetainedNode* n = path.back().node;
    if (!n->msg) return;
    n->msg->superseded.store(true, std::memory_order_release);
    bytes_.fetch_sub(size_of(*n->msg), std::memory_order_relaxed);
    count_.fetch_sub(1, std::memory_order_relaxed);
    n->msg.reset();
    for (size_t i = path.size() - 1; i > 0; --i) {
      RetainedNode* node = path[i].node;
      if (node->msg || !node->children.empty()) break;
      RetainedNode* parent = path[i - 1].node;
      parent->children.erase(parent->children.find(path[i].level));
    }
  }

  // Appends the unexpired messages matching filter to found and the expired ones it meets
  // to expired. Iterative: the work stack holds (node, filter levels still to match).
  void collect_locked(std::string_view filter, int64_t now_ms, std::vector<RetainedPtr>& found,
                      std::vector<RetainedPtr>& expired) const {
    auto take = [&](const RetainedNode& n) {
      if (!n.msg) return;
      (is_expired(*n.msg, now_ms) ? expired : found).push_back(n.msg);
    };
    struct Work {
      const RetainedNode* node;
      std::string_view rest;  // remaining filter, at least one level
    };
    std::vector<Work> work;
    std::vector<const RetainedNode*> subtree;
    work.push_back({root_.get(), filter});
    while (!work.empty()) {
      const Work w = work.back();
      work.pop_back();
      // [MQTT-4.7.2-1] first-level wildcards skip topics starting with '$'.
      const bool at_root = w.node == root_.get();
      std::string_view rest = w.rest;
      bool last = false;
      const std::string_view level = trie_detail::next_level(rest, last);
      if (level == "#") {
        // Everything below, and this level itself ("a/#" matches "a") [MQTT-4.7.1-2].
        if (!at_root) take(*w.node);
        subtree.clear();
        for (const auto& [name, child] : w.node->children) {
          if (at_root && name.starts_with('$')) continue;
          subtree.push_back(child.get());
        }
        while (!subtree.empty()) {
          const RetainedNode* n = subtree.back();
          subtree.pop_back();
          take(*n);
          for (const auto& [name, child] : n->children) subtree.push_back(child.get());
        }
      } else if (level == "+") {
        for (const auto& [name, child] : w.node->children) {
          if (at_root && name.starts_with('$')) continue;
          if (last) {
            take(*child);
          } else {
            work.push_back({child.get(), rest});
          }
        }
      } else {
        auto it = w.node->children.find(level);
        if (it == w.node->children.end()) continue;
        if (last) {
          take(*it->second);
        } else {
          work.push_back({it->second.get(), rest});
        }
      }
    }
  }

  mutable std::mutex mu_;
  std::unique_ptr<RetainedNode> root_;
  std::atomic<size_t> count_{0};
  std::atomic<size_t> bytes_{0};
};

}  // namespace retained_detail

std::unique_ptr<RetainedStore> make_memory_retained_store() {
  return std::make_unique<retained_detail::MemoryRetainedStore>();
}

}  // namespace petrel::broker
