// petrel_bench: MQTT load generator. Sets the run up (options, address, plan, loops), lets
// the Driver move it through its phases, then merges what every loop measured and prints it.
//
// Exit status: 0 done; 1 a QoS 1/2 message was lost or duplicated (a broker bug);
// 2 usage error, connection failure or any other error that stopped the run; 3 the hard
// deadline passed (the run is always bounded: connect + warm-up + duration + drain + margin).
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "driver.h"
#include "sysinfo.h"
#include "tls.h"
#include "worker.h"

namespace petrel::bench {
namespace {

bool resolve(const Options& o, Target& t, std::string& error) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(o.port);
  if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res) {
    error = "cannot resolve " + o.host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
  t.len = socklen_t(res->ai_addrlen);
  t.host = o.host;
  freeaddrinfo(res);
  return true;
}

bool is_loopback_v4(const Target& t) {
  if (t.addr.ss_family != AF_INET) return false;
  return (ntohl(reinterpret_cast<const sockaddr_in*>(&t.addr)->sin_addr.s_addr) >> 24) == 127;
}

// Kills the process if the run overstays its bound, whatever the broker does.
class Watchdog {
 public:
  explicit Watchdog(double seconds) : thread_([this, seconds] { watch(seconds); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void watch(double seconds) {
    std::unique_lock<std::mutex> lk(mu_);
    if (cv_.wait_for(lk, std::chrono::duration<double>(seconds), [this] { return done_; })) return;
    std::fprintf(stderr, "petrel_bench: hard deadline of %.0f s exceeded, aborting\n", seconds);
    std::fflush(stderr);
    _exit(3);
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

double hard_deadline(const Options& o) {
  double t = o.connect_timeout + 10 /* SUBACKs */ + o.warmup + o.duration + o.drain + 10 /* margin */;
  if (o.scenario == Scenario::kRetained) t += std::max(o.duration, 10.0) + 10;  // store, clear
  return t;
}

void describe(const Options& o, const Plan& plan, Report& r) {
  r.scenario = std::string(scenario_name(o.scenario));
  r.broker = o.host + ":" + std::to_string(o.port);
  r.mqtt = o.version == protocol::Version::kV5 ? "5" : o.version == protocol::Version::kV31 ? "3.1" : "3.1.1";
  r.qos = o.qos;
  r.size = o.size;
  r.rate = o.rate;
  r.inflight = o.inflight;
  r.publishers = plan.publishers;
  r.subscribers = plan.subscribers;
  r.connections = uint32_t(plan.clients.size());
  r.threads = o.threads;
  r.tls = o.tls;
  r.topic_alias_max = o.topic_alias_max;
  r.warmup_s = o.scenario == Scenario::kConn || o.scenario == Scenario::kRetained ? 0 : o.warmup;
  r.duration_s = o.duration;
  r.source_addresses = plan.source_addresses;
}

void merge_trackers(std::vector<std::unique_ptr<Worker>>& workers, Report& r) {
  std::map<uint64_t, SeqTracker*> streams;  // (stream, publisher) -> first seen
  for (auto& w : workers)
    for (SeqTracker& t : w->trackers()) {
      uint64_t key = uint64_t(t.stream()) << 32 | t.publisher();
      auto [it, fresh] = streams.emplace(key, &t);
      if (!fresh) it->second->merge(t);
    }
  for (auto& [key, t] : streams) {
    r.unique += t->unique();
    r.duplicated += t->dups();
    r.reordered += t->reordered();
    r.lost += t->gaps();
  }
}

void collect(const Options& o, const Plan& plan, std::vector<std::unique_ptr<Worker>>& workers, Report& r) {
  Counters fin;
  for (auto& w : workers) {
    const WorkerResult& x = w->result();
    fin.sent += x.counters.sent;
    fin.received += x.counters.received;
    fin.inflight += x.counters.inflight;
    fin.pings += x.counters.pings;
    fin.pongs += x.counters.pongs;
    r.unsent += x.unsent;
    r.misrouted += x.misrouted;
    r.foreign += x.foreign;
    r.bad_acks += x.bad_acks;
    r.rejected += x.rejected;
    r.downgraded += x.downgraded;
    r.window_capped += x.window_capped;
    r.publish_packets += x.publish_packets;
    r.publish_bytes += x.publish_bytes;
    r.aliased += x.aliased;
    r.latency.merge(w->latency());
    r.connect_latency.merge(w->connect_latency());
    r.ack_latency.merge(w->ack_latency());
  }
  merge_trackers(workers, r);
  r.sent = fin.sent;
  r.received = fin.received;
  r.pings = fin.pings;
  r.pongs = fin.pongs;
  if (plan.retained) r.expected = o.retained;
  else r.expected = (fin.sent - std::min(fin.sent, r.unsent)) * plan.deliveries_per_message;
  r.missing = r.expected > r.unique ? r.expected - r.unique : 0;
  // Publishes the broker refused (v5 reason >= 0x80) were never meant to be delivered.
  uint64_t refused = r.rejected * plan.deliveries_per_message;
  r.lost = std::min(r.lost > refused ? r.lost - refused : 0, r.missing);
  r.undelivered = r.missing - r.lost;
  if (o.qos > 0 && !plan.retained) r.unacked = fin.inflight > r.unsent ? fin.inflight - r.unsent : 0;
}

void add_warnings(const Options& o, Report& r) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  bool exact = o.qos > 0 && r.downgraded == 0 && o.scenario != Scenario::kConn;
  if (exact && (r.lost || r.duplicated))
    r.warnings.push_back("BUG: at QoS " + n(o.qos) + " the broker lost " + n(r.lost) + " and duplicated " +
                         n(r.duplicated) + " deliveries");
  if (exact && r.undelivered)
    r.warnings.push_back(n(r.undelivered) + " QoS " + n(o.qos) + " deliveries still missing when the drain ended");
  if (r.downgraded) r.warnings.push_back(n(r.downgraded) + " subscription(s) granted a lower QoS than asked");
  if (r.unacked) r.warnings.push_back(n(r.unacked) + " QoS " + n(o.qos) + " publishes never completed");
  if (r.unsent) r.warnings.push_back(n(r.unsent) + " publishes still queued in the generator (broker stopped reading)");
  if (r.misrouted) r.warnings.push_back(n(r.misrouted) + " deliveries reached a subscriber of another topic");
  if (r.foreign) r.warnings.push_back(n(r.foreign) + " deliveries without this run's payload stamp");
  if (r.bad_acks) r.warnings.push_back(n(r.bad_acks) + " acknowledgements for packet ids not in flight");
  if (r.window_capped)
    r.warnings.push_back(n(r.window_capped) + " publisher(s) kept fewer than --inflight in flight: the broker's Receive Maximum is lower");
  if (r.rejected) r.warnings.push_back(n(r.rejected) + " publishes refused with a v5 error reason code");
}

int run(const Options& o) {
  uint64_t fd_limit = raise_fd_limit();
  Target target;
  std::string error;
  if (!resolve(o, target, error)) return std::fprintf(stderr, "petrel_bench: %s\n", error.c_str()), 2;
  Plan plan = make_plan(o, is_loopback_v4(target));
  plan.start_ns = mono_ns();
  uint64_t fds_needed = plan.clients.size() + 2 * o.threads + 16;
  if (fds_needed > fd_limit) {
    std::fprintf(stderr, "petrel_bench: %zu connections need about %llu file descriptors, the limit is %llu\n",
                 plan.clients.size(), (unsigned long long)fds_needed, (unsigned long long)fd_limit);
    return 2;
  }
  std::unique_ptr<TlsContext> tls;
  if (o.tls) tls = std::make_unique<TlsContext>(o);

  Control ctl;
  std::unique_ptr<SharedCounters[]> shared(new SharedCounters[o.threads]);
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<SharedCounters*> counters;
  for (uint32_t t = 0; t < o.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(t, o, plan, ctl, shared[t], target, tls.get()));
    counters.push_back(&shared[t]);
  }
  for (size_t i = 0; i < plan.clients.size(); ++i) workers[i % o.threads]->add_client(plan.clients[i]);

  Report r;
  describe(o, plan, r);
  {
    Watchdog watchdog(hard_deadline(o));
    std::vector<std::thread> threads;
    for (auto& w : workers)
      threads.emplace_back([&ctl, w = w.get()] {
        try {
          w->run();
        } catch (const std::exception& e) {
          ctl.fail(e.what());
          while (ctl.phase() != Phase::kDone) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
    Driver(o, plan, ctl, counters).run(r);
    for (auto& t : threads) t.join();
  }
  collect(o, plan, workers, r);
  add_warnings(o, r);
  if (o.json) print_json(r, stdout);
  else print_text(r, stdout);
  std::fflush(stdout);
  if (!r.error.empty()) {
    std::fprintf(stderr, "petrel_bench: %s\n", r.error.c_str());
    return 2;
  }
  bool bug = o.qos > 0 && r.downgraded == 0 && o.scenario != Scenario::kConn && (r.lost || r.duplicated);
  return bug ? 1 : 0;
}

}  // namespace
}  // namespace petrel::bench

int main(int argc, char** argv) {
  using namespace petrel::bench;
  std::signal(SIGPIPE, SIG_IGN);
  ParseOutcome parsed = parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  try {
    return run(*parsed.options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel_bench: %s\n", e.what());
    return 2;
  }
}
