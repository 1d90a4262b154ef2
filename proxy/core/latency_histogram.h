// LatencyHistogram: how long something took, in microseconds, counted in
// fixed buckets from 50 us to 1 s and one above, plus the sum. One thread
// records; any thread may read (Counter). Counts are per bucket, not
// cumulative.
#pragma once

#include <array>
#include <cstdint>

#include "cache/counter.h"

namespace mcguard {

class LatencyHistogram {
 public:
  static constexpr std::array<uint64_t, 14> kBoundsUs = {
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};
  static constexpr size_t kBuckets = kBoundsUs.size() + 1;

  void record(uint64_t micros) {
    size_t bucket = 0;
    while (bucket < kBoundsUs.size() && micros > kBoundsUs[bucket]) ++bucket;
    buckets_[bucket].add();
    sum_us_.add(micros);
  }
  uint64_t count(size_t bucket) const { return buckets_[bucket].get(); }
  uint64_t sum_us() const { return sum_us_.get(); }

 private:
  std::array<Counter, kBuckets> buckets_;
  Counter sum_us_;
};

// Monotonic microseconds, for latencies.
int64_t monotonic_us();

}  // namespace mcguard
