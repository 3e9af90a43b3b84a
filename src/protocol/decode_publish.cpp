// PUBLISH (the hot path: views, no allocation) and PUBACK/PUBREC/PUBREL/PUBCOMP.
#include "protocol/codec.h"
#include "protocol/topic.h"
#include "protocol/wire.h"

namespace petrel::protocol {

namespace {

using wire::Fail;
using wire::RawProp;
using wire::Reader;

// Properties a broker forwards unchanged, kept encoded in Publish::forward_props.
bool forwarded(uint8_t id) {
  return id == prop::kPayloadFormatIndicator || id == prop::kContentType ||
         id == prop::kResponseTopic || id == prop::kCorrelationData || id == prop::kUserProperty;
}

// Copies the forwardable properties of an already validated block into scratch.
void gather_forwarded(std::string_view block, std::string& scratch) {
  Fail f;
  Reader r(block, f);
  RawProp raw;
  scratch.clear();
  while (!r.empty() && wire::read_prop(r, wire::bit(PacketType::kPublish), raw)) {
    if (forwarded(raw.id)) scratch.append(raw.begin, size_t(raw.end - raw.begin));
  }
}

bool read_publish_props(Reader& r, Publish& p, std::string& scratch) {
  uint32_t len = 0;
  std::string_view block;
  if (!r.varint(len) || !r.sub(len, block)) return false;
  Fail& f = r.fail();
  Reader pr(block, f);
  RawProp raw;
  uint64_t seen = 0;
  const char* fwd_begin = nullptr;
  const char* fwd_end = nullptr;
  bool gap = false;
  while (!pr.empty()) {
    if (!wire::read_prop(pr, wire::bit(PacketType::kPublish), raw)) return false;
    if (raw.id != prop::kUserProperty && raw.id != prop::kSubscriptionIdentifier) {
      if (seen & (uint64_t(1) << raw.id)) return f.protocol("property included more than once");
      seen |= uint64_t(1) << raw.id;
    }
    switch (raw.id) {
      case prop::kPayloadFormatIndicator: p.payload_format_indicator = uint8_t(raw.num); break;
      case prop::kMessageExpiryInterval: p.message_expiry_interval = raw.num; break;
      case prop::kTopicAlias: p.topic_alias = uint16_t(raw.num); break;
      case prop::kSubscriptionIdentifier: p.subscription_identifiers.push_back(raw.num); break;
      default: break;  // content type, response topic, correlation data, user property
    }
    if (!forwarded(raw.id)) continue;
    if (fwd_begin == nullptr) fwd_begin = raw.begin;
    else if (fwd_end != raw.begin) gap = true;
    fwd_end = raw.end;
  }
  if (fwd_begin == nullptr) return true;
  if (!gap) {
    p.forward_props = std::string_view(fwd_begin, size_t(fwd_end - fwd_begin));
  } else {
    gather_forwarded(block, scratch);
    p.forward_props = scratch;
  }
  return true;
}

}  // namespace

bool wire::read_publish(uint8_t header, std::string_view body, Version v, Publish& p,
                        std::string& scratch, Fail& f) {
  p.dup = (header & 0x08) != 0;
  p.qos = (header >> 1) & 0x03;
  p.retain = (header & 0x01) != 0;
  if (p.qos == 3) return f.malformed("PUBLISH with QoS 3 [MQTT-3.3.1-4]");
  if (p.dup && p.qos == 0) return f.protocol("DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]");
  Reader r(body, f);
  if (!r.utf8(p.topic, "topic name is not valid UTF-8 [MQTT-3.3.2-1]")) return false;
  if (has_wildcard(p.topic))
    return f.set(rc::kTopicNameInvalid, "wildcard in PUBLISH topic [MQTT-3.3.2-2]");
  if (topic_separators(p.topic) > kMaxTopicSeparators)
    return f.set(rc::kTopicNameInvalid, "PUBLISH topic has more than 200 '/' separators");
  if (p.qos > 0) {
    if (!r.u16(p.packet_id)) return false;
    if (p.packet_id == 0) return f.protocol("packet identifier 0 [MQTT-2.3.1-1]");
  }
  if (v == Version::kV5 && !read_publish_props(r, p, scratch)) return false;
  // v5 3.3.2.3.4: an empty topic is only allowed with a topic alias; 3.x [MQTT-4.7.3-1].
  if (p.topic.empty() && !p.topic_alias) return f.protocol("empty topic name without topic alias");
  p.payload = r.rest();
  return true;
}

Result<Publish> decode_publish(uint8_t header, std::string_view body, Version v,
                               std::string& scratch) {
  Fail f;
  Publish p;
  if ((header >> 4) != uint8_t(PacketType::kPublish)) return Error{rc::kMalformedPacket, "not a PUBLISH"};
  if (!wire::read_publish(header, body, v, p, scratch, f)) return f.error();
  return p;
}

Result<Ack> decode_ack(uint8_t header, std::string_view body, Version v) {
  const auto t = PacketType(header >> 4);
  if (t != PacketType::kPuback && t != PacketType::kPubrec && t != PacketType::kPubrel &&
      t != PacketType::kPubcomp)
    return Error{rc::kMalformedPacket, "not an acknowledgement"};
  Fail f;
  Ack a;
  if (!wire::read_ack(header, body, v, a, f)) return f.error();
  return a;
}

// PUBACK, PUBREC, PUBREL, PUBCOMP. v5 shortens: remaining length 2 = reason 0 and no
// properties; 3 = reason, no properties (3.4.2.2.1: "If the Remaining Length is less than
// 4 there is no Property Length and the value of 0 is used").
bool wire::read_ack(uint8_t header, std::string_view body, Version v, Ack& a, Fail& f) {
  a.type = PacketType(header >> 4);
  if (!fixed_flags_ok(header, v)) return f.malformed("reserved fixed header flags [MQTT-2.2.2-2]");
  Reader r(body, f);
  if (!r.u16(a.packet_id)) return false;
  if (a.packet_id == 0) return f.protocol("packet identifier 0 [MQTT-2.3.1-1]");
  if (v == Version::kV5 && !r.empty()) {
    if (!r.u8(a.reason)) return false;
    if (!reason_allowed(a.type, a.reason)) return f.protocol("reason code not allowed in this ack");
    if (!r.empty()) {
      Properties props;
      if (!read_props(r, bit(a.type), props)) return false;
      if (props.reason_string) a.reason_string = std::move(*props.reason_string);
      a.user_properties = std::move(props.user_properties);
    }
  }
  if (!r.empty()) return f.malformed("trailing bytes after ack");
  return true;
}

}  // namespace petrel::protocol
