#pragma once
// Ring<T>: a FIFO that allocates nothing while empty and gives its memory back when it
// drains, so idle sessions cost nothing for their queues. Power-of-two capacity.
#include <cstddef>
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
    if (--size_ == 0) release();
  }
  // Removes element i (order kept). O(n) but the common case (i == 0) is O(1).
  void erase(size_t i) {
    if (i == 0) { pop_front(); return; }
    for (size_t k = i; k + 1 < size_; ++k) (*this)[k] = std::move((*this)[k + 1]);
    back() = T();
    if (--size_ == 0) release();
  }
  void clear() {
    for (size_t i = 0; i < size_; ++i) (*this)[i] = T();
    size_ = 0;
    release();
  }
  void swap(Ring& o) noexcept {
    std::swap(buf_, o.buf_); std::swap(cap_, o.cap_); std::swap(head_, o.head_); std::swap(size_, o.size_);
  }

 private:
  void grow() {
    size_t ncap = cap_ ? cap_ * 2 : 8;
    std::unique_ptr<T[]> nb(new T[ncap]);
    for (size_t i = 0; i < size_; ++i) nb[i] = std::move((*this)[i]);
    buf_ = std::move(nb);
    cap_ = ncap;
    head_ = 0;
  }
  void release() { buf_.reset(); cap_ = 0; head_ = 0; }

  std::unique_ptr<T[]> buf_;
  size_t cap_ = 0, head_ = 0, size_ = 0;
};

}  // namespace petrel::broker
