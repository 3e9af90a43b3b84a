#pragma once
// Runtime: the running petrel process — the broker (net::Server), the bridges, the
// security files, the log, the pid file and the admin API — and the one path by which a
// new configuration takes effect: apply(). SIGHUP (reload()) and the admin API both use
// it. apply() first does everything that can fail without touching what runs (security
// files loaded, TLS set up, new sockets bound, the admin's endpoints opened); when any of
// that fails nothing has changed and the report says why. Then it commits: workers get the
// new settings, listeners open, close or restart, clients the new security refuses are
// disconnected, bridges restart; and it reports what restarted and what kept running.
//
// Threads: apply(), reload() and the status sampler run on the control thread (the main
// thread, running control_io()); other threads post work there. Reads of the running
// configuration and of the status are safe from any thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/options.h"
#include "app/service_notify.h"
#include "broker/broker.h"
#include "bridge/manager.h"
#include "common/log.h"
#include "config/config.h"
#include "net/server.h"

namespace petrel::persist {
class SqliteStore;
}

namespace petrel::app {

class AdminService;

struct ApplyReport {
  bool ok = true;            // false: nothing was changed (see error)
  std::string error;         // what failed, one line
  std::vector<std::string> changes;           // the settings that changed (secrets hidden)
  std::vector<std::string> applied;           // what happened: restarts, opened/closed listeners, disconnects
  std::vector<std::string> kept;              // what kept running untouched
  std::vector<std::string> restart_required;  // settings that wait for a restart of petrel
  std::vector<std::string> warnings;
  // One line: "listener port 8883 ... restarted (3 clients disconnected); 12 clients on
  // port 1883 ... kept their connections; bridge cloud restarted".
  std::string summary() const;
};

// One second of the broker, for the status page's charts and the live stream.
struct StatusSample {
  int64_t at_ms = 0;  // unix milliseconds
  broker::StatusCounters counters;
  double msgs_in = 0, msgs_out = 0, bytes_in = 0, bytes_out = 0;  // per second (PUBLISH)
  uint64_t rss_bytes = 0;
};

class Runtime {
 public:
  Runtime(Logger& log, CommandLine cl, std::string config_path, config::Config initial);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Opens everything and serves until SIGTERM/SIGINT. Returns the exit code.
  int run();

  // The one apply path (control thread). `origin` names who asked ("SIGHUP", "admin
  // 'alice' from 127.0.0.1") for the log.
  ApplyReport apply(const config::Config& next, const std::string& origin);
  // SIGHUP: reads the configuration file again and applies it (control thread).
  ApplyReport reload(const std::string& origin);

  boost::asio::io_context& control_io() { return control_io_; }
  config::Config running() const;
  // The file the configuration comes from; empty when running the embedded default (the
  // admin then writes state_dir/petrel.conf, which the next start without -c reads).
  std::string config_path() const;
  void set_config_path(std::string path);
  const CommandLine& command_line() const { return cl_; }
  // Parses a configuration file the way startup and SIGHUP do (with the -p/-v overrides).
  static std::optional<config::Config> load(const CommandLine& cl, const std::string& path, Logger& log,
                                            std::vector<std::string>* errors = nullptr);

  net::Server& server() { return *server_; }
  // The durable store (nullptr without `persistence true`, or with persistence_sync off).
  persist::SqliteStore* store() { return store_.get(); }
  AdminService* admin() { return admin_.get(); }
  bridge::BridgeManager& bridges() { return *bridges_; }
  Logger& log() { return log_; }
  // The latest sample and the last `seconds` of them (oldest first).
  StatusSample latest_sample() const;
  std::vector<StatusSample> history(size_t seconds) const;
  // Called on the control thread after each new sample (the admin's live streams).
  void on_sample(std::function<void(const StatusSample&)> fn);

 private:
  bool start();
  // Opens the durable store, loads it into the server and journals into it from now on
  // (after the privilege drop; before the workers start and the bridges connect).
  bool open_store(const config::Config& cfg);
  // Started as root: becomes `user` (app/privileges.h) and checks that the files read again
  // later are usable by it. False (logged) when either fails.
  bool drop_privileges_and_check(const config::Config& cfg);
  // A startup error: logged, and on stderr too when the log goes elsewhere (a file, syslog),
  // so whoever started petrel sees why it stopped.
  void start_error(const std::string& message);
  void sample();
  void arm_sampler();
  void write_pid_file(const std::string& path);
  // The systemd status line: clients, subscriptions and message rates.
  std::string status_line(const StatusSample& s) const;
  // WATCHDOG=1 each half interval, only when every worker finished a turn since the last
  // one (a worker stuck in a loop stops the pings, and systemd restarts the service).
  void arm_watchdog();
  // SIGUSR1: commit what the store holds pending and log a state summary.
  void dump_state();
  // SIGUSR2: log every subscription by filter, with its clients, and the retained count.
  void dump_subscriptions();

  Logger& log_;
  CommandLine cl_;
  std::string config_path_;
  config::Config running_;
  mutable std::mutex mu_;  // running_, config_path_, samples_
  boost::asio::io_context control_io_{1};
  boost::asio::steady_timer sampler_;
  ServiceNotifier notify_;
  boost::asio::steady_timer watchdog_timer_;
  bool watchdog_probe_pending_ = false;
  // Declared before server_ so that it is destroyed after it: the workers journal into it.
  std::unique_ptr<persist::SqliteStore> store_;
  std::unique_ptr<net::Server> server_;
  std::unique_ptr<bridge::BridgeManager> bridges_;
  std::unique_ptr<AdminService> admin_;
  std::deque<StatusSample> samples_;
  std::vector<std::function<void(const StatusSample&)>> sample_listeners_;
};

}  // namespace petrel::app
