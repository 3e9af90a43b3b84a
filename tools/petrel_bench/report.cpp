#include "report.h"

#include <algorithm>
#include <string>

namespace petrel::bench {
namespace {

double per_s(uint64_t n, double s) { return s > 0 ? double(n) / s : 0; }
double us(uint64_t ns) { return double(ns) / 1000.0; }

std::string grouped(double v) {  // 23104522 -> "23,104,522"
  std::string s = std::to_string(uint64_t(v + 0.5)), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string human_us(double v) {
  char b[32];
  if (v >= 100000) std::snprintf(b, sizeof b, "%.0f ms", v / 1000);
  else if (v >= 1000) std::snprintf(b, sizeof b, "%.2f ms", v / 1000);
  else std::snprintf(b, sizeof b, "%.1f us", v);
  return b;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\', o += char(ch);
    else if (ch < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", ch);
      o += b;
    } else {
      o += char(ch);
    }
  }
  return o + "\"";
}

void print_latency_text(const char* label, const Histogram& h, FILE* f) {
  if (!h.count()) return;
  std::fprintf(f, "%-11s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%s samples)\n", label,
               human_us(us(h.quantile(0.5))).c_str(), human_us(us(h.quantile(0.9))).c_str(),
               human_us(us(h.quantile(0.99))).c_str(), human_us(us(h.quantile(0.999))).c_str(),
               human_us(us(h.max())).c_str(), grouped(double(h.count())).c_str());
}

void print_latency_json(const char* key, const Histogram& h, FILE* f) {
  std::fprintf(f, "\"%s\":{\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f}",
               key, (unsigned long long)h.count(), us(h.quantile(0.5)), us(h.quantile(0.9)),
               us(h.quantile(0.99)), us(h.quantile(0.999)), us(h.max()), h.mean() / 1000.0);
}

void print_traffic_text(const Report& r, FILE* f) {
  std::fprintf(f, "window      %.2f s after %.2f s warm-up\n", r.window_s, r.warmup_s);
  std::fprintf(f, "sent        %s msg/s\n", grouped(per_s(r.sent_window, r.window_s)).c_str());
  std::fprintf(f, "delivered   %s msg/s\n", grouped(per_s(r.received_window, r.window_s)).c_str());
  if (r.qos) std::fprintf(f, "acked       %s msg/s\n", grouped(per_s(r.acked_window, r.window_s)).c_str());
  double pct = r.expected ? 100.0 * double(r.lost) / double(r.expected) : 0;
  std::fprintf(f, "loss        %s lost (%.4f%% of %s expected), %s undelivered when the drain ended\n",
               grouped(double(r.lost)).c_str(), pct, grouped(double(r.expected)).c_str(),
               grouped(double(r.undelivered)).c_str());
  std::fprintf(f, "order       %s duplicated, %s reordered\n", grouped(double(r.duplicated)).c_str(),
               grouped(double(r.reordered)).c_str());
  if (r.publish_packets) {
    std::fprintf(f, "wire        %s PUBLISH packets read by subscribers, %.1f bytes each", grouped(double(r.publish_packets)).c_str(),
                 double(r.publish_bytes) / double(r.publish_packets));
    if (r.topic_alias_max)
      std::fprintf(f, "; %s of them with a topic alias (up to %u offered)", grouped(double(r.aliased)).c_str(),
                   unsigned(r.topic_alias_max));
    std::fprintf(f, "\n");
  }
  print_latency_text("latency", r.latency, f);
  print_latency_text("ack", r.ack_latency, f);
}

}  // namespace

void print_text(const Report& r, FILE* f) {
  std::fprintf(f, "petrel_bench %s: ", r.scenario.c_str());
  if (r.scenario == "conn") std::fprintf(f, "%u connections", r.connections);
  else std::fprintf(f, "%u publisher(s) -> %u subscriber(s)", r.publishers, r.subscribers);
  std::fprintf(f, ", QoS %u, MQTT %s, %u-byte payload, ", r.qos, r.mqtt.c_str(), r.size);
  if (r.rate > 0) std::fprintf(f, "%g msg/s per publisher", r.rate);
  else std::fprintf(f, "max rate");
  std::fprintf(f, ", %s%s, %u thread(s)\n", r.broker.c_str(), r.tls ? " (TLS)" : "", r.threads);
  if (!r.error.empty()) std::fprintf(f, "ERROR       %s\n", r.error.c_str());
  if (r.connect_s > 0)
    std::fprintf(f, "connect     %s clients in %.3f s: %s conn/s\n", grouped(double(r.connected)).c_str(),
                 r.connect_s, grouped(per_s(r.connected, r.connect_s)).c_str());
  print_latency_text("connack", r.connect_latency, f);
  if (r.window_s <= 0) {
    // the run stopped before its measured window
  } else if (r.scenario == "conn") {
    std::fprintf(f, "held        %.2f s idle, %s PINGREQ, %s PINGRESP\n", r.window_s,
                 grouped(double(r.pings)).c_str(), grouped(double(r.pongs)).c_str());
  } else if (r.scenario == "retained") {
    std::fprintf(f, "retained    %s of %s received in %.3f s after SUBSCRIBE (%s msg/s)\n",
                 grouped(double(r.unique)).c_str(), grouped(double(r.expected)).c_str(), r.retained_s,
                 grouped(per_s(r.unique, r.retained_s)).c_str());
    print_latency_text("arrival", r.latency, f);
  } else {
    print_traffic_text(r, f);
  }
  if (r.window_s <= 0) {
    for (const std::string& w : r.warnings) std::fprintf(f, "WARNING     %s\n", w.c_str());
    return;
  }
  std::fprintf(f, "generator   %.3f s CPU over the window", r.gen_cpu_s);
  if (r.received_window) std::fprintf(f, ", %.3f us per delivery", r.gen_cpu_s * 1e6 / double(r.received_window));
  std::fprintf(f, "\n");
  if (r.broker_cpu_s >= 0) {
    std::fprintf(f, "broker      %.3f s CPU over the window", r.broker_cpu_s);
    if (r.received_window) std::fprintf(f, ", %.3f us per delivery", r.broker_cpu_s * 1e6 / double(r.received_window));
    std::fprintf(f, ", RSS %.1f MiB (before %.1f, peak %.1f)\n", double(r.broker_rss_kb) / 1024,
                 double(r.broker_rss_before_kb) / 1024, double(r.broker_hwm_kb) / 1024);
    if (r.broker2_cpu_s >= 0) {
      std::fprintf(f, "broker 2    %.3f s CPU over the window", r.broker2_cpu_s);
      if (r.received_window)
        std::fprintf(f, ", %.3f us per delivery", r.broker2_cpu_s * 1e6 / double(r.received_window));
      std::fprintf(f, ", RSS %.1f MiB (peak %.1f)\n", double(r.broker2_rss_kb) / 1024, double(r.broker2_hwm_kb) / 1024);
    }
    if (r.broker_write_bytes >= 0) {
      std::fprintf(f, "disk        %.1f MiB written by the broker over the window", double(r.broker_write_bytes) / 1048576);
      if (r.received_window)
        std::fprintf(f, ", %.1f bytes per delivery", double(r.broker_write_bytes) / double(r.received_window));
      std::fprintf(f, "\n");
    }
  }
  if (r.window_s > 0) {
    // Softirq ticks are charged to the task they interrupt as well as to the softirq column,
    // so busy - ours - broker estimates the other processes (roughly +-0.1 core).
    double other = r.machine_busy_s - r.gen_cpu_s - std::max(r.broker_cpu_s, 0.0) - std::max(r.broker2_cpu_s, 0.0);
    std::fprintf(f, "machine     %.2f cores busy, %.2f of them in interrupts", r.machine_busy_s / r.window_s,
                 r.machine_softirq_s / r.window_s);
    if (r.broker_cpu_s >= 0) std::fprintf(f, ", %.2f in other processes", std::max(other, 0.0) / r.window_s);
    std::fprintf(f, "\n");
  }
  for (const std::string& w : r.warnings) std::fprintf(f, "WARNING     %s\n", w.c_str());
}

void print_json(const Report& r, FILE* f) {
  auto u = [](uint64_t v) { return (unsigned long long)v; };
  std::fprintf(f, "{\"scenario\":%s,\"broker\":%s,\"qos\":%u,\"mqtt\":%s,\"size\":%u,\"rate\":%g,\"inflight\":%u,",
               json_string(r.scenario).c_str(), json_string(r.broker).c_str(), r.qos, json_string(r.mqtt).c_str(),
               r.size, r.rate, r.inflight);
  std::fprintf(f, "\"publishers\":%u,\"subscribers\":%u,\"connections\":%u,\"threads\":%u,\"tls\":%s,", r.publishers,
               r.subscribers, r.connections, r.threads, r.tls ? "true" : "false");
  std::fprintf(f, "\"warmup_s\":%.3f,\"window_s\":%.3f,\"sent_per_s\":%.1f,\"received_per_s\":%.1f,", r.warmup_s,
               r.window_s, per_s(r.sent_window, r.window_s), per_s(r.received_window, r.window_s));
  std::fprintf(f, "\"acked_per_s\":%.1f,\"received_window\":%llu,\"acked_window\":%llu,",
               per_s(r.acked_window, r.window_s), u(r.received_window), u(r.acked_window));
  std::fprintf(f, "\"sent\":%llu,\"received\":%llu,\"expected\":%llu,\"unique\":%llu,\"missing\":%llu,", u(r.sent),
               u(r.received), u(r.expected), u(r.unique), u(r.missing));
  std::fprintf(f, "\"lost\":%llu,\"undelivered\":%llu,", u(r.lost), u(r.undelivered));
  std::fprintf(f, "\"duplicated\":%llu,\"reordered\":%llu,\"misrouted\":%llu,\"foreign\":%llu,\"unsent\":%llu,",
               u(r.duplicated), u(r.reordered), u(r.misrouted), u(r.foreign), u(r.unsent));
  std::fprintf(f, "\"unacked\":%llu,\"bad_acks\":%llu,\"rejected\":%llu,\"downgraded\":%llu,", u(r.unacked),
               u(r.bad_acks), u(r.rejected), u(r.downgraded));
  print_latency_json("latency_us", r.latency, f);
  std::fprintf(f, ",");
  print_latency_json("ack_latency_us", r.ack_latency, f);
  std::fprintf(f, ",\"connected\":%llu,\"connect_s\":%.6f,\"connect_per_s\":%.1f,\"source_addresses\":%u,",
               u(r.connected), r.connect_s, per_s(r.connected, r.connect_s), r.source_addresses);
  print_latency_json("connack_us", r.connect_latency, f);
  std::fprintf(f, ",\"pings\":%llu,\"pongs\":%llu,\"retained_s\":%.6f,", u(r.pings), u(r.pongs), r.retained_s);
  double gen_per = r.received_window ? r.gen_cpu_s * 1e6 / double(r.received_window) : 0;
  double brk_per = r.received_window && r.broker_cpu_s >= 0 ? r.broker_cpu_s * 1e6 / double(r.received_window) : 0;
  std::fprintf(f, "\"gen_cpu_s\":%.4f,\"gen_cpu_us_per_msg\":%.5f,\"broker_cpu_s\":%.4f,\"broker_cpu_us_per_msg\":%.5f,",
               r.gen_cpu_s, gen_per, r.broker_cpu_s, brk_per);
  double brk2_per = r.received_window && r.broker2_cpu_s >= 0 ? r.broker2_cpu_s * 1e6 / double(r.received_window) : 0;
  std::fprintf(f, "\"broker2_cpu_s\":%.4f,\"broker2_cpu_us_per_msg\":%.5f,\"broker2_rss_kb\":%ld,\"broker2_hwm_kb\":%ld,",
               r.broker2_cpu_s, brk2_per, r.broker2_rss_kb, r.broker2_hwm_kb);
  std::fprintf(f, "\"machine_busy_s\":%.3f,\"machine_softirq_s\":%.3f,", r.machine_busy_s, r.machine_softirq_s);
  std::fprintf(f, "\"broker_rss_before_kb\":%ld,\"broker_rss_kb\":%ld,\"broker_hwm_kb\":%ld,", r.broker_rss_before_kb,
               r.broker_rss_kb, r.broker_hwm_kb);
  std::fprintf(f, "\"broker_write_bytes\":%lld,", r.broker_write_bytes);
  std::fprintf(f, "\"publish_packets\":%llu,\"publish_bytes\":%llu,\"bytes_per_publish\":%.2f,\"aliased\":%llu,"
               "\"topic_alias_max\":%u,",
               u(r.publish_packets), u(r.publish_bytes),
               r.publish_packets ? double(r.publish_bytes) / double(r.publish_packets) : 0.0, u(r.aliased),
               unsigned(r.topic_alias_max));
  std::fprintf(f, "\"ok\":%s,\"error\":%s,\"warnings\":[", r.error.empty() ? "true" : "false",
               r.error.empty() ? "null" : json_string(r.error).c_str());
  for (size_t i = 0; i < r.warnings.size(); ++i)
    std::fprintf(f, "%s%s", i ? "," : "", json_string(r.warnings[i]).c_str());
  std::fprintf(f, "]}\n");
}

}  // namespace petrel::bench
