#include "tests/bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mcguard::bench {

size_t LatencyHistogram::bucket_of(uint64_t value) {
  if (value < kSubBuckets) return static_cast<size_t>(value);
  // msb >= kSubBucketBits; keep the top kSubBucketBits bits, of which the first is always 1.
  const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(value));
  const unsigned shift = msb - kSubBucketBits + 1;
  const uint64_t top = value >> shift;  // in [kHalf, kSubBuckets)
  return static_cast<size_t>(kSubBuckets + (msb - kSubBucketBits) * kHalf + (top - kHalf));
}

uint64_t LatencyHistogram::bucket_low(size_t index) {
  if (index < kSubBuckets) return index;
  const uint64_t octave = (index - kSubBuckets) / kHalf;  // msb - kSubBucketBits
  const uint64_t top = kHalf + (index - kSubBuckets) % kHalf;
  return top << (octave + 1);
}

uint64_t LatencyHistogram::bucket_high(size_t index) {
  if (index < kSubBuckets) return index;
  const uint64_t octave = (index - kSubBuckets) / kHalf;
  const uint64_t width = uint64_t{1} << (octave + 1);
  return bucket_low(index) + (width - 1);
}

void LatencyHistogram::record(uint64_t value) {
  ++counts_[bucket_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += value;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LatencyHistogram::clear() { *this = LatencyHistogram(); }

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_);
}

uint64_t LatencyHistogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  // The shave keeps 99.9% of 1000 at 999 despite 0.999 * 1000 rounding to 999.0000000000001.
  const double exact = percent / 100.0 * static_cast<double>(count_);
  const uint64_t target =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact * (1 - 1e-12))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= target) return std::min(bucket_high(i), max_);
  }
  return max_;
}

}  // namespace mcguard::bench
