#pragma once
// What the admin API shows of a session (connected or offline), collected by each worker
// from its own sessions (WorkerCore::collect_clients) and merged by the server. Plain data.
#include <cstdint>
#include <string>
#include <vector>

namespace petrel::broker {

struct SubscriptionInfo {
  std::string filter;
  uint8_t qos = 0;
  bool no_local = false, retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;
};

struct ClientInfo {
  std::string client_id;
  std::string username;
  std::string address;        // "host:port" of the connection; empty when offline
  int listener = -1;          // index of the listener it connected on (last connection)
  bool connected = false;
  bool internal = false;      // the broker's own (a bridge's local side, the admin)
  std::string protocol;       // "3.1", "3.1.1", "5.0"
  uint16_t keepalive = 0;
  bool clean = true;
  uint32_t expiry_interval = 0;  // seconds; UINT32_MAX = never
  int64_t connected_since = 0;   // unix seconds of the last CONNECT
  int64_t expires_in = -1;       // offline: seconds until the session expires; -1 = never / online
  size_t queued = 0, inflight = 0;
  std::vector<SubscriptionInfo> subscriptions;
};

// Which sessions to collect. `search` matches (case-insensitively) a substring of the
// client id, username or address; empty = all.
struct ClientQuery {
  std::string search;
  bool connected = true;     // include connected clients
  bool offline = true;       // include offline persistent sessions
  bool include_internal = false;
  size_t limit = 1000;       // per worker; the merge applies the final limit
};

}  // namespace petrel::broker
