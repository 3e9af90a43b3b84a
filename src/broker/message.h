#pragma once
// Message: one routed application message, immutable once built, shared by reference
// between the subscribers that hold it (queued or in flight) on any worker. A single
// allocation holds the header and the topic, forwarded properties and payload bytes.
// Small messages come from a per-thread pool (one block per message was ~8% of the
// broker's CPU at QoS 1 with malloc); a block freed on another thread joins that thread's
// pool, which is bounded, so nothing grows without limit.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace petrel::broker {

class Message {
 public:
  static Message* create(std::string_view topic, std::string_view props, std::string_view payload,
                         uint8_t qos, bool retain, int64_t expiry_at_ms, uint32_t expiry_interval,
                         uint64_t origin);
  void ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }

  std::string_view topic() const { return {data(), topic_len_}; }
  std::string_view props() const { return {data() + topic_len_, props_len_}; }
  std::string_view payload() const { return {data() + topic_len_ + props_len_, payload_len_}; }
  uint8_t qos() const { return qos_; }
  bool retain() const { return retain_; }
  int64_t expiry_at_ms() const { return expiry_at_ms_; }  // 0 = never
  uint32_t expiry_interval() const { return expiry_interval_; }
  uint64_t origin() const { return origin_; }  // SessionKey of the publisher, 0 = broker
  // The durable store's id of this message (0 until a persistent session's record needs
  // one; then set once, by whichever worker comes first, and shared by every record of it).
  std::atomic<uint64_t>& store_id() const { return store_id_; }
  size_t size_bytes() const { return topic_len_ + props_len_ + payload_len_; }
  bool expired(int64_t now_ms) const { return expiry_at_ms_ != 0 && now_ms >= expiry_at_ms_; }

 private:
  Message() = default;
  void destroy();
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  char* data() { return reinterpret_cast<char*>(this + 1); }

  std::atomic<uint32_t> refs_{1};
  uint32_t topic_len_ = 0, props_len_ = 0, payload_len_ = 0;
  uint8_t qos_ = 0;
  bool retain_ = false;
  uint8_t size_class_ = 0;  // the pool's size class of this block, 0 = not pooled
  uint32_t expiry_interval_ = 0;
  int64_t expiry_at_ms_ = 0;
  uint64_t origin_ = 0;
  mutable std::atomic<uint64_t> store_id_{0};
};

// Owning reference to a Message (intrusive count).
class MessageRef {
 public:
  MessageRef() = default;
  explicit MessageRef(Message* adopt) : m_(adopt) {}
  MessageRef(const MessageRef& o) : m_(o.m_) { if (m_) m_->ref(); }
  MessageRef(MessageRef&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  MessageRef& operator=(MessageRef o) noexcept { std::swap(m_, o.m_); return *this; }
  ~MessageRef() { if (m_) m_->unref(); }
  Message* get() const { return m_; }
  Message* operator->() const { return m_; }
  Message& operator*() const { return *m_; }
  explicit operator bool() const { return m_ != nullptr; }
  void reset() { if (m_) { m_->unref(); m_ = nullptr; } }

 private:
  Message* m_ = nullptr;
};

}  // namespace petrel::broker
