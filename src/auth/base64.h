#pragma once
// Standard base64 (RFC 4648 section 4, '+' and '/'), as Mosquitto's password files and
// the PHC strings of argon2 use it. Encoding pads with '=' unless asked not to (argon2's
// strings are unpadded); decoding accepts either, and nothing else: no whitespace, no
// URL-safe alphabet, no characters after the padding.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::auth {

std::string base64_encode(std::span<const uint8_t> bytes, bool pad = true);
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace petrel::auth
