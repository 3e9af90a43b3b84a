// -D / --property COMMAND NAME VALUE [VALUE2]: MQTT v5 properties by name, checked against
// the packets each property may appear in (the ones a client sends).
#include <cstdlib>
#include <cstring>

#include "tools/common/options.h"

namespace petrel::tools {

namespace {

enum class Kind { kByte, kU16, kU32, kVarint, kString, kBinary, kPair };

// Commands a client sends, as bits.
constexpr unsigned kConnect = 1, kPublish = 2, kSubscribe = 4, kUnsubscribe = 8, kDisconnect = 16,
                   kAuth = 32, kWill = 64, kAck = 128;

struct PropDef {
  const char* name;
  Kind kind;
  unsigned allowed;
};

const PropDef kProps[] = {
    {"payload-format-indicator", Kind::kByte, kPublish | kWill},
    {"message-expiry-interval", Kind::kU32, kPublish | kWill},
    {"content-type", Kind::kString, kPublish | kWill},
    {"response-topic", Kind::kString, kPublish | kWill},
    {"correlation-data", Kind::kBinary, kPublish | kWill},
    {"subscription-identifier", Kind::kVarint, kSubscribe},
    {"session-expiry-interval", Kind::kU32, kConnect | kDisconnect},
    {"assigned-client-identifier", Kind::kString, 0},
    {"server-keep-alive", Kind::kU16, 0},
    {"authentication-method", Kind::kString, kConnect | kAuth},
    {"authentication-data", Kind::kBinary, kConnect | kAuth},
    {"request-problem-information", Kind::kByte, kConnect},
    {"will-delay-interval", Kind::kU32, kWill},
    {"request-response-information", Kind::kByte, kConnect},
    {"response-information", Kind::kString, 0},
    {"server-reference", Kind::kString, kDisconnect},
    {"reason-string", Kind::kString, kDisconnect | kAuth | kAck},
    {"receive-maximum", Kind::kU16, kConnect},
    {"topic-alias-maximum", Kind::kU16, kConnect},
    {"topic-alias", Kind::kU16, kPublish},
    {"maximum-qos", Kind::kByte, 0},
    {"retain-available", Kind::kByte, 0},
    {"user-property", Kind::kPair, kConnect | kPublish | kSubscribe | kUnsubscribe | kDisconnect | kAuth | kWill | kAck},
    {"maximum-packet-size", Kind::kU32, kConnect},
    {"wildcard-subscription-available", Kind::kByte, 0},
    {"subscription-identifier-available", Kind::kByte, 0},
    {"shared-subscription-available", Kind::kByte, 0},
};

// Every tool accepts every command (as mosquitto's do); those it never sends are ignored.
unsigned command_bit(Tool /*tool*/, const std::string& cmd) {
  const bool pub = true, sub = true;
  if (cmd == "connect") return kConnect;
  if (cmd == "disconnect") return kDisconnect;
  if (cmd == "auth") return kAuth;
  if (cmd == "will") return kWill;
  if (pub && cmd == "publish") return kPublish;
  if (pub && (cmd == "puback" || cmd == "pubrec" || cmd == "pubrel" || cmd == "pubcomp")) return kAck;
  if (sub && cmd == "subscribe") return kSubscribe;
  if (sub && cmd == "unsubscribe") return kUnsubscribe;
  return 0;
}

protocol::Properties* target(Config& c, unsigned bit) {
  switch (bit) {
    case kConnect: return &c.connect_props;
    case kPublish: return &c.publish_props;
    case kSubscribe: return &c.subscribe_props;
    case kUnsubscribe: return &c.unsubscribe_props;
    case kDisconnect: return &c.disconnect_props;
    case kWill: return &c.will_props;
    default: return nullptr;  // auth / acks: accepted, not sent (no enhanced auth)
  }
}

void store(protocol::Properties& p, const std::string& name, uint32_t n, const std::string& s,
           const std::string* s2) {
  if (name == "payload-format-indicator") p.payload_format_indicator = uint8_t(n);
  else if (name == "message-expiry-interval") p.message_expiry_interval = n;
  else if (name == "content-type") p.content_type = s;
  else if (name == "response-topic") p.response_topic = s;
  else if (name == "correlation-data") p.correlation_data = s;
  else if (name == "subscription-identifier") p.subscription_identifiers = {n};
  else if (name == "session-expiry-interval") p.session_expiry_interval = n;
  else if (name == "authentication-method") p.authentication_method = s;
  else if (name == "authentication-data") p.authentication_data = s;
  else if (name == "request-problem-information") p.request_problem_information = uint8_t(n);
  else if (name == "will-delay-interval") p.will_delay_interval = n;
  else if (name == "request-response-information") p.request_response_information = uint8_t(n);
  else if (name == "server-reference") p.server_reference = s;
  else if (name == "reason-string") p.reason_string = s;
  else if (name == "receive-maximum") p.receive_maximum = uint16_t(n);
  else if (name == "topic-alias-maximum") p.topic_alias_maximum = uint16_t(n);
  else if (name == "topic-alias") p.topic_alias = uint16_t(n);
  else if (name == "user-property") p.user_properties.emplace_back(s, s2 ? *s2 : std::string());
  else if (name == "maximum-packet-size") p.maximum_packet_size = n;
}

}  // namespace

ParseResult add_property(Config& cfg, const std::string& command, const std::string& name,
                         const std::string& value, const std::string* value2) {
  auto fail = [](std::string m) { return ParseResult{ParseStatus::kError, std::move(m), true}; };
  const unsigned bit = command_bit(cfg.tool, command);
  if (!bit) return fail("Invalid command " + command + " given in --property argument.");
  const PropDef* def = nullptr;
  for (const auto& d : kProps)
    if (name == d.name) def = &d;
  if (!def) return fail("Invalid property name " + name + " given in --property argument.");
  if (!(def->allowed & bit)) return fail(name + " property not allowed for " + command + " in --property argument.");
  uint32_t n = 0;
  if (def->kind != Kind::kString && def->kind != Kind::kBinary && def->kind != Kind::kPair) {
    char* end = nullptr;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    const long long max = def->kind == Kind::kByte ? 255 : def->kind == Kind::kU16 ? 65535
                          : def->kind == Kind::kVarint ? 268435455 : 4294967295LL;
    if (value.empty() || *end != '\0' || v < 0 || v > max)
      return fail("Invalid value \"" + value + "\" for property " + name + " in --property argument.");
    n = uint32_t(v);
  }
  if (protocol::Properties* p = target(cfg, bit)) store(*p, name, n, value, value2);
  return {};
}

}  // namespace petrel::tools
