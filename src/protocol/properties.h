#pragma once
// MQTT 5.0 properties (section 2.2.2). One struct for every packet except PUBLISH (which
// keeps its properties as views for the zero-copy hot path) and the four acks (which only
// carry a reason string and user properties). Absent properties are empty optionals.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace petrel::protocol {

namespace prop {
inline constexpr uint8_t kPayloadFormatIndicator = 0x01;
inline constexpr uint8_t kMessageExpiryInterval = 0x02;
inline constexpr uint8_t kContentType = 0x03;
inline constexpr uint8_t kResponseTopic = 0x08;
inline constexpr uint8_t kCorrelationData = 0x09;
inline constexpr uint8_t kSubscriptionIdentifier = 0x0B;
inline constexpr uint8_t kSessionExpiryInterval = 0x11;
inline constexpr uint8_t kAssignedClientIdentifier = 0x12;
inline constexpr uint8_t kServerKeepAlive = 0x13;
inline constexpr uint8_t kAuthenticationMethod = 0x15;
inline constexpr uint8_t kAuthenticationData = 0x16;
inline constexpr uint8_t kRequestProblemInformation = 0x17;
inline constexpr uint8_t kWillDelayInterval = 0x18;
inline constexpr uint8_t kRequestResponseInformation = 0x19;
inline constexpr uint8_t kResponseInformation = 0x1A;
inline constexpr uint8_t kServerReference = 0x1C;
inline constexpr uint8_t kReasonString = 0x1F;
inline constexpr uint8_t kReceiveMaximum = 0x21;
inline constexpr uint8_t kTopicAliasMaximum = 0x22;
inline constexpr uint8_t kTopicAlias = 0x23;
inline constexpr uint8_t kMaximumQos = 0x24;
inline constexpr uint8_t kRetainAvailable = 0x25;
inline constexpr uint8_t kUserProperty = 0x26;
inline constexpr uint8_t kMaximumPacketSize = 0x27;
inline constexpr uint8_t kWildcardSubscriptionAvailable = 0x28;
inline constexpr uint8_t kSubscriptionIdentifierAvailable = 0x29;
inline constexpr uint8_t kSharedSubscriptionAvailable = 0x2A;
}  // namespace prop

using UserProperties = std::vector<std::pair<std::string, std::string>>;

struct Properties {
  std::optional<uint8_t> payload_format_indicator;
  std::optional<uint32_t> message_expiry_interval;
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::string> correlation_data;  // binary
  std::vector<uint32_t> subscription_identifiers;
  std::optional<uint32_t> session_expiry_interval;
  std::optional<std::string> assigned_client_identifier;
  std::optional<uint16_t> server_keep_alive;
  std::optional<std::string> authentication_method;
  std::optional<std::string> authentication_data;  // binary
  std::optional<uint8_t> request_problem_information;
  std::optional<uint32_t> will_delay_interval;
  std::optional<uint8_t> request_response_information;
  std::optional<std::string> response_information;
  std::optional<std::string> server_reference;
  std::optional<std::string> reason_string;
  std::optional<uint16_t> receive_maximum;
  std::optional<uint16_t> topic_alias_maximum;
  std::optional<uint16_t> topic_alias;
  std::optional<uint8_t> maximum_qos;
  std::optional<uint8_t> retain_available;
  UserProperties user_properties;
  std::optional<uint32_t> maximum_packet_size;
  std::optional<uint8_t> wildcard_subscription_available;
  std::optional<uint8_t> subscription_identifier_available;
  std::optional<uint8_t> shared_subscription_available;

  bool operator==(const Properties&) const = default;
};

}  // namespace petrel::protocol
