// The ENGINE API (--tls-engine, --keyform engine) is deprecated in OpenSSL 3 but still
// present in Debian 12's libssl3; its deprecation warnings are silenced for this file only,
// before any OpenSSL header is read.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "client/tls_context.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/ui.h>
#include <openssl/x509v3.h>
#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#endif

#include <boost/asio/ip/address.hpp>
#include <cstring>
#include <map>
#include <mutex>

namespace petrel::client {

namespace {

namespace ssl = boost::asio::ssl;

// The ex_data slot that points from an SSL_CTX to its TlsContext. Allocated once per
// process by OpenSSL; holds no state of ours.
int ctx_slot() {
  static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

const TlsContext* from_ssl(const SSL* ssl) {
  return static_cast<const TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_slot()));
}

unsigned int psk_callback(SSL* ssl, const char* /*hint*/, char* identity,
                          unsigned int max_identity, unsigned char* key, unsigned int max_key) {
  const TlsContext* self = from_ssl(ssl);
  return self ? self->psk(identity, max_identity, key, max_key) : 0;
}

void keylog_callback(const SSL* ssl, const char* line) {
  if (const TlsContext* self = from_ssl(ssl)) self->keylog(line);
}

// The ex_data slot of an SSL that holds why its stapled OCSP response was refused (a
// std::string, freed with the SSL).
void free_reason(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::string*>(ptr); }
int ocsp_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_reason);
  return slot;
}

std::string openssl_error();

// Checks the OCSP response the server stapled to its certificate: present, successful,
// signed by the certificate's issuer (or a responder it authorised) as far as our trust
// store says, about this certificate, current (5 minutes of clock skew allowed), and
// "good". Returns why not, or "".
std::string check_stapled_ocsp(SSL* ssl) {
  const unsigned char* der = nullptr;
  const long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
  if (len <= 0 || der == nullptr) return "the server stapled no OCSP response";
  std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> resp(d2i_OCSP_RESPONSE(nullptr, &der, len),
                                                                     OCSP_RESPONSE_free);
  if (!resp) return "the server's OCSP response cannot be parsed";
  const int status = OCSP_response_status(resp.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return std::string("the server's OCSP response says ") + OCSP_response_status_str(status);
  }
  std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)> basic(OCSP_response_get1_basic(resp.get()),
                                                                        OCSP_BASICRESP_free);
  if (!basic) return "the server's OCSP response has no basic response";
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
  X509_STORE* store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
  if (OCSP_basic_verify(basic.get(), sent, store, 0) != 1) {
    return "the server's OCSP response is not signed by its certificate's issuer or a responder the issuer "
           "authorised (" + openssl_error() + ")";
  }
  X509* leaf = SSL_get0_peer_certificate(ssl);
  X509* issuer = nullptr;
  if (STACK_OF(X509)* verified = SSL_get0_verified_chain(ssl); verified && sk_X509_num(verified) > 1) {
    issuer = sk_X509_value(verified, 1);
  }
  for (int i = 0; !issuer && leaf && sent && i < sk_X509_num(sent); ++i) {
    X509* c = sk_X509_value(sent, i);
    if (c != leaf && X509_check_issued(c, leaf) == X509_V_OK) issuer = c;
  }
  if (!leaf || !issuer) return "the issuer of the server's certificate is unknown, so its OCSP status cannot be matched";
  std::unique_ptr<OCSP_CERTID, decltype(&OCSP_CERTID_free)> id(OCSP_cert_to_id(nullptr, leaf, issuer),
                                                               OCSP_CERTID_free);
  int cert_status = 0, reason = 0;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked, &this_update,
                                   &next_update) != 1) {
    return "the server's OCSP response is not about its certificate";
  }
  if (OCSP_check_validity(this_update, next_update, 300, -1) != 1) {
    ERR_clear_error();
    return "the server's OCSP response is out of date (or not valid yet)";
  }
  if (cert_status == V_OCSP_CERTSTATUS_REVOKED) {
    // reason is -1 when the responder gave none.
    return reason >= 0 ? std::string("the server's certificate is revoked (OCSP, reason: ") +
                             OCSP_crl_reason_str(reason) + ")"
                       : std::string("the server's certificate is revoked (OCSP)");
  }
  if (cert_status != V_OCSP_CERTSTATUS_GOOD) return "the server's certificate status is unknown to the OCSP responder";
  return {};
}

// Client side: 1 accepts the handshake, 0 fails it (alert bad_certificate_status_response).
int ocsp_callback(SSL* ssl, void*) {
  std::string why = check_stapled_ocsp(ssl);
  if (why.empty()) return 1;
  auto* kept = static_cast<std::string*>(SSL_get_ex_data(ssl, ocsp_slot()));
  if (!kept) {
    kept = new std::string;
    if (SSL_set_ex_data(ssl, ocsp_slot(), kept) != 1) {
      delete kept;
      return 0;
    }
  }
  *kept = std::move(why);
  return 0;
}

std::string openssl_error() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  if (ERR_SYSTEM_ERROR(e)) return std::strerror(int(ERR_GET_REASON(e)));
  const char* reason = ERR_reason_error_string(e);
  return reason ? reason : "OpenSSL error " + std::to_string(e);
}

#ifndef OPENSSL_NO_ENGINE
// The control commands TPM-style engines take for a SHA1 key password (as Mosquitto sends
// them): SECRET_MODE = SHA1, then PIN = the 20-byte digest.
constexpr const char* kEngineSecretMode = "SECRET_MODE";
constexpr long kEngineSecretModeSha1 = 0x1000;
constexpr const char* kEnginePin = "PIN";

// An engine is made OpenSSL's default for all it implements (as Mosquitto's clients do)
// while at least one context uses it, and unregistered when the last one goes: the
// defaults tables hold functional references of their own, and an engine still
// initialised when the process exits is finished by OpenSSL's atexit cleanup, after the
// libraries behind it (a PKCS#11 module, say) may already have torn themselves down.
std::mutex& defaults_mutex() {
  static std::mutex m;
  return m;
}

std::map<ENGINE*, int>& default_users() {
  static std::map<ENGINE*, int> users;
  return users;
}

bool acquire_defaults(ENGINE* e) {
  std::lock_guard lock(defaults_mutex());
  int& users = default_users()[e];
  if (users == 0 && !ENGINE_set_default(e, ENGINE_METHOD_ALL)) {
    default_users().erase(e);
    return false;
  }
  ++users;
  return true;
}

void release_defaults(ENGINE* e) {
  std::lock_guard lock(defaults_mutex());
  const auto it = default_users().find(e);
  if (it == default_users().end() || --it->second > 0) return;
  default_users().erase(it);
  ENGINE_unregister_ciphers(e);
  ENGINE_unregister_digests(e);
  ENGINE_unregister_RSA(e);
  ENGINE_unregister_DSA(e);
  ENGINE_unregister_EC(e);
  ENGINE_unregister_DH(e);
  ENGINE_unregister_RAND(e);
  ENGINE_unregister_pkey_meths(e);
  ENGINE_unregister_pkey_asn1_meths(e);
}

// The engine's password prompts (a PIN for a token key) are answered from
// TlsOptions::key_password, never from the terminal: no password = the prompt fails.
int engine_password_cb(char* buf, int size, int /*rwflag*/, void* userdata) {
  const auto* pw = static_cast<const std::string*>(userdata);
  if (!pw || pw->empty() || pw->size() > size_t(size)) return -1;
  std::memcpy(buf, pw->data(), pw->size());
  return int(pw->size());
}

// The UI_METHOD handed to engines with that callback. Engines may keep it (and the
// callback data) to ask again later, when the key is used: one for the whole process,
// never freed; the callback data is the context's own key_password.
UI_METHOD* engine_ui() {
  static UI_METHOD* const ui = UI_UTIL_wrap_read_pem_callback(engine_password_cb, 0);
  return ui;
}
#endif

int min_version(const std::string& v) {
  if (v == "tlsv1.3") return TLS1_3_VERSION;
  if (v == "tlsv1.1") return TLS1_1_VERSION;
  if (v == "tlsv1") return TLS1_VERSION;
  return TLS1_2_VERSION;
}

}  // namespace

TlsContext::TlsContext(const TlsOptions& opts) : opts_(opts), ctx_(ssl::context::tls_client) {}

TlsContext::~TlsContext() {
  if (keylog_) std::fclose(keylog_);
#ifndef OPENSSL_NO_ENGINE
  if (engine_) {
    if (engine_defaults_) release_defaults(engine_);
    ENGINE_finish(engine_);
  }
#endif
}

std::shared_ptr<TlsContext> TlsContext::create(const TlsOptions& opts, std::string& error) {
  std::shared_ptr<TlsContext> self(new TlsContext(opts));
  if (!self->load(error)) return nullptr;
  return self;
}

bool TlsContext::load(std::string& error) {
  SSL_CTX* ctx = ctx_.native_handle();
  SSL_CTX_set_ex_data(ctx, ctx_slot(), this);
  const auto& v = opts_.version;
  if (!v.empty() && v != "tlsv1.3" && v != "tlsv1.2" && v != "tlsv1.1" && v != "tlsv1") {
    error = "Unsupported TLS version '" + v + "' (use tlsv1.3, tlsv1.2 or tlsv1.1)";
    return false;
  }
  SSL_CTX_set_min_proto_version(ctx, min_version(v));
  if (opts_.require_ocsp) SSL_CTX_set_tlsext_status_cb(ctx, ocsp_callback);
  if (!opts_.engine.empty() && !load_engine(error)) return false;
  if (opts_.is_psk()) {
    SSL_CTX_set_psk_client_callback(ctx, psk_callback);
    // TLS 1.2 and below need a PSK cipher suite; TLS 1.3 uses the same callback.
    if (opts_.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, "PSK") != 1) {
      error = "Unable to set PSK ciphers: " + openssl_error();
      return false;
    }
  }
  if (!opts_.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, opts_.ciphers.c_str()) != 1) {
    error = "Invalid cipher list '" + opts_.ciphers + "'";
    return false;
  }
  if (!opts_.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, opts_.ciphersuites.c_str()) != 1) {
    error = "Invalid TLS 1.3 cipher suites '" + opts_.ciphersuites + "'";
    return false;
  }
  if (!opts_.alpn.empty()) {
    if (opts_.alpn.size() > 255) {
      error = "ALPN protocol name too long";
      return false;
    }
    std::string wire(1, char(opts_.alpn.size()));
    wire += opts_.alpn;
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                            unsigned(wire.size()));
  }
  if (!opts_.keylog_file.empty()) {
    keylog_ = std::fopen(opts_.keylog_file.c_str(), "a");
    if (!keylog_) {
      error = "Unable to open TLS key log file '" + opts_.keylog_file + "': " + std::strerror(errno);
      return false;
    }
    SSL_CTX_set_keylog_callback(ctx, keylog_callback);
  }
  if (opts_.is_psk() && opts_.cafile.empty() && opts_.capath.empty()) return true;
  return load_verify(error) && load_client_cert(error);
}

bool TlsContext::load_verify(std::string& error) {
  SSL_CTX* ctx = ctx_.native_handle();
  const char* file = opts_.cafile.empty() ? nullptr : opts_.cafile.c_str();
  const char* path = opts_.capath.empty() ? nullptr : opts_.capath.c_str();
  if (file || path) {
    if (SSL_CTX_load_verify_locations(ctx, file, path) != 1) {
      std::string what = file ? "CA file '" + opts_.cafile + "'" : "CA path '" + opts_.capath + "'";
      error = "Unable to load " + what + ": " + openssl_error();
      return false;
    }
  }
  if (opts_.use_os_certs) SSL_CTX_set_default_verify_paths(ctx);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return true;
}

bool TlsContext::load_client_cert(std::string& error) {
  if (opts_.certfile.empty() && opts_.keyfile.empty()) return true;
  SSL_CTX* ctx = ctx_.native_handle();
  if (SSL_CTX_use_certificate_chain_file(ctx, opts_.certfile.c_str()) != 1) {
    error = "Unable to load client certificate '" + opts_.certfile + "': " + openssl_error();
    return false;
  }
  if (opts_.key_from_engine) return load_engine_key(error);
  // Never a terminal prompt: the password comes from the options or there is none.
  // (Through Asio, which owns the SSL_CTX's password userdata.)
  boost::system::error_code ec;
  ctx_.set_password_callback(
      [pw = opts_.key_password](std::size_t max, ssl::context::password_purpose) {
        return pw.size() <= max ? pw : std::string();
      },
      ec);
  if (SSL_CTX_use_PrivateKey_file(ctx, opts_.keyfile.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate here already: tell that case apart
    // from a key that could not be read (often because it is password-protected).
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      error = "Client certificate '" + opts_.certfile + "' and key '" + opts_.keyfile +
              "' do not match";
    } else {
      error = "Unable to load client key '" + opts_.keyfile + "': " + openssl_error() +
              " (a password-protected key cannot be used)";
    }
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = "Client certificate '" + opts_.certfile + "' and key '" + opts_.keyfile +
            "' do not match";
    return false;
  }
  return true;
}

#ifndef OPENSSL_NO_ENGINE

bool TlsContext::load_engine(std::string& error) {
  ENGINE* e = ENGINE_by_id(opts_.engine.c_str());  // a structural reference
  if (!e) {
    ERR_clear_error();
    error = "Problem setting TLS engine, is " + opts_.engine + " a valid engine?";
    return false;
  }
  const int inited = ENGINE_init(e);  // a functional reference, kept until ~TlsContext
  ENGINE_free(e);
  if (!inited) {
    // Engines often fail without an OpenSSL error (no device, no driver, missing settings).
    error = "Unable to initialise TLS engine '" + opts_.engine + "'";
    error += ERR_peek_last_error() != 0 ? ": " + openssl_error()
                                        : " (the engine's device, driver or settings are missing)";
    return false;
  }
  engine_ = e;
  // As Mosquitto: the engine becomes the default for everything it implements (ciphers,
  // digests, RSA/EC, RAND, ...), process-wide, while this context lives.
  if (!acquire_defaults(e)) {
    error = "Unable to use TLS engine '" + opts_.engine + "': " + openssl_error();
    return false;
  }
  engine_defaults_ = true;
  return true;
}

bool TlsContext::load_engine_key(std::string& error) {
  SSL_CTX* ctx = ctx_.native_handle();
  const std::string where = "key '" + opts_.keyfile + "' through TLS engine '" + opts_.engine + "'";
  if (!engine_) {
    error = "Unable to load " + where + ": no engine (--keyform engine needs --tls-engine)";
    return false;
  }
  if (!opts_.engine_kpass_sha1.empty()) {
    if (!ENGINE_ctrl_cmd(engine_, kEngineSecretMode, kEngineSecretModeSha1, nullptr, nullptr, 0)) {
      error = "TLS engine '" + opts_.engine + "' cannot take a SHA1 key password (SECRET_MODE): " +
              openssl_error();
      return false;
    }
    // The digest is the context's own, valid for as long as the context (an engine may
    // keep the pointer rather than copy it).
    if (!ENGINE_ctrl_cmd(engine_, kEnginePin, 0, opts_.engine_kpass_sha1.data(), nullptr, 0)) {
      error = "TLS engine '" + opts_.engine + "' refused the SHA1 key password (PIN): " + openssl_error();
      return false;
    }
  }
  UI_METHOD* ui = engine_ui();
  if (!ui) {
    error = "Unable to load " + where + ": " + openssl_error();
    return false;
  }
  EVP_PKEY* pkey = ENGINE_load_private_key(engine_, opts_.keyfile.c_str(), ui, &opts_.key_password);
  if (!pkey) {
    error = "Unable to load " + where + ": " + openssl_error();
    return false;
  }
  const int used = SSL_CTX_use_PrivateKey(ctx, pkey);
  EVP_PKEY_free(pkey);  // the SSL_CTX holds its own reference
  const std::string mismatch = "Client certificate '" + opts_.certfile + "' and engine key '" +
                               opts_.keyfile + "' do not match";
  if (used != 1) {
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      error = mismatch;
    } else {
      error = "Unable to use " + where + ": " + openssl_error();
    }
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    error = mismatch;
    return false;
  }
  return true;
}

bool tls_engine_exists(const std::string& id, std::string& error) {
  ENGINE* e = ENGINE_by_id(id.c_str());
  if (!e) {
    ERR_clear_error();
    error = "Problem setting TLS engine, is " + id + " a valid engine?";
    return false;
  }
  ENGINE_free(e);
  return true;
}

#else  // OpenSSL built without ENGINE support

bool TlsContext::load_engine(std::string& error) {
  error = "TLS engines are not supported by this OpenSSL build";
  return false;
}

bool TlsContext::load_engine_key(std::string& error) { return load_engine(error); }

bool tls_engine_exists(const std::string&, std::string& error) {
  error = "TLS engines are not supported by this OpenSSL build";
  return false;
}

#endif

bool TlsContext::prepare(SSL* ssl, const std::string& host, std::string& error) const {
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  const bool literal = !ec;
  if (!literal && !host.empty()) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (opts_.require_ocsp && SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp) != 1) {
    error = "Cannot request the server's OCSP status";
    return false;
  }
  if (opts_.insecure || (opts_.is_psk() && opts_.cafile.empty() && opts_.capath.empty())) return true;
  if (literal) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, addr.to_string().c_str()) != 1) {
      error = "Cannot verify address " + host;
      return false;
    }
  } else if (SSL_set1_host(ssl, host.c_str()) != 1) {
    error = "Cannot verify host name " + host;
    return false;
  }
  return true;
}

std::string TlsContext::ocsp_failure(const SSL* ssl) {
  const auto* why = static_cast<const std::string*>(SSL_get_ex_data(ssl, ocsp_slot()));
  return why ? *why : std::string();
}

unsigned int TlsContext::psk(char* identity, unsigned int max_identity, unsigned char* key,
                             unsigned int max_key) const {
  if (opts_.psk_identity.size() + 1 > max_identity || opts_.psk.size() > max_key) return 0;
  std::memcpy(identity, opts_.psk_identity.c_str(), opts_.psk_identity.size() + 1);
  std::memcpy(key, opts_.psk.data(), opts_.psk.size());
  return unsigned(opts_.psk.size());
}

void TlsContext::keylog(const char* line) const {
  if (!keylog_) return;
  std::fputs(line, keylog_);
  std::fputc('\n', keylog_);
  std::fflush(keylog_);
}

}  // namespace petrel::client
