#include "client/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cstring>

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

std::string openssl_error() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  if (ERR_SYSTEM_ERROR(e)) return std::strerror(int(ERR_GET_REASON(e)));
  const char* reason = ERR_reason_error_string(e);
  return reason ? reason : "OpenSSL error " + std::to_string(e);
}

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

bool TlsContext::prepare(SSL* ssl, const std::string& host, std::string& error) const {
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  const bool literal = !ec;
  if (!literal && !host.empty()) SSL_set_tlsext_host_name(ssl, host.c_str());
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
