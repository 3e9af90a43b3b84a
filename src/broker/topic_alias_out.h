#pragma once
// OutAliases: the topic aliases Petrel assigns towards one v5 connection (MQTT 5
// 3.3.2.3.4). At most `capacity` aliases (the smaller of the client's Topic Alias Maximum
// and the listener's max_topic_alias_broker), given to the topics most recently sent:
// a topic seen again goes out as its alias with an empty topic name; a new topic takes a
// free alias or the least recently used one, and goes out in full with that alias (which
// tells the client the new mapping). A hit allocates nothing; only a new mapping copies
// its topic. Lives as long as the connection (aliases do not outlive it [MQTT-3.3.2-7]).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace petrel::broker {

class OutAliases {
 public:
  explicit OutAliases(uint16_t capacity) : capacity_(capacity) {}

  struct Use {
    uint16_t alias = 0;  // 0 = send without an alias
    bool known = false;  // true: the client has this mapping, send an empty topic name
  };
  // The alias to send topic with; records the use (a new mapping is recorded too, so the
  // caller must send what it is told).
  Use use(std::string_view topic);
  uint16_t capacity() const { return capacity_; }
  size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    std::string topic;
    uint16_t prev = 0, next = 0;  // recency list by index + 1 (0 = none)
  };
  void unlink(uint16_t i);
  void push_front(uint16_t i);

  uint16_t capacity_;
  std::vector<Slot> slots_;  // alias = index + 1
  struct Hash {  // transparent: looked up with a string_view, nothing allocated
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint16_t, Hash, std::equal_to<>> by_topic_;
  uint16_t head_ = 0, tail_ = 0;  // most / least recently used, index + 1
};

}  // namespace petrel::broker
