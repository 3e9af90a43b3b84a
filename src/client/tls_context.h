#pragma once
// TlsContext: one OpenSSL client context built from TlsOptions (CA, client certificate,
// minimum version, ciphers, ALPN, PSK, key log). It owns the Asio ssl::context and the
// state the OpenSSL C callbacks need (PSK identity/key, key log file), reached from the
// SSL_CTX through an ex_data slot, so there is no global state.
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
  // Per-connection setup: SNI and host name verification for host (unless insecure/PSK).
  bool prepare(SSL* ssl, const std::string& host, std::string& error) const;

  // Called from the OpenSSL callbacks.
  unsigned int psk(char* identity, unsigned int max_identity, unsigned char* key,
                   unsigned int max_key) const;
  void keylog(const char* line) const;

 private:
  explicit TlsContext(const TlsOptions& opts);
  bool load(std::string& error);
  bool load_verify(std::string& error);
  bool load_client_cert(std::string& error);

  TlsOptions opts_;
  boost::asio::ssl::context ctx_;
  std::FILE* keylog_ = nullptr;
};

}  // namespace petrel::client
