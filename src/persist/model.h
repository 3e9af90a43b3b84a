#pragma once
// The persistent state of a broker as plain records, independent of how it is stored:
// what Petrel's SQLite store loads at start and what the Mosquitto importers produce.
// Times that must survive a restart are wall-clock (unix seconds); the broker converts
// them to its monotonic clock when it loads them. Properties are kept encoded exactly as
// the broker forwards them (the MQTT 5 property block without its length prefix, as in
// broker::Message::props()), so nothing is lost or re-interpreted on the way through.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace petrel::persist {

// One application message as published (shared by every session that holds it).
struct MessageRecord {
  std::string topic;
  std::string payload;
  std::string props;            // encoded v5 properties forwarded with it ("" = none)
  uint8_t qos = 0;              // QoS it was published with
  bool retain = false;          // retain flag it was published with
  int64_t expiry_wall_s = 0;    // unix seconds when it expires; 0 = never
  uint32_t expiry_interval = 0; // the original Message Expiry Interval (0 = none)
  bool operator==(const MessageRecord&) const = default;
};

struct RetainedRecord {
  RetainedRecord() = default;
  explicit RetainedRecord(MessageRecord m) : msg(std::move(m)) {}  // no publisher
  MessageRecord msg;            // msg.topic is the retained topic
  // Who published it, for check_retain_source (Mosquitto keeps the same three): the
  // publisher's client id ("" = the broker itself or a bridge: never checked), its user
  // name ("" = none) and the port of the listener it came in on (0 = none or unknown: the
  // global security settings apply).
  std::string source_client_id;
  std::string source_username;
  uint16_t source_port = 0;
  bool operator==(const RetainedRecord&) const = default;
};

struct SubscriptionRecord {
  std::string filter;           // as subscribed, "$share/g/f" included
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t identifier = 0;      // 0 = none
  bool operator==(const SubscriptionRecord&) const = default;
};

// A message owed to a session, in delivery order: first the ones in flight (sent, not
// yet acknowledged), then the queued ones (not sent yet).
struct OutgoingRecord {
  enum class State : uint8_t {
    kQueued = 0,        // not sent yet (packet_id 0)
    kSent = 1,          // PUBLISH sent with packet_id, waiting for PUBACK / PUBREC
    kReleased = 2,      // QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP
  };
  MessageRecord msg;
  uint8_t qos = 0;              // QoS as delivered to this session
  bool retain = false;          // retain flag as delivered
  std::vector<uint32_t> subscription_ids;
  uint16_t packet_id = 0;
  State state = State::kQueued;
  // Keys of the durable store (filled by its load(); 0 where a source has none, e.g. an
  // importer: the store then numbers the records in order and stores each message alone).
  uint64_t seq = 0;             // ascending in delivery order; names the record in later changes
  uint64_t message_id = 0;      // records with the same non-zero id hold the same message
  bool operator==(const OutgoingRecord&) const = default;
};

struct WillRecord {
  MessageRecord msg;            // the will message (props: its publication properties)
  uint32_t delay_interval = 0;  // Will Delay Interval, seconds
  bool operator==(const WillRecord&) const = default;
};

struct SessionRecord {
  std::string client_id;
  std::string username;         // "" = none
  uint8_t protocol_version = 4; // 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0
  uint32_t expiry_interval = 0; // seconds; UINT32_MAX = never (3.1.1 clean session false)
  int64_t disconnected_wall_s = 0;  // when its last connection ended (downtime counts
                                    // towards the expiry); 0 = unknown (count from load)
  std::vector<SubscriptionRecord> subscriptions;
  std::vector<OutgoingRecord> outgoing;   // in delivery order
  std::vector<uint16_t> qos2_incoming;    // packet ids received at QoS 2, awaiting PUBREL
  std::optional<WillRecord> will;         // a will waiting for its delay
  int64_t will_due_wall_s = 0;            // when that will is published
  bool operator==(const SessionRecord&) const = default;
};

// One message in a bridge's out-queue (the remote has not completed it), in order.
struct BridgeQueuedRecord {
  MessageRecord msg;            // topic already mapped for the remote
  uint64_t seq = 0;             // ascending in queue order (the durable store's key; 0 = none)
  bool operator==(const BridgeQueuedRecord&) const = default;
};

struct Snapshot {
  std::vector<RetainedRecord> retained;
  std::vector<SessionRecord> sessions;
  std::map<std::string, std::vector<BridgeQueuedRecord>> bridge_queues;  // by bridge name
};

}  // namespace petrel::persist
