#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <stdexcept>

#include "options.h"

namespace petrel::bench {
namespace {

std::string openssl_error(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

ssize_t map_error(SSL* ssl, int r) {
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return errno = EAGAIN, -1;
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  if (e == SSL_ERROR_SYSCALL && errno == 0) return 0;  // EOF without close_notify
  ERR_clear_error();
  if (e != SSL_ERROR_SYSCALL) errno = EPROTO;
  return -1;
}

}  // namespace

TlsContext::TlsContext(const Options& o) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw std::runtime_error(openssl_error("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
  if (o.insecure) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    int ok = o.cafile.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                              : SSL_CTX_load_verify_locations(ctx_, o.cafile.c_str(), nullptr);
    if (ok != 1) throw std::runtime_error(openssl_error(("cannot load CA file " + o.cafile).c_str()));
  }
  if (!o.certfile.empty() &&
      SSL_CTX_use_certificate_chain_file(ctx_, o.certfile.c_str()) != 1)
    throw std::runtime_error(openssl_error(("cannot load certificate " + o.certfile).c_str()));
  if (!o.keyfile.empty() && SSL_CTX_use_PrivateKey_file(ctx_, o.keyfile.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error(openssl_error(("cannot load key " + o.keyfile).c_str()));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

SSL* TlsContext::attach(int fd, const std::string& host) const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  SSL_set_fd(ssl, fd);
  SSL_set_connect_state(ssl);
  in6_addr a6;
  in_addr a4;
  bool literal = inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  if (!literal) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (literal) X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    else X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  return ssl;
}

TlsStep tls_handshake(SSL* ssl, std::string& error) {
  int r = SSL_connect(ssl);
  if (r == 1) return TlsStep::kDone;
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return TlsStep::kWantIo;
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) error = std::string("certificate verification failed: ") + X509_verify_cert_error_string(v);
  else error = openssl_error("TLS handshake failed");
  return TlsStep::kFailed;
}

ssize_t tls_recv(SSL* ssl, char* buf, size_t n) {
  size_t got = 0;
  int r = SSL_read_ex(ssl, buf, n, &got);
  return r == 1 ? ssize_t(got) : map_error(ssl, r);
}

ssize_t tls_send(SSL* ssl, const char* buf, size_t n) {
  size_t put = 0;
  int r = SSL_write_ex(ssl, buf, n, &put);
  return r == 1 ? ssize_t(put) : map_error(ssl, r);
}

void tls_free(SSL* ssl) {
  if (ssl) SSL_free(ssl);
}

}  // namespace petrel::bench
