#pragma once
// One version-agnostic struct per MQTT control packet. The same structs serve 3.1, 3.1.1
// and 5.0; fields that a version lacks are ignored when encoding for it.
//
// PUBLISH is the hot path: its decoded form holds views into the frame buffer (no
// allocation); everything else owns its data.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/properties.h"
#include "protocol/types.h"

namespace petrel::protocol {

struct Will {
  std::string topic;
  std::string payload;  // binary
  uint8_t qos = 0;
  bool retain = false;
  Properties props;  // v5 will properties (will delay, expiry, content type, ...)
  bool operator==(const Will&) const = default;
};

struct Connect {
  Version version = Version::kV311;
  std::string protocol_name = "MQTT";  // "MQIsdp" for 3.1
  bool bridge = false;                 // bit 7 of the protocol level byte (try_private)
  bool clean_start = true;
  uint16_t keepalive = 60;
  std::string client_id;
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary
  Properties props;
  bool operator==(const Connect&) const = default;
};

struct Connack {
  bool session_present = false;
  uint8_t reason = 0;  // v3 return code, or v5 reason code
  Properties props;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  bool dup = false;
  uint8_t qos = 0;
  bool retain = false;
  std::string_view topic;  // empty when a v5 topic alias stands for it
  uint16_t packet_id = 0;  // only when qos > 0
  // v5: the properties the broker acts on are parsed out ...
  std::optional<uint16_t> topic_alias;
  std::optional<uint32_t> message_expiry_interval;
  std::optional<uint8_t> payload_format_indicator;  // parsed AND kept in forward_props
  std::vector<uint32_t> subscription_identifiers;   // server -> client only
  // ... and every property that is forwarded unchanged (payload format indicator, content
  // type, response topic, correlation data, user properties) stays encoded here, in the
  // order received, without the length prefix. Never contains topic alias, message expiry
  // or subscription identifiers. After decoding it views the body, or — when the sender
  // interleaved these with the parsed-out ones — a scratch buffer (see decode() in codec.h).
  std::string_view forward_props;
  std::string_view payload;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP.
struct Ack {
  PacketType type = PacketType::kPuback;
  uint16_t packet_id = 0;
  uint8_t reason = 0;
  std::string reason_string;  // v5, empty = absent
  UserProperties user_properties;
  bool operator==(const Ack&) const = default;
};

struct SubscribeTopic {
  std::string filter;
  uint8_t qos = 0;
  bool no_local = false;             // v5
  bool retain_as_published = false;  // v5
  uint8_t retain_handling = 0;       // v5: 0, 1, 2
  bool operator==(const SubscribeTopic&) const = default;
};

struct Subscribe {
  uint16_t packet_id = 0;
  std::vector<SubscribeTopic> topics;
  Properties props;  // subscription identifier, user properties
  bool operator==(const Subscribe&) const = default;
};

struct Suback {
  uint16_t packet_id = 0;
  std::vector<uint8_t> reasons;
  Properties props;
  bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  std::vector<std::string> filters;
  Properties props;
  bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
  uint16_t packet_id = 0;
  std::vector<uint8_t> reasons;  // v5 only; empty for 3.1/3.1.1
  Properties props;
  bool operator==(const Unsuback&) const = default;
};

struct Pingreq { bool operator==(const Pingreq&) const = default; };
struct Pingresp { bool operator==(const Pingresp&) const = default; };

struct Disconnect {
  uint8_t reason = 0;
  Properties props;  // session expiry, reason string, server reference, user properties
  bool operator==(const Disconnect&) const = default;
};

struct Auth {
  uint8_t reason = 0;
  Properties props;
  bool operator==(const Auth&) const = default;
};

using Packet = std::variant<Connect, Connack, Publish, Ack, Subscribe, Suback, Unsubscribe,
                            Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

PacketType packet_type(const Packet& p);

}  // namespace petrel::protocol
