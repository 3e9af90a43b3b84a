#pragma once
// Time is injected: the broker core asks a Clock, tests use ManualClock.
#include <chrono>
#include <cstdint>

namespace petrel {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds (for keepalive, expiry, timers).
  virtual int64_t now_ms() const = 0;
  // Wall-clock seconds since the epoch (for $SYS and log timestamps).
  virtual int64_t wall_seconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t wall_seconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  int64_t now_ms() const override { return ms_; }
  int64_t wall_seconds() const override { return 1'700'000'000 + ms_ / 1000; }
  void advance_ms(int64_t d) { ms_ += d; }
  void set_ms(int64_t v) { ms_ = v; }

 private:
  int64_t ms_ = 1'000'000;
};

}  // namespace petrel
