// Socket options the transport sets on a TCP connection (a bridge's bridge_tcp_keepalive
// and bridge_tcp_user_timeout), read back from the connected socket itself: the test and
// the transport share this process, so the client's descriptor is found by its peer port.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>

#include "client/transport.h"
#include "fake_server.h"

namespace petrel::client::test {
namespace {

namespace ip = boost::asio::ip;

// The descriptor of this process's TCP socket connected to 127.0.0.1:port, or -1.
int socket_to(uint16_t port) {
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 && peer.sin_family == AF_INET &&
        ntohs(peer.sin_port) == port)
      return fd;
  }
  return -1;
}

int tcp_option(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, level, name, &v, &len) != 0) return -2;
  return v;
}

struct Opened {
  bool finished = false;
  StreamPtr stream;
  std::string error;
};

Opened open_to(boost::asio::io_context& io, const TransportOptions& o) {
  Opened r;
  async_open(io.get_executor(), o, [&r](StreamPtr s, const TransportError* e) {
    r.finished = true;
    r.stream = std::move(s);
    if (e) r.error = e->message;
  });
  EXPECT_TRUE(run_until(io, [&] { return r.finished; }));
  return r;
}

TEST(TransportOptions, TcpUserTimeoutAndKeepaliveAreSetOnTheSocket) {
  boost::asio::io_context io;
  ip::tcp::acceptor acceptor(io, ip::tcp::endpoint(ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  TransportOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.tcp_user_timeout_ms = 4321;
  o.tcp_keepalive_idle = 7;
  o.tcp_keepalive_interval = 3;
  o.tcp_keepalive_count = 2;
  Opened r = open_to(io, o);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_TRUE(r.stream);
  const int fd = socket_to(port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(tcp_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 4321);
  EXPECT_EQ(tcp_option(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(tcp_option(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
  EXPECT_EQ(tcp_option(fd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
  EXPECT_EQ(tcp_option(fd, IPPROTO_TCP, TCP_KEEPCNT), 2);
  r.stream->close();
}

TEST(TransportOptions, DefaultsLeaveTheSystemValues) {
  boost::asio::io_context io;
  ip::tcp::acceptor acceptor(io, ip::tcp::endpoint(ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  TransportOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  Opened r = open_to(io, o);
  ASSERT_TRUE(r.error.empty()) << r.error;
  const int fd = socket_to(port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(tcp_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
  EXPECT_EQ(tcp_option(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
  r.stream->close();
}

}  // namespace
}  // namespace petrel::client::test
