#pragma once
// PskFile: the TLS-PSK identities of a `psk_file` and their keys. Immutable after parse.
//
// Format: one `identity:hexkey` per line; blank lines and '#' comments skipped. Refused as
// `file:line: what is wrong`: no ':', an empty identity, an identity over 256 bytes
// (OpenSSL's PSK_MAX_IDENTITY_LEN), a key that is empty, not hex, over 512 bytes
// (PSK_MAX_PSK_LEN) or all zero, and a duplicate identity. An odd number of digits has a
// leading 0 ("12345" is 01 23 45), as in Mosquitto 2.0.11 (checked with its pskfile.example
// key: mosquitto_pub --psk 12345 and --psk 012345 connect, --psk 123450 is refused).
//
// Key bytes: every hex byte counts, leading zeros included — Mosquitto 2.0.11 does the same
// (checked against the real broker: with key 0011..ff, mosquitto_pub --psk 0011..ff and
// openssl s_client -psk 0011..ff connect, --psk 11..ff is refused).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/file_text.h"
#include "common/result.h"

namespace petrel::auth {

class PskFile {
 public:
  static Result<PskFile> parse(std::string_view text, std::string_view name);
  static Result<PskFile> load(const std::string& path);

  // The key for identity, or nullptr when the identity is not listed.
  const std::vector<uint8_t>* key(std::string_view identity) const;
  bool contains(std::string_view identity) const { return key(identity) != nullptr; }
  size_t size() const { return keys_.size(); }

 private:
  std::unordered_map<std::string, std::vector<uint8_t>, StringHash, std::equal_to<>> keys_;
};

// Even-length hex text (either case) to bytes; false when it is not.
bool decode_hex(std::string_view hex, std::vector<uint8_t>& out);

}  // namespace petrel::auth
