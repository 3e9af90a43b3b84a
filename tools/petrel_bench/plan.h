#pragma once
// A scenario turned into a list of clients: each one's role, topic or filter, and which
// publisher's messages it should see. Pure data; the loops act it out.
#include <cstdint>
#include <string>
#include <vector>

#include "options.h"

namespace petrel::bench {

enum class Role : uint8_t {
  kPublisher,         // publishes on topic at --rate (or as fast as possible) while measuring
  kSubscriber,        // subscribes to filter, checks every delivery
  kIdle,              // connects, then only pings (conn)
  kRetainPublisher,   // publishes retained messages on topic/<i>, later clears them (retained)
  kRetainSubscriber,  // subscribes to topic/# once they are stored (retained)
};

inline constexpr uint32_t kAnyPublisher = ~0u;
inline constexpr uint32_t kGroupStream = ~0u;  // the stream key of a $share group

struct ClientSpec {
  Role role = Role::kIdle;
  std::string client_id;
  std::string topic;               // publishers
  std::string filter;              // subscribers
  uint32_t publisher = 0;          // publishers: index written into every payload
  uint32_t stream = 0;             // subscribers: key of its loss/dup accounting
  uint32_t expect = kAnyPublisher; // subscribers: the only publisher it should hear
  uint32_t local_addr = 0;         // IPv4 source address to bind (host order), 0 = kernel's choice
  bool persistent = false;         // keep the session (--persistent, --persistent-publishers)
};

struct Plan {
  std::vector<ClientSpec> clients;
  uint32_t publishers = 0, subscribers = 0;
  uint64_t deliveries_per_message = 1;  // each published message should reach this many streams
  bool retained = false;
  uint32_t source_addresses = 1;        // 127.0.0.x addresses used (conn, when ports run short)
  int64_t start_ns = 0;                 // CLOCK_MONOTONIC at start: older stamps are leftovers
};

// host_is_loopback: the broker is on 127.0.0.0/8, so source addresses may be spread.
Plan make_plan(const Options& o, bool host_is_loopback);

}  // namespace petrel::bench
