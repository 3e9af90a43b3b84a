#include "auth/password_hash.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <climits>

#include "auth/base64.h"

namespace petrel::auth {
namespace {

constexpr size_t kSha512Len = 64;

Error bad(std::string msg) { return make_error(0, std::move(msg)); }

// Splits "a$b$c" at '$' into exactly n fields.
bool split_fields(std::string_view s, std::string_view* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    size_t d = s.find('$');
    if (i + 1 < n) {
      if (d == std::string_view::npos) return false;
      out[i] = s.substr(0, d);
      s.remove_prefix(d + 1);
    } else {
      if (d != std::string_view::npos) return false;
      out[i] = s;
    }
  }
  return true;
}

bool parse_u32(std::string_view s, uint32_t& v) {
  if (s.empty() || s.size() > 10 || s[0] == '+' || s[0] == '-') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

Result<std::vector<uint8_t>> decode_field(std::string_view text, const char* what) {
  if (text.empty()) return bad(std::string("empty ") + what);
  auto bytes = base64_decode(text);
  if (!bytes) return bad(std::string(what) + " is not valid base64");
  if (bytes->empty()) return bad(std::string("empty ") + what);
  return std::move(*bytes);
}

Result<PasswordHash> parse_sha(std::string_view rest, bool pbkdf2) {
  std::string_view f[3];
  PasswordHash h;
  h.kind = pbkdf2 ? HashKind::kPbkdf2Sha512 : HashKind::kSha512;
  size_t n = pbkdf2 ? 3 : 2;
  if (!split_fields(rest, f, n)) {
    return bad(pbkdf2 ? "expected $7$ITERATIONS$SALT$HASH" : "expected $6$SALT$HASH");
  }
  std::string_view* sf = f;
  if (pbkdf2) {
    if (!parse_u32(f[0], h.iterations) || h.iterations == 0 || h.iterations > INT_MAX) {
      return bad("iteration count '" + std::string(f[0]) + "' is not a positive number");
    }
    ++sf;
  }
  auto salt = decode_field(sf[0], "salt");
  if (!salt) return salt.error();
  auto hash = decode_field(sf[1], "hash");
  if (!hash) return hash.error();
  if (hash->size() != kSha512Len) {
    return bad("hash is " + std::to_string(hash->size()) + " bytes, SHA-512 gives 64");
  }
  h.salt = std::move(*salt);
  h.hash = std::move(*hash);
  return h;
}

// "m=65536,t=3,p=4" in that order, as libargon2 writes it.
bool parse_argon2_params(std::string_view s, PasswordHash& h) {
  const char* keys[3] = {"m=", "t=", "p="};
  uint32_t* dst[3] = {&h.memory_kib, &h.iterations, &h.lanes};
  for (int i = 0; i < 3; ++i) {
    if (s.substr(0, 2) != keys[i]) return false;
    s.remove_prefix(2);
    size_t comma = s.find(',');
    std::string_view num = s.substr(0, comma);
    if (!parse_u32(num, *dst[i])) return false;
    if (i < 2) {
      if (comma == std::string_view::npos) return false;
      s.remove_prefix(comma + 1);
    } else if (comma != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

Result<PasswordHash> parse_argon2(std::string_view rest) {
  PasswordHash h;
  h.kind = HashKind::kArgon2id;
  std::string_view f[4];
  std::string_view* p = f;
  if (rest.substr(0, 2) == "v=") {
    if (!split_fields(rest, f, 4)) return bad("expected $argon2id$v=19$m=M,t=T,p=P$SALT$HASH");
    if (!parse_u32(f[0].substr(2), h.version) ||
        (h.version != ARGON2_VERSION_10 && h.version != ARGON2_VERSION_13)) {
      return bad("unknown argon2 version '" + std::string(f[0]) + "'");
    }
    ++p;
  } else {
    h.version = ARGON2_VERSION_10;
    if (!split_fields(rest, f, 3)) return bad("expected $argon2id$v=19$m=M,t=T,p=P$SALT$HASH");
  }
  if (!parse_argon2_params(p[0], h)) {
    return bad("argon2 parameters '" + std::string(p[0]) + "' are not m=M,t=T,p=P");
  }
  if (h.iterations < 1 || h.lanes < 1 || h.lanes > ARGON2_MAX_LANES || h.memory_kib < 8 * h.lanes) {
    return bad("argon2 parameters out of range (t >= 1, p >= 1, m >= 8*p)");
  }
  if (h.memory_kib > kMaxArgon2MemoryKib) {
    return bad("argon2 memory cost above the 1 GiB limit");
  }
  auto salt = decode_field(p[1], "salt");
  if (!salt) return salt.error();
  auto hash = decode_field(p[2], "hash");
  if (!hash) return hash.error();
  if (salt->size() < ARGON2_MIN_SALT_LENGTH) return bad("argon2 salt shorter than 8 bytes");
  if (hash->size() < ARGON2_MIN_OUTLEN) return bad("argon2 hash shorter than 4 bytes");
  h.salt = std::move(*salt);
  h.hash = std::move(*hash);
  return h;
}

bool compute_sha512(std::string_view pw, std::span<const uint8_t> salt, uint8_t* out) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  unsigned int len = 0;
  bool ok = EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, pw.data(), pw.size()) == 1 &&
            EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == kSha512Len;
  EVP_MD_CTX_free(ctx);
  return ok;
}

bool compute(const PasswordHash& h, std::string_view pw, uint8_t* out, size_t out_len) {
  switch (h.kind) {
    case HashKind::kSha512:
      return out_len == kSha512Len && compute_sha512(pw, h.salt, out);
    case HashKind::kPbkdf2Sha512:
      return PKCS5_PBKDF2_HMAC(pw.data(), static_cast<int>(pw.size()), h.salt.data(),
                               static_cast<int>(h.salt.size()), static_cast<int>(h.iterations),
                               EVP_sha512(), static_cast<int>(out_len), out) == 1;
    case HashKind::kArgon2id:
      return argon2_hash(h.iterations, h.memory_kib, h.lanes, pw.data(), pw.size(), h.salt.data(),
                         h.salt.size(), out, out_len, nullptr, 0, Argon2_id,
                         h.version) == ARGON2_OK;
  }
  return false;
}

}  // namespace

bool looks_hashed(std::string_view t) {
  return t.starts_with("$6$") || t.starts_with("$7$") || t.starts_with("$argon2id$");
}

Result<PasswordHash> parse_password_hash(std::string_view text) {
  if (text.starts_with("$6$")) return parse_sha(text.substr(3), false);
  if (text.starts_with("$7$")) return parse_sha(text.substr(3), true);
  if (text.starts_with("$argon2id$")) return parse_argon2(text.substr(10));
  if (text.starts_with("$argon2i$") || text.starts_with("$argon2d$")) {
    return bad("only argon2id hashes are supported");
  }
  if (text.starts_with("$")) return bad("unknown hash type (expected $6$, $7$ or $argon2id$)");
  return bad("not a hash");
}

std::string encode_password_hash(const PasswordHash& h) {
  switch (h.kind) {
    case HashKind::kSha512:
      return "$6$" + base64_encode(h.salt) + "$" + base64_encode(h.hash);
    case HashKind::kPbkdf2Sha512:
      return "$7$" + std::to_string(h.iterations) + "$" + base64_encode(h.salt) + "$" +
             base64_encode(h.hash);
    case HashKind::kArgon2id:
      return "$argon2id$v=" + std::to_string(h.version) + "$m=" + std::to_string(h.memory_kib) +
             ",t=" + std::to_string(h.iterations) + ",p=" + std::to_string(h.lanes) + "$" +
             base64_encode(h.salt, false) + "$" + base64_encode(h.hash, false);
  }
  return {};
}

bool verify_password(const PasswordHash& h, std::string_view password) {
  if (h.hash.empty() || h.hash.size() > 1024) return false;
  std::vector<uint8_t> out(h.hash.size());
  bool ok = compute(h, password, out.data(), out.size()) &&
            CRYPTO_memcmp(out.data(), h.hash.data(), out.size()) == 0;
  OPENSSL_cleanse(out.data(), out.size());
  return ok;
}

Result<PasswordHash> hash_password_with_salt(std::string_view password, const HashParams& p,
                                             std::span<const uint8_t> salt) {
  PasswordHash h;
  h.kind = p.kind;
  h.salt.assign(salt.begin(), salt.end());
  size_t len = kSha512Len;
  if (p.kind == HashKind::kPbkdf2Sha512) {
    if (p.iterations < 1 || p.iterations > INT_MAX) return bad("iterations must be > 0");
    h.iterations = p.iterations;
  } else if (p.kind == HashKind::kArgon2id) {
    h.iterations = p.argon2_t;
    h.memory_kib = p.argon2_m_kib;
    h.lanes = p.argon2_p;
    h.version = ARGON2_VERSION_13;
    len = p.argon2_hash_len;
  }
  h.hash.resize(len);
  if (!compute(h, password, h.hash.data(), h.hash.size())) return bad("unable to hash password");
  return h;
}

Result<PasswordHash> hash_password(std::string_view password, const HashParams& p) {
  std::vector<uint8_t> salt(p.kind == HashKind::kArgon2id ? p.argon2_salt_len : p.salt_len);
  if (salt.empty() || RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return bad("unable to generate a salt");
  }
  return hash_password_with_salt(password, p, salt);
}

}  // namespace petrel::auth
