#pragma once
// TLS for the generator's connections (OpenSSL 3, non-blocking sockets). TlsContext owns the
// SSL_CTX shared by every connection; the free functions drive one SSL* and translate its
// WANT_READ / WANT_WRITE into the EAGAIN convention the event loop already handles.
#include <sys/types.h>

#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace petrel::bench {

struct Options;

class TlsContext {
 public:
  // Throws std::runtime_error with OpenSSL's reason when the CA/cert/key cannot be loaded.
  explicit TlsContext(const Options& o);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  // A client SSL on fd, verifying the broker against host unless --insecure.
  SSL* attach(int fd, const std::string& host) const;

 private:
  SSL_CTX* ctx_ = nullptr;
};

enum class TlsStep { kDone, kWantIo, kFailed };
// Advances the handshake; on kFailed, error holds the reason.
TlsStep tls_handshake(SSL* ssl, std::string& error);
// Like recv/send: > 0 bytes, 0 closed (recv), -1 with errno (EAGAIN when it would block).
ssize_t tls_recv(SSL* ssl, char* buf, size_t n);
ssize_t tls_send(SSL* ssl, const char* buf, size_t n);
void tls_free(SSL* ssl);

}  // namespace petrel::bench
