// WorkerCore: the $SYS tree, with Mosquitto's topic names and meanings. Worker 0 publishes
// it every sys_interval seconds as retained messages.
#include <fmt/format.h>

#include <cmath>

#include "broker/worker_core.h"
#include "common/heap.h"

namespace petrel::broker {

void WorkerCore::publish_sys() {
  const int64_t now = broker_.clock().now_ms();
  auto pub = [&](std::string_view topic, const std::string& value) {
    publish_internal(topic, value, true);
  };
  auto num = [&](std::string_view topic, uint64_t v) { pub(topic, fmt::format("{}", v)); };

  const StatusCounters st = broker_.snapshot();
  pub("$SYS/broker/version", "petrel version " PETREL_VERSION);
  pub("$SYS/broker/uptime", fmt::format("{} seconds", st.uptime_s));

  const uint64_t disconnected = st.sessions > st.clients_connected ? st.sessions - st.clients_connected : 0;
  num("$SYS/broker/clients/total", st.sessions);
  num("$SYS/broker/clients/connected", st.clients_connected);
  num("$SYS/broker/clients/active", st.clients_connected);
  num("$SYS/broker/clients/disconnected", disconnected);
  num("$SYS/broker/clients/inactive", disconnected);
  num("$SYS/broker/clients/maximum", st.clients_maximum);
  num("$SYS/broker/clients/expired", st.clients_expired);

  num("$SYS/broker/messages/received", st.msgs_received);
  num("$SYS/broker/messages/sent", st.msgs_sent);
  num("$SYS/broker/publish/messages/received", st.pub_received);
  num("$SYS/broker/publish/messages/sent", st.pub_sent);
  num("$SYS/broker/publish/messages/dropped", st.pub_dropped);
  num("$SYS/broker/publish/bytes/received", st.pub_bytes_received);
  num("$SYS/broker/publish/bytes/sent", st.pub_bytes_sent);
  num("$SYS/broker/bytes/received", st.bytes_received);
  num("$SYS/broker/bytes/sent", st.bytes_sent);
  num("$SYS/broker/subscriptions/count", st.subscriptions);
  num("$SYS/broker/retained messages/count", st.retained_count);
  num("$SYS/broker/store/messages/count", st.retained_count);
  num("$SYS/broker/store/messages/bytes", st.retained_bytes);
  // Mosquitto's heap topics (it has them when built with memory tracking).
  if (cfg_->memory_limit == 0) broker_.note_heap(heap_in_use());  // else the tick keeps it fresh
  num("$SYS/broker/heap/current", broker_.heap());
  num("$SYS/broker/heap/maximum", broker_.heap_maximum());

  // Load averages: the rate per minute over the last interval, damped with the factor
  // exp(-interval / window) for windows of 1, 5 and 15 minutes.
  LoadAvg& la = load_;
  if (!la.last_ms) la.last_ms = broker_.start_ms();  // the first interval runs from start
  const double interval_s = double(now - la.last_ms) / 1000.0;
  static constexpr const char* kWindows[3] = {"1min", "5min", "15min"};
  static constexpr double kWindowS[3] = {60.0, 300.0, 900.0};
  for (auto& m : la.metrics) {
    uint64_t cur = broker_.total(m.counter);
    if (interval_s > 0) {
      double per_min = double(cur - m.last) * 60.0 / interval_s;
      for (int k = 0; k < 3; ++k) {
        double f = std::exp(-interval_s / kWindowS[k]);
        m.avg[k] = m.avg[k] * f + per_min * (1.0 - f);
      }
    }
    m.last = cur;
    for (int k = 0; k < 3; ++k)
      pub(fmt::format("$SYS/broker/load/{}/{}", m.name, kWindows[k]), fmt::format("{:.2f}", m.avg[k]));
  }
  la.last_ms = now;
}

}  // namespace petrel::broker
