#include "wire.h"

#include <stdexcept>

#include "protocol/codec.h"
#include "protocol/framer.h"
#include "protocol/packets.h"

namespace petrel::bench {

using protocol::Version;

PacketTemplate publish_template(std::string_view topic, uint8_t qos, bool retain, uint32_t size, Version v) {
  std::string payload(size, 'x');
  protocol::Publish p;
  p.qos = qos;
  p.retain = retain;
  p.topic = topic;
  p.packet_id = qos ? 1 : 0;
  p.payload = payload;
  PacketTemplate t;
  size_t pid = protocol::encode_publish(p, v, t.bytes);
  t.pid_off = qos ? pid : std::string::npos;
  t.payload_off = t.bytes.size() - size;  // the payload is the tail of a PUBLISH
  if (t.bytes.size() < size || (qos && pid == std::string::npos))
    throw std::runtime_error("encode_publish returned an unexpected layout");
  return t;
}

PacketTemplate ack_template(protocol::PacketType type, Version v) {
  PacketTemplate t;
  protocol::encode_ack(type, 0, 0, v, t.bytes);
  protocol::Frame f;
  if (protocol::try_frame(t.bytes.data(), t.bytes.size(), 0, f) != protocol::FrameStatus::kComplete ||
      f.remaining < 2)
    throw std::runtime_error("encode_ack returned an unexpected layout");
  t.pid_off = f.header_len;  // the packet identifier opens the variable header
  return t;
}

void append_connect(std::string& out, std::string_view client_id, Version v, uint16_t keepalive,
                    uint32_t session_expiry, uint16_t topic_alias_max) {
  protocol::Connect c;
  c.version = v;
  c.protocol_name = v == Version::kV31 ? "MQIsdp" : "MQTT";
  c.clean_start = session_expiry == 0;
  c.keepalive = keepalive;
  c.client_id = std::string(client_id);
  if (v == Version::kV5) c.props.receive_maximum = 65535;  // let the broker keep its own window
  if (v == Version::kV5 && session_expiry) c.props.session_expiry_interval = session_expiry;
  if (v == Version::kV5 && topic_alias_max) c.props.topic_alias_maximum = topic_alias_max;
  protocol::encode(protocol::Packet(std::move(c)), v, out);
}

void append_subscribe(std::string& out, uint16_t packet_id, std::string_view filter, uint8_t qos, Version v) {
  protocol::Subscribe s;
  s.packet_id = packet_id;
  protocol::SubscribeTopic t;
  t.filter = std::string(filter);
  t.qos = qos;
  s.topics.push_back(std::move(t));
  protocol::encode(protocol::Packet(std::move(s)), v, out);
}

void append_publish(std::string& out, std::string_view topic, uint8_t qos, bool retain, uint16_t packet_id,
                    std::string_view payload, Version v) {
  protocol::Publish p;
  p.qos = qos;
  p.retain = retain;
  p.topic = topic;
  p.packet_id = qos ? packet_id : 0;
  p.payload = payload;
  protocol::encode_publish(p, v, out);
}

void append_pingreq(std::string& out, Version v) { protocol::encode(protocol::Packet(protocol::Pingreq{}), v, out); }

void append_disconnect(std::string& out, Version v) {
  protocol::encode(protocol::Packet(protocol::Disconnect{}), v, out);
}

}  // namespace petrel::bench
