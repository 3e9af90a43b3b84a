#include "protocol/utf8.h"

#include "protocol/wire.h"

#include <cstdint>
#include <cstring>

namespace petrel::protocol {

namespace {

// True when none of the 8 bytes has the high bit set and none is zero.
inline bool plain_ascii8(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  const bool has_high = (v & kHigh) != 0;
  const bool has_zero = ((v - kOnes) & ~v & kHigh) != 0;
  return !has_high && !has_zero;
}

inline bool cont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

// Well-formed UTF-8 per RFC 3629 / Unicode table 3-7: no overlong forms, no surrogates
// (U+D800..U+DFFF, [MQTT-1.5.4-1]), nothing above U+10FFFF, and no U+0000 [MQTT-1.5.4-2].
bool valid_mqtt_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8 && plain_ascii8(p)) {
      p += 8;
      continue;
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c == 0) return false;
      ++p;
      continue;
    }
    if (c < 0xC2) return false;  // stray continuation byte or overlong 2-byte lead
    if (c < 0xE0) {
      if (end - p < 2 || !cont(p[1])) return false;
      p += 2;
      continue;
    }
    if (c < 0xF0) {
      if (end - p < 3 || !cont(p[1]) || !cont(p[2])) return false;
      if (c == 0xE0 && p[1] < 0xA0) return false;   // overlong
      if (c == 0xED && p[1] >= 0xA0) return false;  // surrogates U+D800..U+DFFF
      p += 3;
      continue;
    }
    if (c < 0xF5) {
      if (end - p < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3])) return false;
      if (c == 0xF0 && p[1] < 0x90) return false;   // overlong
      if (c == 0xF4 && p[1] >= 0x90) return false;  // above U+10FFFF
      p += 4;
      continue;
    }
    return false;
  }
  return true;
}

namespace wire {

// Eight bytes at a time: a byte equals c when (v ^ c*0x01..) has a zero byte.
bool has_wildcard(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    const uint64_t plus = v ^ (kOnes * '+');
    const uint64_t hash = v ^ (kOnes * '#');
    if ((((plus - kOnes) & ~plus) | ((hash - kOnes) & ~hash)) & kHigh) return true;
  }
  for (; n > 0; ++p, --n) {
    if (*p == '+' || *p == '#') return true;
  }
  return false;
}

}  // namespace wire

}  // namespace petrel::protocol
