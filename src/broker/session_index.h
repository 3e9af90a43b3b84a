#pragma once
// SessionIndex: client id -> Session*, as an open-addressing table of pointers (the key
// is the session's own client_id), so an idle session costs 8-16 bytes here instead of a
// hash-map node with a copy of its id. Linear probing with tombstones; load <= 1/2.
#include <cstdint>
#include <string_view>
#include <vector>

#include "broker/session.h"

namespace petrel::broker {

class SessionIndex {
 public:
  Session* find(std::string_view id) const {
    if (slots_.empty()) return nullptr;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash(id) & mask;; i = (i + 1) & mask) {
      Session* s = slots_[i];
      if (s == nullptr) return nullptr;
      if (s != tombstone() && s->client_id == id) return s;
    }
  }
  void insert(Session* s) {  // id must not be present
    if ((used_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : (size_ + 1) * 4);
    const size_t mask = slots_.size() - 1;
    size_t i = hash(s->client_id) & mask;
    while (slots_[i] != nullptr && slots_[i] != tombstone()) i = (i + 1) & mask;
    if (slots_[i] == nullptr) ++used_;
    slots_[i] = s;
    ++size_;
  }
  void erase(Session* s) {
    if (slots_.empty()) return;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash(s->client_id) & mask; slots_[i] != nullptr; i = (i + 1) & mask) {
      if (slots_[i] == s) {
        slots_[i] = tombstone();
        --size_;
        return;
      }
    }
  }
  size_t size() const { return size_; }

 private:
  static Session* tombstone() { return reinterpret_cast<Session*>(uintptr_t(1)); }
  static size_t hash(std::string_view id) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : id) { h ^= c; h *= 1099511628211ull; }
    return static_cast<size_t>(h ^ (h >> 29));
  }
  void rehash(size_t want) {
    size_t cap = 16;
    while (cap < want) cap <<= 1;
    std::vector<Session*> old;
    old.swap(slots_);
    slots_.assign(cap, nullptr);
    used_ = size_ = 0;
    for (Session* s : old)
      if (s && s != tombstone()) insert(s);
  }
  std::vector<Session*> slots_;
  size_t size_ = 0;  // live entries
  size_t used_ = 0;  // live + tombstones
};

}  // namespace petrel::broker
