#pragma once
// TlsContext: one OpenSSL client context built from TlsOptions (CA, client certificate,
// minimum version, ciphers, ALPN, PSK, key log). It owns the Asio ssl::context and the
// state the OpenSSL C callbacks need (PSK identity/key, key log file), reached from the
// SSL_CTX through an ex_data slot, so there is no global state of ours but for
// TlsOptions::engine: the context holds a functional reference to that OpenSSL ENGINE,
// which is OpenSSL's process-wide default for what it implements while a context uses it
// (counted per ENGINE), all released with the context.
#include <boost/asio/ssl/context.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "client/transport.h"

namespace petrel::client {

class TlsContext {
 public:
  // Builds the context or returns null and sets error (one line).
  static std::shared_ptr<TlsContext> create(const TlsOptions& opts, std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  boost::asio::ssl::context& context() { return ctx_; }
  const TlsOptions& options() const { return opts_; }
  // Per-connection setup: SNI and host name verification for host (unless insecure/PSK),
  // and the request for a stapled OCSP response (require_ocsp).
  bool prepare(SSL* ssl, const std::string& host, std::string& error) const;
  // Why the stapled OCSP response of a failed handshake was refused ("" = it was not).
  static std::string ocsp_failure(const SSL* ssl);

  // Called from the OpenSSL callbacks.
  unsigned int psk(char* identity, unsigned int max_identity, unsigned char* key,
                   unsigned int max_key) const;
  void keylog(const char* line) const;

 private:
  explicit TlsContext(const TlsOptions& opts);
  bool load(std::string& error);
  bool load_verify(std::string& error);
  bool load_client_cert(std::string& error);
  bool load_engine(std::string& error);
  bool load_engine_key(std::string& error);

  TlsOptions opts_;
  boost::asio::ssl::context ctx_;
  std::FILE* keylog_ = nullptr;
  ENGINE* engine_ = nullptr;     // a functional reference (ENGINE_init), or null
  bool engine_defaults_ = false;  // engine_ counted as a user of OpenSSL's defaults
};

// Whether OpenSSL knows an ENGINE with this id (ENGINE_by_id finds it, loading it from
// the engines directory if need be); Mosquitto's clients check this before connecting.
// False with error set (one line) when it does not, or when OpenSSL has no ENGINE
// support.
bool tls_engine_exists(const std::string& id, std::string& error);

}  // namespace petrel::client
