// libFuzzer target: Mosquitto 2.0's mosquitto.db reader (persist/mosquitto_import_db.cpp)
// and the mapping of its records to Petrel's model (build_snapshot), what
// `petrel --import-mosquitto` runs on a file it did not write. The clock is fixed, so a
// run depends on its input alone. Checks on a file that imports: reading is deterministic;
// retained topics are valid topic names; expired messages are left out (but for one whose
// PUBREL is still owed); QoS values are 0..2; session client ids are
// unique and their protocol versions 3, 4 or 5; an outgoing message is queued without a
// packet id or in flight with one; forwarded properties decode as PUBLISH properties; a
// file that fails gives a reason.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "persist/mosquitto_import_internal.h"
#include "protocol/codec.h"
#include "protocol/topic.h"

using namespace petrel::persist;
namespace pr = petrel::protocol;

namespace {

constexpr int64_t kNow = 1'760'000'000;  // a fixed "now" (unix seconds)

std::optional<std::string> import(std::string_view bytes, Snapshot& snap) {
  mosq::Records records;
  if (auto e = mosq::read_mosquitto_db(bytes, records)) return e;
  return mosq::build_snapshot(std::move(records), kNow, snap);
}

// live: the message must not have expired (expired messages are left out, except one
// whose PUBREL alone is still owed, and wills, published later).
void check_message(const MessageRecord& m, bool live) {
  FUZZ_CHECK(m.qos <= 2);
  if (live) FUZZ_CHECK(m.expiry_wall_s == 0 || m.expiry_wall_s > kNow);
  if (!m.props.empty()) FUZZ_CHECK(pr::parse_properties(m.props, pr::PacketType::kPublish).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Snapshot a, b;
  const auto ea = import(bytes, a);
  const auto eb = import(bytes, b);
  FUZZ_CHECK(ea == eb);
  if (ea) {
    FUZZ_CHECK(!ea->empty());
    return 0;
  }
  FUZZ_CHECK(a.retained == b.retained && a.sessions == b.sessions);
  for (const RetainedRecord& r : a.retained) {
    FUZZ_CHECK(pr::valid_topic_name(r.msg.topic));
    check_message(r.msg, true);
  }
  std::set<std::string> ids;
  for (const SessionRecord& s : a.sessions) {
    FUZZ_CHECK(ids.insert(s.client_id).second);
    FUZZ_CHECK(s.protocol_version >= 3 && s.protocol_version <= 5);
    for (const SubscriptionRecord& sub : s.subscriptions) FUZZ_CHECK(sub.qos <= 2 && sub.retain_handling <= 2);
    for (const OutgoingRecord& o : s.outgoing) {
      FUZZ_CHECK(o.qos <= 2);
      check_message(o.msg, o.state != OutgoingRecord::State::kReleased);
      if (o.state == OutgoingRecord::State::kQueued) FUZZ_CHECK(o.packet_id == 0);
      else FUZZ_CHECK(o.packet_id != 0 && o.qos > 0);
      if (o.state == OutgoingRecord::State::kReleased) FUZZ_CHECK(o.qos == 2);
    }
    if (s.will) check_message(s.will->msg, false);
  }
  return 0;
}
