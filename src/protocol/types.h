#pragma once
#include <cstdint>
#include <string_view>

namespace petrel::protocol {

// Protocol level byte of CONNECT.
enum class Version : uint8_t { kV31 = 3, kV311 = 4, kV5 = 5 };

enum class PacketType : uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6,
  kPubcomp = 7, kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11,
  kPingreq = 12, kPingresp = 13, kDisconnect = 14, kAuth = 15,
};

std::string_view packet_type_name(PacketType t);

}  // namespace petrel::protocol
