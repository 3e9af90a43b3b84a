#pragma once
// A non-blocking socket pair standing in for a client connection, and an OpenSSL client
// on the far end, so transports can be driven exactly as Connection drives them.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <string>

#include "net/transport.h"

namespace petrel::net::test {

struct SocketPair {
  int server = -1;  // the broker's end (what the transport reads and writes)
  int client = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server = fds[0];
    client = fds[1];
    for (int fd : fds) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ~SocketPair() {
    if (server >= 0) ::close(server);
    if (client >= 0) ::close(client);
  }
  void close_client() {
    ::close(client);
    client = -1;
  }
  // Everything the client end can read right now.
  std::string client_read_all() const {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, size_t(n));
    }
    return out;
  }
  void client_send(const std::string& data) const {
    ASSERT_EQ(::send(client, data.data(), data.size(), MSG_NOSIGNAL), ssize_t(data.size()));
  }
};

// Reads from the transport until it would block (or ends); appends MQTT bytes to `out`.
inline IoStatus drain(Transport& t, int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    IoResult r = t.read(fd, buf, sizeof buf);
    if (r.status != IoStatus::kOk) return r.status;
    out.append(buf, r.n);
  }
}

// An OpenSSL client on the client end of a SocketPair.
class TlsClient {
 public:
  explicit TlsClient(SSL_CTX* ctx, int fd) : ssl_(SSL_new(ctx)) {
    SSL_set_fd(ssl_, fd);
    SSL_set_connect_state(ssl_);
  }
  ~TlsClient() { SSL_free(ssl_); }
  SSL* ssl() { return ssl_; }
  // One non-blocking handshake step: 1 done, 0 in progress, -1 failed.
  int step() {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return 1;
    int e = SSL_get_error(ssl_, rc);
    return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? 0 : -1;
  }
  bool write(const std::string& data) {
    size_t n = 0;
    return SSL_write_ex(ssl_, data.data(), data.size(), &n) == 1 && n == data.size();
  }
  std::string read_all() {
    std::string out;
    char buf[16384];
    size_t n = 0;
    while (SSL_read_ex(ssl_, buf, sizeof buf, &n) == 1) out.append(buf, n);
    ERR_clear_error();
    return out;
  }

 private:
  SSL* ssl_;
};

// Alternates client handshake steps and server reads until both sides are done (or one
// fails). Returns the server's last status; `server_bytes` gets any MQTT bytes it read.
inline IoStatus handshake(TlsClient& c, Transport& server, int fd, std::string* server_bytes = nullptr,
                          int* client_state = nullptr) {
  IoStatus last = IoStatus::kWouldBlock;
  int cs = 0;
  std::string bytes;
  for (int i = 0; i < 200; ++i) {
    if (cs == 0) cs = c.step();
    last = drain(server, fd, bytes);
    if (last == IoStatus::kError || last == IoStatus::kClosed) break;
    if (cs != 0 && server.established()) break;
  }
  if (server_bytes) *server_bytes = bytes;
  if (client_state) *client_state = cs;
  return last;
}

}  // namespace petrel::net::test
