#pragma once
// TlsContext: one listener's OpenSSL server context (SSL_CTX), built once from its
// configuration — certfile/keyfile, cafile/capath with require_certificate, crlfile,
// tls_version (the lowest accepted), ciphers, ciphers_tls1.3, dhparamfile, and TLS-PSK
// when psk_hint is set (keys from psk_file). Immutable once built and shared: every TLS
// connection holds a reference to the context it was accepted with, so a reload that
// builds a new context (new certificates, a rotated CRL) leaves existing connections on
// theirs. Every file problem is reported with the file and the reason, never a prompt
// (a password-protected key is refused: the broker runs unattended).
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "config/config.h"

namespace petrel::auth {
class PskFile;
}

namespace petrel::net {

class TlsContext {
 public:
  // Error messages look like "keyfile '/etc/petrel/server.key': is password-protected; ...".
  static Result<std::shared_ptr<const TlsContext>> create(const config::Listener& l);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  bool has_certificate() const { return has_cert_; }
  bool psk_enabled() const { return psk_ != nullptr; }
  // What the listener offers, for the startup log: "certificate", "PSK", "certificate+PSK".
  std::string describe() const;

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
  bool has_cert_ = false;
  bool client_certs_ = false;
  // Read by the PSK callbacks through the SSL_CTX's app data; lives as long as ctx_.
  std::shared_ptr<const auth::PskFile> psk_;
};

// The reason in OpenSSL's error queue (most recent first), emptied; `fallback` when empty.
std::string take_openssl_error(std::string_view fallback);

}  // namespace petrel::net
