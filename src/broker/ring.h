#pragma once
// Ring<T>: a FIFO that allocates nothing while empty and gives its memory back when it
// drains, so idle sessions cost nothing for their queues. Power-of-two capacity.
// A ring that drains again before the owner's next trim() keeps its buffer: an in-flight
// window that empties on every round of acks would otherwise grow from 8 to 64 slots
// (four allocations and the moves) for every 64 messages. trim() (the worker's tick)
// gives back whatever stayed empty.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace petrel::broker {

template <class T>
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  Ring(Ring&& o) noexcept { swap(o); }
  Ring& operator=(Ring&& o) noexcept { Ring t(std::move(o)); swap(t); return *this; }
  ~Ring() { clear(); }

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  T& front() { return buf_[head_]; }
  T& back() { return buf_[(head_ + size_ - 1) & (cap_ - 1)]; }
  T& operator[](size_t i) { return buf_[(head_ + i) & (cap_ - 1)]; }
  const T& operator[](size_t i) const { return buf_[(head_ + i) & (cap_ - 1)]; }

  void push_back(T v) {
    if (size_ == cap_) grow();
    buf_[(head_ + size_) & (cap_ - 1)] = std::move(v);
    ++size_;
  }
  void pop_front() {
    buf_[head_] = T();
    head_ = (head_ + 1) & (cap_ - 1);
    if (--size_ == 0) drained();
  }
  // Removes element i (order kept). O(n) but the common case (i == 0) is O(1).
  void erase(size_t i) {
    if (i == 0) { pop_front(); return; }
    for (size_t k = i; k + 1 < size_; ++k) (*this)[k] = std::move((*this)[k + 1]);
    back() = T();
    if (--size_ == 0) drained();
  }
  void clear() {
    for (size_t i = 0; i < size_; ++i) (*this)[i] = T();
    size_ = 0;
    release();
  }
  void swap(Ring& o) noexcept {
    std::swap(buf_, o.buf_); std::swap(cap_, o.cap_); std::swap(head_, o.head_); std::swap(size_, o.size_);
    std::swap(busy_, o.busy_);
  }
  // Gives the buffer back if empty; the next drain after this releases it again.
  void trim() {
    if (size_ == 0) release();
    busy_ = false;
  }

 private:
  void drained() {
    if (busy_) { head_ = 0; return; }
    busy_ = true;
    release();
  }
  void grow() {
    size_t ncap = cap_ ? size_t(cap_) * 2 : 8;
    std::unique_ptr<T[]> nb(new T[ncap]);
    for (size_t i = 0; i < size_; ++i) nb[i] = std::move((*this)[i]);
    buf_ = std::move(nb);
    cap_ = static_cast<uint32_t>(ncap);
    head_ = 0;
  }
  void release() { buf_.reset(); cap_ = 0; head_ = 0; }

  std::unique_ptr<T[]> buf_;
  uint32_t cap_ = 0, head_ = 0, size_ = 0;
  bool busy_ = false;  // drained since the last trim(): keep the buffer
};

}  // namespace petrel::broker
