// Random choices for the load generator: a small fast generator (splitmix64) and the key
// distributions. Zipfian follows Gray et al.'s closed-form method ("Quickly generating
// billion-record synthetic databases", SIGMOD 1994), as YCSB does: key 0 is the hottest. The
// zeta constant is computed once (O(keys)) and shared; drawing is O(1) and allocation-free.
#pragma once

#include <cstdint>

namespace mcguard::bench {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias is below 2^-32 for our ranges).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

enum class Distribution { kUniform, kZipfian };

class KeyChooser {
 public:
  // theta must be in (0, 1) for zipfian; ignored for uniform.
  KeyChooser(Distribution distribution, uint64_t keys, double theta);

  uint64_t next(Rng& rng) const;
  uint64_t keys() const { return keys_; }

 private:
  Distribution distribution_;
  uint64_t keys_;
  double theta_ = 0;
  double zetan_ = 0;
  double alpha_ = 0;
  double eta_ = 0;
  double half_pow_theta_ = 0;
};

}  // namespace mcguard::bench
