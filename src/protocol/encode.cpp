// Encoders for every packet and version. PUBLISH and the small acks are written with
// exact sizes (hot path); the rest reserve room for the remaining length and shift the
// body once written (wire::LengthScope).
#include <cassert>
#include <type_traits>

#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/wire.h"

namespace petrel::protocol {

namespace {

using namespace wire;

template <class F>
void packet(std::string& out, uint8_t header, F&& body) {
  put_u8(out, header);
  LengthScope len(out);
  body();
  len.close();
}

uint8_t first_byte(PacketType t, uint8_t flags = 0) { return uint8_t(uint8_t(t) << 4 | flags); }

void encode_connect(const Connect& c, Version v, std::string& out) {
  const bool v5 = v == Version::kV5;
  const bool user = c.username.has_value();
  const bool pass = c.password.has_value() && (v5 || user);  // [MQTT-3.1.2-22] for 3.x
  uint8_t flags = c.clean_start ? 0x02 : 0;
  if (c.will) {
    assert(c.will->qos <= 2);
    flags |= uint8_t(0x04 | (c.will->qos & 0x03) << 3 | (c.will->retain ? 0x20 : 0));
  }
  if (pass) flags |= 0x40;
  if (user) flags |= 0x80;
  packet(out, first_byte(PacketType::kConnect), [&] {
    put_str(out, v == Version::kV31 ? "MQIsdp" : "MQTT");
    put_u8(out, uint8_t(uint8_t(v) | (c.bridge ? 0x80 : 0)));
    put_u8(out, flags);
    put_u16(out, c.keepalive);
    if (v5) write_props(c.props, bit(PacketType::kConnect), out);
    put_str(out, c.client_id);
    if (c.will) {
      if (v5) write_props(c.will->props, kWillBit, out);
      put_str(out, c.will->topic);
      put_str(out, c.will->payload);
    }
    if (user) put_str(out, *c.username);
    if (pass) put_str(out, *c.password);
  });
}

void encode_connack(const Connack& c, Version v, std::string& out) {
  packet(out, first_byte(PacketType::kConnack), [&] {
    put_u8(out, v != Version::kV31 && c.session_present ? 1 : 0);
    if (v == Version::kV5) {
      put_u8(out, c.reason);
      write_props(c.props, bit(PacketType::kConnack), out);
    } else {
      put_u8(out, c.reason >= 0x80 ? v5_connack_to_v3(c.reason) : c.reason);
    }
  });
}

// Reason code + properties with the v5 short forms: no body at all for reason 0 without
// properties, and (when reason_only_ok) no property length for other reasons.
void reason_body(std::string& out, uint8_t reason, const Properties& props, uint32_t mask,
                 bool reason_only_ok) {
  const size_t reason_at = out.size();
  put_u8(out, reason);
  const size_t props_at = out.size();
  write_props(props, mask, out);
  if (out.size() != props_at + 1) return;  // some properties were written
  if (reason == 0) out.resize(reason_at);
  else if (reason_only_ok) out.resize(props_at);
}

void encode_full_ack(const Ack& a, std::string& out) {
  const uint8_t flags = a.type == PacketType::kPubrel ? 0x02 : 0;
  packet(out, first_byte(a.type, flags), [&] {
    put_u16(out, a.packet_id);
    put_u8(out, a.reason);
    LengthScope len(out);
    if (!a.reason_string.empty()) {
      put_u8(out, prop::kReasonString);
      put_str(out, a.reason_string);
    }
    for (const auto& [k, val] : a.user_properties) {
      put_u8(out, prop::kUserProperty);
      put_str(out, k);
      put_str(out, val);
    }
    len.close();
  });
}

void encode_subscribe(const Subscribe& s, Version v, std::string& out) {
  packet(out, first_byte(PacketType::kSubscribe, 0x02), [&] {
    put_u16(out, s.packet_id);
    if (v == Version::kV5) write_props(s.props, bit(PacketType::kSubscribe), out);
    for (const auto& t : s.topics) {
      put_str(out, t.filter);
      uint8_t opts = t.qos & 0x03;
      if (v == Version::kV5) {
        opts |= uint8_t((t.no_local ? 0x04 : 0) | (t.retain_as_published ? 0x08 : 0) |
                        (t.retain_handling & 0x03) << 4);
      }
      put_u8(out, opts);
    }
  });
}

void encode_suback(const Suback& s, Version v, std::string& out) {
  packet(out, first_byte(PacketType::kSuback), [&] {
    put_u16(out, s.packet_id);
    if (v == Version::kV5) write_props(s.props, bit(PacketType::kSuback), out);
    for (uint8_t r : s.reasons) {
      put_u8(out, v == Version::kV5 || r < 0x80 ? r : rc::kV3SubackFailure);
    }
  });
}

void encode_unsubscribe(const Unsubscribe& u, Version v, std::string& out) {
  packet(out, first_byte(PacketType::kUnsubscribe, 0x02), [&] {
    put_u16(out, u.packet_id);
    if (v == Version::kV5) write_props(u.props, bit(PacketType::kUnsubscribe), out);
    for (const auto& f : u.filters) put_str(out, f);
  });
}

void encode_unsuback(const Unsuback& u, Version v, std::string& out) {
  packet(out, first_byte(PacketType::kUnsuback), [&] {
    put_u16(out, u.packet_id);
    if (v != Version::kV5) return;
    write_props(u.props, bit(PacketType::kUnsuback), out);
    for (uint8_t r : u.reasons) put_u8(out, r);
  });
}

void encode_disconnect(const Disconnect& d, Version v, std::string& out) {
  packet(out, first_byte(PacketType::kDisconnect), [&] {
    if (v == Version::kV5) reason_body(out, d.reason, d.props, bit(PacketType::kDisconnect), true);
  });
}

void encode_auth(const Auth& a, Version v, std::string& out) {
  if (v != Version::kV5) return;  // AUTH does not exist before 5.0
  packet(out, first_byte(PacketType::kAuth), [&] {
    // AUTH has no reason-only form: a non-zero reason needs the method anyway.
    reason_body(out, a.reason, a.props, bit(PacketType::kAuth), false);
  });
}

size_t publish_props_len(const Publish& p) {
  size_t n = p.forward_props.size();
  if (p.topic_alias) n += 3;
  if (p.message_expiry_interval) n += 5;
  for (uint32_t id : p.subscription_identifiers) n += 1 + varint_size(id);
  return n;
}

size_t publish_remaining(const Publish& p, Version v, size_t props_len) {
  size_t n = 2 + p.topic.size() + (p.qos > 0 ? 2 : 0) + p.payload.size();
  if (v == Version::kV5) n += varint_size(uint32_t(props_len)) + props_len;
  return n;
}

}  // namespace

size_t publish_size(const Publish& p, Version v) {
  const size_t rem = publish_remaining(p, v, v == Version::kV5 ? publish_props_len(p) : 0);
  return 1 + varint_size(uint32_t(rem)) + rem;
}

size_t encode_publish(const Publish& p, Version v, std::string& out) {
  assert(p.qos <= 2 && p.topic.size() <= 0xFFFF);
  const bool v5 = v == Version::kV5;
  const size_t props_len = v5 ? publish_props_len(p) : 0;
  const size_t rem = publish_remaining(p, v, props_len);
  assert(rem <= 268'435'455u);
  out.reserve(out.size() + 5 + rem);
  put_u8(out, uint8_t(0x30 | (p.dup ? 0x08 : 0) | (p.qos & 0x03) << 1 | (p.retain ? 0x01 : 0)));
  encode_varint(uint32_t(rem), out);
  put_str(out, p.topic);
  size_t id_at = std::string::npos;
  if (p.qos > 0) {
    id_at = out.size();
    put_u16(out, p.packet_id);
  }
  if (v5) {
    encode_varint(uint32_t(props_len), out);
    if (p.topic_alias) {
      put_u8(out, prop::kTopicAlias);
      put_u16(out, *p.topic_alias);
    }
    if (p.message_expiry_interval) {
      put_u8(out, prop::kMessageExpiryInterval);
      put_u32(out, *p.message_expiry_interval);
    }
    for (uint32_t id : p.subscription_identifiers) {
      put_u8(out, prop::kSubscriptionIdentifier);
      encode_varint(id, out);
    }
    out.append(p.forward_props);
  }
  out.append(p.payload);
  return id_at;
}

void encode_ack(PacketType type, uint16_t packet_id, uint8_t reason, Version v, std::string& out) {
  const bool with_reason = v == Version::kV5 && reason != 0;
  char b[5] = {char(first_byte(type, type == PacketType::kPubrel ? 0x02 : 0)),
               char(with_reason ? 3 : 2), char(packet_id >> 8), char(packet_id), char(reason)};
  out.append(b, with_reason ? 5 : 4);
}

void encode_pingresp(std::string& out) { out.append("\xD0\x00", 2); }

void encode(const Packet& packet, Version v, std::string& out) {
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, Connect>) encode_connect(p, v, out);
        else if constexpr (std::is_same_v<T, Connack>) encode_connack(p, v, out);
        else if constexpr (std::is_same_v<T, Publish>) encode_publish(p, v, out);
        else if constexpr (std::is_same_v<T, Ack>) {
          if (v == Version::kV5 && (!p.reason_string.empty() || !p.user_properties.empty()))
            encode_full_ack(p, out);
          else
            encode_ack(p.type, p.packet_id, p.reason, v, out);
        }
        else if constexpr (std::is_same_v<T, Subscribe>) encode_subscribe(p, v, out);
        else if constexpr (std::is_same_v<T, Suback>) encode_suback(p, v, out);
        else if constexpr (std::is_same_v<T, Unsubscribe>) encode_unsubscribe(p, v, out);
        else if constexpr (std::is_same_v<T, Unsuback>) encode_unsuback(p, v, out);
        else if constexpr (std::is_same_v<T, Pingreq>) out.append("\xC0\x00", 2);
        else if constexpr (std::is_same_v<T, Pingresp>) encode_pingresp(out);
        else if constexpr (std::is_same_v<T, Disconnect>) encode_disconnect(p, v, out);
        else encode_auth(p, v, out);
      },
      packet);
}

}  // namespace petrel::protocol
