#include "protocol/types.h"

#include <type_traits>

#include "protocol/packets.h"

namespace petrel::protocol {

std::string_view packet_type_name(PacketType t) {
  switch (t) {
    case PacketType::kConnect: return "CONNECT";
    case PacketType::kConnack: return "CONNACK";
    case PacketType::kPublish: return "PUBLISH";
    case PacketType::kPuback: return "PUBACK";
    case PacketType::kPubrec: return "PUBREC";
    case PacketType::kPubrel: return "PUBREL";
    case PacketType::kPubcomp: return "PUBCOMP";
    case PacketType::kSubscribe: return "SUBSCRIBE";
    case PacketType::kSuback: return "SUBACK";
    case PacketType::kUnsubscribe: return "UNSUBSCRIBE";
    case PacketType::kUnsuback: return "UNSUBACK";
    case PacketType::kPingreq: return "PINGREQ";
    case PacketType::kPingresp: return "PINGRESP";
    case PacketType::kDisconnect: return "DISCONNECT";
    case PacketType::kAuth: return "AUTH";
  }
  return "UNKNOWN";
}

PacketType packet_type(const Packet& p) {
  return std::visit(
      [](const auto& v) -> PacketType {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Connect>) return PacketType::kConnect;
        else if constexpr (std::is_same_v<T, Connack>) return PacketType::kConnack;
        else if constexpr (std::is_same_v<T, Publish>) return PacketType::kPublish;
        else if constexpr (std::is_same_v<T, Ack>) return v.type;
        else if constexpr (std::is_same_v<T, Subscribe>) return PacketType::kSubscribe;
        else if constexpr (std::is_same_v<T, Suback>) return PacketType::kSuback;
        else if constexpr (std::is_same_v<T, Unsubscribe>) return PacketType::kUnsubscribe;
        else if constexpr (std::is_same_v<T, Unsuback>) return PacketType::kUnsuback;
        else if constexpr (std::is_same_v<T, Pingreq>) return PacketType::kPingreq;
        else if constexpr (std::is_same_v<T, Pingresp>) return PacketType::kPingresp;
        else if constexpr (std::is_same_v<T, Disconnect>) return PacketType::kDisconnect;
        else return PacketType::kAuth;
      },
      p);
}

}  // namespace petrel::protocol
