// MQTT 5.0 properties (section 2.2.2): the identifier table, reading and checking one
// property, decoding a block into Properties, and encoding Properties.
#include <array>
#include <cassert>

#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/wire.h"

namespace petrel::protocol::wire {

namespace {

using PT = PacketType;
constexpr uint32_t kPubWill = bit(PT::kPublish) | kWillBit;
constexpr uint32_t kAcks = bit(PT::kPuback) | bit(PT::kPubrec) | bit(PT::kPubrel) | bit(PT::kPubcomp);
constexpr uint32_t kReasonStringIn = bit(PT::kConnack) | kAcks | bit(PT::kSuback) |
                                     bit(PT::kUnsuback) | bit(PT::kDisconnect) | bit(PT::kAuth);
constexpr uint32_t kUserPropertyIn = kReasonStringIn | kWillBit | bit(PT::kConnect) |
                                     bit(PT::kPublish) | bit(PT::kSubscribe) |
                                     bit(PT::kUnsubscribe);

// MQTT 5.0 table 2-4: identifier, type and the packets that may carry it.
constexpr std::array<PropInfo, 0x2B> make_table() {
  std::array<PropInfo, 0x2B> t{};
  t[prop::kPayloadFormatIndicator] = {PropType::kByte, kPubWill};
  t[prop::kMessageExpiryInterval] = {PropType::kU32, kPubWill};
  t[prop::kContentType] = {PropType::kString, kPubWill};
  t[prop::kResponseTopic] = {PropType::kString, kPubWill};
  t[prop::kCorrelationData] = {PropType::kBinary, kPubWill};
  t[prop::kSubscriptionIdentifier] = {PropType::kVarint, bit(PT::kPublish) | bit(PT::kSubscribe)};
  t[prop::kSessionExpiryInterval] = {PropType::kU32, bit(PT::kConnect) | bit(PT::kConnack) | bit(PT::kDisconnect)};
  t[prop::kAssignedClientIdentifier] = {PropType::kString, bit(PT::kConnack)};
  t[prop::kServerKeepAlive] = {PropType::kU16, bit(PT::kConnack)};
  t[prop::kAuthenticationMethod] = {PropType::kString, bit(PT::kConnect) | bit(PT::kConnack) | bit(PT::kAuth)};
  t[prop::kAuthenticationData] = {PropType::kBinary, bit(PT::kConnect) | bit(PT::kConnack) | bit(PT::kAuth)};
  t[prop::kRequestProblemInformation] = {PropType::kByte, bit(PT::kConnect)};
  t[prop::kWillDelayInterval] = {PropType::kU32, kWillBit};
  t[prop::kRequestResponseInformation] = {PropType::kByte, bit(PT::kConnect)};
  t[prop::kResponseInformation] = {PropType::kString, bit(PT::kConnack)};
  t[prop::kServerReference] = {PropType::kString, bit(PT::kConnack) | bit(PT::kDisconnect)};
  t[prop::kReasonString] = {PropType::kString, kReasonStringIn};
  t[prop::kReceiveMaximum] = {PropType::kU16, bit(PT::kConnect) | bit(PT::kConnack)};
  t[prop::kTopicAliasMaximum] = {PropType::kU16, bit(PT::kConnect) | bit(PT::kConnack)};
  t[prop::kTopicAlias] = {PropType::kU16, bit(PT::kPublish)};
  t[prop::kMaximumQos] = {PropType::kByte, bit(PT::kConnack)};
  t[prop::kRetainAvailable] = {PropType::kByte, bit(PT::kConnack)};
  t[prop::kUserProperty] = {PropType::kPair, kUserPropertyIn};
  t[prop::kMaximumPacketSize] = {PropType::kU32, bit(PT::kConnect) | bit(PT::kConnack)};
  t[prop::kWildcardSubscriptionAvailable] = {PropType::kByte, bit(PT::kConnack)};
  t[prop::kSubscriptionIdentifierAvailable] = {PropType::kByte, bit(PT::kConnack)};
  t[prop::kSharedSubscriptionAvailable] = {PropType::kByte, bit(PT::kConnack)};
  return t;
}
constexpr std::array<PropInfo, 0x2B> kTable = make_table();
constexpr PropInfo kUnknown{};

// Value rules that hold wherever the property appears.
bool check_value(const RawProp& p, Fail& fail) {
  switch (p.id) {
    case prop::kPayloadFormatIndicator:
    case prop::kRequestProblemInformation:
    case prop::kRequestResponseInformation:
    case prop::kMaximumQos:
    case prop::kRetainAvailable:
    case prop::kWildcardSubscriptionAvailable:
    case prop::kSubscriptionIdentifierAvailable:
    case prop::kSharedSubscriptionAvailable:
      if (p.num > 1) return fail.protocol("byte property must be 0 or 1");
      return true;
    case prop::kReceiveMaximum:
      if (p.num == 0) return fail.protocol("receive maximum of 0");
      return true;
    case prop::kMaximumPacketSize:
      if (p.num == 0) return fail.protocol("maximum packet size of 0");
      return true;
    case prop::kSubscriptionIdentifier:
      if (p.num == 0) return fail.protocol("subscription identifier of 0");
      return true;
    case prop::kTopicAlias:
      // [MQTT-3.3.2-8]; 0x94 is the code the receiver of a bad alias sends.
      if (p.num == 0) return fail.set(rc::kTopicAliasInvalid, "topic alias of 0 [MQTT-3.3.2-8]");
      return true;
    case prop::kResponseTopic:
      if (has_wildcard(p.s1)) return fail.protocol("wildcard in response topic [MQTT-3.3.2-14]");
      return true;
    default:
      return true;
  }
}

template <class T>
bool set_once(std::optional<T>& field, T value, Fail& fail) {
  if (field) return fail.protocol("property included more than once");
  field = std::move(value);
  return true;
}

// Stores one decoded property in p. Duplicates are a Protocol Error (each property's
// section in 3.x says "It is a Protocol Error to include ... more than once").
bool store(const RawProp& r, bool multi_sub_ids, Properties& p, Fail& f) {
  const auto str = [&] { return std::string(r.s1); };
  switch (r.id) {
    case prop::kPayloadFormatIndicator: return set_once(p.payload_format_indicator, uint8_t(r.num), f);
    case prop::kMessageExpiryInterval: return set_once(p.message_expiry_interval, r.num, f);
    case prop::kContentType: return set_once(p.content_type, str(), f);
    case prop::kResponseTopic: return set_once(p.response_topic, str(), f);
    case prop::kCorrelationData: return set_once(p.correlation_data, str(), f);
    case prop::kSubscriptionIdentifier:
      if (!multi_sub_ids && !p.subscription_identifiers.empty())
        return f.protocol("subscription identifier included more than once");
      p.subscription_identifiers.push_back(r.num);
      return true;
    case prop::kSessionExpiryInterval: return set_once(p.session_expiry_interval, r.num, f);
    case prop::kAssignedClientIdentifier: return set_once(p.assigned_client_identifier, str(), f);
    case prop::kServerKeepAlive: return set_once(p.server_keep_alive, uint16_t(r.num), f);
    case prop::kAuthenticationMethod: return set_once(p.authentication_method, str(), f);
    case prop::kAuthenticationData: return set_once(p.authentication_data, str(), f);
    case prop::kRequestProblemInformation: return set_once(p.request_problem_information, uint8_t(r.num), f);
    case prop::kWillDelayInterval: return set_once(p.will_delay_interval, r.num, f);
    case prop::kRequestResponseInformation: return set_once(p.request_response_information, uint8_t(r.num), f);
    case prop::kResponseInformation: return set_once(p.response_information, str(), f);
    case prop::kServerReference: return set_once(p.server_reference, str(), f);
    case prop::kReasonString: return set_once(p.reason_string, str(), f);
    case prop::kReceiveMaximum: return set_once(p.receive_maximum, uint16_t(r.num), f);
    case prop::kTopicAliasMaximum: return set_once(p.topic_alias_maximum, uint16_t(r.num), f);
    case prop::kTopicAlias: return set_once(p.topic_alias, uint16_t(r.num), f);
    case prop::kMaximumQos: return set_once(p.maximum_qos, uint8_t(r.num), f);
    case prop::kRetainAvailable: return set_once(p.retain_available, uint8_t(r.num), f);
    case prop::kUserProperty:
      p.user_properties.emplace_back(std::string(r.s1), std::string(r.s2));
      return true;
    case prop::kMaximumPacketSize: return set_once(p.maximum_packet_size, r.num, f);
    case prop::kWildcardSubscriptionAvailable: return set_once(p.wildcard_subscription_available, uint8_t(r.num), f);
    case prop::kSubscriptionIdentifierAvailable: return set_once(p.subscription_identifier_available, uint8_t(r.num), f);
    case prop::kSharedSubscriptionAvailable: return set_once(p.shared_subscription_available, uint8_t(r.num), f);
    default: return f.malformed("unknown property identifier");
  }
}

// ---- encoding ------------------------------------------------------------------------

class PropWriter {
 public:
  PropWriter(uint32_t mask, std::string& out) : mask_(mask), out_(out) {}
  bool allowed(uint8_t id) const { return (prop_info(id).allowed & mask_) != 0; }
  void byte(uint8_t id, const std::optional<uint8_t>& v) {
    if (v && allowed(id)) { put_u8(out_, id); put_u8(out_, *v); }
  }
  void u16(uint8_t id, const std::optional<uint16_t>& v) {
    if (v && allowed(id)) { put_u8(out_, id); put_u16(out_, *v); }
  }
  void u32(uint8_t id, const std::optional<uint32_t>& v) {
    if (v && allowed(id)) { put_u8(out_, id); put_u32(out_, *v); }
  }
  void str(uint8_t id, const std::optional<std::string>& v) {
    if (v && allowed(id)) { put_u8(out_, id); put_str(out_, *v); }
  }
  void varint(uint8_t id, uint32_t v) {
    if (allowed(id)) { put_u8(out_, id); encode_varint(v, out_); }
  }
  void users(const UserProperties& ups) {
    if (!allowed(prop::kUserProperty)) return;
    for (const auto& [k, v] : ups) {
      put_u8(out_, prop::kUserProperty);
      put_str(out_, k);
      put_str(out_, v);
    }
  }

 private:
  uint32_t mask_;
  std::string& out_;
};

// Writes every property of p that mask allows, in identifier order (user properties keep
// their relative order). SUBSCRIBE carries at most one subscription identifier.
void write_props_body(const Properties& p, uint32_t mask, std::string& out) {
  PropWriter w(mask, out);
  w.byte(prop::kPayloadFormatIndicator, p.payload_format_indicator);
  w.u32(prop::kMessageExpiryInterval, p.message_expiry_interval);
  w.str(prop::kContentType, p.content_type);
  w.str(prop::kResponseTopic, p.response_topic);
  w.str(prop::kCorrelationData, p.correlation_data);
  const bool one_sub_id = (mask & bit(PT::kPublish)) == 0;
  for (size_t i = 0; i < p.subscription_identifiers.size() && !(one_sub_id && i > 0); ++i)
    w.varint(prop::kSubscriptionIdentifier, p.subscription_identifiers[i]);
  w.u32(prop::kSessionExpiryInterval, p.session_expiry_interval);
  w.str(prop::kAssignedClientIdentifier, p.assigned_client_identifier);
  w.u16(prop::kServerKeepAlive, p.server_keep_alive);
  w.str(prop::kAuthenticationMethod, p.authentication_method);
  w.str(prop::kAuthenticationData, p.authentication_data);
  w.byte(prop::kRequestProblemInformation, p.request_problem_information);
  w.u32(prop::kWillDelayInterval, p.will_delay_interval);
  w.byte(prop::kRequestResponseInformation, p.request_response_information);
  w.str(prop::kResponseInformation, p.response_information);
  w.str(prop::kServerReference, p.server_reference);
  w.str(prop::kReasonString, p.reason_string);
  w.u16(prop::kReceiveMaximum, p.receive_maximum);
  w.u16(prop::kTopicAliasMaximum, p.topic_alias_maximum);
  w.u16(prop::kTopicAlias, p.topic_alias);
  w.byte(prop::kMaximumQos, p.maximum_qos);
  w.byte(prop::kRetainAvailable, p.retain_available);
  w.users(p.user_properties);
  w.u32(prop::kMaximumPacketSize, p.maximum_packet_size);
  w.byte(prop::kWildcardSubscriptionAvailable, p.wildcard_subscription_available);
  w.byte(prop::kSubscriptionIdentifierAvailable, p.subscription_identifier_available);
  w.byte(prop::kSharedSubscriptionAvailable, p.shared_subscription_available);
}

}  // namespace

const PropInfo& prop_info(uint8_t id) { return id < kTable.size() ? kTable[id] : kUnknown; }

uint32_t mask_for(PacketType t) { return bit(t); }

bool Reader::varint(uint32_t& v) {
  const int n = decode_varint(p_, left(), v);
  if (n <= 0) return fail_.malformed(n < 0 ? "variable byte integer longer than 4 bytes"
                                           : "truncated variable byte integer");
  p_ += n;
  return true;
}

void put_str(std::string& out, std::string_view s) {
  assert(s.size() <= 0xFFFF && "MQTT strings are at most 65535 bytes");
  put_u16(out, uint16_t(s.size()));
  out.append(s);
}

void LengthScope::close() {
  const size_t body = out_.size() - at_ - 4;
  assert(body <= 268'435'455u);
  std::string len;
  encode_varint(uint32_t(body), len);
  char* base = out_.data() + at_;
  std::memmove(base + len.size(), base + 4, body);
  std::memcpy(base, len.data(), len.size());
  out_.resize(at_ + len.size() + body);
}

bool read_prop(Reader& r, uint32_t allowed_mask, RawProp& out) {
  out.begin = r.pos();
  uint8_t id = 0;
  // The identifier is a Variable Byte Integer, but every defined one fits in one byte;
  // a first byte >= 0x80 can only start an unknown identifier.
  if (!r.u8(id)) return false;
  const PropInfo& info = prop_info(id);
  if (info.type == PropType::kNone) return r.fail().malformed("unknown property identifier");
  // 2.2.2.2: an identifier not valid for the packet type is a Malformed Packet.
  if ((info.allowed & allowed_mask) == 0) return r.fail().malformed("property not allowed in this packet");
  out.id = id;
  bool ok = true;
  switch (info.type) {
    case PropType::kByte: { uint8_t v = 0; ok = r.u8(v); out.num = v; break; }
    case PropType::kU16: { uint16_t v = 0; ok = r.u16(v); out.num = v; break; }
    case PropType::kU32: ok = r.u32(out.num); break;
    case PropType::kVarint: ok = r.varint(out.num); break;
    case PropType::kString: ok = r.utf8(out.s1, "property string is not valid UTF-8"); break;
    case PropType::kBinary: ok = r.binary(out.s1); break;
    case PropType::kPair:
      ok = r.utf8(out.s1, "user property name is not valid UTF-8") &&
           r.utf8(out.s2, "user property value is not valid UTF-8");
      break;
    case PropType::kNone: break;
  }
  if (!ok) return false;
  out.end = r.pos();
  return check_value(out, r.fail());
}

bool parse_props(std::string_view block, uint32_t mask, Properties& p, Fail& fail) {
  Reader r(block, fail);
  const bool multi_sub_ids = (mask & bit(PT::kPublish)) != 0;
  RawProp raw;
  while (!r.empty()) {
    if (!read_prop(r, mask, raw) || !store(raw, multi_sub_ids, p, fail)) return false;
  }
  // 3.1.2.11.10 / 3.2.2.3.18 / 3.15.2.2.3: data without a method is a Protocol Error.
  if (p.authentication_data && !p.authentication_method)
    return fail.protocol("authentication data without authentication method");
  return true;
}

bool read_props(Reader& r, uint32_t mask, Properties& p) {
  uint32_t len = 0;
  std::string_view block;
  return r.varint(len) && r.sub(len, block) && parse_props(block, mask, p, r.fail());
}

void write_props(const Properties& p, uint32_t mask, std::string& out) {
  LengthScope len(out);
  write_props_body(p, mask, out);
  len.close();
}

}  // namespace petrel::protocol::wire

namespace petrel::protocol {

Result<Properties> parse_properties(std::string_view encoded, PacketType type) {
  wire::Fail fail;
  Properties p;
  if (!wire::parse_props(encoded, wire::bit(type), p, fail)) return fail.error();
  return p;
}

void encode_properties(const Properties& p, std::string& out) {
  wire::write_props(p, ~0u, out);
}

void encode_forward_props(const Properties& p, std::string& out) {
  using namespace wire;
  if (p.payload_format_indicator) {
    put_u8(out, prop::kPayloadFormatIndicator);
    put_u8(out, *p.payload_format_indicator);
  }
  if (p.content_type) { put_u8(out, prop::kContentType); put_str(out, *p.content_type); }
  if (p.response_topic) { put_u8(out, prop::kResponseTopic); put_str(out, *p.response_topic); }
  if (p.correlation_data) { put_u8(out, prop::kCorrelationData); put_str(out, *p.correlation_data); }
  for (const auto& [k, v] : p.user_properties) {
    put_u8(out, prop::kUserProperty);
    put_str(out, k);
    put_str(out, v);
  }
}

}  // namespace petrel::protocol
