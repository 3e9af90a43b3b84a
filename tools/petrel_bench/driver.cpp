#include "driver.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "sysinfo.h"
#include "worker.h"

namespace petrel::bench {
namespace {

constexpr double kSubscribeTimeout = 10;
constexpr double kDrainIdle = 1.0;  // drain ends early after this long without progress

int64_t min_nonzero(int64_t a, int64_t b) { return !a ? b : !b ? a : std::min(a, b); }

}  // namespace

Counters Driver::total() const {
  Counters t;
  for (const SharedCounters* s : counters_) {
    Counters c = s->load();
    t.sent += c.sent;
    t.received += c.received;
    t.acked += c.acked;
    t.inflight += c.inflight;
    t.connected += c.connected;
    t.subscribed += c.subscribed;
    t.pings += c.pings;
    t.pongs += c.pongs;
    t.first_connect_ns = min_nonzero(t.first_connect_ns, c.first_connect_ns);
    t.last_connack_ns = std::max(t.last_connack_ns, c.last_connack_ns);
    t.subscribe_ns = min_nonzero(t.subscribe_ns, c.subscribe_ns);
    t.last_receive_ns = std::max(t.last_receive_ns, c.last_receive_ns);
  }
  return t;
}

bool Driver::all_entered(Phase p) const {
  for (const SharedCounters* s : counters_)
    if (s->phase.load(std::memory_order_acquire) < int(p)) return false;
  return true;
}

bool Driver::wait_until(const std::function<bool(const Counters&)>& done, double seconds) {
  int64_t deadline = mono_ns() + int64_t(seconds * 1e9);
  for (;;) {
    if (ctl_.failed()) return false;
    if (done(total())) return true;
    if (mono_ns() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool Driver::sleep_for(double seconds) {
  int64_t deadline = mono_ns() + int64_t(seconds * 1e9);
  while (!ctl_.failed()) {
    int64_t left = deadline - mono_ns();
    if (left <= 0) return true;
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(left, 10'000'000)));
  }
  return false;
}

void Driver::fail(Report& r, const std::string& why) {
  if (r.error.empty()) r.error = ctl_.failed() ? ctl_.error() : why;
}

void Driver::begin_window() {
  begin_ = total();
  gen_cpu0_ = self_cpu_seconds();
  machine0_ = machine_cpu();
  broker_cpu0_ = o_.broker_pid ? process_cpu_seconds(o_.broker_pid) : -1;
  broker_write0_ = o_.broker_pid ? process_write_bytes(o_.broker_pid) : -1;
  broker2_cpu0_ = o_.broker2_pid ? process_cpu_seconds(o_.broker2_pid) : -1;
  begin_ns_ = mono_ns();
}

void Driver::end_window(Report& r) {
  Counters end = total();
  r.window_s = double(mono_ns() - begin_ns_) * 1e-9;
  r.gen_cpu_s = self_cpu_seconds() - gen_cpu0_;
  MachineCpu m = machine_cpu();
  r.machine_busy_s = m.busy - machine0_.busy;
  r.machine_softirq_s = m.softirq - machine0_.softirq;
  if (o_.broker_pid) {
    double b = process_cpu_seconds(o_.broker_pid);
    if (b >= 0 && broker_cpu0_ >= 0) r.broker_cpu_s = b - broker_cpu0_;
    r.broker_rss_kb = process_status_kb(o_.broker_pid, "VmRSS");
    r.broker_hwm_kb = process_status_kb(o_.broker_pid, "VmHWM");
    long long w = process_write_bytes(o_.broker_pid);
    if (w >= 0 && broker_write0_ >= 0) r.broker_write_bytes = w - broker_write0_;
  }
  if (o_.broker2_pid) {
    double b = process_cpu_seconds(o_.broker2_pid);
    if (b >= 0 && broker2_cpu0_ >= 0) r.broker2_cpu_s = b - broker2_cpu0_;
    r.broker2_rss_kb = process_status_kb(o_.broker2_pid, "VmRSS");
    r.broker2_hwm_kb = process_status_kb(o_.broker2_pid, "VmHWM");
  }
  r.sent_window = end.sent - begin_.sent;
  r.received_window = end.received - begin_.received;
  r.acked_window = end.acked - begin_.acked;
}

bool Driver::connect_all(Report& r) {
  const uint64_t n = plan_.clients.size();
  ctl_.set_phase(Phase::kConnect);
  bool ok = wait_until([&](const Counters& c) { return c.connected >= n; }, o_.connect_timeout);
  Counters c = total();
  r.connected = c.connected;
  if (c.last_connack_ns > c.first_connect_ns) r.connect_s = double(c.last_connack_ns - c.first_connect_ns) * 1e-9;
  if (!ok)
    fail(r, "only " + std::to_string(c.connected) + " of " + std::to_string(n) + " clients connected within " +
                std::to_string(int(o_.connect_timeout)) + " s");
  return ok;
}

bool Driver::subscribe_all(Report& r) {
  uint64_t n = 0;
  for (const ClientSpec& s : plan_.clients) n += s.role == Role::kSubscriber;
  ctl_.set_phase(Phase::kSubscribe);
  bool ok = wait_until([&](const Counters& c) { return c.subscribed >= n; }, kSubscribeTimeout);
  if (!ok)
    fail(r, "only " + std::to_string(total().subscribed) + " of " + std::to_string(n) + " SUBACKs within " +
                std::to_string(int(kSubscribeTimeout)) + " s");
  return ok;
}

void Driver::drain() {
  const int64_t deadline = mono_ns() + int64_t(o_.drain * 1e9);
  // Counters mean "done" only once every loop has stopped publishing.
  while (!all_entered(Phase::kDrain) && !ctl_.failed() && mono_ns() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  uint64_t last = ~uint64_t(0);
  int64_t last_change = mono_ns();
  while (!ctl_.failed()) {
    Counters c = total();
    int64_t now = mono_ns();
    if (c.received >= c.sent * plan_.deliveries_per_message && c.inflight == 0) return;
    uint64_t progress = c.received + c.acked;
    if (progress != last) last = progress, last_change = now;
    if (now >= deadline || now - last_change > int64_t(std::min(o_.drain, kDrainIdle) * 1e9)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Driver::traffic(Report& r) {
  ctl_.set_phase(Phase::kWarmup);
  if (!sleep_for(o_.warmup)) return fail(r, "");
  begin_window();
  ctl_.set_phase(Phase::kMeasure);
  bool ok = sleep_for(o_.duration);
  end_window(r);
  ctl_.set_phase(Phase::kDrain);
  if (!ok) return fail(r, "");
  drain();
}

void Driver::hold(Report& r) {
  begin_window();
  ctl_.set_phase(Phase::kMeasure);
  bool ok = sleep_for(o_.duration);
  end_window(r);
  if (!ok) fail(r, "");
}

void Driver::retained(Report& r) {
  const uint64_t n = o_.retained;
  ctl_.set_phase(Phase::kWarmup);
  double store_timeout = std::max(o_.duration, 10.0);
  if (!wait_until([&](const Counters& c) { return c.acked >= n; }, store_timeout))
    return fail(r, "the broker acknowledged only " + std::to_string(total().acked) + " of " + std::to_string(n) +
                       " retained publishes");
  begin_window();
  ctl_.set_phase(Phase::kRetainSubscribe);
  bool all = wait_until([&](const Counters& c) { return c.received >= n; }, o_.duration);
  end_window(r);
  Counters c = total();
  if (c.last_receive_ns > c.subscribe_ns && c.subscribe_ns) r.retained_s = double(c.last_receive_ns - c.subscribe_ns) * 1e-9;
  if (ctl_.failed()) return fail(r, "");
  if (!all)
    r.warnings.push_back("received " + std::to_string(c.received) + " of " + std::to_string(n) +
                         " retained messages within " + std::to_string(o_.duration) + " s");
  ctl_.set_phase(Phase::kCleanup);  // empty every retained topic again
  if (!wait_until([&](const Counters& c) { return c.acked >= 2 * n; }, kSubscribeTimeout) && !ctl_.failed())
    r.warnings.push_back("clearing the retained messages was not acknowledged in time");
}

void Driver::run(Report& r) {
  if (o_.broker_pid) r.broker_rss_before_kb = process_status_kb(o_.broker_pid, "VmRSS");
  if (connect_all(r) && subscribe_all(r)) {
    if (o_.scenario == Scenario::kConn) hold(r);
    else if (o_.scenario == Scenario::kRetained) retained(r);
    else traffic(r);
  }
  ctl_.set_phase(Phase::kDisconnect);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let DISCONNECTs leave
  ctl_.set_phase(Phase::kDone);
}

}  // namespace petrel::bench
