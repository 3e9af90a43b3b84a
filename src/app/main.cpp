// petrel: the broker daemon. Parses the command line, finds the configuration (-c FILE;
// else the one the web admin saved in the state directory; else the embedded default),
// checks it (--test-config), runs a store command (--import-mosquitto,
// --persistence-check, --persistence-recover: app/persistence) or runs the broker
// (app/runtime). Everything else lives in the libraries.
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/options.h"
#include "app/persistence.h"
#include "app/runtime.h"
#include "auth/file_security.h"
#include "common/log.h"
#include "config/diff.h"
#include "config/options.h"
#include "net/transport_factory.h"

namespace {

using petrel::Logger;
using petrel::app::CommandLine;
namespace config = petrel::config;

// Without -c: the configuration the web admin saved, when there is one.
std::string find_config_path(const CommandLine& cl) {
  if (!cl.config_file.empty()) return cl.config_file;
  const std::string saved = config::default_state_dir() + "/petrel.conf";
  std::error_code ec;
  return std::filesystem::exists(saved, ec) ? saved : std::string();
}

// `--test-config -v`: every option's effective value, per scope, with how a change to it
// takes effect (the same table the reload diff and the admin API read).
void print_effective(const config::Config& cfg) {
  auto line = [](const config::OptionDescriptor& d, const std::string& value) {
    std::printf("  %-32s %-40s %s\n", std::string(d.name).c_str(), d.secret ? "(set)" : value.c_str(),
                std::string(config::effect_name(d.effect)).c_str());
  };
  std::printf("global:\n");
  for (const auto& d : config::option_table()) {
    if (!d.alias_of.empty()) continue;
    if (d.read.global || (d.read.security && !cfg.per_listener_settings)) line(d, config::read_option(d, cfg, nullptr, nullptr));
  }
  auto listeners = cfg.listeners;
  listeners.insert(listeners.end(), cfg.http_listeners.begin(), cfg.http_listeners.end());
  for (const auto& l : listeners) {
    std::printf("listener %s (%s):\n", config::describe_listener(l).c_str(), l.source.c_str());
    for (const auto& d : config::option_table()) {
      if (!d.alias_of.empty()) continue;
      if (d.read.listener || (d.read.security && cfg.per_listener_settings)) line(d, config::read_option(d, cfg, &l, nullptr));
    }
  }
  for (const auto& b : cfg.bridges) {
    std::printf("bridge %s (%s):\n", b.name.c_str(), b.source.c_str());
    for (const auto& d : config::option_table()) {
      if (d.alias_of.empty() && d.read.bridge) line(d, config::read_option(d, cfg, nullptr, &b));
    }
  }
}

int test_config(const CommandLine& cl, const std::string& path, Logger& log) {
  auto cfg = petrel::app::Runtime::load(cl, path, log);
  if (!cfg) return 3;
  // Certificates, keys and security files are checked too, as startup would.
  int bad = 0;
  auto listeners = cfg->listeners;
  listeners.insert(listeners.end(), cfg->http_listeners.begin(), cfg->http_listeners.end());
  for (const auto& l : listeners) {
    std::string err;
    if (l.protocol == config::ListenerProtocol::kHttpApi) {
      if (!l.certfile.empty() && ::access(l.certfile.c_str(), R_OK) != 0) err = "certfile " + l.certfile + ": " + std::strerror(errno);
      if (!l.keyfile.empty() && ::access(l.keyfile.c_str(), R_OK) != 0) err = "keyfile " + l.keyfile + ": " + std::strerror(errno);
    } else {
      petrel::net::make_transport_factory(l, log, err);
    }
    if (!err.empty()) { std::fprintf(stderr, "%s\n", err.c_str()); ++bad; }
  }
  // A password file line the broker would skip (its user cannot log in) is an error here.
  auto sec = petrel::auth::load_security(*cfg);
  for (const auto& e : sec.errors) std::fprintf(stderr, "%s\n", e.c_str());
  for (const auto& e : sec.line_problems) std::fprintf(stderr, "%s\n", e.c_str());
  bad += static_cast<int>(sec.errors.size() + sec.line_problems.size());
  // The store's directory, as startup would find it (nothing is created or opened).
  for (const auto& e : petrel::app::check_persistence_paths(cfg->persistence, path)) {
    std::fprintf(stderr, "%s\n", e.c_str());
    ++bad;
  }
  if (!cfg->http_api_password_file.empty() && !cfg->http_listeners.empty() &&
      ::access(cfg->http_api_password_file.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "http_api_password_file %s: %s\n", cfg->http_api_password_file.c_str(), std::strerror(errno));
    ++bad;
  }
  if (bad) return 3;
  if (cl.verbose) print_effective(*cfg);
  std::printf("%s: configuration is valid.\n", path.empty() ? "(embedded default)" : path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything writes a file: a write past a file-size limit (RLIMIT_FSIZE, `ulimit
  // -f`) would otherwise kill the broker with SIGXFSZ. Ignored, the write fails with EFBIG
  // instead: the store rolls that transaction back and refuses its messages (ok=false,
  // 0x97) while the broker keeps serving, and a log write that fails loses only that line.
  std::signal(SIGXFSZ, SIG_IGN);
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
  const std::string path = find_config_path(cl);
  if (cl.test_config) return test_config(cl, path, log);
  if (!cl.import_mosquitto.empty()) return petrel::app::import_mosquitto_command(cl, path, log);
  if (cl.persistence_check) return petrel::app::persistence_check_command(cl, path, log);
  if (cl.persistence_recover) return petrel::app::persistence_recover_command(cl, path, log);
  auto cfg = petrel::app::Runtime::load(cl, path, log);
  if (!cfg) {
    std::fprintf(stderr, "%s: configuration has errors.\n", path.c_str());
    return 3;
  }
  if (std::string err = log.configure(cfg->log); !err.empty()) {
    std::fprintf(stderr, "petrel: %s\n", err.c_str());
    return 1;
  }
  if (cl.daemonize && daemon(1, 0) != 0) {
    std::fprintf(stderr, "petrel: cannot daemonize: %s\n", std::strerror(errno));
    return 1;
  }
  if (!cfg->pid_file.empty()) {
    std::ofstream f(cfg->pid_file, std::ios::trunc);
    if (!(f << getpid() << "\n")) {
      PETREL_LOG(log, petrel::kLogError, "Error: cannot write pid file {}.", cfg->pid_file);
      return 1;
    }
  }

  PETREL_LOG(log, petrel::kLogNotice, "petrel version {} starting", PETREL_VERSION);
  if (path.empty()) {
    PETREL_LOG(log, petrel::kLogNotice, "Using the embedded default configuration (no -c given).");
  } else if (cl.config_file.empty()) {
    PETREL_LOG(log, petrel::kLogNotice, "Config loaded from {} (saved by the web admin; remove it to go back "
               "to the embedded default).", path);
  } else {
    PETREL_LOG(log, petrel::kLogNotice, "Config loaded from {}.", path);
  }
  if (cfg->local_only) {
    PETREL_LOG(log, petrel::kLogNotice,
               "Starting in local only mode: connections only from this machine (loopback). "
               "Create a configuration file with a listener to accept network clients.");
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::string pid_file;
  int rc = 0;
  {
    petrel::app::Runtime runtime(log, cl, path, std::move(*cfg));
    rc = runtime.run();
    pid_file = runtime.running().pid_file;  // SIGHUP may have moved it
  }
  if (!pid_file.empty()) std::remove(pid_file.c_str());
  return rc;
}
