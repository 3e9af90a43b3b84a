#include "protocol/reason_codes.h"

#include "protocol/wire.h"

namespace petrel::protocol {

// Names as in MQTT 5.0 section 2.4, table 2-6. 0x00 has three names depending on the
// packet (Success, Normal disconnection, Granted QoS 0); "Success" stands for all.
std::string_view reason_code_name(uint8_t code) {
  switch (code) {
    case rc::kSuccess: return "Success";
    case rc::kGrantedQos1: return "Granted QoS 1";
    case rc::kGrantedQos2: return "Granted QoS 2";
    case rc::kDisconnectWithWill: return "Disconnect with Will Message";
    case rc::kNoMatchingSubscribers: return "No matching subscribers";
    case rc::kNoSubscriptionExisted: return "No subscription existed";
    case rc::kContinueAuthentication: return "Continue authentication";
    case rc::kReAuthenticate: return "Re-authenticate";
    case rc::kUnspecifiedError: return "Unspecified error";
    case rc::kMalformedPacket: return "Malformed Packet";
    case rc::kProtocolError: return "Protocol Error";
    case rc::kImplementationSpecificError: return "Implementation specific error";
    case rc::kUnsupportedProtocolVersion: return "Unsupported Protocol Version";
    case rc::kClientIdentifierNotValid: return "Client Identifier not valid";
    case rc::kBadUserNameOrPassword: return "Bad User Name or Password";
    case rc::kNotAuthorized: return "Not authorized";
    case rc::kServerUnavailable: return "Server unavailable";
    case rc::kServerBusy: return "Server busy";
    case rc::kBanned: return "Banned";
    case rc::kServerShuttingDown: return "Server shutting down";
    case rc::kBadAuthenticationMethod: return "Bad authentication method";
    case rc::kKeepAliveTimeout: return "Keep Alive timeout";
    case rc::kSessionTakenOver: return "Session taken over";
    case rc::kTopicFilterInvalid: return "Topic Filter invalid";
    case rc::kTopicNameInvalid: return "Topic Name invalid";
    case rc::kPacketIdentifierInUse: return "Packet Identifier in use";
    case rc::kPacketIdentifierNotFound: return "Packet Identifier not found";
    case rc::kReceiveMaximumExceeded: return "Receive Maximum exceeded";
    case rc::kTopicAliasInvalid: return "Topic Alias invalid";
    case rc::kPacketTooLarge: return "Packet too large";
    case rc::kMessageRateTooHigh: return "Message rate too high";
    case rc::kQuotaExceeded: return "Quota exceeded";
    case rc::kAdministrativeAction: return "Administrative action";
    case rc::kPayloadFormatInvalid: return "Payload format invalid";
    case rc::kRetainNotSupported: return "Retain not supported";
    case rc::kQosNotSupported: return "QoS not supported";
    case rc::kUseAnotherServer: return "Use another server";
    case rc::kServerMoved: return "Server moved";
    case rc::kSharedSubscriptionsNotSupported: return "Shared Subscriptions not supported";
    case rc::kConnectionRateExceeded: return "Connection rate exceeded";
    case rc::kMaximumConnectTime: return "Maximum connect time";
    case rc::kSubscriptionIdentifiersNotSupported: return "Subscription Identifiers not supported";
    case rc::kWildcardSubscriptionsNotSupported: return "Wildcard Subscriptions not supported";
    default: return "Unknown reason code";
  }
}

// 3.1.1 has six return codes (table 3.1); each v5 refusal maps to the one that describes
// it best, and everything without a counterpart becomes 3 (Server unavailable), the
// generic "cannot serve you now". Values 0..5 are taken as already-v3 codes.
uint8_t v5_connack_to_v3(uint8_t v5_code) {
  switch (v5_code) {
    case rc::kSuccess: return rc::kV3Accepted;
    case rc::kV3UnacceptableProtocolVersion:
    case rc::kV3IdentifierRejected:
    case rc::kV3ServerUnavailable:
    case rc::kV3BadUsernameOrPassword:
    case rc::kV3NotAuthorized:
      return v5_code;
    case rc::kUnsupportedProtocolVersion: return rc::kV3UnacceptableProtocolVersion;
    case rc::kClientIdentifierNotValid: return rc::kV3IdentifierRejected;
    case rc::kBadUserNameOrPassword: return rc::kV3BadUsernameOrPassword;
    case rc::kNotAuthorized:
    case rc::kBanned:
    case rc::kBadAuthenticationMethod:
      return rc::kV3NotAuthorized;
    case rc::kServerUnavailable:
    case rc::kServerBusy:
    default:
      return rc::kV3ServerUnavailable;
  }
}

}  // namespace petrel::protocol

namespace petrel::protocol::wire {

// The reason codes each v5 packet may carry: CONNACK table 3-1, PUBACK 3-4, PUBREC 3-5,
// PUBREL 3-6, PUBCOMP 3-7, SUBACK 3-8, UNSUBACK 3-9, DISCONNECT 3-10, AUTH 3-11.
bool reason_allowed(PacketType t, uint8_t code) {
  using namespace std::string_view_literals;
  std::string_view set;
  switch (t) {
    case PacketType::kConnack:
      set = "\x00\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8A\x8C\x90\x95\x97\x99\x9A\x9B"
            "\x9C\x9D\x9F"sv;
      break;
    case PacketType::kPuback:
    case PacketType::kPubrec:
      set = "\x00\x10\x80\x83\x87\x90\x91\x97\x99"sv;
      break;
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
      set = "\x00\x92"sv;
      break;
    case PacketType::kSuback:
      set = "\x00\x01\x02\x80\x83\x87\x8F\x91\x97\x9E\xA1\xA2"sv;
      break;
    case PacketType::kUnsuback:
      set = "\x00\x11\x80\x83\x87\x8F\x91"sv;
      break;
    case PacketType::kDisconnect:
      set = "\x00\x04\x80\x81\x82\x83\x87\x89\x8B\x8D\x8E\x8F\x90\x93\x94\x95\x96\x97\x98"
            "\x99\x9A\x9B\x9C\x9D\x9E\x9F\xA0\xA1\xA2"sv;
      break;
    case PacketType::kAuth:
      set = "\x00\x18\x19"sv;
      break;
    default:
      return false;
  }
  // sv literals keep their embedded \x00.
  return set.find(char(code)) != std::string_view::npos;
}

}  // namespace petrel::protocol::wire
