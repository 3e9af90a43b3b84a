#pragma once
// Server: the running broker — Broker state, one Worker per thread, the listeners, and
// the Hub that carries cross-worker delivery batches. Built from a Config; reload()
// applies what can change live.
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/worker_core.h"
#include "common/clock.h"
#include "common/log.h"
#include "config/config.h"
#include "net/transport.h"
#include "net/worker.h"

namespace petrel::net {

class Server final : public broker::Hub {
 public:
  Server(const config::Config& cfg, Logger& log);
  ~Server() override;

  // Binds every listener (errors name the listener); false when one cannot be bound.
  bool open_listeners(std::string& error);
  // Starting takes two steps: the workers first (internal connections work), then
  // accepting network clients (once the bridges' local subscriptions are in place).
  void start_workers();
  void start_accepting();
  void stop();       // graceful: DISCONNECT v5 clients, close, join threads
  void reload(const config::Config& cfg);
  // SIGHUP: rebuilds the TLS/WebSocket setup of each running listener from `loaded` (new
  // certificates, keys, CAs, CRLs, PSK files). New connections use the new files,
  // existing ones keep theirs; a listener whose new files are broken keeps the old setup.
  void reload_transports(const config::Config& loaded);
  // Installs authentication/ACLs on every worker (startup and reload).
  void set_security(std::shared_ptr<const broker::Security> security);

  broker::Broker& broker() { return broker_; }
  Logger& log() { return log_; }
  Worker& worker(int i) { return *workers_[i]; }
  int worker_count() const { return static_cast<int>(workers_.size()); }
  const config::Config& config() const { return *cfg_; }
  // Connection admission per listener (max_connections); release on close.
  bool admit(int listener);
  void release(int listener);
  // Moves a connection whose CONNECT arrived on the wrong worker to its client id's home.
  void hand_over(int worker, int fd, int listener, std::string peer, protocol::Connect connect,
                 std::string pending, std::unique_ptr<Transport> transport);
  // A connection from inside the process (a bridge's local side): makes a socketpair,
  // has a worker adopt one end as a trusted connection (broker::kInternalListener: no
  // authentication or ACL, may publish under $SYS) and returns the other end
  // (non-blocking, close-on-exec), or -1 with errno set. Any thread.
  int open_internal(std::string peer);
  void send_batch(int worker, std::vector<broker::Delivery>&& batch) override;
  // Backpressure: the number of connections (and worker inboxes) over their high-water
  // mark. While it is non-zero, workers stop reading connections that publish.
  bool backlogged() const { return backlogged_.load(std::memory_order_relaxed) > 0; }
  void backlog_changed(int delta);
  // Cross-worker deliveries one worker builds in a turn before it stops reading
  // publishers until the next turn. With the inbox marks it bounds what can be on its way
  // to a session while its queue is held back (see set_limits in server.cpp).
  size_t turn_outgoing_cap() const { return turn_cap_.load(std::memory_order_relaxed); }
  // Publishes a log line on $SYS/broker/log/<X> (log_dest topic).
  void publish_log(uint32_t level, std::string_view line);

 private:
  struct Acceptor;
  void accept_on(Acceptor& a);

  Logger& log_;
  SystemClock clock_;
  std::shared_ptr<const config::Config> cfg_;
  broker::Broker broker_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  // Per listener: how its connections' transports are made (nullptr = plain TCP).
  std::vector<std::shared_ptr<TransportFactory>> transports_;
  std::unique_ptr<std::atomic<int>[]> listener_counts_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> backlogged_{0};
  // Deliveries posted to each worker and not yet processed, with the flag that counts an
  // over-full inbox as one backlog.
  struct Inbox {
    std::atomic<int64_t> pending{0};
    std::atomic<bool> flagged{false};
    std::mutex mu;
  };
  std::unique_ptr<Inbox[]> inboxes_;
  void set_limits(const config::Config& cfg);
  std::atomic<size_t> turn_cap_{4096};
  std::atomic<int64_t> inbox_high_{8192}, inbox_low_{2048};
};

}  // namespace petrel::net
