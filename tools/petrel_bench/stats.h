#pragma once
// Measurement primitives owned by one event-loop thread and merged after the run:
// Histogram (latency in ns, log-linear buckets, fixed memory, no allocation per record) and
// SeqTracker (which sequence numbers of one publisher one stream has received, to count
// loss, duplicates and reordering exactly).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace petrel::bench {

class Histogram {
 public:
  // 64 sub-buckets per power of two: a reported value is within 1/64 (1.6%) of the truth.
  static constexpr int kSubBits = 6;
  static constexpr uint64_t kSub = 1u << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

  Histogram() : counts_(kBuckets, 0) {}
  void record(uint64_t v, uint64_t n = 1) {
    counts_[index(v)] += n;
    count_ += n;
    sum_ += v * n;
    if (v > max_) max_ = v;
  }
  void merge(const Histogram& o);
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0; }
  // The value below which a fraction q (0..1) of the records lie (bucket midpoint, capped
  // at the exact maximum). 0 when empty.
  uint64_t quantile(double q) const;

 private:
  static size_t index(uint64_t v) {
    if (v < kSub) return size_t(v);
    int shift = 63 - __builtin_clzll(v) - kSubBits;
    return size_t(shift + 1) * kSub + size_t((v >> shift) - kSub);
  }
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

// Sequence numbers seen from one publisher on one stream (a subscriber, or a whole $share
// group). A bitmap indexed by sequence number: exact for any reordering, 1 bit per message.
class SeqTracker {
 public:
  SeqTracker(uint32_t stream, uint32_t publisher) : stream_(stream), publisher_(publisher) {}
  // Records seq; false when it was already seen (a duplicate).
  bool mark(uint64_t seq) {
    size_t w = size_t(seq >> 6);
    if (w >= bits_.size()) grow(w);
    uint64_t m = 1ull << (seq & 63);
    if (bits_[w] & m) return ++dups_, false;
    bits_[w] |= m;
    ++unique_;
    if (seq < next_) ++reordered_;
    else next_ = seq + 1;
    return true;
  }
  // Sequence numbers far beyond what was seen are corrupt payloads, not messages.
  bool plausible(uint64_t seq) const { return seq < next_ + (uint64_t(1) << 28); }
  // Adds another thread's view of the same stream (a $share group spread over threads).
  void merge(const SeqTracker& o);
  uint32_t stream() const { return stream_; }
  uint32_t publisher() const { return publisher_; }
  uint64_t unique() const { return unique_; }
  uint64_t dups() const { return dups_; }
  uint64_t reordered() const { return reordered_; }
  // Sequence numbers below the highest one seen that never arrived: dropped on the way,
  // since a later message of the same publisher made it.
  uint64_t gaps() const { return next_ - unique_; }

 private:
  void grow(size_t word);
  uint32_t stream_, publisher_;
  std::vector<uint64_t> bits_;
  uint64_t next_ = 0, unique_ = 0, dups_ = 0, reordered_ = 0;
};

}  // namespace petrel::bench
