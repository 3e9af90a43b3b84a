#pragma once
// Server: the running broker — Broker state, one Worker per thread, the listeners, and
// the Hub that carries cross-worker delivery batches. Built from a Config; apply() changes
// a running one (limits, listeners added, removed, restarted or given new TLS files)
// without a restart.
//
// Listeners live in slots with stable indices: a session and a connection remember the
// index of the listener they came through, and the Config the workers hold lists the slots
// in that order. A removed listener's slot is closed (its clients disconnected) and
// reused by a later listener once its last connection is gone.
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/session_info.h"
#include "broker/worker_core.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/result.h"
#include "config/config.h"
#include "net/transport.h"
#include "net/worker.h"
#include "persist/store.h"

namespace petrel::net {

// MQTT listener changes found by config::diff_configs, for Server::prepare.
struct ListenerPlan {
  std::vector<config::Listener> add;      // new listeners
  std::vector<config::Listener> remove;   // by key (port, address, family)
  std::vector<config::Listener> restart;  // same key: clients disconnected, new settings
  std::vector<config::Listener> reload;   // same key: new settings and TLS setup, clients kept
};

// What Server::apply did, one line each, for the apply report.
struct ListenerReport {
  std::vector<std::string> changed;  // "listener port 8883 on all addresses opened", "... restarted (3 clients disconnected)"
  std::vector<std::string> kept;     // "12 clients on port 1883 on all addresses kept their connections"
  std::vector<std::string> warnings;
  size_t disconnected = 0;
  size_t refused_by_security = 0;  // connected clients the new security settings refused
};

// One listener as the status shows it.
struct ListenerState {
  int index = -1;  // its slot: broker::ClientInfo::listener refers to it
  config::Listener cfg;
  std::vector<std::string> bound;  // "127.0.0.1:1883"
  int connections = 0;
};

class PreparedListeners;
struct PreparedListenersDeleter {
  void operator()(PreparedListeners* p) const;  // closes sockets bound for an apply that did not happen
};
using PreparedPtr = std::unique_ptr<PreparedListeners, PreparedListenersDeleter>;

class Server final : public broker::Hub {
 public:
  Server(const config::Config& cfg, Logger& log);
  ~Server() override;

  // Binds every listener (errors name the listener); false when one cannot be bound.
  bool open_listeners(std::string& error);
  // Starting takes two steps: the workers first (internal connections work), then
  // accepting network clients (once the bridges' local subscriptions are in place).
  void start_workers();
  // Listens on every listener bound by open_listeners and accepts; false (error set) when
  // a port cannot be listened on.
  bool start_accepting(std::string& error);
  void stop();       // graceful: DISCONNECT v5 clients, close, join threads

  // A live change in two steps. prepare() does everything that can fail, on the caller's
  // thread, without touching the running broker: it builds the TLS/WebSocket setup of
  // every added, restarted or reloaded listener (and rebuilds the others', so rotated
  // certificate files are picked up; a broken file there keeps the old setup, with a
  // warning) and binds the added listeners' sockets. apply() then cannot fail: it installs
  // the prepared listeners and `running` (limits, per-listener settings) on every worker,
  // disconnects the clients of removed and restarted listeners, and says what it did.
  // Both from one thread at a time, never a worker's.
  Result<PreparedPtr> prepare(const ListenerPlan& plan, const config::Config& next);
  // With recheck_security, every connected client is checked against the security settings
  // installed before (set_security) and those now refused are disconnected.
  ListenerReport apply(PreparedPtr prepared, bool recheck_security = false);
  // The configuration the workers hold after apply(p): `next` with the listener slots in
  // place of its listeners, so a listener's index is its slot. The security settings must
  // be built from this one (per-listener policies are looked up by that index).
  static const config::Config& worker_view(const PreparedListeners& p);

  // ---- the durable store (before start_workers) ----
  // Journals the persistent state into `store` (sessions with an expiry, their
  // subscriptions, queued and in-flight messages, QoS 2 ids; retained messages). With
  // hold_acks (persistence_sync commit) a QoS 1/2 PUBLISH that changed stored state is
  // acknowledged only once that change is durable. nullptr: memory only. The store must
  // outlive the workers (close it after stop()).
  void set_store(persist::Store* store, bool hold_acks, int64_t open_batch_ms = 0);
  // Rebuilds what `snap` holds (retained messages, sessions on their home workers, each
  // offline with its expiry counted from its disconnection). Returns how many sessions.
  size_t restore(const persist::Snapshot& snap);

  // Installs authentication/ACLs on every worker (startup and reload).
  void set_security(std::shared_ptr<const broker::Security> security);

  // ---- for the admin (any thread but a worker's) ----
  // Collects sessions from every worker; `done` runs once, on a worker thread.
  void query_clients(const broker::ClientQuery& q, std::function<void(std::vector<broker::ClientInfo>)> done);
  // Disconnects a client (and with discard_session removes its session); `done(found)` runs
  // on the worker that owns it.
  void disconnect_client(const std::string& client_id, bool discard_session, std::function<void(bool)> done);
  // Publishes a message from the broker itself (the admin's publish), on worker 0.
  void publish(std::string topic, std::string payload, uint8_t qos, bool retain);
  std::vector<ListenerState> listener_states() const;
  // Messages queued for sessions and in flight, summed over the workers; `done(queued,
  // inflight)` runs once, on a worker thread.
  void queue_totals(std::function<void(uint64_t, uint64_t)> done);

  broker::Broker& broker() { return broker_; }
  Logger& log() { return log_; }
  Worker& worker(int i) { return *workers_[i]; }
  int worker_count() const { return static_cast<int>(workers_.size()); }
  // Connection admission per listener (max_connections); release on close.
  bool admit(int listener);
  void release(int listener);
  // Moves a connection whose CONNECT arrived on the wrong worker to its client id's home.
  void hand_over(int worker, int fd, int listener, std::string peer, protocol::Connect connect,
                 std::string pending, std::unique_ptr<Transport> transport);
  // A connection from inside the process (a bridge's local side): makes a socketpair,
  // has a worker adopt one end as a trusted connection (broker::kInternalListener: no
  // authentication or ACL, may publish under $SYS) and returns the other end
  // (non-blocking, close-on-exec), or -1 with errno set. Any thread. With admin, the
  // connection is the admin API's own (broker::kAdminListener: no password check, but the
  // ACL applies to the username its CONNECT gives).
  int open_internal(std::string peer, bool admin = false);
  void send_batch(int worker, std::vector<broker::Delivery>&& batch,
                  std::shared_ptr<broker::DurableHold> hold) override;
  void post_durable(int worker, uint64_t turn, bool ok) override;
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

  struct Acceptor;
  struct Slot;

 private:
  void accept_on(Acceptor& a);
  int slot_of(const config::Listener& l) const;  // by key; -1 when none is open
  // Runs fn on every worker and waits for all of them.
  void on_every_worker(const std::function<void(Worker&)>& fn);

  Logger& log_;
  SystemClock clock_;
  broker::Broker broker_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // The listener slots. Changed only on worker 0's thread (where accepting happens), under
  // slots_mu_ so other threads may read their settings.
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex slots_mu_;
  std::unique_ptr<std::atomic<int>[]> listener_counts_;  // per slot, kMaxSlots
  std::atomic<bool> tcp_nodelay_{false};
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
  std::atomic<int> global_max_connections_{-1};
  std::atomic<int> open_connections_{0};  // admitted on any listener, not yet released
  persist::Store* store_ = nullptr;
};

}  // namespace petrel::net
