#pragma once
// Session: one client's MQTT session, owned by the worker that is home to its client id.
// Holds the session state that outlives a connection (subscriptions, queued and in-flight
// messages, QoS 2 receive state, expiry, a delayed will) and, while the client is
// connected, the connection-scoped protocol state (version, keepalive, topic aliases,
// the client's limits). Idle sessions allocate nothing beyond this object and their id.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/link.h"
#include "broker/message.h"
#include "broker/retained_store.h"
#include "broker/ring.h"
#include "broker/subscription_trie.h"
#include "broker/topic_alias_out.h"
#include "common/bridge_link.h"
#include "protocol/packets.h"

namespace petrel::broker {

struct InflightOut {
  MessageRef msg;
  uint64_t seq = 0;          // assignment sequence, guards packet id reuse
  uint16_t packet_id = 0;
  uint8_t qos = 0;           // QoS as delivered (1 or 2)
  bool retain = false;       // retain flag as delivered
  bool released = false;     // QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP
  std::vector<uint32_t> sub_ids;
  uint64_t store_seq = 0;    // its record in the durable store (0: not stored)
};

struct QueuedMsg {
  MessageRef msg;
  uint8_t qos = 0;
  bool retain = false;
  std::vector<uint32_t> sub_ids;
  uint64_t store_seq = 0;    // its record in the durable store (0: not stored)
};

struct SessionSub {
  std::string filter;  // as subscribed, "$share/g/f" included
  SubOptions opts;
};

// A subscription's retained messages not yet sent (WorkerCore::send_retained_chunk): a
// large retained set goes out in bounded chunks as the connection drains. The list of
// matches is taken when this delivery's turn comes, and is sent from its back, each entry
// released as it goes.
struct PendingRetained {
  std::string filter;
  SubOptions opts;
  std::vector<uint32_t> sub_ids;
  std::vector<RetainedPtr> left;
  bool started = false;  // left has been taken from the store
};

class Session {
 public:
  std::string client_id;
  SessionKey key = 0;
  std::string username;
  // The CONNECT password, kept while connected so a change of the security settings can
  // check the client again (as Mosquitto does on reload); never logged or shown.
  std::string password;
  bool has_password = false;
  int64_t connected_wall_s = 0;      // unix seconds of the last CONNECT

  // ---- connection-scoped (valid while link != nullptr) ----
  Link* link = nullptr;
  int listener = -1;                 // index in Config::listeners
  protocol::Version version = protocol::Version::kV311;
  uint16_t keepalive = 0;            // seconds, 0 = none
  int64_t last_rx_ms = 0;
  uint16_t send_window = 0;          // client's receive maximum / max_inflight_messages
  uint32_t client_max_packet = 0;    // 0 = no limit
  bool problem_info = true;          // v5 request problem information
  bool bridge = false;               // CONNECT had the bridge bit (try_private)
  bool closing = false;              // close requested; ignore further input
  bool queue_pressure = false;       // told the link its queue is long
  uint8_t max_qos = 2;               // the listener's max_qos
  uint16_t max_topic_alias = 10;     // the listener's max_topic_alias
  // The listener's mount_point: prefixed to the topics and filters this client sends
  // (PUBLISH, SUBSCRIBE, UNSUBSCRIBE, will) and taken off the topics it is sent. Its
  // subscriptions only match topics under it, so every message it gets starts with it.
  std::string mount_point;
  std::vector<std::string> aliases;  // incoming topic aliases, index = alias
  std::unique_ptr<OutAliases> out_aliases;  // aliases Petrel assigns (v5 clients that allow them)
  // The route cache entry of the last topic this client published to, valid while the
  // worker's route_epoch is unchanged (WorkerCore::match_targets).
  const void* route_hint = nullptr;
  uint64_t route_hint_epoch = 0;
  std::unique_ptr<protocol::Will> will;
  // This connection's identity as the publisher of retained messages (check_retain_source),
  // made by the first one it publishes and shared by the rest; reset by each CONNECT.
  RetainSourcePtr retain_source;
  // Retained deliveries of this connection's SUBSCRIBEs still in progress, oldest first
  // (empty unless a subscription matched more than one chunk, or its first chunk could
  // not go yet). Freed when the connection ends.
  std::vector<PendingRetained> retained_pending;

  // ---- session-scoped ----
  bool clean = true;                 // discard the session when the connection ends
  uint32_t expiry_interval = 0;      // seconds; UINT32_MAX = never
  int64_t expire_at_ms = 0;          // while offline: when the session ends (0 = never)
  std::unique_ptr<protocol::Will> delayed_will;  // waiting for its delay
  int64_t will_at_ms = 0;
  std::vector<SessionSub> subs;
  Ring<InflightOut> inflight;
  Ring<QueuedMsg> queue;
  size_t queued_bytes = 0;
  uint64_t queue_drops = 0;          // dropped for a full queue this episode (logged once)
  uint64_t completed_out = 0;        // outgoing QoS 1/2 flows ended (acknowledged or refused):
                                     // whether a congested session drains
  // A bridge's local session: shared with the bridge (its remote's state, the drops).
  std::shared_ptr<BridgeLink> bridge_link;
  size_t inflight_bytes = 0;         // payload bytes of unacknowledged QoS 1/2 messages
  uint64_t next_seq = 0;             // packet ids considered so far (collision guard)
  uint64_t last_seq = 0;             // sequence of the id last handed out
  uint16_t next_packet_id = 1;
  std::vector<uint16_t> qos2_in;     // incoming QoS 2 packet ids waiting for PUBREL

  // ---- the durable store (core_persist.cpp) ----
  bool durable = false;              // journaled: a store exists and the session has an expiry
  bool will_stored = false;          // not durable, but stored for its connection's will
  uint64_t conn_id = 0;              // counts its connections (a held ack names its own)
  uint32_t held_puback = 0;          // this connection's PUBACKs held for the store
  uint32_t held_out = 0;             // this connection's PUBLISH / PUBREL / SUBACK / UNSUBACK
                                     // held for the store
  uint64_t store_seq = 0;            // the last outgoing record number given out
  uint64_t journal_batch = 0;        // the worker's batch that last noted it (touched)
  uint32_t journal_epoch = 0;        // counts whole-session records (replace or erase): an
                                     // open append older than the last one is not cancelled

  bool online() const { return link != nullptr; }
  bool is_v5() const { return version == protocol::Version::kV5; }
};

}  // namespace petrel::broker
