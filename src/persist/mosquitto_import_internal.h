#pragma once
// Internal to the Mosquitto importers (not part of the library's API): Mosquitto's own
// records as both of its formats hold them, and the one place that maps them to Petrel's
// model. Each format's reader only parses and checks its bytes or rows; what the records mean
// (message states, expiry, protocol version, delivery order) is decided in build_snapshot().
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "persist/model.h"
#include "protocol/properties.h"

namespace petrel::persist::mosq {

// A base message ("msg_store" in 2.0, base_msgs in 2.1): one published message shared by the
// clients that hold it.
struct BaseMsg {
  std::string topic;
  std::string payload;
  std::string props;         // Petrel's encoding (encode_forwarded below)
  int64_t expiry_time = 0;   // unix seconds, 0 = never
  uint8_t qos = 0;
  bool retain = false;
  // The publisher (Mosquitto's source_id, source_username, source_port): kept with a
  // retained message for check_retain_source.
  std::string source_id;
  std::string source_username;
  uint16_t source_port = 0;
};

// A persistent client (its session).
struct Client {
  std::string id;
  std::string username;
  int64_t session_expiry_time = 0;     // unix seconds when the session ends; 0 = not set
  uint32_t session_expiry_interval = 0;
  int64_t will_delay_time = 0;         // 2.1: unix seconds when the will is due; 0 = not set
  uint32_t will_delay_interval = 0;    // 2.1
};

// Mosquitto's message directions and states (enum mosquitto_msg_direction /
// mosquitto_msg_state, the same numbers in 2.0 and 2.1).
inline constexpr uint8_t kDirIn = 0;
inline constexpr uint8_t kDirOut = 1;
namespace state {
inline constexpr uint8_t kPublishQos0 = 1;
inline constexpr uint8_t kPublishQos1 = 2;
inline constexpr uint8_t kWaitForPuback = 3;
inline constexpr uint8_t kPublishQos2 = 4;
inline constexpr uint8_t kWaitForPubrec = 5;
inline constexpr uint8_t kResendPubrel = 6;
inline constexpr uint8_t kWaitForPubrel = 7;
inline constexpr uint8_t kResendPubcomp = 8;
inline constexpr uint8_t kWaitForPubcomp = 9;
inline constexpr uint8_t kSendPubrec = 10;
inline constexpr uint8_t kQueued = 11;
}  // namespace state

// A message a client holds, in or out, in the order the file lists them.
struct ClientMsg {
  std::string client_id;
  uint64_t store_id = 0;
  uint16_t mid = 0;
  uint8_t qos = 0;
  uint8_t state = 0;
  uint8_t direction = 0;
  bool retain = false;
  std::vector<uint32_t> subscription_ids;
};

struct Sub {
  std::string client_id;
  std::string filter;
  uint8_t options = 0;     // the MQTT 5 subscription options byte (QoS in bits 0-1)
  uint32_t identifier = 0;
};

struct Retain {
  std::string topic;       // "" = the base message's own topic (2.0)
  uint64_t store_id = 0;
};

struct Will {
  std::string client_id;
  BaseMsg msg;
};

struct Records {
  std::map<uint64_t, BaseMsg> msgs;  // by store id
  std::vector<Client> clients;
  std::vector<ClientMsg> client_msgs;
  std::vector<Sub> subs;
  std::vector<Retain> retains;
  std::vector<Will> wills;
};

// Maps the records to a Snapshot. Returns the reason on failure (a reference to something
// that is not there, a value out of range, ...), without the file name.
std::optional<std::string> build_snapshot(Records&& r, int64_t now_wall_s, Snapshot& out);

// The properties Petrel forwards with a message (payload format indicator, content type,
// response topic, correlation data, user properties) in Petrel's encoding: the property block
// without its length prefix, as broker::Message::props() holds it. Others are left out.
// Returns the reason when a value cannot be encoded (string too long, invalid UTF-8).
std::optional<std::string> encode_forwarded(const protocol::Properties& p, std::string& out);

// Format readers. path is only for messages; on failure they return the reason.
std::optional<std::string> read_mosquitto_db(std::string_view bytes, Records& out);
std::optional<std::string> read_persist_sqlite(const std::string& path, Records& out);

}  // namespace petrel::persist::mosq
