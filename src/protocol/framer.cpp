#include "protocol/framer.h"

namespace petrel::protocol {

namespace {
constexpr uint32_t kMaxRemaining = 268'435'455;  // largest 4-byte variable byte integer
}

// Variable Byte Integer (MQTT 5.0 1.5.5 / 3.1.1 2.2.3): 7 bits per byte, least significant
// group first, high bit = more bytes follow, at most four bytes. Non-minimal encodings
// (e.g. 0x80 0x00) are accepted, like Mosquitto does.
int decode_varint(const char* data, size_t len, uint32_t& value) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (i == len) return 0;
    const auto b = uint8_t(data[i]);
    v |= uint32_t(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      value = v;
      return int(i + 1);
    }
  }
  return -1;  // a fifth byte would be needed
}

void encode_varint(uint32_t value, std::string& out) {
  do {
    uint8_t b = value & 0x7F;
    value >>= 7;
    if (value) b |= 0x80;
    out.push_back(char(b));
  } while (value);
}

size_t varint_size(uint32_t value) {
  if (value < 128u) return 1;
  if (value < 16'384u) return 2;
  if (value < 2'097'152u) return 3;
  return 4;
}

FrameStatus try_frame(const char* data, size_t len, uint32_t max_packet_size, Frame& f) {
  if (len < 2) return FrameStatus::kNeedMore;
  uint32_t remaining = 0;
  const int n = decode_varint(data + 1, len - 1, remaining);
  if (n < 0) return FrameStatus::kMalformed;
  if (n == 0) return FrameStatus::kNeedMore;
  static_assert(kMaxRemaining == (1u << 28) - 1);
  const size_t total = size_t(1 + n) + remaining;
  // Checked as soon as the header is known, so an oversized packet is refused before
  // any of its body is buffered.
  if (max_packet_size != 0 && total > max_packet_size) return FrameStatus::kTooLarge;
  if (len < total) return FrameStatus::kNeedMore;
  f.header = uint8_t(data[0]);
  f.header_len = uint32_t(1 + n);
  f.remaining = remaining;
  return FrameStatus::kComplete;
}

void StreamFramer::feed(std::string_view bytes) {
  if (error_ != FrameStatus::kNeedMore) return;  // sticky error: nothing more to frame
  if (pos_ != 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

FrameStatus StreamFramer::next(uint8_t& header, std::string_view& body) {
  if (error_ != FrameStatus::kNeedMore) return error_;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
    return FrameStatus::kNeedMore;
  }
  Frame f;
  const FrameStatus st = try_frame(buf_.data() + pos_, buf_.size() - pos_, max_, f);
  if (st == FrameStatus::kComplete) {
    header = f.header;
    body = std::string_view(buf_.data() + pos_ + f.header_len, f.remaining);
    pos_ += f.total();
  } else if (st != FrameStatus::kNeedMore) {
    error_ = st;
  }
  return st;
}

}  // namespace petrel::protocol
