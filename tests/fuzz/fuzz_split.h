// Split schedules for the fuzz targets: the first byte of a fuzz input chooses
// how the rest is cut into reads, so one corpus entry (a real request stream
// behind that byte) is tried under many splits, and libFuzzer mutates the cut as
// freely as the bytes. Deterministic: the same input always splits the same way.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mcguard::fuzz {

class SplitSchedule {
 public:
  // 0 means "everything in one read"; otherwise the byte seeds the chunk sizes,
  // its low bits bounding them (1 .. 2^(1 + (seed & 7)) bytes).
  explicit SplitSchedule(uint8_t seed)
      : whole_(seed == 0), state_(0x9e3779b97f4a7c15ull ^ seed), max_(size_t{2} << (seed & 7)) {}

  // Length of the next read of a stream with `left` bytes left (at least 1).
  size_t next(size_t left) {
    if (whole_ || left <= 1) return left;
    const size_t n = 1 + static_cast<size_t>(random() % max_);
    return n < left ? n : left;
  }

  // Another deterministic draw, for schedule decisions other than sizes.
  uint64_t random() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

 private:
  bool whole_;
  uint64_t state_;
  size_t max_;
};

}  // namespace mcguard::fuzz
