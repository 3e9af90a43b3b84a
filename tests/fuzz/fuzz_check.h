#pragma once
// Shared by the libFuzzer targets: an assertion that stays on in every build type (a
// failed one aborts, which libFuzzer reports as a crash with its input saved), and a
// reader of fuzzer-chosen knobs from the front of the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                               \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

namespace petrel::fuzz {

// Takes bytes off the front of the input; 0 once it is used up (deterministic per input).
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(reinterpret_cast<const char*>(data)), n_(size) {}
  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return uint8_t(*p_++);
  }
  uint16_t u16() { return uint16_t(u8() << 8 | u8()); }
  // Up to max bytes (fewer when the input ends).
  std::string_view take(size_t max) {
    const size_t k = max < n_ ? max : n_;
    std::string_view s(p_, k);
    p_ += k;
    n_ -= k;
    return s;
  }
  std::string_view rest() { return take(n_); }

 private:
  const char* p_;
  size_t n_;
};

}  // namespace petrel::fuzz
