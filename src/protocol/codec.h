#pragma once
// Encoders and decoders for every packet and version. Pure: bytes in, Result<Packet> out;
// packets in, bytes appended to a std::string out. No allocation when decoding PUBLISH or
// the acks (beyond what their optional fields need).
//
// Decoding validates strictly and returns an Error whose code is the v5 reason code to
// send in DISCONNECT/CONNACK: 0x81 Malformed Packet (bad lengths, trailing bytes, reserved
// flag bits, bad UTF-8 incl. U+0000 and surrogates, QoS 3 in PUBLISH or a will, unknown
// properties or properties not allowed in that packet), 0x82 Protocol Error (duplicate
// properties and out-of-range property values as the v5 spec words it, packet identifier
// 0 where required, subscription identifier 0, SUBSCRIBE/UNSUBSCRIBE without topics,
// retain handling 3, DUP on a QoS 0 PUBLISH, a reason code the packet may not carry,
// ...), 0x84 Unsupported Protocol Version (CONNECT only), 0x90 Topic Name Invalid
// (wildcards in a PUBLISH or will topic, empty will topic), 0x94 Topic Alias Invalid
// (topic alias 0). For 3.1/3.1.1 the same codes are reported; the caller just closes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/packets.h"

namespace petrel::protocol {

// Decodes a CONNECT (fixed header byte + body = everything after the remaining length).
// The protocol name and level decide the version: "MQIsdp"/3, "MQTT"/4, "MQTT"/5.
// An unknown level gives code 0x84 (the caller sends CONNACK 0x84 / v3 return code 1).
Result<Connect> decode_connect(uint8_t header, std::string_view body);
// The version a CONNECT body asks for, if its protocol name and level are known — so the
// caller can answer a CONNECT that fails to decode with a CONNACK in the right format.
std::optional<Version> peek_connect_version(std::string_view body);

// Decodes any packet of an established connection using version v. For PUBLISH the views
// point into body. A CONNECT here is decoded with decode_connect (the caller decides that
// a second CONNECT is a protocol error).
//
// Publish::forward_props is a view into body when the forwardable properties arrived
// contiguously (always the case for our encoder). When a sender interleaves them with
// topic alias / message expiry / subscription identifiers, they are gathered into a
// thread_local buffer instead: that view stays valid until the next decode() of such a
// PUBLISH on the same thread. Callers that keep several decoded PUBLISHes alive at once
// use decode_publish() with their own scratch buffer.
Result<Packet> decode(uint8_t header, std::string_view body, Version v);

// Decodes a PUBLISH (header must be type 3). Non-contiguous forwardable properties are
// gathered into scratch (overwritten); everything else views body. No allocation when
// scratch has capacity and there are no subscription identifiers.
Result<Publish> decode_publish(uint8_t header, std::string_view body, Version v,
                               std::string& scratch);

// Decodes a PUBACK, PUBREC, PUBREL or PUBCOMP exactly as decode() would, without the
// Packet variant (the hot path of QoS 1 and 2).
Result<Ack> decode_ack(uint8_t header, std::string_view body, Version v);

// Parses an encoded property block (no length prefix) as found in Publish::forward_props.
Result<Properties> parse_properties(std::string_view encoded, PacketType type);

// Appends the encoding of p for version v to out. Fields and properties that the version
// or packet type lacks are left out (so the result always decodes): for 3.x no
// properties or v5 reasons, UNSUBACK without reasons, a CONNACK/SUBACK failure code >=
// 0x80 mapped to its 3.1.1 counterpart, a password without user name dropped
// [MQTT-3.1.2-22]; AUTH appends nothing for 3.x. CONNECT takes its protocol name and
// level from v (not from Connect::version / protocol_name).
void encode(const Packet& p, Version v, std::string& out);

// Appends a PUBLISH. Returns the offset in out of the 2-byte packet identifier (so a
// fan-out can patch it per subscriber), or std::string::npos for QoS 0.
// v5 properties written: topic alias, message expiry interval, subscription identifiers,
// then forward_props verbatim. Publish::payload_format_indicator is NOT written on its
// own: it travels inside forward_props (see encode_forward_props).
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
