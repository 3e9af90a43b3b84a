#include "app/runtime.h"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>

#include "app/admin_service.h"
#include "app/persistence.h"
#include "app/privileges.h"
#include "auth/file_security.h"
#include "config/diff.h"
#include "config/parser.h"
#include "persist/sqlite_store.h"

namespace petrel::app {

namespace asio = boost::asio;

namespace {

constexpr size_t kHistorySeconds = 900;  // 15 minutes of samples for the charts

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

void join(std::string& out, const std::vector<std::string>& parts) {
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
}

}  // namespace

std::string ApplyReport::summary() const {
  if (!ok) return error + "; nothing was changed";
  std::string out;
  join(out, applied);
  join(out, kept);
  join(out, restart_required);
  if (out.empty()) out = changes.empty() ? "no change" : "applied";
  return out;
}

Runtime::Runtime(Logger& log, CommandLine cl, std::string config_path, config::Config initial)
    : log_(log), cl_(std::move(cl)), config_path_(std::move(config_path)), running_(std::move(initial)),
      sampler_(control_io_), watchdog_timer_(control_io_) {}

Runtime::~Runtime() = default;

config::Config Runtime::running() const {
  std::lock_guard lk(mu_);
  return running_;
}

std::string Runtime::config_path() const {
  std::lock_guard lk(mu_);
  return config_path_;
}

void Runtime::set_config_path(std::string path) {
  std::lock_guard lk(mu_);
  config_path_ = std::move(path);
}

std::optional<config::Config> Runtime::load(const CommandLine& cl, const std::string& path, Logger& log,
                                            std::vector<std::string>* errors) {
  config::Config cfg;
  if (path.empty()) {
    cfg = config::default_config(/*admin=*/true);
  } else {
    auto res = config::parse_config_file(path);
    for (const auto& w : res.warnings) PETREL_LOG(log, kLogWarning, "{}", w);
    if (!res.ok()) {
      for (const auto& e : res.errors) {
        if (errors) errors->push_back(config::format_error(e));
        else std::fprintf(stderr, "%s\n", config::format_error(e).c_str());
      }
      return std::nullopt;
    }
    cfg = std::move(res.config);
  }
  if (!cl.ports.empty()) {
    for (const auto& w : config::apply_port_override(cfg, cl.ports)) PETREL_LOG(log, kLogWarning, "{}", w);
  }
  if (cl.verbose) cfg.log.levels = kLogAll;
  return cfg;
}

void Runtime::write_pid_file(const std::string& path) {
  if (path.empty()) return;
  std::ofstream f(path, std::ios::trunc);
  if (!(f << getpid() << "\n")) PETREL_LOG(log_, kLogError, "Error: cannot write pid file {}.", path);
}

// ---- startup -------------------------------------------------------------------------------

void Runtime::start_error(const std::string& message) {
  PETREL_LOG(log_, kLogError, "Error: {}", message);
  const uint32_t dests = running().log.dests;
  if (!(dests & (kDestStderr | kDestStdout)) || !log_.enabled(kLogError)) {
    std::fprintf(stderr, "Error: %s\n", message.c_str());
  }
}

bool Runtime::open_store(const config::Config& cfg) {
  if (!config::persistence_active(cfg.persistence)) return true;
  const auto started = std::chrono::steady_clock::now();
  const std::string path = config::persistence_path(cfg.persistence);
  const std::string conf = config_path();
  if (std::string notice = mosquitto_file_notice(path, conf); !notice.empty()) {
    PETREL_LOG(log_, kLogNotice, "{}", notice);
  }
  auto opened = app::open_store(cfg.persistence, &log_, conf);
  if (!opened) {
    start_error(opened.error().message);
    return false;
  }
  store_ = std::move(*opened);
  const auto was_opened = std::chrono::steady_clock::now();
  auto snapshot = store_->load();
  if (!snapshot) {
    start_error(snapshot.error().message);
    return false;
  }
  const auto loaded = std::chrono::steady_clock::now();
  // Restored before the store is attached: rebuilding what the store holds writes nothing.
  const size_t sessions = server_->restore(*snapshot);
  // Under `interval MS` a worker's journal stays open for a tenth of MS (at most 100 ms), so
  // what is acknowledged within it is never written (WorkerCore::flush_journal).
  const bool commit = cfg.persistence.sync == config::PersistenceSync::kCommit;
  server_->set_store(store_.get(), commit, commit ? 0 : std::min<int64_t>(100, cfg.persistence.sync_interval_ms / 10));
  const size_t retained = snapshot->retained.size();
  snapshot = persist::Snapshot{};  // its records, freed before the listeners open
  const auto done = std::chrono::steady_clock::now();
  auto ms = [](auto from, auto to) { return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count(); };
  PETREL_LOG(log_, kLogNotice,
             "Restored {} sessions and {} retained messages from {} (in {} ms: opened {} ms, read {} ms, rebuilt {} ms).",
             sessions, retained, path, ms(started, done), ms(started, was_opened), ms(was_opened, loaded),
             ms(loaded, done));
  return true;
}

bool Runtime::drop_privileges_and_check(const config::Config& cfg) {
  // The embedded default, and the admin's saved copy of it, were not given with -c.
  auto dropped = drop_privileges(cfg, !cl_.config_file.empty(), config_path());
  if (!dropped) {
    start_error(dropped.error().message);
    return false;
  }
  for (const auto& n : dropped->notes) {
    PETREL_LOG(log_, n.rfind("Warning", 0) == 0 ? kLogWarning : kLogNotice, "{}", n);
  }
  if (!dropped->dropped) return true;
  // What petrel reads or writes again later must be usable by the user it became: said
  // now, naming each file, rather than at the first SIGHUP or bridge connection.
  const auto check = check_runtime_files(cfg, config_path(), dropped->user);
  for (const auto& w : check.warnings) PETREL_LOG(log_, kLogWarning, "Warning: {}", w);
  const auto& errors = check.errors;
  for (const auto& e : errors) start_error(e);
  if (!errors.empty()) {
    start_error(fmt::format("{} file{} cannot be used by user '{}' (the `user` option): make {} readable (or "
                            "writable) by that user or group, or name another user",
                            errors.size(), errors.size() == 1 ? "" : "s", dropped->user,
                            errors.size() == 1 ? "it" : "them"));
    return false;
  }
  return true;
}

bool Runtime::start() {
  const config::Config cfg = running();
  server_ = std::make_unique<net::Server>(cfg, log_);
  if (cfg.log.dests & kDestTopic) {
    log_.set_topic_sink([this](uint32_t level, std::string_view line) { server_->publish_log(level, line); });
  }
  std::vector<std::string> warnings;
  auto security = auth::make_security(cfg, {}, &warnings);
  if (!security) {
    start_error(security.error().message);
    return false;
  }
  for (const auto& w : warnings) PETREL_LOG(log_, kLogWarning, "Warning: {}", w);
  server_->set_security(*security);
  // Listeners (MQTT and admin) are bound while petrel may still be root (ports below
  // 1024, keys only root reads); MQTT listeners listen and accept only at the end.
  std::string err;
  if (!server_->open_listeners(err)) {
    start_error(err);
    return false;
  }
  bridges_ = std::make_unique<bridge::BridgeManager>(
      log_, [this](const std::string& peer) { return server_->open_internal(peer); },
      [this](const std::string& local_id) { return server_->broker().bridge_link(local_id); });
  admin_ = std::make_unique<AdminService>(*this);
  if (auto opened = admin_->open(running()); !opened) {
    start_error(opened.error().message);
    return false;
  }
  if (!drop_privileges_and_check(cfg)) return false;
  // The store after the drop, so its files belong to the user petrel runs as; before the
  // workers start, the bridges subscribe and the first client is accepted.
  if (!open_store(cfg)) return false;
  admin_->serve();  // everything it reads exists now
  server_->start_workers();
  if (cfg.bridges_only) {
    PETREL_LOG(log_, kLogNotice, "Bridges-only mode: no client listener; {} bridge{} forward between remote brokers.",
               cfg.bridges.size(), cfg.bridges.size() == 1 ? "" : "s");
  }
  // Clients are accepted once every bridge has subscribed locally, so nothing a client
  // publishes right after startup misses a bridge (at most 10 s: a bridge whose local
  // login is refused must not keep the broker closed).
  auto subscribed = std::make_shared<std::promise<void>>();
  auto bridges_ready = subscribed->get_future();
  bridges_->start(cfg, [subscribed] { subscribed->set_value(); });
  if (bridges_ready.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    PETREL_LOG(log_, kLogWarning, "Bridges: not every bridge has subscribed locally after 10 s; "
               "accepting clients anyway.");
  }
  if (std::string err; !server_->start_accepting(err)) {
    start_error(err);
    return false;
  }
  return true;
}

int Runtime::run() {
  // The signals are caught from the start: a SIGHUP that comes while the bridges
  // subscribe (up to 10 s) waits for the handler instead of killing the process.
  asio::signal_set signals(control_io_, SIGINT, SIGTERM, SIGHUP);
  signals.add(SIGUSR1);
  signals.add(SIGUSR2);
  if (!start()) {
    log_.set_topic_sink(nullptr);
    if (admin_) admin_->stop();
    if (bridges_) bridges_->stop();  // started when only the last step (listen) failed
    if (server_) server_->stop();
    if (store_) store_->close();
    return 1;
  }
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                               int sig) {
    if (ec) return;
    if (sig == SIGHUP || sig == SIGUSR1 || sig == SIGUSR2) {
      if (sig == SIGHUP) {
        notify_.reloading();
        // Log files first (logrotate renamed the old one), so the reload's lines land in
        // the new file.
        if (std::string e = log_.reopen(); !e.empty()) PETREL_LOG(log_, kLogError, "Error: {}.", e);
        reload("SIGHUP");
        notify_.reloaded(status_line(latest_sample()));
      } else if (sig == SIGUSR1) {
        dump_state();
      } else {
        dump_subscriptions();
      }
      signals.async_wait(on_signal);
      return;
    }
    notify_.stopping();
    PETREL_LOG(log_, kLogNotice, "petrel version {} terminating", PETREL_VERSION);
    control_io_.stop();
  };
  signals.async_wait(on_signal);
  sample();
  arm_sampler();
  notify_.ready(status_line(latest_sample()));
  if (notify_.watchdog_interval().count() > 0) {
    PETREL_LOG(log_, kLogInfo, "systemd watchdog: every worker is checked each {} ms.",
               std::chrono::duration_cast<std::chrono::milliseconds>(notify_.watchdog_interval()).count() / 2);
    arm_watchdog();
  }
  control_io_.run();
  sampler_.cancel();
  watchdog_timer_.cancel();
  admin_->stop();
  bridges_->stop();
  server_->stop();
  // After the workers stopped: what they submitted last is committed, the WAL checkpointed.
  if (store_) store_->close();
  log_.set_topic_sink(nullptr);
  return 0;
}

std::string Runtime::status_line(const StatusSample& s) const {
  const auto& c = s.counters;
  return fmt::format("{} client{} connected, {} subscription{}, {} retained; {:.0f} msg/s in, {:.0f} msg/s out",
                     c.clients_connected, c.clients_connected == 1 ? "" : "s", c.subscriptions,
                     c.subscriptions == 1 ? "" : "s", c.retained_count, s.msgs_in, s.msgs_out);
}

void Runtime::arm_watchdog() {
  watchdog_timer_.expires_after(notify_.watchdog_interval() / 2);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    if (!watchdog_probe_pending_) {
      // queue_totals runs on every worker and answers once all of them did: the ping
      // means each worker's loop is turning, not only this control thread.
      watchdog_probe_pending_ = true;
      server_->queue_totals([this](uint64_t, uint64_t) {
        asio::post(control_io_, [this] {
          watchdog_probe_pending_ = false;
          notify_.watchdog();
        });
      });
    } else {
      PETREL_LOG(log_, kLogWarning, "Watchdog: a worker has not answered for {} ms; not telling systemd it is alive.",
                 std::chrono::duration_cast<std::chrono::milliseconds>(notify_.watchdog_interval()).count() / 2);
    }
    arm_watchdog();
  });
}

void Runtime::dump_state() {
  const auto c = server_->broker().snapshot();  // now, not the last second's sample
  PETREL_LOG(log_, kLogNotice,
             "State (SIGUSR1): up {} s; {} client{} connected, {} session{}, {} subscription{} ({} shared), "
             "{} retained message{} ({} bytes); {} PUBLISH received, {} sent, {} dropped; RSS {} bytes.",
             c.uptime_s, c.clients_connected, c.clients_connected == 1 ? "" : "s", c.sessions,
             c.sessions == 1 ? "" : "s", c.subscriptions, c.subscriptions == 1 ? "" : "s", c.shared_subscriptions,
             c.retained_count, c.retained_count == 1 ? "" : "s", c.retained_bytes, c.pub_received, c.pub_sent,
             c.pub_dropped, rss_bytes());
  server_->queue_totals([this](uint64_t queued, uint64_t inflight) {
    PETREL_LOG(log_, kLogNotice, "State (SIGUSR1): {} message{} queued for sessions, {} in flight.", queued,
               queued == 1 ? "" : "s", inflight);
  });
  if (!store_) {
    PETREL_LOG(log_, kLogNotice, "State (SIGUSR1): no persistence store (persistence false): nothing to write.");
    return;
  }
  const auto before = std::chrono::steady_clock::now();
  store_->flush([this, before](bool ok) {
    // On the store thread: only the log (which locks itself) is touched.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - before);
    if (ok) {
      PETREL_LOG(log_, kLogNotice, "State (SIGUSR1): everything pending is committed to the store ({} ms).",
                 ms.count());
    } else {
      PETREL_LOG(log_, kLogError, "State (SIGUSR1): persistence commit failed; the store is unhealthy.");
    }
  });
}

void Runtime::dump_subscriptions() {
  broker::ClientQuery q;
  q.include_internal = true;
  q.limit = SIZE_MAX;
  server_->query_clients(q, [this](std::vector<broker::ClientInfo> all) {
    std::map<std::string, std::vector<std::string>> by_filter;
    for (const auto& c : all)
      for (const auto& sub : c.subscriptions)
        by_filter[sub.filter].push_back(fmt::format("{} (QoS {})", c.client_id, sub.qos));
    PETREL_LOG(log_, kLogNotice, "Subscriptions (SIGUSR2): {} filter{} from {} session{}.", by_filter.size(),
               by_filter.size() == 1 ? "" : "s", all.size(), all.size() == 1 ? "" : "s");
    for (auto& [filter, clients] : by_filter) {
      std::sort(clients.begin(), clients.end());
      PETREL_LOG(log_, kLogNotice, "  {}: {}", filter, fmt::join(clients, ", "));
    }
    const auto c = server_->broker().snapshot();
    PETREL_LOG(log_, kLogNotice, "Retained (SIGUSR2): {} message{}, {} bytes.", c.retained_count,
               c.retained_count == 1 ? "" : "s", c.retained_bytes);
  });
}

// ---- the apply path -------------------------------------------------------------------------

ApplyReport Runtime::reload(const std::string& origin) {
  PETREL_LOG(log_, kLogNotice, "Reloading config.");  // Mosquitto's line; the outcome follows
  std::vector<std::string> errors;
  auto loaded = load(cl_, config_path(), log_, &errors);
  if (!loaded) {
    ApplyReport r;
    r.ok = false;
    r.error = "the configuration has errors: " + (errors.empty() ? std::string("?") : errors.front()) +
              (errors.size() > 1 ? fmt::format(" (and {} more)", errors.size() - 1) : "");
    for (const auto& e : errors) PETREL_LOG(log_, kLogError, "Reload: {}", e);
    PETREL_LOG(log_, kLogError, "Reload failed: configuration has errors; keeping the running one.");
    return r;
  }
  return apply(*loaded, origin);
}

ApplyReport Runtime::apply(const config::Config& requested, const std::string& origin) {
  const config::Config before = running();
  config::Config next = requested;
  ApplyReport report;
  // Some settings only take effect at startup; the running configuration keeps saying
  // what is really in effect.
  if (next.threads != before.threads) next.threads = before.threads;
  next.user = before.user;  // privileges are dropped once, at startup
  next.persistence = before.persistence;  // the store is opened at startup only
  const config::ConfigDiff diff = config::diff_configs(before, requested);
  for (const auto& line : diff.describe()) report.changes.push_back(line);
  for (const auto& c : diff.restart_required) report.restart_required.push_back(c.describe());

  auto fail = [&](std::string why) {
    report.ok = false;
    report.error = std::move(why);
    PETREL_LOG(log_, kLogError, "Configuration change from {} failed: {}; nothing was changed.", origin, report.error);
    return report;
  };

  // ---- everything that can fail, without touching what runs ----
  net::ListenerPlan plan{diff.listeners_added, diff.listeners_removed, diff.listeners_restarted,
                         diff.listeners_reloaded};
  auto prepared = server_->prepare(plan, next);
  if (!prepared) return fail(prepared.error().message);
  // Password, ACL and PSK files are read again on every apply (their contents may have
  // changed behind the same paths).
  std::vector<std::string> warnings;
  auto security = auth::make_security(net::Server::worker_view(**prepared), {}, &warnings);
  if (!security) return fail(security.error().message);
  for (const auto& w : warnings) PETREL_LOG(log_, kLogWarning, "Warning: {}", w);
  if (diff.log_changed) {
    if (std::string e = log_.configure(next.log); !e.empty()) return fail(e);
  }
  if (auto admin = admin_->apply(next, diff); !admin) {
    if (diff.log_changed) log_.configure(before.log);
    return fail(admin.error().message);
  }

  // ---- commit: nothing below can fail ----
  server_->set_security(*security);
  net::ListenerReport lr = server_->apply(std::move(*prepared), diff.security_changed);
  for (auto& w : lr.warnings) report.warnings.push_back(w);
  for (auto& c : lr.changed) report.applied.push_back(c);
  if (diff.security_changed) {
    const size_t n = lr.refused_by_security;
    report.applied.push_back(n ? fmt::format("security settings applied ({} connected client{} no longer allowed "
                                             "and disconnected)", n, n == 1 ? " was" : "s were")
                               : "security settings applied (every connected client is still allowed)");
  }
  if (diff.limits_changed) report.applied.push_back("limits applied");
  if (diff.log_changed) report.applied.push_back("logging settings applied");
  if (next.log.dests & kDestTopic) {
    log_.set_topic_sink([this](uint32_t level, std::string_view line) { server_->publish_log(level, line); });
  } else {
    log_.set_topic_sink(nullptr);
  }
  bridges_->reload(next);
  for (const auto& n : diff.bridges_added) report.applied.push_back("bridge " + n + " started");
  for (const auto& n : diff.bridges_removed) report.applied.push_back("bridge " + n + " stopped and removed");
  for (const auto& n : diff.bridges_changed) report.applied.push_back("bridge " + n + " restarted");
  for (const auto& l : diff.http_added) report.applied.push_back("admin listener " + config::describe_listener(l) + " opened");
  for (const auto& l : diff.http_removed) report.applied.push_back("admin listener " + config::describe_listener(l) + " closed");
  for (const auto& l : diff.http_changed) report.applied.push_back("admin listener " + config::describe_listener(l) + " restarted");
  if (next.pid_file != before.pid_file) {
    if (!before.pid_file.empty()) std::remove(before.pid_file.c_str());
    write_pid_file(next.pid_file);
  }
  if (!report.applied.empty() || !diff.empty()) {
    for (auto& k : lr.kept) report.kept.push_back(k);
    size_t unchanged = 0;
    for (const auto& b : next.bridges) {
      bool touched = false;
      for (const auto* list : {&diff.bridges_added, &diff.bridges_changed})
        for (const auto& n : *list) touched = touched || n == b.name;
      if (!touched) ++unchanged;
    }
    if (unchanged) report.kept.push_back(fmt::format("{} bridge{} kept running", unchanged, unchanged == 1 ? "" : "s"));
  }
  {
    std::lock_guard lk(mu_);
    running_ = next;
  }
  for (const auto& w : report.warnings) PETREL_LOG(log_, kLogWarning, "Configuration change: {}", w);
  PETREL_LOG(log_, kLogNotice, "Configuration change from {}: {}", origin, report.summary());
  for (const auto& r : report.restart_required) PETREL_LOG(log_, kLogWarning, "Not applied until a restart: {}", r);
  return report;
}

// ---- status sampling ----------------------------------------------------------------------

void Runtime::arm_sampler() {
  sampler_.expires_after(std::chrono::seconds(1));
  sampler_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    sample();
    arm_sampler();
  });
}

void Runtime::sample() {
  StatusSample s;
  s.at_ms = unix_ms();
  s.counters = server_->broker().snapshot();
  s.rss_bytes = rss_bytes();
  {
    std::lock_guard lk(mu_);
    if (!samples_.empty()) {
      const StatusSample& prev = samples_.back();
      const double dt = double(s.at_ms - prev.at_ms) / 1000.0;
      if (dt > 0) {
        auto rate = [dt](uint64_t now, uint64_t then) { return now >= then ? double(now - then) / dt : 0.0; };
        s.msgs_in = rate(s.counters.pub_received, prev.counters.pub_received);
        s.msgs_out = rate(s.counters.pub_sent, prev.counters.pub_sent);
        s.bytes_in = rate(s.counters.bytes_received, prev.counters.bytes_received);
        s.bytes_out = rate(s.counters.bytes_sent, prev.counters.bytes_sent);
      }
    }
    samples_.push_back(s);
    while (samples_.size() > kHistorySeconds) samples_.pop_front();
  }
  for (auto& fn : sample_listeners_) fn(s);
  notify_.status(status_line(s));
}

StatusSample Runtime::latest_sample() const {
  {
    std::lock_guard lk(mu_);
    if (!samples_.empty()) return samples_.back();
  }
  // Asked before the first sample (the admin serves from the start): one now, without rates.
  StatusSample s;
  s.at_ms = unix_ms();
  if (server_) s.counters = server_->broker().snapshot();
  s.rss_bytes = rss_bytes();
  return s;
}

std::vector<StatusSample> Runtime::history(size_t seconds) const {
  std::lock_guard lk(mu_);
  const size_t n = std::min(seconds, samples_.size());
  return {samples_.end() - static_cast<std::ptrdiff_t>(n), samples_.end()};
}

void Runtime::on_sample(std::function<void(const StatusSample&)> fn) { sample_listeners_.push_back(std::move(fn)); }

}  // namespace petrel::app
