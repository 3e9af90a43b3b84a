#include "net/psk_callbacks.h"

#include <openssl/err.h>
#include <openssl/tls1.h>

#include <cstring>
#include <string_view>

#include "auth/psk_file.h"
#include "net/transport.h"

namespace petrel::net {

namespace {

const auth::PskFile* keys_of(SSL* ssl) {
  return static_cast<const auth::PskFile*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

void record_identity(SSL* ssl, std::string_view identity) {
  if (auto* id = static_cast<PeerIdentity*>(SSL_get_app_data(ssl))) id->psk_identity.assign(identity);
}

// TLS 1.2 (and OpenSSL's TLS 1.3 fallback): returns the key length, 0 for "no such
// identity" (the handshake then fails).
unsigned int psk_server_callback(SSL* ssl, const char* identity, unsigned char* psk, unsigned int max_psk_len) {
  const auth::PskFile* keys = keys_of(ssl);
  if (keys == nullptr || identity == nullptr) return 0;
  const std::vector<uint8_t>* key = keys->key(identity);
  if (key == nullptr || key->empty() || key->size() > max_psk_len) return 0;
  std::memcpy(psk, key->data(), key->size());
  record_identity(ssl, identity);
  return static_cast<unsigned int>(key->size());
}

// TLS 1.3 external PSK: a session holding the key, bound to TLS_AES_128_GCM_SHA256 (any
// negotiated SHA-256 suite is compatible with it). An unknown identity is not fatal here:
// *session stays null and the handshake continues without a PSK (and then fails unless
// the listener also has a certificate).
int psk_find_session_callback(SSL* ssl, const unsigned char* identity, size_t identity_len,
                              SSL_SESSION** session) {
  *session = nullptr;
  const auth::PskFile* keys = keys_of(ssl);
  if (keys == nullptr) return 1;
  std::string_view id(reinterpret_cast<const char*>(identity), identity_len);
  const std::vector<uint8_t>* key = keys->key(id);
  if (key == nullptr || key->empty()) return 1;
  static constexpr unsigned char kAes128GcmSha256[] = {0x13, 0x01};
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kAes128GcmSha256);
  if (cipher == nullptr) return 0;
  SSL_SESSION* s = SSL_SESSION_new();
  if (s == nullptr || !SSL_SESSION_set1_master_key(s, key->data(), key->size()) ||
      !SSL_SESSION_set_cipher(s, cipher) || !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
    SSL_SESSION_free(s);
    return 0;
  }
  *session = s;
  record_identity(ssl, id);
  return 1;
}

}  // namespace

Result<void> install_psk_callbacks(SSL_CTX* ctx, const auth::PskFile* keys, const std::string& hint) {
  SSL_CTX_set_app_data(ctx, const_cast<auth::PskFile*>(keys));
  SSL_CTX_set_psk_server_callback(ctx, psk_server_callback);
  SSL_CTX_set_psk_find_session_callback(ctx, psk_find_session_callback);
  if (!hint.empty() && SSL_CTX_use_psk_identity_hint(ctx, hint.c_str()) != 1) {
    ERR_clear_error();
    return make_error(0, "psk_hint '" + hint + "': not usable as a PSK identity hint (at most 128 bytes)");
  }
  return {};
}

}  // namespace petrel::net
