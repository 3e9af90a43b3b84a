#include "broker/message.h"

#include <cstdlib>

namespace petrel::broker {

namespace {

// Size classes of 128 << (c - 1) bytes, c = 1..kClasses; larger messages use the heap.
constexpr int kClasses = 4;
constexpr size_t kMinBlock = 128;
// Each thread keeps at most this many bytes of free blocks per class (a worker that routes
// a burst keeps what the burst needed, up to this, for the next one).
constexpr size_t kPoolBytesPerClass = 512 * 1024;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;  // let ASan see every block's lifetime
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif
#else
constexpr bool kPooled = true;
#endif

int size_class(size_t n) {
  size_t block = kMinBlock;
  for (int c = 1; c <= kClasses; ++c, block <<= 1)
    if (n <= block) return c;
  return 0;
}

size_t block_size(int c) { return kMinBlock << (c - 1); }

struct FreeBlock {
  FreeBlock* next;
};

// The lists are plain data (thread-local storage that is never destroyed), so a message
// freed late in a thread's exit, after the guard below emptied them, is still safe: it
// goes back to the heap.
struct PoolLists {
  FreeBlock* head[kClasses];
  size_t count[kClasses];
  bool closed;
};
thread_local PoolLists t_lists{};

struct PoolGuard {
  PoolGuard() = default;
  PoolGuard(const PoolGuard&) = delete;
  PoolGuard& operator=(const PoolGuard&) = delete;
  ~PoolGuard() {
    t_lists.closed = true;
    for (int i = 0; i < kClasses; ++i) {
      while (FreeBlock* b = t_lists.head[i]) {
        t_lists.head[i] = b->next;
        ::operator delete(b);
      }
      t_lists.count[i] = 0;
    }
  }
};
thread_local PoolGuard t_guard;

void* take(int c) {
  FreeBlock*& head = t_lists.head[c - 1];
  if (!head) {
    (void)&t_guard;  // odr-use: constructs the guard, which empties the lists at thread exit
    return ::operator new(block_size(c));
  }
  FreeBlock* b = head;
  head = b->next;
  --t_lists.count[c - 1];
  return b;
}

void give(int c, void* p) {
  if (t_lists.closed || t_lists.count[c - 1] >= kPoolBytesPerClass / block_size(c)) {
    ::operator delete(p);
    return;
  }
  (void)&t_guard;
  auto* b = static_cast<FreeBlock*>(p);
  b->next = t_lists.head[c - 1];
  t_lists.head[c - 1] = b;
  ++t_lists.count[c - 1];
}

}  // namespace

Message* Message::create(std::string_view topic, std::string_view props, std::string_view payload,
                         uint8_t qos, bool retain, int64_t expiry_at_ms, uint32_t expiry_interval,
                         uint64_t origin) {
  size_t n = sizeof(Message) + topic.size() + props.size() + payload.size();
  const int c = kPooled ? size_class(n) : 0;
  void* mem = c ? take(c) : ::operator new(n);
  auto* m = new (mem) Message();
  m->size_class_ = static_cast<uint8_t>(c);
  m->topic_len_ = static_cast<uint32_t>(topic.size());
  m->props_len_ = static_cast<uint32_t>(props.size());
  m->payload_len_ = static_cast<uint32_t>(payload.size());
  m->qos_ = qos;
  m->retain_ = retain;
  m->expiry_at_ms_ = expiry_at_ms;
  m->expiry_interval_ = expiry_interval;
  m->origin_ = origin;
  char* p = m->data();
  if (!topic.empty()) std::memcpy(p, topic.data(), topic.size());
  if (!props.empty()) std::memcpy(p + topic.size(), props.data(), props.size());
  if (!payload.empty()) std::memcpy(p + topic.size() + props.size(), payload.data(), payload.size());
  return m;
}

void Message::destroy() {
  const int c = size_class_;
  this->~Message();
  if (c) give(c, this);
  else ::operator delete(this);
}

}  // namespace petrel::broker
