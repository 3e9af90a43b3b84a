#pragma once
#include <string_view>

namespace petrel::protocol {
// MQTT UTF-8 string rules [MQTT-1.5.4-1..3]: well-formed UTF-8, no surrogates
// (U+D800..U+DFFF), no U+0000. (Control characters and non-characters are allowed.)
bool valid_mqtt_utf8(std::string_view s);
}  // namespace petrel::protocol
