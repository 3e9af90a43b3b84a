#pragma once
// Encoders and decoders for every packet and version. Pure: bytes in, Result<Packet> out;
// packets in, bytes appended to a std::string out. No allocation when decoding PUBLISH or
// the acks (beyond what their optional fields need).
//
// Decoding validates strictly and returns an Error whose code is the v5 reason code to
// send in DISCONNECT/CONNACK: 0x81 Malformed Packet (bad lengths, reserved flag bits, bad
// UTF-8 incl. U+0000 and surrogates, QoS 3, duplicate properties, properties not allowed
// in that packet), 0x82 Protocol Error (packet identifier 0 where required, subscription
// identifier 0, ...), 0x84 Unsupported Protocol Version (CONNECT only), 0x90 Topic Name
// Invalid (wildcards in a PUBLISH topic), and so on.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/packets.h"

namespace petrel::protocol {

// Decodes a CONNECT (fixed header byte + body = everything after the remaining length).
// The protocol name and level decide the version: "MQIsdp"/3, "MQTT"/4, "MQTT"/5.
// An unknown level gives code 0x84 (the caller sends CONNACK 0x84 / v3 return code 1).
Result<Connect> decode_connect(uint8_t header, std::string_view body);

// Decodes any packet of an established connection using version v. For PUBLISH the views
// point into body. A CONNECT here is decoded with decode_connect (the caller decides that
// a second CONNECT is a protocol error).
Result<Packet> decode(uint8_t header, std::string_view body, Version v);

// Parses an encoded property block (no length prefix) as found in Publish::forward_props.
Result<Properties> parse_properties(std::string_view encoded, PacketType type);

// Appends the encoding of p for version v to out.
void encode(const Packet& p, Version v, std::string& out);

// Appends a PUBLISH. Returns the offset in out of the 2-byte packet identifier (so a
// fan-out can patch it per subscriber), or std::string::npos for QoS 0.
size_t encode_publish(const Publish& p, Version v, std::string& out);
// Size in bytes encode_publish would append (to honour a client's maximum packet size).
size_t publish_size(const Publish& p, Version v);

// Small fixed packets, for the hot path.
void encode_ack(PacketType type, uint16_t packet_id, uint8_t reason, Version v, std::string& out);
void encode_pingresp(std::string& out);

// Encodes a property set (with its variable-length prefix) — used by encode() and tests.
void encode_properties(const Properties& p, std::string& out);
// Appends a user-property / string-pair etc. encoded as forward_props would hold them.
void encode_forward_props(const Properties& p, std::string& out);

}  // namespace petrel::protocol
