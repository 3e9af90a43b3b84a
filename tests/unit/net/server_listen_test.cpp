// Server: listeners are bound by open_listeners (while petrel may still be root) but listen
// only from start_accepting, so a client is refused at once while the broker restores its
// store and starts its bridges, instead of waiting in a backlog nobody serves yet.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/log.h"
#include "config/config.h"
#include "net/server.h"

namespace petrel::net {
namespace {

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

TEST(ServerListen, RefusedUntilAcceptingThenServed) {
  config::Config cfg;
  config::Listener l;
  l.port = 0;  // any free port
  l.bind_address = "127.0.0.1";
  cfg.listeners.push_back(l);
  Logger log;
  Server server(cfg, log);
  std::string err;
  ASSERT_TRUE(server.open_listeners(err)) << err;
  const auto states = server.listener_states();
  ASSERT_EQ(states.size(), 1u);
  ASSERT_EQ(states[0].bound.size(), 1u);
  const std::string& where = states[0].bound[0];  // "127.0.0.1 port N"
  const uint16_t port = static_cast<uint16_t>(std::stoi(where.substr(where.rfind(' ') + 1)));
  ASSERT_NE(port, 0);
  EXPECT_EQ(connect_to(port), ECONNREFUSED) << "bound but not listening yet";
  server.start_workers();
  ASSERT_TRUE(server.start_accepting(err)) << err;
  EXPECT_EQ(connect_to(port), 0);
  server.stop();
}

}  // namespace
}  // namespace petrel::net
