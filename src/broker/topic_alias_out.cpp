#include "broker/topic_alias_out.h"

namespace petrel::broker {

void OutAliases::unlink(uint16_t i) {
  Slot& s = slots_[i - 1];
  if (s.prev) slots_[s.prev - 1].next = s.next; else head_ = s.next;
  if (s.next) slots_[s.next - 1].prev = s.prev; else tail_ = s.prev;
  s.prev = s.next = 0;
}

void OutAliases::push_front(uint16_t i) {
  Slot& s = slots_[i - 1];
  s.prev = 0;
  s.next = head_;
  if (head_) slots_[head_ - 1].prev = i;
  head_ = i;
  if (!tail_) tail_ = i;
}

OutAliases::Use OutAliases::use(std::string_view topic) {
  if (capacity_ == 0) return {};
  if (auto it = by_topic_.find(topic); it != by_topic_.end()) {
    const uint16_t i = it->second;
    if (head_ != i) {
      unlink(i);
      push_front(i);
    }
    return {i, true};
  }
  uint16_t i;
  if (slots_.size() < capacity_) {
    slots_.push_back({});
    i = static_cast<uint16_t>(slots_.size());
  } else {
    i = tail_;  // the least recently used alias gets the new topic
    unlink(i);
    by_topic_.erase(by_topic_.find(std::string_view(slots_[i - 1].topic)));
  }
  slots_[i - 1].topic.assign(topic);
  by_topic_.emplace(slots_[i - 1].topic, i);
  push_front(i);
  return {i, false};
}

}  // namespace petrel::broker
