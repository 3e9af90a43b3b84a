#pragma once
// LoginRateLimiter: failed password checks (Basic or the login route) per client address.
// Up to `failures_allowed` failures within `window` are answered normally; the one that
// reaches the limit locks the address for `first_lock`, and every failure after a lock
// ends doubles the next lock, up to `max_lock`. While locked, password checks are not even
// attempted (429). A success clears the address. The table holds at most `max_addresses`
// (the one untouched longest goes first), so a flood of addresses costs bounded memory.
// Not thread-safe: Auth calls it under its lock. Time comes from the caller (milliseconds
// of a monotonic clock) so tests need no sleeps.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/file_text.h"

namespace petrel::web {

struct RateLimits {
  int failures_allowed = 5;
  std::chrono::milliseconds window{60'000};
  std::chrono::milliseconds first_lock{60'000};
  std::chrono::milliseconds max_lock{15 * 60'000};
  size_t max_addresses = 4096;
};

class LoginRateLimiter {
 public:
  explicit LoginRateLimiter(RateLimits limits = {}) : limits_(limits) {}

  // Seconds until the address may try again (rounded up), 0 when it may try now.
  int64_t retry_after_s(std::string_view address, int64_t now_ms) const;
  // Records a failure; returns the lock it started in milliseconds, 0 when none.
  int64_t failure(std::string_view address, int64_t now_ms);
  void success(std::string_view address) { table_.erase(std::string(address)); }
  size_t tracked() const { return table_.size(); }

 private:
  struct Entry {
    int failures = 0;          // within the window that started at window_start
    int64_t window_start = 0;
    int64_t locked_until = 0;
    int64_t last_lock = 0;     // length of the last lock, doubled by the next one
    int64_t touched = 0;
  };
  void make_room(int64_t now_ms);

  RateLimits limits_;
  std::unordered_map<std::string, Entry, auth::StringHash, std::equal_to<>> table_;
};

}  // namespace petrel::web
