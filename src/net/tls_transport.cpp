#include "net/tls_transport.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>

namespace petrel::net {

TlsTransport::TlsTransport(std::shared_ptr<const TlsContext> ctx) : ctx_(std::move(ctx)) {
  ERR_clear_error();
  ssl_ = SSL_new(ctx_->native());
  if (ssl_ == nullptr) {
    failed_ = true;
    error_ = "TLS: cannot create a session: " + take_openssl_error("out of memory");
    return;
  }
  SSL_set_accept_state(ssl_);
  // The PSK callbacks record the identity here (the object does not move: it is owned
  // through a unique_ptr for its whole life).
  SSL_set_app_data(ssl_, &identity_);
}

TlsTransport::~TlsTransport() { SSL_free(ssl_); }

bool TlsTransport::attach(int fd) {
  if (fd == fd_) return true;
  // The socket BIO does not own the fd (BIO_NOCLOSE): Connection closes it.
  if (SSL_set_fd(ssl_, fd) != 1) {
    failed_ = true;
    error_ = "TLS: cannot attach the socket: " + take_openssl_error("out of memory");
    return false;
  }
  fd_ = fd;
  return true;
}

IoResult TlsTransport::failure(int ssl_error, const char* during) {
  if (ssl_error == SSL_ERROR_SYSCALL) {
    const int e = errno;
    ERR_clear_error();
    // EOF or a reset is the peer going away, not a TLS problem (plain TCP reports these as
    // an ordinary close too).
    if (e == 0 || e == ECONNRESET || e == EPIPE) {
      closed_ = true;
      return {IoStatus::kClosed, 0};
    }
    error_ = fmt::format("TLS {} failed: {}", during, std::strerror(e));
  } else {
    std::string reason = take_openssl_error("protocol error");
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) reason += fmt::format(" ({})", X509_verify_cert_error_string(verify));
    error_ = fmt::format("TLS {} failed: {}", during, reason);
  }
  failed_ = true;
  return {IoStatus::kError, 0};
}

IoResult TlsTransport::handshake() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    capture_peer_identity();
    return {IoStatus::kOk, 0};
  }
  const int err = SSL_get_error(ssl_, rc);
  // Either way the connection comes back here: on EPOLLIN, or on EPOLLOUT while
  // established() is false.
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {IoStatus::kWouldBlock, 0};
  if (err == SSL_ERROR_ZERO_RETURN) {
    closed_ = true;
    return {IoStatus::kClosed, 0};
  }
  return failure(err, "handshake");
}

IoResult TlsTransport::read(int fd, char* buf, size_t cap) {
  if (failed_) return {IoStatus::kError, 0};
  if (closed_) return {IoStatus::kClosed, 0};
  if (!attach(fd)) return {IoStatus::kError, 0};
  if (!established_) {
    IoResult r = handshake();
    if (r.status != IoStatus::kOk) return r;
  }
  read_wants_write_ = false;
  size_t total = 0;
  while (total < cap) {
    ERR_clear_error();
    size_t got = 0;
    const int rc = SSL_read_ex(ssl_, buf + total, cap - total, &got);
    if (rc == 1) {
      total += got;
      continue;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_WANT_WRITE) {
      read_wants_write_ = true;  // retried on EPOLLOUT (established() is false until then)
      break;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify
      closed_ = true;
      break;
    }
    IoResult f = failure(err, "read");
    if (total == 0) return f;
    break;  // hand over the bytes read so far; the next call reports the failure
  }
  if (total > 0) return {IoStatus::kOk, total};
  if (closed_) return {IoStatus::kClosed, 0};
  return {IoStatus::kWouldBlock, 0};
}

IoResult TlsTransport::write(int fd, const char* data, size_t len) {
  if (failed_) return {IoStatus::kError, 0};
  if (closed_) return {IoStatus::kClosed, 0};
  if (data == nullptr || len == 0) return {IoStatus::kOk, 0};  // nothing of our own to flush
  if (!attach(fd)) return {IoStatus::kError, 0};
  if (!established_) {
    IoResult r = handshake();
    if (r.status != IoStatus::kOk) return r.status == IoStatus::kWouldBlock ? IoResult{IoStatus::kWouldBlock, 0} : r;
  }
  // With partial writes OpenSSL returns after each record, so keep writing until the
  // socket is full: the caller waits for EPOLLOUT only after a short write.
  size_t total = 0;
  while (total < len) {
    ERR_clear_error();
    size_t written = 0;
    const int rc = SSL_write_ex(ssl_, data + total, len - total, &written);
    if (rc == 1) {
      total += written;
      continue;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) break;
    IoResult f = err == SSL_ERROR_ZERO_RETURN ? (closed_ = true, IoResult{IoStatus::kClosed, 0}) : failure(err, "write");
    if (total == 0) return f;
    break;  // report what went out; the next call reports the failure
  }
  if (total == 0) return {IoStatus::kWouldBlock, 0};
  return {IoStatus::kOk, total};
}

void TlsTransport::shutdown(int fd) {
  if (ssl_ == nullptr || !established_ || failed_ || !attach(fd)) return;
  // One non-blocking attempt to send close_notify; the socket is closed right after.
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

void TlsTransport::capture_peer_identity() {
  if (identity_.psk_identity.empty()) {
    if (const char* id = SSL_get_psk_identity(ssl_)) identity_.psk_identity = id;
  }
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return;
  X509_NAME* name = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx >= 0) {
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
    if (n >= 0) {
      std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
      // A CN with an embedded NUL could impersonate a shorter name: no identity then.
      if (cn.find('\0') == std::string::npos) identity_.cert_cn = std::move(cn);
      OPENSSL_free(utf8);
    }
  }
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long len = BIO_get_mem_data(bio, &data);
      if (len > 0) identity_.cert_subject.assign(data, static_cast<size_t>(len));
    }
    BIO_free(bio);
  }
  ERR_clear_error();
}

std::string TlsTransport::session_description() const {
  if (ssl_ == nullptr || !established_) return "handshake not complete";
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  return fmt::format("{} {}", SSL_get_version(ssl_), c ? SSL_CIPHER_get_name(c) : "?");
}

}  // namespace petrel::net
