#pragma once
#include <cstdint>

#include "broker/stats.h"

namespace petrel::broker {

// Exponentially damped per-minute rates over 1, 5 and 15 minutes, as Mosquitto computes
// its $SYS/broker/load/... values.
struct LoadAvg {
  struct Metric {
    const char* name;
    WorkerStats::Counter WorkerStats::*counter;
    uint64_t last = 0;
    double avg[3] = {0, 0, 0};
  };
  Metric metrics[9] = {
      {"messages/received", &WorkerStats::msgs_received},
      {"messages/sent", &WorkerStats::msgs_sent},
      {"publish/dropped", &WorkerStats::pub_dropped},
      {"publish/received", &WorkerStats::pub_received},
      {"publish/sent", &WorkerStats::pub_sent},
      {"bytes/received", &WorkerStats::bytes_received},
      {"bytes/sent", &WorkerStats::bytes_sent},
      {"sockets", &WorkerStats::sockets_opened},
      {"connections", &WorkerStats::connects},
  };
  int64_t last_ms = 0;
};

}  // namespace petrel::broker
