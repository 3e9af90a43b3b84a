#pragma once
// ByteBuffer: a connection's pending output. Growing it does not zero the new bytes (the
// publish path writes every byte it reserves), consuming from the front is O(1), and an
// emptied buffer gives its memory back once it grew large (idle connections stay small).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace petrel::bench {

class ByteBuffer {
 public:
  const char* data() const { return buf_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return end_ == begin_; }

  // Room for n more bytes at the end; write them, then commit(n).
  char* prepare(size_t n) {
    if (cap_ - end_ < n) make_room(n);
    return buf_.get() + end_;
  }
  void commit(size_t n) { end_ += n; }
  void append(std::string_view s) {
    std::memcpy(prepare(s.size()), s.data(), s.size());
    commit(s.size());
  }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) {
      begin_ = end_ = 0;
      if (cap_ > kKeepBytes) release();
    }
  }
  void release() {
    buf_.reset();
    begin_ = end_ = cap_ = 0;
  }

 private:
  static constexpr size_t kKeepBytes = 4u << 20;
  void make_room(size_t n) {
    size_t used = end_ - begin_;
    if (begin_ && cap_ - used >= n && used <= cap_ / 2) {  // slide down instead of growing
      std::memmove(buf_.get(), buf_.get() + begin_, used);
    } else {
      size_t cap = std::max({cap_ * 2, used + n, size_t(256)});
      std::unique_ptr<char[]> b(new char[cap]);
      if (used) std::memcpy(b.get(), buf_.get() + begin_, used);
      buf_ = std::move(b);
      cap_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0, end_ = 0, cap_ = 0;
};

}  // namespace petrel::bench
