#include "stats.h"

#include <algorithm>
#include <cmath>

namespace petrel::bench {

void Histogram::merge(const Histogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
}

uint64_t Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = uint64_t(std::ceil(q * double(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    if (i < kSub) return std::min<uint64_t>(i, max_);
    int shift = int(i / kSub) - 1;
    uint64_t low = (kSub + i % kSub) << shift;
    return std::min<uint64_t>(low + ((uint64_t(1) << shift) >> 1), max_);
  }
  return max_;
}

void SeqTracker::grow(size_t word) {
  size_t n = std::max<size_t>({word + 1, bits_.size() * 2, 1024});
  bits_.resize(n, 0);
}

void SeqTracker::merge(const SeqTracker& o) {
  if (o.bits_.size() > bits_.size()) bits_.resize(o.bits_.size(), 0);
  uint64_t overlap = 0;
  for (size_t i = 0; i < o.bits_.size(); ++i) {
    overlap += uint64_t(__builtin_popcountll(bits_[i] & o.bits_[i]));
    bits_[i] |= o.bits_[i];
  }
  unique_ += o.unique_ - overlap;
  dups_ += o.dups_ + overlap;
  reordered_ += o.reordered_;
  next_ = std::max(next_, o.next_);
}

}  // namespace petrel::bench
