#pragma once
// Driver: the main thread's side of a run. Moves every loop through the phases (connect,
// subscribe, warm-up, measure, drain, ...), decides when each ends from the loops' published
// counters, and samples CPU time, memory and disk writes at the edges of the measured window.
#include <functional>
#include <vector>

#include "control.h"
#include "options.h"
#include "plan.h"
#include "report.h"
#include "sysinfo.h"

namespace petrel::bench {

class Driver {
 public:
  Driver(const Options& o, const Plan& plan, Control& ctl, std::vector<SharedCounters*> counters)
      : o_(o), plan_(plan), ctl_(ctl), counters_(std::move(counters)) {}
  // Runs every phase up to kDone; fills the window, connect and retained figures of r, and
  // r.error when the run could not complete.
  void run(Report& r);

 private:
  Counters total() const;
  bool all_entered(Phase p) const;
  bool wait_until(const std::function<bool(const Counters&)>& done, double seconds);
  bool sleep_for(double seconds);
  void begin_window();
  void end_window(Report& r);
  bool connect_all(Report& r);
  bool subscribe_all(Report& r);
  void traffic(Report& r);
  void drain();
  void hold(Report& r);
  void retained(Report& r);
  void fail(Report& r, const std::string& why);

  const Options& o_;
  const Plan& plan_;
  Control& ctl_;
  std::vector<SharedCounters*> counters_;
  Counters begin_;
  int64_t begin_ns_ = 0;
  double gen_cpu0_ = 0, broker_cpu0_ = -1, broker2_cpu0_ = -1;
  long long broker_write0_ = -1;
  MachineCpu machine0_;
};

}  // namespace petrel::bench
