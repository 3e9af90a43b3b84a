// decode(): fixed-header checks and dispatch, plus the SUBSCRIBE/UNSUBSCRIBE families,
// PINGREQ/PINGRESP, DISCONNECT and AUTH.
#include "protocol/codec.h"
#include "protocol/wire.h"

namespace petrel::protocol {

namespace {

using wire::Fail;
using wire::Reader;

bool packet_id(Reader& r, uint16_t& id) {
  if (!r.u16(id)) return false;
  if (id == 0) return r.fail().protocol("packet identifier 0 [MQTT-2.3.1-1]");
  return true;
}

bool subscribe_options(uint8_t opts, Version v, SubscribeTopic& t, Fail& f) {
  t.qos = opts & 0x03;
  if (v != Version::kV5) {
    if (opts & 0xFC) return f.malformed("SUBSCRIBE reserved option bits set [MQTT-3.8.3-4]");
    if (t.qos == 3) return f.malformed("SUBSCRIBE requested QoS 3 [MQTT-3.8.3-4]");
    return true;
  }
  if (opts & 0xC0) return f.malformed("SUBSCRIBE reserved option bits set [MQTT-3.8.3-5]");
  if (t.qos == 3) return f.protocol("SUBSCRIBE maximum QoS 3");
  t.no_local = (opts & 0x04) != 0;
  t.retain_as_published = (opts & 0x08) != 0;
  t.retain_handling = (opts >> 4) & 0x03;
  if (t.retain_handling == 3) return f.protocol("SUBSCRIBE retain handling 3");
  return true;
}

bool read_subscribe(std::string_view body, Version v, Subscribe& s, Fail& f) {
  Reader r(body, f);
  if (!packet_id(r, s.packet_id)) return false;
  if (v == Version::kV5 && !wire::read_props(r, wire::bit(PacketType::kSubscribe), s.props))
    return false;
  if (r.empty()) return f.protocol("SUBSCRIBE without topic filters [MQTT-3.8.3-2]");
  while (!r.empty()) {
    SubscribeTopic t;
    std::string_view filter;
    uint8_t opts = 0;
    if (!r.utf8(filter, "topic filter is not valid UTF-8 [MQTT-3.8.3-1]") || !r.u8(opts) ||
        !subscribe_options(opts, v, t, f))
      return false;
    t.filter = std::string(filter);
    s.topics.push_back(std::move(t));
  }
  return true;
}

bool read_unsubscribe(std::string_view body, Version v, Unsubscribe& u, Fail& f) {
  Reader r(body, f);
  if (!packet_id(r, u.packet_id)) return false;
  if (v == Version::kV5 && !wire::read_props(r, wire::bit(PacketType::kUnsubscribe), u.props))
    return false;
  if (r.empty()) return f.protocol("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]");
  while (!r.empty()) {
    std::string_view filter;
    if (!r.utf8(filter, "topic filter is not valid UTF-8 [MQTT-3.10.3-1]")) return false;
    u.filters.emplace_back(filter);
  }
  return true;
}

// SUBACK and UNSUBACK (v5) share the layout: packet id, properties, one reason per filter.
bool read_reasons(Reader& r, PacketType t, Version v, std::vector<uint8_t>& out) {
  if (r.empty()) return r.fail().protocol("no reason codes");
  const auto rest = r.rest();
  for (char c : rest) {
    const auto code = uint8_t(c);
    const bool ok = v == Version::kV5 ? wire::reason_allowed(t, code)
                                      : (code <= 2 || code == rc::kV3SubackFailure);
    if (!ok) return r.fail().protocol("reason code not allowed [MQTT-3.9.3-2]");
    out.push_back(code);
  }
  return true;
}

bool read_suback(std::string_view body, Version v, Suback& s, Fail& f) {
  Reader r(body, f);
  if (!packet_id(r, s.packet_id)) return false;
  if (v == Version::kV5 && !wire::read_props(r, wire::bit(PacketType::kSuback), s.props))
    return false;
  return read_reasons(r, PacketType::kSuback, v, s.reasons);
}

bool read_unsuback(std::string_view body, Version v, Unsuback& u, Fail& f) {
  Reader r(body, f);
  if (!packet_id(r, u.packet_id)) return false;
  if (v != Version::kV5) {
    if (!r.empty()) return f.malformed("trailing bytes after UNSUBACK");
    return true;
  }
  if (!wire::read_props(r, wire::bit(PacketType::kUnsuback), u.props)) return false;
  return read_reasons(r, PacketType::kUnsuback, v, u.reasons);
}

// DISCONNECT and AUTH (v5): remaining length 0 = reason 0 without properties; 1 = reason
// only ("If the Remaining Length is less than 2, a value of 0 is used").
bool read_reason_and_props(std::string_view body, PacketType t, uint8_t& reason,
                           Properties& props, Fail& f) {
  Reader r(body, f);
  if (r.empty()) return true;
  if (!r.u8(reason)) return false;
  if (!wire::reason_allowed(t, reason)) return f.protocol("reason code not allowed");
  if (!r.empty() && !wire::read_props(r, wire::bit(t), props)) return false;
  if (!r.empty()) return f.malformed("trailing bytes after properties");
  return true;
}

bool read_auth(std::string_view body, Auth& a, Fail& f) {
  if (!read_reason_and_props(body, PacketType::kAuth, a.reason, a.props, f)) return false;
  // 3.15.2.2.2: "It is a Protocol Error to omit the Authentication Method"; only the
  // fully shortened form (remaining length 0) stands without it.
  if (!body.empty() && !a.props.authentication_method)
    return f.protocol("AUTH without authentication method");
  return true;
}

template <class T>
Result<Packet> finish(bool ok, T&& value, const Fail& f) {
  if (!ok) return f.error();
  return Packet(std::forward<T>(value));
}

Result<Packet> decode_body(uint8_t header, std::string_view body, Version v, Fail& f) {
  const auto type = PacketType(header >> 4);
  const bool v5 = v == Version::kV5;
  switch (type) {
    case PacketType::kConnect: {
      auto c = decode_connect(header, body);
      if (!c) return c.error();
      return Packet(std::move(*c));
    }
    case PacketType::kConnack: {
      Connack c;
      return finish(wire::read_connack(header, body, v, c, f), std::move(c), f);
    }
    case PacketType::kPublish: {
      thread_local std::string scratch;
      Publish p;
      return finish(wire::read_publish(header, body, v, p, scratch, f), std::move(p), f);
    }
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp: {
      Ack a;
      return finish(wire::read_ack(header, body, v, a, f), std::move(a), f);
    }
    case PacketType::kSubscribe: {
      Subscribe s;
      return finish(read_subscribe(body, v, s, f), std::move(s), f);
    }
    case PacketType::kSuback: {
      Suback s;
      return finish(read_suback(body, v, s, f), std::move(s), f);
    }
    case PacketType::kUnsubscribe: {
      Unsubscribe u;
      return finish(read_unsubscribe(body, v, u, f), std::move(u), f);
    }
    case PacketType::kUnsuback: {
      Unsuback u;
      return finish(read_unsuback(body, v, u, f), std::move(u), f);
    }
    case PacketType::kPingreq:
    case PacketType::kPingresp:
      if (!body.empty()) return Error{rc::kMalformedPacket, "PINGREQ/PINGRESP with a body"};
      if (type == PacketType::kPingreq) return Packet(Pingreq{});
      return Packet(Pingresp{});
    case PacketType::kDisconnect: {
      Disconnect d;
      if (!v5 && !body.empty()) return Error{rc::kMalformedPacket, "3.x DISCONNECT with a body"};
      return finish(read_reason_and_props(body, type, d.reason, d.props, f), std::move(d), f);
    }
    case PacketType::kAuth: {
      if (!v5) return Error{rc::kMalformedPacket, "AUTH is reserved before MQTT 5"};
      Auth a;
      return finish(read_auth(body, a, f), std::move(a), f);
    }
  }
  return Error{rc::kMalformedPacket, "reserved packet type 0"};
}

}  // namespace

bool wire::fixed_flags_ok(uint8_t header, Version v) {
  const auto type = PacketType(header >> 4);
  const uint8_t flags = header & 0x0F;
  switch (type) {
    case PacketType::kPublish:
      return true;
    case PacketType::kPubrel:
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe:
      // 3.1 sets DUP when it re-sends these; QoS must still read 1.
      return v == Version::kV31 ? (flags & 0x07) == 0x02 : flags == 0x02;
    default:
      return flags == 0;
  }
}

Result<Packet> decode(uint8_t header, std::string_view body, Version v) {
  Fail f;
  if (!wire::fixed_flags_ok(header, v))
    return Error{rc::kMalformedPacket, "reserved fixed header flags [MQTT-2.2.2-2]"};
  return decode_body(header, body, v, f);
}

}  // namespace petrel::protocol
