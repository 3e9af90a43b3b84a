#include "bridge/store.h"

#include <vector>

namespace petrel::bridge {

namespace {
size_t weight(const client::OutMessage& m) { return m.topic.size() + m.payload.size(); }
}  // namespace

bool MemoryStore::push(client::OutMessage msg, LocalAck local) {
  const size_t w = weight(msg);
  if (local.qos == 0) {
    if (limits_.max_messages && size() >= limits_.max_messages) return false;
    if (limits_.max_bytes && bytes_ + w > limits_.max_bytes) return false;
  }
  bytes_ += w;
  entries_.push_back(Entry{StoredMessage{next_seq_++, std::move(msg), local}, false});
  return true;
}

size_t MemoryStore::forget_local(uint64_t current, bool resent) {
  size_t n = 0;
  std::vector<uint64_t> drop;
  for (auto& e : entries_) {
    if (e.acked || e.m.local.qos == 0 || e.m.local.connection == current) continue;
    ++n;
    if (resent) drop.push_back(e.m.seq);
    else e.m.local = {};
  }
  for (uint64_t seq : drop) ack(seq);
  return n;
}

const StoredMessage* MemoryStore::take_next() {
  while (next_ < entries_.size() && entries_[next_].acked) ++next_;
  if (next_ >= entries_.size()) return nullptr;
  return &entries_[next_++].m;
}

LocalAck MemoryStore::ack(uint64_t seq) {
  if (entries_.empty() || seq < entries_.front().m.seq) return {};
  const size_t i = static_cast<size_t>(seq - entries_.front().m.seq);
  if (i >= entries_.size() || entries_[i].acked) return {};
  entries_[i].acked = true;
  const LocalAck local = entries_[i].m.local;
  bytes_ -= weight(entries_[i].m.msg);
  ++acked_inside_;
  while (!entries_.empty() && entries_.front().acked) {
    entries_.pop_front();
    --acked_inside_;
    if (next_ > 0) --next_;
  }
  return local;
}

}  // namespace petrel::bridge
