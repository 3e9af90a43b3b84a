// Topic name / filter rules (MQTT 4.7, 4.8.2). Allocation-free: everything works on
// string_view slices. topic_matches() is the plain reference matcher; the broker's
// SubscriptionTrie is cross-checked against it in tests.
#include "protocol/topic.h"

#include <algorithm>
#include <cstddef>

namespace petrel::protocol {

namespace {

constexpr size_t kMaxTopicBytes = 65535;
constexpr std::string_view kSharePrefix = "$share/";

// Walks '/'-separated levels of a topic or filter. "a//b" has levels "a", "", "b"; "/"
// has levels "" and "".
class LevelCursor {
 public:
  explicit LevelCursor(std::string_view s) : rest_(s) {}
  bool done() const { return done_; }
  // Returns the next level; the caller checks done() first.
  std::string_view next() {
    const size_t slash = rest_.find('/');
    if (slash == std::string_view::npos) {
      done_ = true;
      return rest_;
    }
    std::string_view level = rest_.substr(0, slash);
    rest_.remove_prefix(slash + 1);
    return level;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

bool valid_plain_filter(std::string_view filter) {
  if (filter.empty() || filter.size() > kMaxTopicBytes) return false;
  if (topic_separators(filter) > kMaxTopicSeparators) return false;
  LevelCursor levels(filter);
  while (!levels.done()) {
    const std::string_view level = levels.next();
    if (level == "+") continue;
    if (level == "#") return levels.done();  // [MQTT-4.7.1-2] '#' must be the last level
    // [MQTT-4.7.1-2,3] wildcards must occupy a whole level.
    if (level.find_first_of("+#") != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

size_t topic_separators(std::string_view topic) {
  return static_cast<size_t>(std::count(topic.begin(), topic.end(), '/'));
}

bool valid_topic_name(std::string_view topic) {
  // [MQTT-4.7.3-1] at least one character; [MQTT-3.3.2-2] no wildcards.
  return !topic.empty() && topic.size() <= kMaxTopicBytes &&
         topic.find_first_of("+#") == std::string_view::npos &&
         topic_separators(topic) <= kMaxTopicSeparators;
}

bool valid_filter_syntax(std::string_view filter) { return valid_plain_filter(filter); }

bool valid_topic_filter(std::string_view filter) {
  if (filter.size() > kMaxTopicBytes) return false;
  std::string_view group;
  std::string_view inner;
  if (split_shared(filter, group, inner)) {
    // [MQTT-4.8.2-1] ShareName: at least one character, no '/', '+' or '#'.
    if (group.empty() || group.find_first_of("+#") != std::string_view::npos) return false;
    // [MQTT-4.8.2-2] followed by a (non-empty) topic filter.
    return valid_plain_filter(inner);
  }
  // "$share/" without a second '/' (e.g. "$share/g") is a malformed shared filter, not a
  // plain one.
  if (filter.starts_with(kSharePrefix)) return false;
  return valid_plain_filter(filter);
}

bool split_shared(std::string_view full, std::string_view& group, std::string_view& filter) {
  if (!full.starts_with(kSharePrefix)) return false;
  const std::string_view rest = full.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  group = rest.substr(0, slash);
  filter = rest.substr(slash + 1);
  return true;
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  if (filter.empty() || topic.empty()) return false;
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match "$..." topics.
  if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
  LevelCursor f(filter);
  LevelCursor t(topic);
  while (!f.done()) {
    const std::string_view fl = f.next();
    // [MQTT-4.7.1-2] '#' matches the parent level and any number of child levels.
    if (fl == "#") return true;
    if (t.done()) return false;  // filter is longer than the topic
    const std::string_view tl = t.next();
    if (fl != "+" && fl != tl) return false;
  }
  return t.done();  // topic must not be longer than the filter
}

}  // namespace petrel::protocol
