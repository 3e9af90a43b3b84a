#pragma once
// ConfigDiff: what changed between the running Config and a newly loaded one (SIGHUP,
// later the web admin), grouped the way the broker applies changes. apply_reload()
// builds the Config to run after a reload: log settings, limits, global security
// settings, sys_interval, connection_messages and bridges change live; listener, thread
// and bridges_only changes are reported as needing a restart.
#include <string>
#include <vector>

#include "config/config.h"

namespace petrel::config {

struct ConfigDiff {
  bool log_changed = false;          // log types, destinations, file, timestamps
  bool limits_changed = false;       // keepalive, sizes, inflight, queues, retain, expiry, max_qos, ...
  bool security_changed = false;     // global security settings or per_listener_settings
  bool sys_interval_changed = false;
  bool connection_messages_changed = false;
  bool tcp_nodelay_changed = false;
  bool threads_changed = false;
  bool pid_file_changed = false;
  std::vector<Listener> listeners_added;    // in `after`, not in `before` (by port, address, family)
  std::vector<Listener> listeners_removed;  // in `before`, not in `after`
  std::vector<Listener> listeners_changed;  // same key, other settings differ (the new values)
  // Bridges, matched by name (same_bridge_settings decides "changed"). Applied live: the
  // bridge runtime starts added bridges, stops removed ones and restarts changed ones
  // (at once or at the next reconnection, per the bridge's bridge_reload_type).
  std::vector<std::string> bridges_added;    // names in `after` only, in `after` order
  std::vector<std::string> bridges_removed;  // names in `before` only, in `before` order
  std::vector<std::string> bridges_changed;  // names in both whose settings differ, `after` order
  bool bridges_only_changed = false;         // needs a restart

  bool empty() const;
  // One human-readable line per change, e.g. "listener added: port 8883 on all addresses".
  std::vector<std::string> describe() const;
};

ConfigDiff diff_configs(const Config& before, const Config& after);

// True when two bridges behave the same: every field except where they were written
// (Bridge::source and BridgeTopic::source), so moving lines around is not a change.
bool same_bridge_settings(const Bridge& a, const Bridge& b);

// The Config to run after a reload: `running` with the live-applicable parts of `loaded`
// (always including loaded.bridges, as loaded). Each change that is not applied is
// described in `not_applied` ("... changed; restart petrel to apply").
Config apply_reload(const Config& running, const Config& loaded, std::vector<std::string>& not_applied);

}  // namespace petrel::config
