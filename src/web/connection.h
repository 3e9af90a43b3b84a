#pragma once
// Internal to petrel_web: what the server and its connections share. Everything here runs
// on the server thread except ServerLink::post.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/log.h"
#include "web/http_server.h"
#include "web/reply.h"
#include "web/request.h"

namespace petrel::web::detail {

// How Replies and EventStreams, held by handlers on any thread, reach the server thread.
// The server detaches it before its io_context goes away, after which posts are dropped:
// a handler answering late can never touch a destroyed server.
class ServerLink {
 public:
  explicit ServerLink(boost::asio::io_context& ioc) : ioc_(&ioc) {}
  template <class F>
  void post(F&& f) {
    std::lock_guard lock(mu_);
    if (ioc_ != nullptr) boost::asio::post(*ioc_, std::forward<F>(f));
  }
  void detach() {
    std::lock_guard lock(mu_);
    ioc_ = nullptr;
  }

 private:
  std::mutex mu_;
  boost::asio::io_context* ioc_;
};

// One client connection, plain or TLS. Owned by the server's table until it closes;
// Replies hold it weakly.
class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  explicit ConnectionBase(uint64_t listener) : listener_(listener) {}
  virtual ~ConnectionBase() = default;
  virtual void start() = 0;
  // At once, without a goodbye; idempotent.
  virtual void close() = 0;
  virtual void deliver(Response response) = 0;
  virtual void handler_dropped() = 0;
  virtual void begin_events(std::shared_ptr<EventStream> stream) = 0;
  virtual void event_bytes(std::string bytes) = 0;
  virtual void end_events(bool abort) = 0;
  uint64_t listener() const { return listener_; }

 private:
  const uint64_t listener_;
};

struct ServerContext {
  Logger& log;
  Limits limits;
  std::string csp;
  std::shared_ptr<ServerLink> link;
  std::function<void(Request&, std::shared_ptr<Reply>)> dispatch;
  std::function<void(ConnectionBase*)> on_closed;  // drops it from the server's table
};

// tls: nullptr for plain HTTP.
std::shared_ptr<ConnectionBase> make_connection(ServerContext& ctx, boost::asio::ip::tcp::socket socket,
                                                std::shared_ptr<boost::asio::ssl::context> tls, uint64_t listener,
                                                std::string peer);

}  // namespace petrel::web::detail
