#pragma once
// The generator's use of Petrel's codec (src/protocol). Control packets are encoded with
// encode(); PUBLISH and the acks are encoded once as templates (encode_publish /
// encode_ack) whose copies get the sequence word, send timestamp and packet id patched in.
// Incoming bytes are framed with try_frame and decoded with decode() (see worker_mqtt.cpp).
//
// Payload layout (at least 16 bytes, native byte order, both ends run on this host):
//   [0, 8)  sequence word: publisher index << 40 | sequence number of that publisher
//   [8, 16) send time, CLOCK_MONOTONIC ns
//   [16, n) filler
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "protocol/types.h"

namespace petrel::bench {

inline constexpr int kSeqBits = 40;
inline constexpr uint64_t kSeqMask = (uint64_t(1) << kSeqBits) - 1;
inline constexpr uint32_t kMaxPublishers = 1u << 24;
inline constexpr size_t kStampBytes = 16;

struct PacketTemplate {
  std::string bytes;
  size_t payload_off = 0;              // PUBLISH: offset of the payload
  size_t pid_off = std::string::npos;  // offset of the 2-byte packet identifier, if any
};

PacketTemplate publish_template(std::string_view topic, uint8_t qos, bool retain, uint32_t size,
                                protocol::Version v);
// PUBACK / PUBREC / PUBREL / PUBCOMP with reason 0 and packet id 0 (to be patched).
PacketTemplate ack_template(protocol::PacketType type, protocol::Version v);

// session_expiry 0: a clean session. Otherwise the session is kept: MQTT 3.x clean session 0;
// MQTT 5 Clean Start 0 and Session Expiry Interval session_expiry (seconds).
// topic_alias_max: MQTT 5 Topic Alias Maximum offered to the broker (0 = absent).
void append_connect(std::string& out, std::string_view client_id, protocol::Version v, uint16_t keepalive,
                    uint32_t session_expiry = 0, uint16_t topic_alias_max = 0);
void append_subscribe(std::string& out, uint16_t packet_id, std::string_view filter, uint8_t qos,
                      protocol::Version v);
void append_publish(std::string& out, std::string_view topic, uint8_t qos, bool retain, uint16_t packet_id,
                    std::string_view payload, protocol::Version v);
void append_pingreq(std::string& out, protocol::Version v);
void append_disconnect(std::string& out, protocol::Version v);

inline void put_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint64_t get_u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void put_u16be(char* p, uint16_t v) {
  p[0] = char(v >> 8);
  p[1] = char(v & 0xff);
}

}  // namespace petrel::bench
