#pragma once
// Internal to src/net: the pieces of Server that server.cpp and server_apply.cpp share.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "net/server.h"
#include "net/transport.h"

namespace petrel::net {

inline constexpr size_t kMaxSlots = 256;  // listener slots over the process's life

struct Server::Acceptor {
  Acceptor(boost::asio::io_context& io, int l) : acc(io), listener(l) {}
  boost::asio::ip::tcp::acceptor acc;
  int listener;
  unsigned next_worker = 0;
  std::string where;
};

struct Server::Slot {
  config::Listener cfg;
  bool open = false;
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::shared_ptr<TransportFactory> transport;  // nullptr = plain TCP
};

// What Server::prepare made ready (sockets bound, TLS set up) for Server::apply.
class PreparedListeners {
 public:
  struct Added {
    config::Listener cfg;
    int slot = -1;
    std::vector<std::unique_ptr<Server::Acceptor>> acceptors;
    std::shared_ptr<TransportFactory> transport;
  };
  struct Changed {
    int slot = -1;
    config::Listener cfg;
    std::shared_ptr<TransportFactory> transport;
    bool restart = false;           // disconnect its clients
    bool in_plan = false;           // the diff named it (restart or reload)
    bool settings_changed = false;  // its settings differ (a broken TLS file is then an error)
  };
  std::vector<Added> added;
  std::vector<Changed> changed;
  std::vector<int> removed;
  std::vector<std::string> warnings;
  std::shared_ptr<const config::Config> view;  // what the workers will hold
};

namespace detail {
bool same_key(const config::Listener& a, const config::Listener& b);
// Resolves a listener's addresses and binds a socket on each (not yet accepting); with
// listen_now it also listens (a listener added by a reload), otherwise listen() waits for
// Server::start_accepting, so no client's connection is taken before the broker is ready.
// The error names the address and port.
Result<std::vector<std::unique_ptr<Server::Acceptor>>> bind_listener(boost::asio::io_context& io,
                                                                     const config::Listener& l, int slot,
                                                                     bool listen_now = true);
}  // namespace detail

}  // namespace petrel::net
