// petrel: the broker daemon. Parses the command line, loads the configuration (the
// embedded default when no -c is given), runs the server until SIGTERM/SIGINT, reloads on
// SIGHUP. Everything else lives in the libraries.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/options.h"
#include "auth/file_security.h"
#include "bridge/manager.h"
#include "common/log.h"
#include "config/diff.h"
#include "config/options.h"
#include "config/parser.h"
#include "net/server.h"
#include "net/transport_factory.h"

namespace {

using petrel::Logger;
using petrel::app::CommandLine;
namespace config = petrel::config;

std::optional<config::Config> load_config(const CommandLine& cl, Logger& log, bool report_only) {
  config::Config cfg;
  if (cl.config_file.empty()) {
    cfg = config::default_config();
  } else {
    auto res = config::parse_config_file(cl.config_file);
    for (const auto& w : res.warnings) std::fprintf(stderr, "%s\n", w.c_str());
    if (!res.ok()) {
      for (const auto& e : res.errors) std::fprintf(stderr, "%s\n", config::format_error(e).c_str());
      std::fprintf(stderr, "%s: %zu error%s in the configuration.\n", cl.config_file.c_str(),
                   res.errors.size(), res.errors.size() == 1 ? "" : "s");
      return std::nullopt;
    }
    cfg = std::move(res.config);
  }
  if (!cl.ports.empty()) {
    for (const auto& w : config::apply_port_override(cfg, cl.ports)) std::fprintf(stderr, "%s\n", w.c_str());
  }
  if (cl.verbose) cfg.log.levels = petrel::kLogAll;
  (void)log;
  (void)report_only;
  return cfg;
}

bool write_pid_file(const std::string& path) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return false;
  f << getpid() << "\n";
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = petrel::app::parse_command_line(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "petrel: %s\nTry 'petrel --help'.\n", parsed.error().message.c_str());
    return 1;
  }
  CommandLine cl = std::move(*parsed);
  if (cl.help) {
    std::fputs(petrel::app::usage_text().c_str(), stdout);
    return 0;
  }
  if (cl.options_reference) {
    std::fputs(config::options_reference_markdown().c_str(), stdout);
    return 0;
  }
  if (cl.version) {
    std::printf("petrel version %s\n", PETREL_VERSION);
    return 0;
  }

  Logger log;
  auto cfg = load_config(cl, log, cl.test_config);
  if (!cfg) return 3;
  if (cl.test_config) {
    // Certificates, keys and security files are checked too, as startup would.
    int bad = 0;
    for (const auto& l : cfg->listeners) {
      std::string err;
      petrel::net::make_transport_factory(l, log, err);
      if (!err.empty()) { std::fprintf(stderr, "%s\n", err.c_str()); ++bad; }
    }
    if (auto sec = petrel::auth::make_security(*cfg); !sec) {
      std::fprintf(stderr, "%s\n", sec.error().message.c_str());
      ++bad;
    }
    if (bad) return 3;
    std::printf("%s: configuration is valid.\n", cl.config_file.empty() ? "(embedded default)" : cl.config_file.c_str());
    return 0;
  }
  if (std::string err = log.configure(cfg->log); !err.empty()) {
    std::fprintf(stderr, "petrel: %s\n", err.c_str());
    return 1;
  }

  if (cl.daemonize && daemon(1, 0) != 0) {
    std::fprintf(stderr, "petrel: cannot daemonize: %s\n", std::strerror(errno));
    return 1;
  }
  if (!cfg->pid_file.empty() && !write_pid_file(cfg->pid_file)) {
    PETREL_LOG(log, petrel::kLogError, "Error: cannot write pid file {}.", cfg->pid_file);
    return 1;
  }

  PETREL_LOG(log, petrel::kLogNotice, "petrel version {} starting", PETREL_VERSION);
  if (cl.config_file.empty()) {
    PETREL_LOG(log, petrel::kLogNotice, "Using the embedded default configuration (no -c given).");
  } else {
    PETREL_LOG(log, petrel::kLogNotice, "Config loaded from {}.", cl.config_file);
  }
  if (cfg->local_only) {
    PETREL_LOG(log, petrel::kLogNotice,
               "Starting in local only mode: connections only from this machine (loopback). "
               "Create a configuration file with a listener to accept network clients.");
  }

  int rc = 0;
  config::Config running = *cfg;
  {
    petrel::net::Server server(*cfg, log);
    if (cfg->log.dests & petrel::kDestTopic) {
      log.set_topic_sink([&server](uint32_t level, std::string_view line) { server.publish_log(level, line); });
    }
    auto security = petrel::auth::make_security(*cfg);
    if (!security) {
      PETREL_LOG(log, petrel::kLogError, "Error: {}", security.error().message);
      log.set_topic_sink(nullptr);
      return 1;
    }
    server.set_security(*security);
    std::string err;
    if (!server.open_listeners(err)) {
      PETREL_LOG(log, petrel::kLogError, "Error: {}", err);
      log.set_topic_sink(nullptr);
      return 1;
    }
    petrel::bridge::BridgeManager bridges(log, [&server](const std::string& peer) { return server.open_internal(peer); });
    boost::asio::io_context main_io(1);
    boost::asio::signal_set signals(main_io, SIGINT, SIGTERM, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        PETREL_LOG(log, petrel::kLogNotice, "Reloading config.");
        if (auto loaded = load_config(cl, log, false)) {
          std::vector<std::string> not_applied;
          config::Config next = config::apply_reload(running, *loaded, not_applied);
          for (const auto& n : not_applied) PETREL_LOG(log, petrel::kLogWarning, "Reload: {}", n);
          if (std::string e = log.configure(next.log); !e.empty()) PETREL_LOG(log, petrel::kLogError, "{}", e);
          // Password, ACL and PSK files are read again; a broken one keeps the old set.
          auto sec = petrel::auth::make_security(next);
          if (sec) {
            server.set_security(*sec);
          } else {
            PETREL_LOG(log, petrel::kLogError, "Reload: keeping the previous security files: {}", sec.error().message);
          }
          server.reload_transports(*loaded);
          server.reload(next);
          bridges.reload(next);
          running = std::move(next);
        } else {
          PETREL_LOG(log, petrel::kLogError, "Reload failed: configuration has errors; keeping the running one.");
        }
        signals.async_wait(on_signal);
        return;
      }
      PETREL_LOG(log, petrel::kLogNotice, "petrel version {} terminating", PETREL_VERSION);
      main_io.stop();
    };
    signals.async_wait(on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    server.start_workers();
    if (cfg->bridges_only) {
      PETREL_LOG(log, petrel::kLogNotice, "Bridges-only mode: no client listener; {} bridge{} forward between remote brokers.",
                 cfg->bridges.size(), cfg->bridges.size() == 1 ? "" : "s");
    }
    // Clients are accepted once every bridge has subscribed locally, so nothing a client
    // publishes right after startup misses a bridge (at most 10 s: a bridge whose local
    // login is refused must not keep the broker closed).
    auto subscribed = std::make_shared<std::promise<void>>();
    auto bridges_ready = subscribed->get_future();
    bridges.start(*cfg, [subscribed] { subscribed->set_value(); });
    if (bridges_ready.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      PETREL_LOG(log, petrel::kLogWarning, "Bridges: not every bridge has subscribed locally after 10 s; "
                 "accepting clients anyway.");
    }
    server.start_accepting();
    main_io.run();
    bridges.stop();
    server.stop();
    log.set_topic_sink(nullptr);
  }
  if (!cfg->pid_file.empty()) std::remove(cfg->pid_file.c_str());
  return rc;
}
