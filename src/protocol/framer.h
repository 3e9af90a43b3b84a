#pragma once
// Framing: finds packet boundaries in a byte stream. try_frame is a pure function over a
// contiguous buffer; StreamFramer keeps the partial packet between reads (any split of
// bytes across reads works, one byte at a time or many packets in one read).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace petrel::protocol {

enum class FrameStatus {
  kComplete,   // f describes one whole packet at the start of data
  kNeedMore,   // not enough bytes yet
  kMalformed,  // remaining length longer than 4 bytes (reason 0x81)
  kTooLarge,   // whole packet larger than max_packet_size (reason 0x95)
};

struct Frame {
  uint8_t header = 0;         // first byte: type << 4 | flags
  uint32_t header_len = 0;    // 1 + bytes of the remaining-length varint
  uint32_t remaining = 0;     // remaining length
  size_t total() const { return size_t(header_len) + remaining; }
};

// max_packet_size = 0 means no limit beyond the protocol's 268,435,455 + 5.
FrameStatus try_frame(const char* data, size_t len, uint32_t max_packet_size, Frame& f);

// Incremental framer for the client side and tests: feed() bytes, then next() returns
// each complete packet (header byte, body) in order.
class StreamFramer {
 public:
  explicit StreamFramer(uint32_t max_packet_size = 0) : max_(max_packet_size) {}
  void feed(std::string_view bytes);
  // Returns kComplete and sets header/body (valid until the next feed/next call),
  // kNeedMore when no whole packet is buffered, or an error status (sticky).
  FrameStatus next(uint8_t& header, std::string_view& body);
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  uint32_t max_;
  FrameStatus error_ = FrameStatus::kNeedMore;
};

// Variable byte integer (1..4 bytes). Returns bytes consumed, 0 = need more, -1 = malformed.
int decode_varint(const char* data, size_t len, uint32_t& value);
void encode_varint(uint32_t value, std::string& out);
size_t varint_size(uint32_t value);

}  // namespace petrel::protocol
