#include "broker/message.h"

#include <cstdlib>

namespace petrel::broker {

Message* Message::create(std::string_view topic, std::string_view props, std::string_view payload,
                         uint8_t qos, bool retain, int64_t expiry_at_ms, uint32_t expiry_interval,
                         uint64_t origin) {
  size_t n = sizeof(Message) + topic.size() + props.size() + payload.size();
  void* mem = ::operator new(n);
  auto* m = new (mem) Message();
  m->topic_len_ = static_cast<uint32_t>(topic.size());
  m->props_len_ = static_cast<uint32_t>(props.size());
  m->payload_len_ = static_cast<uint32_t>(payload.size());
  m->qos_ = qos;
  m->retain_ = retain;
  m->expiry_at_ms_ = expiry_at_ms;
  m->expiry_interval_ = expiry_interval;
  m->origin_ = origin;
  char* p = m->data();
  if (!topic.empty()) std::memcpy(p, topic.data(), topic.size());
  if (!props.empty()) std::memcpy(p + topic.size(), props.data(), props.size());
  if (!payload.empty()) std::memcpy(p + topic.size() + props.size(), payload.data(), payload.size());
  return m;
}

void Message::destroy() {
  this->~Message();
  ::operator delete(this);
}

}  // namespace petrel::broker
