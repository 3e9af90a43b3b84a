#include "client/message.h"

#include "protocol/framer.h"

namespace petrel::client {

namespace {

struct Cursor {
  std::string_view s;
  size_t pos = 0;
  bool take(size_t n, std::string_view& out) {
    if (s.size() - pos < n) return false;
    out = s.substr(pos, n);
    pos += n;
    return true;
  }
  bool u8(uint32_t& v) {
    std::string_view b;
    if (!take(1, b)) return false;
    v = uint8_t(b[0]);
    return true;
  }
  bool u16(uint32_t& v) {
    std::string_view b;
    if (!take(2, b)) return false;
    v = uint32_t(uint8_t(b[0])) << 8 | uint8_t(b[1]);
    return true;
  }
  bool u32(uint32_t& v) {
    std::string_view b;
    if (!take(4, b)) return false;
    v = uint32_t(uint8_t(b[0])) << 24 | uint32_t(uint8_t(b[1])) << 16 |
        uint32_t(uint8_t(b[2])) << 8 | uint8_t(b[3]);
    return true;
  }
  bool varint(uint32_t& v) {
    int n = protocol::decode_varint(s.data() + pos, s.size() - pos, v);
    if (n <= 0) return false;
    pos += size_t(n);
    return true;
  }
  bool str(std::string& out) {
    uint32_t n = 0;
    std::string_view b;
    if (!u16(n) || !take(n, b)) return false;
    out.assign(b);
    return true;
  }
};

bool read_property(Cursor& c, Property& p) {
  namespace id = protocol::prop;
  uint32_t ident = 0;
  if (!c.varint(ident)) return false;
  p.id = uint8_t(ident);
  switch (ident) {
    case id::kPayloadFormatIndicator: return c.u8(p.number);
    case id::kMessageExpiryInterval: return c.u32(p.number);
    case id::kContentType:
    case id::kResponseTopic:
    case id::kCorrelationData: return c.str(p.value);
    case id::kSubscriptionIdentifier: return c.varint(p.number);
    case id::kTopicAlias: return c.u16(p.number);
    case id::kUserProperty: return c.str(p.key) && c.str(p.value);
    default: return false;
  }
}

Error malformed(const char* what) { return make_error(0x81, what); }

}  // namespace

Result<std::vector<Property>> parse_publish_properties(std::string_view body, uint8_t qos) {
  Cursor c{body};
  uint32_t tlen = 0, len = 0;
  std::string_view skip;
  if (!c.u16(tlen) || !c.take(tlen + (qos ? 2 : 0), skip)) return malformed("truncated PUBLISH");
  if (!c.varint(len)) return malformed("bad property length");
  std::string_view block;
  if (!c.take(len, block)) return malformed("property length exceeds packet");
  std::vector<Property> out;
  Cursor pc{block};
  while (pc.pos < block.size()) {
    Property p;
    if (!read_property(pc, p)) return malformed("bad PUBLISH property");
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<Property> to_property_list(const protocol::Properties& p) {
  namespace id = protocol::prop;
  std::vector<Property> out;
  if (p.payload_format_indicator) out.push_back({id::kPayloadFormatIndicator, *p.payload_format_indicator, {}, {}});
  if (p.message_expiry_interval) out.push_back({id::kMessageExpiryInterval, *p.message_expiry_interval, {}, {}});
  if (p.content_type) out.push_back({id::kContentType, 0, {}, *p.content_type});
  if (p.response_topic) out.push_back({id::kResponseTopic, 0, {}, *p.response_topic});
  if (p.correlation_data) out.push_back({id::kCorrelationData, 0, {}, *p.correlation_data});
  for (uint32_t s : p.subscription_identifiers) out.push_back({id::kSubscriptionIdentifier, s, {}, {}});
  if (p.topic_alias) out.push_back({id::kTopicAlias, *p.topic_alias, {}, {}});
  for (const auto& [k, v] : p.user_properties) out.push_back({id::kUserProperty, 0, k, v});
  return out;
}

}  // namespace petrel::client
