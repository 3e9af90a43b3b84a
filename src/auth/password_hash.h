#pragma once
// PasswordHash: one decoded password-file hash, in the three forms Mosquitto writes.
//
//   $6$SALT$HASH            SHA-512(password || salt)            Mosquitto 1.x (-H sha512)
//   $7$ITER$SALT$HASH       PBKDF2-HMAC-SHA512(password, salt, ITER, 64 bytes)
//                           Mosquitto 2.0: 101 iterations, 12-byte salt;
//                           Mosquitto 2.1: 1000 iterations, 64-byte salt
//   $argon2id$v=19$m=M,t=T,p=P$SALT$HASH
//                           the PHC string of libargon2 (Mosquitto 2.1 with argon2)
//
// SALT and HASH are base64 (padded in $6$/$7$, unpadded in the PHC string); salt bytes,
// not their text, go into the hash. $6$/$7$ hashes are 64 bytes. Any salt length and
// iteration count loads. Verification recomputes the hash and compares it in constant
// time (CRYPTO_memcmp).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace petrel::auth {

enum class HashKind : uint8_t { kSha512, kPbkdf2Sha512, kArgon2id };

struct PasswordHash {
  HashKind kind = HashKind::kPbkdf2Sha512;
  uint32_t iterations = 0;  // PBKDF2 iterations, or argon2 t (passes)
  uint32_t memory_kib = 0;  // argon2 m
  uint32_t lanes = 0;       // argon2 p
  uint32_t version = 0x13;  // argon2 v (0x13 = 19, or 0x10 when the string has no v=)
  std::vector<uint8_t> salt;
  std::vector<uint8_t> hash;
};

// Parameters for new hashes (petrel_passwd, tests).
struct HashParams {
  HashKind kind = HashKind::kPbkdf2Sha512;
  // PBKDF2 iterations. 101 is Mosquitto 2.0's default: files it can read.
  uint32_t iterations = 101;
  // Salt bytes: 12 for $6$/$7$ because Mosquitto 2.0 reads no other length.
  size_t salt_len = 12;
  // argon2id: OWASP's smallest recommended setting (19 MiB, 2 passes, 1 lane), which a
  // router can afford per CONNECT.
  uint32_t argon2_t = 2;
  uint32_t argon2_m_kib = 19456;
  uint32_t argon2_p = 1;
  size_t argon2_salt_len = 16;
  size_t argon2_hash_len = 32;
};

// Largest argon2 memory cost accepted from a file (1 GiB): a typo must not let one
// CONNECT exhaust the machine.
inline constexpr uint32_t kMaxArgon2MemoryKib = 1u << 20;

// True when text starts like one of the three hash forms ($6$, $7$, $argon2id$); used to
// tell a plain-text password line from a hashed one.
bool looks_hashed(std::string_view text);

// Decodes a hash field. The error message says what is wrong, without the file and line.
Result<PasswordHash> parse_password_hash(std::string_view text);

// The field as Mosquitto writes it (the inverse of parse_password_hash).
std::string encode_password_hash(const PasswordHash& h);

// Recomputes and compares in constant time. False also when the hash cannot be computed.
bool verify_password(const PasswordHash& h, std::string_view password);

// A new hash with a random salt (RAND_bytes).
Result<PasswordHash> hash_password(std::string_view password, const HashParams& params);
// The same with a given salt (known-answer tests).
Result<PasswordHash> hash_password_with_salt(std::string_view password, const HashParams& params,
                                             std::span<const uint8_t> salt);

}  // namespace petrel::auth
