#pragma once
// Retained messages behind an interface, so a durable store (SQLite) can replace the
// in-memory one later. Thread-safe: any worker may call any method.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::broker {

// Who published a retained message, for check_retain_source: before the message is sent to
// a new subscriber, this identity must still be allowed to publish on its topic. One per
// publishing connection, shared by the retained messages it leaves (immutable).
struct RetainSource {
  std::string client_id;
  std::string username;   // "" = none
  int listener = -1;      // the listener it came in on (Session::listener; -1 = none known)
};
using RetainSourcePtr = std::shared_ptr<const RetainSource>;

// An immutable retained message. Shared between workers (atomic refcount).
struct RetainedMessage {
  std::string topic;
  std::string payload;
  std::string forward_props;   // encoded v5 properties forwarded unchanged (see Publish)
  uint8_t qos = 0;
  int64_t expiry_at_ms = 0;    // monotonic ms when it expires; 0 = never
  uint32_t expiry_interval = 0;  // the original interval (for the remaining-time math)
  int64_t stored_at_ms = 0;
  // The publisher; null for what the broker publishes itself and what its trusted internal
  // connections (bridges) publish: those are never checked.
  RetainSourcePtr source;
  // Set by the store (under its lock) when this message stops being the topic's retained
  // message: replaced, cleared or expired out of it. A subscription's retained delivery
  // works from a list taken when it starts (WorkerCore::send_retained_chunk) and skips
  // what has since been superseded, so a cleared message is not sent after its clear.
  mutable std::atomic<bool> superseded{false};
  bool is_superseded() const { return superseded.load(std::memory_order_acquire); }
};
using RetainedPtr = std::shared_ptr<const RetainedMessage>;

class RetainedStore {
 public:
  virtual ~RetainedStore() = default;
  // Stores (replaces) the message for msg->topic; an empty payload clears it instead.
  virtual void set(RetainedPtr msg) = 0;
  virtual void erase(std::string_view topic) = 0;
  // Visits every unexpired retained message whose topic matches filter (a valid,
  // non-shared filter; '$' rule as for subscriptions). Expired ones are removed.
  virtual void match(std::string_view filter, int64_t now_ms,
                     const std::function<void(const RetainedPtr&)>& visit) = 0;
  // The same matches as a list (in no particular order), for a delivery that proceeds in
  // chunks. A store that can should mark what it replaces or removes superseded.
  virtual std::vector<RetainedPtr> snapshot(std::string_view filter, int64_t now_ms) {
    std::vector<RetainedPtr> out;
    match(filter, now_ms, [&](const RetainedPtr& m) { out.push_back(m); });
    return out;
  }
  // Removes every expired message (retain_expiry_interval's sweep, for topics nobody
  // subscribes to); returns their topics.
  virtual std::vector<std::string> expire(int64_t now_ms) = 0;
  virtual size_t count() const = 0;
  virtual size_t bytes() const = 0;
};

// The in-memory implementation: a topic trie under a mutex.
std::unique_ptr<RetainedStore> make_memory_retained_store();

}  // namespace petrel::broker
