#pragma once
// Bridge: one `connection` of mosquitto.conf at run time. Two clients of the client
// library run on the bridges' thread:
//  - the remote client, towards the other broker (TCP/TLS/PSK, 3.1/3.1.1/5.0, the
//    primary/backup addresses, reconnect with jittered backoff, primary probing);
//  - the local client, towards this broker over an in-process socketpair that the broker
//    adopts as a trusted connection. It subscribes to the local filters of out/both rules
//    (MQTT 5 no-local + retain-as-published, so what the bridge publishes locally never
//    comes back to it) and publishes what arrives from the remote.
// Local messages for the remote go through the MessageStore and leave it only when the
// remote has completed them, so outages, failovers and restarts on reload lose nothing
// that was queued. Both clients acknowledge what they receive only once the other side
// has it (client::ClientOptions::manual_ack): the local broker keeps a QoS 1/2 message in
// the bridge's local session until the remote completed it, and the remote keeps one
// until the local broker acknowledged it, so with persistence and persistent sessions a
// crash loses nothing either side acknowledged. State is reported to BridgeStatus (read by any thread) and published
// on $SYS.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "bridge/store.h"
#include "bridge/topic_map.h"
#include "client/client.h"
#include "common/bridge_link.h"
#include "common/log.h"
#include "config/config.h"

namespace petrel::bridge {

enum class State { kStopped, kIdle, kConnecting, kConnected, kWaiting };
std::string_view state_name(State s);

// A bridge's state as the web admin and $SYS show it.
struct BridgeStatus {
  std::string name;
  bool enabled = true;      // false: configured with bridge_enabled false, not running
  std::string remote_client_id;
  State state = State::kStopped;
  std::string address;      // "host:port" connected to, or being tried
  bool on_primary = true;   // address is the first (primary) one of the configuration
  std::string last_error;   // the latest failure, "" when none yet
  int64_t connected_since = 0;  // unix seconds; 0 when not connected
  uint64_t messages_sent = 0;      // completed towards the remote (out)
  uint64_t messages_received = 0;  // from the remote, published locally (in)
  uint64_t messages_dropped = 0;   // queue full, too large, or QoS 0 while down
  uint64_t connects = 0;           // successful connections since start
  size_t queued = 0;               // waiting for the remote (out)
};

// What a bridge needs from the process around it.
struct Environment {
  boost::asio::any_io_executor ex;  // the bridges' thread
  Logger* log = nullptr;
  // Opens an in-process connection to the local broker; returns our end of a socketpair
  // (the broker adopted the other), or -1.
  std::function<int(const std::string& peer)> open_local;
  // The link shared with the broker core for a local client id (broker::Broker::
  // bridge_link); null: the bridge keeps one of its own (tests without a broker).
  std::function<std::shared_ptr<BridgeLink>(const std::string& local_client_id)> link_for;
};

// The broker-wide settings a bridge follows (global options of mosquitto.conf).
struct BridgeLimits {
  size_t max_queued_messages = 1000;
  size_t max_queued_bytes = 0;
  bool queue_qos0_messages = false;
  uint16_t max_inflight_messages = 20;
  uint32_t sys_interval = 10;
  bool operator==(const BridgeLimits&) const = default;
};

// The properties of a received v5 message that travel with it when forwarded (MQTT 5
// section 3.3.2.3: those a server passes on unaltered, and the message expiry).
protocol::Properties forwardable_props(const client::Message& m);

class Bridge : public std::enable_shared_from_this<Bridge> {
 public:
  // `store` carries queued messages over from a previous incarnation (reload); null = new.
  Bridge(Environment env, config::Bridge cfg, BridgeLimits limits, std::unique_ptr<MessageStore> store);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // `subscribed` (optional) runs once, on the bridge's thread, when the local side has its
  // subscriptions in place (SUBACK): from then on every local publish it forwards reaches
  // its queue. The broker accepts clients only after that (or a time limit).
  void start(std::function<void()> subscribed = {});
  // Graceful stop: DISCONNECT both sides. done runs afterwards; the store can then be
  // taken for a successor. A bridge that is removed (no successor) also ends its local
  // session, so no subscription of it is left behind; a restarted one keeps it, and its
  // successor resumes it with nothing lost in between.
  void stop(std::function<void()> done, bool removed = false);
  // Local filters of a predecessor's configuration that this one no longer uses: dropped
  // from the resumed local session once connected.
  void set_stale_local_filters(std::vector<std::string> filters) { stale_local_filters_ = std::move(filters); }
  std::unique_ptr<MessageStore> take_store();
  void set_limits(BridgeLimits limits);
  // bridge_reload_type lazy: the new settings take over at the next reconnect.
  bool restart_pending() const { return restart_pending_; }
  void request_restart_on_reconnect(std::function<void()> restart);

  const config::Bridge& config() const { return cfg_; }
  BridgeStatus status() const;
  const std::string& remote_client_id() const { return remote_id_; }
  // The client ids a configuration gives the bridge: remote_clientid or
  // "<hostname>.<name>", and local_clientid or "local.<remote id>".
  static std::string remote_id_for(const config::Bridge& cfg);
  static std::string local_id_for(const config::Bridge& cfg);

 private:
  // remote side
  void make_remote();
  client::StreamFactory remote_factory(bool probe);
  void connect_remote();
  void on_remote_connected(const client::ConnackInfo& info);
  void on_remote_failed(const client::ClientError& err, bool was_connected);
  void schedule_retry(bool next_cycle);
  std::chrono::milliseconds next_backoff();
  void on_remote_message(const client::Message& m);
  void pump();
  void arm_probe();
  void probe_primary();
  void fail_back();
  void arm_idle_check();
  // local side
  bool local_clean_start() const { return cfg_.local_cleansession.value_or(cfg_.cleansession); }
  void make_local();
  void on_local_connected(const client::ConnackInfo& info);
  void on_local_message(const client::Message& m);
  void ack_local(const LocalAck& a);  // the local broker's delivery, now passed on
  void notify_remote(const char* payload);
  void publish_local(std::string topic, std::string payload, uint8_t qos, bool retain);
  // status
  void set_state(State s);
  void note_error(const std::string& what);
  void publish_status(bool counters_only);
  void arm_sys_timer();
  std::string address_text(size_t i) const;
  client::TransportOptions transport_for(size_t i) const;

  Environment env_;
  config::Bridge cfg_;
  BridgeLimits limits_;
  TopicMap map_;
  std::string remote_id_, local_id_, notification_topic_, sys_prefix_;
  std::unique_ptr<MessageStore> store_;
  std::shared_ptr<client::Client> remote_, local_, probe_;
  boost::asio::steady_timer retry_timer_, probe_timer_, idle_timer_, sys_timer_, local_retry_;
  size_t addr_ = 0;          // index of the address in use / being tried
  size_t tried_in_cycle_ = 0;
  std::chrono::milliseconds backoff_{0};
  std::mt19937 rng_{std::random_device{}()};
  std::chrono::steady_clock::time_point primary_ok_since_{};
  bool primary_ok_ = false;
  bool stopping_ = false;
  bool local_ready_ = false;
  bool started_once_ = false;  // start_type once: no reconnect after the first connection
  std::chrono::steady_clock::time_point last_traffic_;
  // The failure last logged per address: each is logged once per change, so a bridge
  // cycling over dead addresses does not repeat itself every attempt.
  std::vector<std::string> logged_error_;
  bool queue_full_logged_ = false;
  bool restart_pending_ = false;
  std::vector<std::string> stale_local_filters_;
  std::function<void()> restart_;
  std::function<void()> subscribed_;  // start()'s callback, until it has run

  mutable std::mutex status_mu_;
  BridgeStatus status_;  // strings and state under status_mu_
  std::atomic<uint64_t> sent_{0}, received_{0}, dropped_{0};
  // Shared with the broker core: the remote's state, the drops from the local session's
  // queue (part of messages_dropped).
  std::shared_ptr<BridgeLink> link_;
  std::atomic<size_t> queued_{0};  // store_->size(), readable from any thread
};

}  // namespace petrel::bridge
