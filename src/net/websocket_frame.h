#pragma once
// RFC 6455 framing for the server side of MQTT over WebSockets: an incremental decoder
// of client frames that turns binary (and continuation) frame payloads back into the
// MQTT byte stream, and the encoder of server frames. Pure: bytes in, bytes out; no
// sockets. MQTT packets may span frames and a frame may hold several packets, so the
// decoder never buffers a data frame: payload bytes are unmasked as they arrive
// [MQTT-6.0.0-2]. Only a partial frame header (at most 14 bytes) and the payload of a
// control frame (at most 125 bytes) are kept between calls.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace petrel::net::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close status codes used here (RFC 6455 section 7.4.1).
constexpr uint16_t kCloseNormal = 1000;
constexpr uint16_t kCloseProtocolError = 1002;
constexpr uint16_t kCloseUnsupportedData = 1003;
constexpr uint16_t kCloseTooBig = 1009;

constexpr size_t kMaxControlPayload = 125;  // [RFC 6455 5.5]

class FrameDecoder {
 public:
  enum class Event : uint8_t {
    kNone,   // input used up, or the output is full
    kPing,   // a complete ping; control_payload() holds its data
    kPong,   // a complete pong (ignored by servers, reported for tests)
    kClose,  // a complete close frame; close_code() (0 = none given)
    kError,  // a protocol error: close with error_code(); error() says why
  };
  struct Step {
    size_t consumed = 0;  // input bytes used
    size_t produced = 0;  // application bytes written to out
    Event event = Event::kNone;
  };

  // Decodes from in[0, len) into out[0, cap). Stops when the input is used up, the
  // output is full, or a control frame or error completes (then call again with the rest
  // of the input). `out` may be the same memory as `in` (decoding in place): output never
  // runs ahead of input.
  Step decode(const char* in, size_t len, char* out, size_t cap);

  const std::string& control_payload() const { return control_; }
  uint16_t close_code() const { return close_code_; }
  uint16_t error_code() const { return error_code_; }
  const std::string& error() const { return error_; }
  // True between frames (no partial header or payload pending).
  bool at_frame_boundary() const { return header_len_ == 0 && remaining_ == 0 && !in_payload_; }

 private:
  bool parse_header();  // header_ complete: validate and set up the payload state
  Event finish_control();
  Event fail(uint16_t code, std::string why);
  size_t header_size_needed() const;

  uint8_t header_[14] = {};
  uint8_t header_len_ = 0;
  bool in_payload_ = false;
  Opcode opcode_ = Opcode::kBinary;
  bool fin_ = false;
  bool in_message_ = false;  // a fragmented binary message is open
  uint64_t remaining_ = 0;   // payload bytes left in the current frame
  uint8_t mask_[4] = {};
  uint8_t mask_pos_ = 0;
  std::string control_;      // payload of the current control frame
  uint16_t close_code_ = 0;
  uint16_t error_code_ = 0;
  std::string error_;
};

// Appends one unmasked server frame header for `payload_len` bytes (FIN set).
void append_frame_header(std::string& out, Opcode op, uint64_t payload_len);
// Appends a whole unmasked server frame.
void append_frame(std::string& out, Opcode op, std::string_view payload);
// Appends a close frame with `code` (0 = no status) and a short reason.
void append_close_frame(std::string& out, uint16_t code, std::string_view reason = {});

// XORs data[0, len) with the 4-byte mask, starting at mask position `pos` (0..3);
// returns the next position. Used by the decoder and by tests that build client frames.
uint8_t apply_mask(const uint8_t mask[4], uint8_t pos, const char* in, char* out, size_t len);

}  // namespace petrel::net::ws
