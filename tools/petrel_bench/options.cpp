#include "options.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace petrel::bench {
namespace {

using Setter = std::function<std::string(Options&, std::string_view)>;  // "" = ok, else error

struct OptionRow {
  const char* names;  // "-P, --publishers"
  const char* value;  // value name, nullptr for a flag
  const char* help;
  Setter set;
};

template <class T>
bool parse_int(std::string_view s, T& out, T lo, T hi) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < (long long)lo || v > (long long)hi) return false;
  out = T(v);
  return true;
}

bool parse_double(std::string_view s, double& out, double lo, double hi) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !(v >= lo && v <= hi)) return false;
  out = v;
  return true;
}

template <class T>
Setter int_setter(T Options::*field, T lo, T hi) {
  return [=](Options& o, std::string_view v) -> std::string {
    if (parse_int(v, o.*field, lo, hi)) return "";
    return "expects an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  };
}

Setter double_setter(double Options::*field, double lo, double hi) {
  return [=](Options& o, std::string_view v) -> std::string {
    if (parse_double(v, o.*field, lo, hi)) return "";
    return "expects a number in " + std::to_string(lo) + ".." + std::to_string(hi);
  };
}

Setter string_setter(std::string Options::*field) {
  return [=](Options& o, std::string_view v) -> std::string {
    o.*field = std::string(v);
    return "";
  };
}

Setter flag_setter(bool Options::*field) {
  return [=](Options& o, std::string_view) -> std::string {
    o.*field = true;
    return "";
  };
}

std::string set_scenario(Options& o, std::string_view v) {
  static constexpr Scenario kAll[] = {Scenario::kFanIn, Scenario::kFanOut, Scenario::kPairs,
                                      Scenario::kShared, Scenario::kConn, Scenario::kRetained};
  for (Scenario s : kAll)
    if (scenario_name(s) == v) return o.scenario = s, "";
  return "expects fan-in, fan-out, pairs, shared, conn or retained";
}

std::string set_mqtt(Options& o, std::string_view v) {
  if (v == "311" || v == "3.1.1") return o.version = protocol::Version::kV311, "";
  if (v == "5" || v == "5.0") return o.version = protocol::Version::kV5, "";
  if (v == "31" || v == "3.1") return o.version = protocol::Version::kV31, "";
  return "expects 311 or 5";
}

const std::vector<OptionRow>& option_table() {
  static const std::vector<OptionRow> rows = {
      {"--host", "HOST", "broker address (default 127.0.0.1)", string_setter(&Options::host)},
      {"-p, --port", "PORT", "broker port (default 1883)", int_setter<uint16_t>(&Options::port, 1, 65535)},
      {"--sub-port", "PORT", "subscribers connect to this port instead: a second broker on the same host, "
                             "e.g. the far end of a bridge from the first (default: --port)",
       int_setter<uint16_t>(&Options::sub_port, 1, 65535)},
      {"-s, --scenario", "NAME", "fan-in | fan-out | pairs | shared | conn | retained (default pairs)",
       set_scenario},
      {"-q, --qos", "0|1|2", "QoS of publishes and subscriptions (default 0)",
       int_setter<uint8_t>(&Options::qos, 0, 2)},
      {"--size", "BYTES", "payload bytes, at least 16 (default 64)",
       int_setter<uint32_t>(&Options::size, 16, 256u << 20)},
      {"--mqtt", "311|5", "protocol version (default 311)", set_mqtt},
      {"--rate", "MSG/S", "per-publisher rate, 0 = as fast as possible (default 0)",
       double_setter(&Options::rate, 0, 1e9)},
      {"--inflight", "N", "QoS 1/2 messages outstanding per publisher (default 64)",
       int_setter<uint32_t>(&Options::inflight, 1, 65535)},
      {"-d, --duration", "S", "measured window; hold time for conn (default 10)",
       double_setter(&Options::duration, 0.1, 86400)},
      {"-w, --warmup", "S", "warm-up before measuring (default 2)", double_setter(&Options::warmup, 0, 3600)},
      {"--drain", "S", "longest wait for in-flight messages after publishing stops (default 3)",
       double_setter(&Options::drain, 0, 3600)},
      {"--connect-timeout", "S", "longest wait for all CONNACKs (default 10 + 1 per 500 conns)",
       double_setter(&Options::connect_timeout, 0.1, 3600)},
      {"-t, --threads", "N", "event-loop threads (default 1)", int_setter<uint32_t>(&Options::threads, 1, 256)},
      {"-P, --publishers", "N", "publishers (fan-in 20, pairs 10, shared 10)",
       int_setter<uint32_t>(&Options::publishers, 1, 1u << 20)},
      {"-S, --subscribers", "N", "subscribers (fan-out 50, shared 10)",
       int_setter<uint32_t>(&Options::subscribers, 1, 1u << 20)},
      {"-C, --connections", "N", "connections for conn (default 1000)",
       int_setter<uint32_t>(&Options::connections, 1, 1u << 22)},
      {"-R, --retained", "N", "retained messages for retained (default 10000)",
       int_setter<uint32_t>(&Options::retained, 1, 1u << 24)},
      {"-k, --keepalive", "S", "MQTT keepalive; clients ping every half of it (default 60, conn 10)",
       int_setter<uint16_t>(&Options::keepalive, 1, 65535)},
      {"--connect-window", "N", "connection attempts in progress per thread (default 64)",
       int_setter<uint32_t>(&Options::connect_window, 1, 1u << 20)},
      {"--source-addresses", "N", "conn: bind to 127.0.0.1..127.0.0.N in turn (default: when ports run short)",
       int_setter<uint32_t>(&Options::source_addresses, 1, 254)},
      {"--batch-kib", "KIB", "publishes generated per write per publisher (default 64)",
       int_setter<uint32_t>(&Options::batch_kib, 1, 65536)},
      {"--read-kib", "KIB", "bytes per read (default 256)", int_setter<uint32_t>(&Options::read_kib, 4, 65536)},
      {"--prefix", "TOPIC", "topic prefix (default bench)", string_setter(&Options::prefix)},
      {"--client-prefix", "ID", "client identifier prefix (default pb<pid>-)",
       string_setter(&Options::client_prefix)},
      {"--persistent", nullptr,
       "subscribers keep their sessions (MQTT 3.x clean session 0; MQTT 5 Clean Start 0 and a Session "
       "Expiry Interval): a broker with persistence stores them",
       flag_setter(&Options::persistent)},
      {"--persistent-publishers", nullptr, "publishers keep their sessions too (implies --persistent)",
       [](Options& o, std::string_view) { return o.persistent = o.persistent_publishers = true, std::string(); }},
      {"--session-expiry", "S", "MQTT 5 Session Expiry Interval of kept sessions (default 300; implies --persistent)",
       [](Options& o, std::string_view v) -> std::string {
         if (!parse_int<uint32_t>(v, o.session_expiry, 1, 0xFFFFFFFFu)) return "expects an integer in 1..4294967295";
         return o.persistent = true, "";
       }},
      {"--topic-alias-max", "N",
       "MQTT 5: subscribers accept up to N topic aliases from the broker (default 0: none)",
       int_setter<uint16_t>(&Options::topic_alias_max, 0, 65535)},
      {"--tls", nullptr, "connect with TLS (OpenSSL)", flag_setter(&Options::tls)},
      {"--cafile", "FILE", "CA certificates to verify the broker with (implies --tls)",
       [](Options& o, std::string_view v) { return o.tls = true, o.cafile = v, std::string(); }},
      {"--cert", "FILE", "client certificate (PEM)", string_setter(&Options::certfile)},
      {"--key", "FILE", "client private key (PEM)", string_setter(&Options::keyfile)},
      {"--insecure", nullptr, "do not verify the broker's certificate", flag_setter(&Options::insecure)},
      {"--broker-pid", "PID", "report this process's CPU time, RSS and disk writes (/proc/PID/io) over the window",
       int_setter<int>(&Options::broker_pid, 1, 1 << 30)},
      {"--broker2-pid", "PID", "the same for the second broker (--sub-port's)",
       int_setter<int>(&Options::broker2_pid, 1, 1 << 30)},
      {"--json", nullptr, "print one JSON object instead of text", flag_setter(&Options::json)},
  };
  return rows;
}

const OptionRow* find_row(std::string_view name) {
  for (const OptionRow& r : option_table()) {
    std::string_view names = r.names;
    while (!names.empty()) {
      size_t comma = names.find(',');
      std::string_view one = names.substr(0, comma);
      while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
      if (one == name) return &r;
      if (comma == names.npos) break;
      names.remove_prefix(comma + 1);
    }
  }
  return nullptr;
}

void print_usage(FILE* f) {
  std::fprintf(f,
               "usage: petrel_bench [options]\n"
               "MQTT load generator: throughput, loss, duplicates, latency, connect rate.\n\n");
  for (const OptionRow& r : option_table()) {
    std::string left = std::string(r.names) + (r.value ? std::string(" ") + r.value : "");
    std::fprintf(f, "  %-24s %s\n", left.c_str(), r.help);
  }
  std::fprintf(f, "  %-24s %s\n", "-h, --help", "this text");
}

void apply_defaults(Options& o) {
  auto def = [](uint32_t& v, uint32_t d) {
    if (v == 0) v = d;
  };
  switch (o.scenario) {
    case Scenario::kFanIn: def(o.publishers, 20); o.subscribers = 1; break;
    case Scenario::kFanOut: o.publishers = 1; def(o.subscribers, 50); break;
    case Scenario::kPairs: def(o.publishers, 10); o.subscribers = o.publishers; break;
    case Scenario::kShared: def(o.publishers, 10); def(o.subscribers, 10); break;
    case Scenario::kConn: def(o.connections, 1000); o.publishers = o.subscribers = 0; break;
    case Scenario::kRetained: def(o.retained, 10000); o.publishers = o.subscribers = 1; break;
  }
  if (o.keepalive == 0) o.keepalive = o.scenario == Scenario::kConn ? 10 : 60;
  if (o.connect_timeout == 0) {
    uint32_t n = o.scenario == Scenario::kConn ? o.connections : o.publishers + o.subscribers;
    o.connect_timeout = 10.0 + n / 500.0;
  }
  if (o.client_prefix.empty()) o.client_prefix = "pb" + std::to_string(::getpid()) + "-";
  if (o.persistent && o.session_expiry == 0) o.session_expiry = 300;
  if (!o.certfile.empty() || !o.keyfile.empty() || o.insecure) o.tls = true;
}

std::string check(const Options& o) {
  if (o.topic_alias_max && o.version != protocol::Version::kV5) return "--topic-alias-max needs --mqtt 5";
  return "";
}

}  // namespace

std::string_view scenario_name(Scenario s) {
  switch (s) {
    case Scenario::kFanIn: return "fan-in";
    case Scenario::kFanOut: return "fan-out";
    case Scenario::kPairs: return "pairs";
    case Scenario::kShared: return "shared";
    case Scenario::kConn: return "conn";
    case Scenario::kRetained: return "retained";
  }
  return "?";
}

ParseOutcome parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i], value;
    if (arg == "-h" || arg == "--help") return print_usage(stdout), ParseOutcome{std::nullopt, 0};
    bool inline_value = false;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != arg.npos)
      value = arg.substr(eq + 1), arg = arg.substr(0, eq), inline_value = true;
    const OptionRow* row = find_row(arg);
    if (!row) {
      std::fprintf(stderr, "petrel_bench: unknown option '%.*s' (try --help)\n", int(arg.size()), arg.data());
      return {std::nullopt, 2};
    }
    if (row->value && !inline_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "petrel_bench: option '%.*s' needs a value %s\n", int(arg.size()), arg.data(),
                     row->value);
        return {std::nullopt, 2};
      }
      value = argv[++i];
    }
    if (std::string err = row->set(o, value); !err.empty()) {
      std::fprintf(stderr, "petrel_bench: option '%.*s': '%.*s' %s\n", int(arg.size()), arg.data(),
                   int(value.size()), value.data(), err.c_str());
      return {std::nullopt, 2};
    }
  }
  apply_defaults(o);
  if (std::string err = check(o); !err.empty()) {
    std::fprintf(stderr, "petrel_bench: %s\n", err.c_str());
    return {std::nullopt, 2};
  }
  return {std::move(o), 0};
}

}  // namespace petrel::bench
