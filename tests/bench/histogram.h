// LatencyHistogram: an HDR-style log-linear histogram of 64-bit values (nanoseconds here) in a
// fixed array, so recording never allocates. Values below 256 are counted exactly; above, each
// power-of-two range is split into 128 equal buckets, which bounds the error of any reported
// value to 1/128 (0.8%) of it. Percentiles report a bucket's highest value, clamped to the max.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace mcguard::bench {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBucketBits = 8;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // exact range
  static constexpr uint64_t kHalf = kSubBuckets / 2;                      // buckets per octave
  static constexpr size_t kBucketCount = kSubBuckets + (64 - kSubBucketBits) * kHalf;

  void record(uint64_t value);
  void merge(const LatencyHistogram& other);
  void clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;
  // The smallest recorded-bucket value v such that at least `percent`% of the values are <= v
  // (bucket resolution). 0 when empty.
  uint64_t percentile(double percent) const;

  static size_t bucket_of(uint64_t value);
  // Highest value that lands in bucket `index`.
  static uint64_t bucket_high(size_t index);
  // Lowest value that lands in bucket `index`.
  static uint64_t bucket_low(size_t index);

 private:
  std::array<uint64_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace mcguard::bench
