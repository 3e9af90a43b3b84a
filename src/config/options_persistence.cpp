// The durable store's options: Mosquitto's persistence, retained_persistence,
// persistence_location, persistence_file, autosave_interval and autosave_on_changes, and
// Petrel's persistence_sync. The store itself is src/persist; the runtime opens it at
// startup (app/runtime), so every one of these waits for a restart of petrel.
#include <fmt/format.h>

#include <limits>

#include "config/option_tables.h"
#include "config/parse_state.h"
#include "config/values.h"

namespace petrel::config {

namespace {

constexpr int64_t kMaxSyncIntervalMs = 3'600'000;  // an hour: beyond it nothing is "durable"

void parse_persistence(ParseState& s, const Directive& d) {
  bool v = false;
  if (s.boolean(d, v)) s.config.persistence.enabled = v;
}

void parse_location(ParseState& s, const Directive& d) { s.text(d, "global", s.config.persistence.location); }

void parse_file(ParseState& s, const Directive& d) {
  std::string v;
  if (!s.text(d, "global", v)) return;
  if (v.ends_with('/')) {
    s.error(d, fmt::format("'{}' names a directory; give a file name (the directory is persistence_location)", v));
    return;
  }
  s.config.persistence.file = v;
}

// commit | interval MS | off
void parse_sync(ParseState& s, const Directive& d) {
  const std::string expected = fmt::format("commit, interval MS (MS: 1..{}) or off", kMaxSyncIntervalMs);
  const std::vector<std::string> w = ParseState::words(d);
  if (w.empty()) {
    s.error(d, fmt::format("missing value (expected {})", expected));
    return;
  }
  const size_t wanted = w[0] == "interval" ? 2 : 1;
  if (w[0] != "commit" && w[0] != "off" && w[0] != "interval") {
    s.error(d, fmt::format("expected {}, got '{}'", expected, w[0]) + did_you_mean(w[0], {"commit", "interval", "off"}));
    return;
  }
  if (w.size() > wanted) {
    s.error(d, fmt::format("unexpected extra value '{}' (expected {})", w[wanted], expected));
    return;
  }
  auto& p = s.config.persistence;
  if (w[0] == "commit") {
    p.sync = PersistenceSync::kCommit;
  } else if (w[0] == "off") {
    p.sync = PersistenceSync::kOff;
  } else {
    if (w.size() < 2) {
      s.error(d, fmt::format("'interval' needs the commit interval in milliseconds (an integer 1..{})",
                             kMaxSyncIntervalMs));
      return;
    }
    auto ms = parse_int_value(w[1]);
    if (!ms || *ms < 1 || *ms > kMaxSyncIntervalMs) {
      s.error(d, fmt::format("expected the commit interval in milliseconds (an integer 1..{}), got '{}'",
                             kMaxSyncIntervalMs, w[1]));
      return;
    }
    p.sync = PersistenceSync::kInterval;
    p.sync_interval_ms = static_cast<uint32_t>(*ms);
  }
}

// Mosquitto turns a negative autosave_interval into 0 (save only at shutdown); so do we,
// with a warning.
void parse_autosave_interval(ParseState& s, const Directive& d) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  const std::string expected = fmt::format("an integer 0..{} (seconds, or changes with autosave_on_changes)", kMax);
  std::string tok;
  if (!s.one_token(d, expected, tok)) return;
  auto v = parse_int_value(tok);
  if (v && *v < 0) {
    s.warn(d, fmt::format("negative value {} means 0; using 0", *v));
    s.config.persistence.autosave_interval = 0;
    return;
  }
  if (!v || *v > kMax) {
    s.error(d, fmt::format("expected {}, got '{}'", expected, tok));
    return;
  }
  s.config.persistence.autosave_interval = static_cast<uint32_t>(*v);
}

void parse_autosave_on_changes(ParseState& s, const Directive& d) {
  bool v = false;
  if (s.boolean(d, v)) s.config.persistence.autosave_on_changes = v;
}

}  // namespace

std::string persistence_path(const PersistenceSettings& p) {
  if (p.location.empty() || p.file.starts_with('/')) return p.file;
  return p.location.ends_with('/') ? p.location + p.file : p.location + "/" + p.file;
}

void append_persistence_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto G = Scope::kGlobal;
  out.insert(out.end(), {
    {"persistence", G, parse_persistence, "true|false", "false",
     "Keep persistent sessions (subscriptions, queued and in-flight messages) and retained messages in a "
     "durable store across restarts (see persistence_sync)", S},
    {"retained_persistence", G, parse_persistence, "true|false", "false", "Mosquitto's old name of persistence", S},
    {"persistence_location", G, parse_location, "DIR", "working directory",
     "Directory of the store file (a relative path is relative to the working directory); it must exist", S},
    {"persistence_file", G, parse_file, "NAME", "petrel.db",
     "Store file name in persistence_location. Not Mosquitto's mosquitto.db: Petrel's format differs "
     "(petrel --import-mosquitto reads Mosquitto's files)", S},
    {"persistence_sync", G, parse_sync, "commit | interval MS | off", "commit",
     "Petrel: commit acknowledges a QoS 1/2 message only once it is on disk; interval MS acknowledges at "
     "once and commits at least every MS; off keeps everything in memory only", S},
    {"autosave_interval", G, parse_autosave_interval, "SECONDS", "1800",
     "Mosquitto's snapshot interval; accepted, never weakens Petrel, which saves every change at once "
     "(commit) or as persistence_sync interval says", S},
    {"autosave_on_changes", G, parse_autosave_on_changes, "true|false", "false",
     "Mosquitto: autosave_interval counts changes; accepted, as autosave_interval", S},
  });
}

}  // namespace petrel::config
