#pragma once
// Time is injected: the broker core asks a Clock, tests use ManualClock.
#include <time.h>

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
  // CLOCK_MONOTONIC_COARSE: a few ms of resolution (enough for keepalive, expiry and
  // timers) at a fraction of the cost; the core reads the time several times per message.
  int64_t now_ms() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
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
