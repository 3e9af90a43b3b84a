#pragma once
// ConfigDiff: what changed between the running Config and a new one (SIGHUP or the admin
// API), option by option. Computed from the option table (OptionDescriptor::read and
// ::effect), so no list of fields is kept here: every option's value is read back from
// both configurations in each scope (global; each listener, matched by port, address and
// family; each bridge, matched by name) and compared. The runtime (app/runtime) applies
// the result and reports what restarted and what kept running.
#include <string>
#include <vector>

#include "config/config.h"
#include "config/options.h"

namespace petrel::config {

struct OptionChange {
  std::string where;   // "" (global), "listener 1883 on 127.0.0.1", "bridge cloud"
  std::string option;  // the option's name in mosquitto.conf
  std::string before, after;
  Effect effect = Effect::kLive;
  bool secret = false;  // values never shown
  // "max_queued_messages: 1000 -> 10", "bridge cloud: remote_password changed".
  std::string describe() const;
};

struct ConfigDiff {
  std::vector<OptionChange> changes;  // every changed value (listener/bridge additions aside)
  // MQTT listeners, keyed by port, address and family. restarted: an option whose effect is
  // kRestartListener changed, or the TLS mode did (none / certificate / PSK); reloaded: only
  // TLS material or live settings changed. Both hold the new settings.
  std::vector<Listener> listeners_added, listeners_removed, listeners_restarted, listeners_reloaded;
  // http_api listeners, the same way (any change restarts the admin endpoint).
  std::vector<Listener> http_added, http_removed, http_changed;
  // Bridges by name; changed = any of its options differ.
  std::vector<std::string> bridges_added, bridges_removed, bridges_changed;
  bool security_changed = false;  // a security option, global or per listener
  bool log_changed = false;
  bool limits_changed = false;    // a live global limit the workers read
  std::vector<OptionChange> restart_required;  // Effect::kRestartProcess changes

  bool empty() const;
  // One line per change, e.g. "listener added: port 1884 on all addresses",
  // "max_queued_messages: 1000 -> 10", "threads: 0 -> 2 (needs a restart of petrel)".
  std::vector<std::string> describe() const;
};

ConfigDiff diff_configs(const Config& before, const Config& after);

// True when two bridges behave the same: every field except where they were written
// (Bridge::source and BridgeTopic::source), so moving lines around is not a change.
bool same_bridge_settings(const Bridge& a, const Bridge& b);

// "port 1883 on 127.0.0.1" / "port 1883 on all addresses (IPv4)".
std::string describe_listener(const Listener& l);

// The current value of `option` in its scope, as text (nullopt for an option that has no
// reader, or a listener/bridge option without the object): for the admin API and
// `--test-config -v`.
std::string read_option(const OptionDescriptor& d, const Config& c, const Listener* l, const Bridge* b);

}  // namespace petrel::config
