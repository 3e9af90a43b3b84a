#include "web/rate_limiter.h"

#include <algorithm>

namespace petrel::web {

int64_t LoginRateLimiter::retry_after_s(std::string_view address, int64_t now_ms) const {
  auto it = table_.find(address);
  if (it == table_.end() || it->second.locked_until <= now_ms) return 0;
  return (it->second.locked_until - now_ms + 999) / 1000;
}

void LoginRateLimiter::make_room(int64_t now_ms) {
  if (table_.size() < limits_.max_addresses) return;
  // Forgetting the address untouched longest: at worst it gets a fresh window.
  auto oldest = std::min_element(table_.begin(), table_.end(),
                                 [](const auto& a, const auto& b) { return a.second.touched < b.second.touched; });
  table_.erase(oldest);
}

int64_t LoginRateLimiter::failure(std::string_view address, int64_t now_ms) {
  auto it = table_.find(address);
  if (it == table_.end()) {
    make_room(now_ms);
    it = table_.emplace(std::string(address), Entry{0, now_ms, 0, 0, now_ms}).first;
  }
  Entry& e = it->second;
  e.touched = now_ms;
  if (e.last_lock > 0) {
    // Locked before and still failing once the lock ended: the next lock is twice as long.
    // A quiet period as long as the longest lock forgets the history.
    if (now_ms - e.locked_until >= limits_.max_lock.count()) {
      e = Entry{0, now_ms, 0, 0, now_ms};
    } else {
      e.last_lock = std::min<int64_t>(e.last_lock * 2, limits_.max_lock.count());
      e.locked_until = now_ms + e.last_lock;
      return e.last_lock;
    }
  }
  if (now_ms - e.window_start >= limits_.window.count()) {
    e.failures = 0;
    e.window_start = now_ms;
  }
  if (++e.failures < limits_.failures_allowed) return 0;
  e.last_lock = std::min<int64_t>(limits_.first_lock.count(), limits_.max_lock.count());
  e.locked_until = now_ms + e.last_lock;
  return e.last_lock;
}

}  // namespace petrel::web
