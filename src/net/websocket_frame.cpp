#include "net/websocket_frame.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace petrel::net::ws {

namespace {

bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// Close codes a peer may send (RFC 6455 section 7.4): the defined ones that are not
// reserved for local use (1004-1006, 1015), and the registered/private ranges.
bool valid_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

}  // namespace

uint8_t apply_mask(const uint8_t mask[4], uint8_t pos, const char* in, char* out, size_t len) {
  size_t i = 0;
  for (; i < len && pos != 0; ++i) {
    out[i] = static_cast<char>(static_cast<uint8_t>(in[i]) ^ mask[pos]);
    pos = static_cast<uint8_t>((pos + 1) & 3);
  }
  if (len - i >= 8) {
    // Eight bytes at a time; memcpy keeps it alignment-safe and correct in place (each
    // word is read before the output, which never runs ahead of the input, is written).
    const uint8_t m8[8] = {mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]};
    uint64_t m = 0;
    std::memcpy(&m, m8, 8);
    for (; i + 8 <= len; i += 8) {
      uint64_t v = 0;
      std::memcpy(&v, in + i, 8);
      v ^= m;
      std::memcpy(out + i, &v, 8);
    }
  }
  for (; i < len; ++i) {
    out[i] = static_cast<char>(static_cast<uint8_t>(in[i]) ^ mask[pos]);
    pos = static_cast<uint8_t>((pos + 1) & 3);
  }
  return pos;
}

size_t FrameDecoder::header_size_needed() const {
  if (header_len_ < 2) return 2;
  const uint8_t len7 = header_[1] & 0x7f;
  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const size_t mask = (header_[1] & 0x80) ? 4 : 0;
  return 2 + ext + mask;
}

FrameDecoder::Event FrameDecoder::fail(uint16_t code, std::string why) {
  error_code_ = code;
  error_ = std::move(why);
  return Event::kError;
}

bool FrameDecoder::parse_header() {
  const uint8_t b0 = header_[0], b1 = header_[1];
  fin_ = (b0 & 0x80) != 0;
  opcode_ = static_cast<Opcode>(b0 & 0x0f);
  if (b0 & 0x70) return fail(kCloseProtocolError, "reserved bits set (no extension was negotiated)"), false;
  // [RFC 6455 5.1]: a server must close the connection on an unmasked client frame.
  if (!(b1 & 0x80)) return fail(kCloseProtocolError, "unmasked frame from the client"), false;
  uint64_t len = b1 & 0x7f;
  size_t pos = 2;
  if (len == 126) {
    len = (uint64_t(header_[2]) << 8) | header_[3];
    pos = 4;
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | header_[2 + i];
    pos = 10;
    if (len >> 63) return fail(kCloseTooBig, "frame length above 2^63-1"), false;
  }
  std::memcpy(mask_, header_ + pos, 4);
  mask_pos_ = 0;
  remaining_ = len;
  switch (opcode_) {
    case Opcode::kContinuation:
      if (!in_message_) return fail(kCloseProtocolError, "continuation frame with no message to continue"), false;
      in_message_ = !fin_;
      return true;
    case Opcode::kText:
      // [MQTT-6.0.0-1]: MQTT packets travel in binary frames only.
      return fail(kCloseUnsupportedData, "text frame (MQTT needs binary frames)"), false;
    case Opcode::kBinary:
      if (in_message_) return fail(kCloseProtocolError, "new data frame inside a fragmented message"), false;
      in_message_ = !fin_;
      return true;
    case Opcode::kClose:
    case Opcode::kPing:
    case Opcode::kPong:
      // [RFC 6455 5.5]: control frames are never fragmented and carry at most 125 bytes.
      if (!fin_) return fail(kCloseProtocolError, "fragmented control frame"), false;
      if (len > kMaxControlPayload) {
        return fail(kCloseProtocolError, fmt::format("control frame of {} bytes (at most 125)", len)), false;
      }
      control_.clear();
      return true;
  }
  return fail(kCloseProtocolError, fmt::format("unknown opcode {:#x}", b0 & 0x0f)), false;
}

FrameDecoder::Event FrameDecoder::finish_control() {
  switch (opcode_) {
    case Opcode::kPing: return Event::kPing;
    case Opcode::kPong: return Event::kPong;
    default: break;
  }
  close_code_ = 0;
  if (control_.size() == 1) return fail(kCloseProtocolError, "close frame with a 1-byte payload");
  if (control_.size() >= 2) {
    const uint16_t code = static_cast<uint16_t>((uint8_t(control_[0]) << 8) | uint8_t(control_[1]));
    if (!valid_close_code(code)) return fail(kCloseProtocolError, fmt::format("invalid close code {}", code));
    close_code_ = code;
  }
  return Event::kClose;
}

FrameDecoder::Step FrameDecoder::decode(const char* in, size_t len, char* out, size_t cap) {
  Step st;
  if (error_code_ != 0) {
    st.event = Event::kError;
    return st;
  }
  while (st.consumed < len) {
    if (!in_payload_) {
      size_t need = header_size_needed();
      while (header_len_ < need && st.consumed < len) {
        header_[header_len_++] = static_cast<uint8_t>(in[st.consumed++]);
        need = header_size_needed();
      }
      if (header_len_ < need) return st;  // partial header kept for the next call
      header_len_ = 0;
      if (!parse_header()) {
        st.event = Event::kError;
        return st;
      }
      in_payload_ = remaining_ > 0;
      if (!in_payload_ && is_control(opcode_)) {
        st.event = finish_control();
        return st;
      }
      continue;
    }
    if (is_control(opcode_)) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, len - st.consumed));
      const size_t old = control_.size();
      control_.resize(old + n);
      mask_pos_ = apply_mask(mask_, mask_pos_, in + st.consumed, control_.data() + old, n);
      st.consumed += n;
      remaining_ -= n;
      if (remaining_ == 0) {
        in_payload_ = false;
        st.event = finish_control();
        return st;
      }
      continue;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, std::min(len - st.consumed, cap - st.produced)));
    if (n == 0) return st;  // output full
    mask_pos_ = apply_mask(mask_, mask_pos_, in + st.consumed, out + st.produced, n);
    st.consumed += n;
    st.produced += n;
    remaining_ -= n;
    if (remaining_ == 0) in_payload_ = false;
  }
  return st;
}

void append_frame_header(std::string& out, Opcode op, uint64_t payload_len) {
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  if (payload_len < 126) {
    out.push_back(static_cast<char>(payload_len));
  } else if (payload_len <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(payload_len >> 8));
    out.push_back(static_cast<char>(payload_len & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((payload_len >> (8 * i)) & 0xff));
  }
}

void append_frame(std::string& out, Opcode op, std::string_view payload) {
  append_frame_header(out, op, payload.size());
  out.append(payload);
}

void append_close_frame(std::string& out, uint16_t code, std::string_view reason) {
  if (code == 0) {
    append_frame_header(out, Opcode::kClose, 0);
    return;
  }
  reason = reason.substr(0, kMaxControlPayload - 2);
  append_frame_header(out, Opcode::kClose, 2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  out.append(reason);
}

}  // namespace petrel::net::ws
