// CONNECT and CONNACK decoding (MQTT 3.1 "MQIsdp"/3, 3.1.1 "MQTT"/4, 5.0 "MQTT"/5).
#include "protocol/codec.h"
#include "protocol/topic.h"
#include "protocol/wire.h"

namespace petrel::protocol {

namespace {

using wire::Fail;
using wire::Reader;

constexpr uint8_t kCleanStart = 0x02;
constexpr uint8_t kWillFlag = 0x04;
constexpr uint8_t kWillRetain = 0x20;
constexpr uint8_t kPasswordFlag = 0x40;
constexpr uint8_t kUserNameFlag = 0x80;

// Protocol name + level -> version. Bit 7 of the level is Mosquitto's bridge flag
// (try_private), not part of the version.
bool read_version(Reader& r, Connect& c) {
  std::string_view name;
  uint8_t level = 0;
  if (!r.binary(name) || !r.u8(level)) return false;
  c.bridge = (level & 0x80) != 0;
  level &= 0x7F;
  if (name == "MQTT" && (level == 4 || level == 5)) {
    c.version = Version(level);
  } else if (name == "MQIsdp" && level == 3) {
    c.version = Version::kV31;
  } else {
    // [MQTT-3.1.2-1] (unknown name) and [MQTT-3.1.2-2] (unsupported level) both allow
    // answering 0x84 / v3 return code 1.
    return r.fail().set(rc::kUnsupportedProtocolVersion,
                        name == "MQTT" || name == "MQIsdp" ? "unsupported protocol level"
                                                          : "unknown protocol name");
  }
  c.protocol_name = std::string(name);
  return true;
}

bool check_flags(uint8_t flags, Version v, Fail& f) {
  if (flags & 0x01) return f.malformed("CONNECT reserved flag set [MQTT-3.1.2-3]");
  const uint8_t will_qos = (flags >> 3) & 0x03;
  if (!(flags & kWillFlag) && (will_qos != 0 || (flags & kWillRetain)))
    return f.malformed("will QoS/retain without will flag [MQTT-3.1.2-11]");
  if (will_qos == 3) return f.malformed("will QoS 3 [MQTT-3.1.2-12]");
  // 3.1.1 forbids a password without a user name; 5.0 allows it. Mosquitto applies the
  // 3.1.1 rule to 3.1 as well, and so do we.
  if (v != Version::kV5 && (flags & kPasswordFlag) && !(flags & kUserNameFlag))
    return f.malformed("password without user name [MQTT-3.1.2-22]");
  return true;
}

bool valid_topic_name_chars(std::string_view t) {
  return !t.empty() && !wire::has_wildcard(t) && topic_separators(t) <= kMaxTopicSeparators;
}

bool read_will(Reader& r, uint8_t flags, Version v, Will& w) {
  w.qos = (flags >> 3) & 0x03;
  w.retain = (flags & kWillRetain) != 0;
  if (v == Version::kV5 && !wire::read_props(r, wire::kWillBit, w.props)) return false;
  std::string_view topic, payload;
  if (!r.utf8(topic, "will topic is not valid UTF-8 [MQTT-3.1.3-11]")) return false;
  if (!valid_topic_name_chars(topic))
    return r.fail().set(rc::kTopicNameInvalid, "will topic empty, with wildcards [MQTT-3.3.2-2] or more than 200 levels deep");
  if (!r.binary(payload)) return false;
  w.topic = std::string(topic);
  w.payload = std::string(payload);
  return true;
}

bool read_connect(uint8_t header, std::string_view body, Connect& c, Fail& f) {
  Reader r(body, f);
  if ((header & 0x0F) != 0) return f.malformed("CONNECT fixed header flags must be 0");
  if (!read_version(r, c)) return false;
  uint8_t flags = 0;
  if (!r.u8(flags) || !check_flags(flags, c.version, f)) return false;
  c.clean_start = (flags & kCleanStart) != 0;
  if (!r.u16(c.keepalive)) return false;
  if (c.version == Version::kV5 && !wire::read_props(r, wire::bit(PacketType::kConnect), c.props))
    return false;
  std::string_view s;
  if (!r.utf8(s, "client identifier is not valid UTF-8 [MQTT-3.1.3-4]")) return false;
  c.client_id = std::string(s);
  if (flags & kWillFlag) {
    c.will.emplace();
    if (!read_will(r, flags, c.version, *c.will)) return false;
  }
  if (flags & kUserNameFlag) {
    if (!r.utf8(s, "user name is not valid UTF-8 [MQTT-3.1.3-12]")) return false;
    c.username = std::string(s);
  }
  if (flags & kPasswordFlag) {
    if (!r.binary(s)) return false;
    c.password = std::string(s);
  }
  if (!r.empty()) return f.malformed("trailing bytes after CONNECT payload");
  return true;
}

}  // namespace

Result<Connect> decode_connect(uint8_t header, std::string_view body) {
  Fail f;
  Connect c;
  if ((header >> 4) != uint8_t(PacketType::kConnect)) return Error{rc::kMalformedPacket, "not a CONNECT"};
  if (!read_connect(header, body, c, f)) return f.error();
  return c;
}

std::optional<Version> peek_connect_version(std::string_view body) {
  Fail f;
  Reader r(body, f);
  Connect c;
  if (!read_version(r, c)) return std::nullopt;
  return c.version;
}

// CONNACK: 3.x = acknowledge flags + return code; 5.0 adds properties.
bool wire::read_connack(uint8_t header, std::string_view body, Version v, Connack& c, Fail& f) {
  Reader r(body, f);
  if ((header & 0x0F) != 0) return f.malformed("CONNACK fixed header flags must be 0");
  uint8_t ack = 0;
  if (!r.u8(ack) || !r.u8(c.reason)) return false;
  if (v == Version::kV31) {
    ack = 0;  // 3.1: the first byte is reserved and unused
  } else if (ack & 0xFE) {
    return f.malformed("CONNACK reserved acknowledge flags set [MQTT-3.2.2-1]");
  }
  c.session_present = (ack & 0x01) != 0;
  if (v == Version::kV5) {
    if (!wire::reason_allowed(PacketType::kConnack, c.reason))
      return f.protocol("CONNACK reason code not allowed");
    if (!wire::read_props(r, wire::bit(PacketType::kConnack), c.props)) return false;
  } else if (c.reason > rc::kV3NotAuthorized) {
    return f.protocol("reserved CONNACK return code");
  }
  // [MQTT-3.2.2-4] (3.1.1) / [MQTT-3.2.2-6] (5.0)
  if (c.session_present && c.reason != 0) return f.protocol("session present with a refusal");
  if (!r.empty()) return f.malformed("trailing bytes after CONNACK");
  return true;
}

}  // namespace petrel::protocol
