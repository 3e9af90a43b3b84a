#include "bridge/store.h"

namespace petrel::bridge {

namespace {
size_t weight(const client::OutMessage& m) { return m.topic.size() + m.payload.size(); }
}  // namespace

bool MemoryStore::push(client::OutMessage msg) {
  const size_t w = weight(msg);
  if (limits_.max_messages && size() >= limits_.max_messages) return false;
  if (limits_.max_bytes && bytes_ + w > limits_.max_bytes) return false;
  bytes_ += w;
  entries_.push_back(Entry{StoredMessage{next_seq_++, std::move(msg)}, false});
  return true;
}

const StoredMessage* MemoryStore::take_next() {
  while (next_ < entries_.size() && entries_[next_].acked) ++next_;
  if (next_ >= entries_.size()) return nullptr;
  return &entries_[next_++].m;
}

void MemoryStore::ack(uint64_t seq) {
  if (entries_.empty() || seq < entries_.front().m.seq) return;
  const size_t i = static_cast<size_t>(seq - entries_.front().m.seq);
  if (i >= entries_.size() || entries_[i].acked) return;
  entries_[i].acked = true;
  bytes_ -= weight(entries_[i].m.msg);
  ++acked_inside_;
  while (!entries_.empty() && entries_.front().acked) {
    entries_.pop_front();
    --acked_inside_;
    if (next_ > 0) --next_;
  }
}

}  // namespace petrel::bridge
