#pragma once
// The outcome of one run and its two renderings: human text, or one JSON object (--json).
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "stats.h"

namespace petrel::bench {

struct Report {
  // what ran
  std::string scenario, broker, mqtt;
  unsigned qos = 0;
  uint32_t size = 0, inflight = 0, publishers = 0, subscribers = 0, connections = 0, threads = 1;
  double rate = 0, warmup_s = 0, duration_s = 0;
  bool tls = false;
  // traffic over the measured window
  double window_s = 0;
  uint64_t sent_window = 0, received_window = 0, acked_window = 0;  // acked: QoS 1/2 publishes completed
  // traffic over the whole run, after the drain
  uint64_t sent = 0, received = 0, expected = 0, unique = 0, duplicated = 0, reordered = 0;
  uint64_t missing = 0;      // expected - unique: not delivered by the end of the drain
  uint64_t lost = 0;         // of those, gaps: a later message of the same publisher arrived
  uint64_t undelivered = 0;  // the rest: the tail still queued (or dropped) when the drain ended
  uint64_t window_capped = 0;
  // what subscribers read: PUBLISH packets, their bytes (whole packets) and how many of
  // them carried a topic alias instead of the topic (MQTT 5, --topic-alias-max)
  uint64_t publish_packets = 0, publish_bytes = 0, aliased = 0;
  uint16_t topic_alias_max = 0;
  uint64_t misrouted = 0, foreign = 0, unsent = 0, unacked = 0, bad_acks = 0, rejected = 0, downgraded = 0;
  Histogram latency;  // ns: delivery latency, or (retained) time from SUBSCRIBE to each message
  Histogram ack_latency;  // ns: QoS 1/2, PUBLISH sent to its PUBACK / PUBCOMP read (in the window)
  // connections
  uint64_t connected = 0, pings = 0, pongs = 0;
  double connect_s = 0;  // first connect() to last CONNACK
  uint32_t source_addresses = 1;
  Histogram connect_latency;
  // retained
  double retained_s = 0;  // SUBSCRIBE to the last retained message
  // CPU and memory
  double gen_cpu_s = 0, broker_cpu_s = -1, broker2_cpu_s = -1;
  long broker2_rss_kb = -1, broker2_hwm_kb = -1;
  double machine_busy_s = 0, machine_softirq_s = 0;  // all cores, over the window
  long broker_rss_before_kb = -1, broker_rss_kb = -1, broker_hwm_kb = -1;
  long long broker_write_bytes = -1;  // /proc/PID/io write_bytes over the window
  // problems
  std::string error;  // fatal: the run could not complete
  std::vector<std::string> warnings;
};

void print_text(const Report& r, FILE* f);
void print_json(const Report& r, FILE* f);

}  // namespace petrel::bench
