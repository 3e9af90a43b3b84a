#pragma once
// Retained messages behind an interface, so a durable store (SQLite) can replace the
// in-memory one later. Thread-safe: any worker may call any method.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace petrel::broker {

// An immutable retained message. Shared between workers (atomic refcount).
struct RetainedMessage {
  std::string topic;
  std::string payload;
  std::string forward_props;   // encoded v5 properties forwarded unchanged (see Publish)
  uint8_t qos = 0;
  int64_t expiry_at_ms = 0;    // monotonic ms when it expires; 0 = never
  uint32_t expiry_interval = 0;  // the original interval (for the remaining-time math)
  int64_t stored_at_ms = 0;
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
  virtual size_t count() const = 0;
  virtual size_t bytes() const = 0;
};

// The in-memory implementation: a topic trie under a mutex.
std::unique_ptr<RetainedStore> make_memory_retained_store();

}  // namespace petrel::broker
