#pragma once
// Command-line options of petrel_bench and the scenario defaults that fill the counts the
// user left out. Parsing is table-driven (one row per option: names, value, help, setter).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/types.h"

namespace petrel::bench {

enum class Scenario { kFanIn, kFanOut, kPairs, kShared, kConn, kRetained };
std::string_view scenario_name(Scenario s);

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  uint16_t sub_port = 0;  // subscribers connect here (the far end of a bridge); 0 = port
  Scenario scenario = Scenario::kPairs;
  uint8_t qos = 0;
  uint32_t size = 64;  // payload bytes, >= 16 (sequence word + send timestamp)
  protocol::Version version = protocol::Version::kV311;
  double rate = 0;  // per publisher msg/s, 0 = as fast as the sockets accept
  uint32_t inflight = 64;
  double duration = 10, warmup = 2, drain = 3;
  double connect_timeout = 0;  // 0 = 10 s, plus 1 s per 500 connections
  uint32_t threads = 1;
  uint32_t publishers = 0, subscribers = 0, connections = 0, retained = 0;  // 0 = default
  uint16_t keepalive = 0;  // 0 = 60 s (10 s for the conn scenario)
  uint32_t connect_window = 64;   // outstanding connection attempts per thread
  uint32_t source_addresses = 0;  // conn: spread over 127.0.0.1..N; 0 = as many as ports require
  uint32_t batch_kib = 64;        // bytes of publishes generated per write, per publisher
  uint32_t read_kib = 256;        // bytes per recv()
  std::string prefix = "bench";
  std::string client_prefix;  // default "pb<pid>-"
  // Persistent sessions (the broker stores them when it persists): subscribers, and
  // publishers with persistent_publishers. MQTT 3.x: clean session 0; MQTT 5: Clean Start 0
  // and Session Expiry Interval session_expiry.
  bool persistent = false, persistent_publishers = false;
  uint32_t session_expiry = 0;  // 0 = 300 s when persistent
  // MQTT 5: the Topic Alias Maximum subscribers offer in CONNECT (0 = none). The broker may
  // then send a topic once and its alias after; bytes per delivery show what that saves.
  uint16_t topic_alias_max = 0;
  bool tls = false, insecure = false;
  std::string cafile, certfile, keyfile;
  bool json = false;
  int broker2_pid = 0;  // the second broker (--sub-port's): its CPU time and RSS too
  int broker_pid = 0;  // sample this process's CPU time and RSS (/proc) over the window
};

struct ParseOutcome {
  std::optional<Options> options;  // empty: exit with exit_code (after --help or an error)
  int exit_code = 0;
};
ParseOutcome parse_options(int argc, char** argv);

}  // namespace petrel::bench
