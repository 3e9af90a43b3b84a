#pragma once
// Message: an application message as the client delivers it. Owns its bytes. v5
// properties are kept as a list in wire order (so tools can print them exactly as the
// broker sent them), with small accessors for the common ones.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "protocol/properties.h"
#include "protocol/types.h"

namespace petrel::client {

struct Property {
  uint8_t id = 0;
  uint32_t number = 0;  // byte, two/four byte and variable byte integers
  std::string key;      // user property name
  std::string value;    // string / binary data / user property value
};

struct Message {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;
  uint64_t connection = 0;      // the connection it arrived on (Client::ack with manual_ack)
  std::vector<Property> props;  // v5 only

  const Property* find(uint8_t id) const {
    for (const auto& p : props)
      if (p.id == id) return &p;
    return nullptr;
  }
};

// Parses the property block of an (already validated) v5 PUBLISH body in wire order.
Result<std::vector<Property>> parse_publish_properties(std::string_view body, uint8_t qos);

// Converts a parsed property set to the ordered list (for outgoing messages and tests).
std::vector<Property> to_property_list(const protocol::Properties& p);

}  // namespace petrel::client
