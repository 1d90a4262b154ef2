#include "tests/bench/key_chooser.h"

#include <cmath>

namespace mcguard::bench {
namespace {

double zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

}  // namespace

KeyChooser::KeyChooser(Distribution distribution, uint64_t keys, double theta)
    : distribution_(distribution), keys_(keys == 0 ? 1 : keys), theta_(theta) {
  if (distribution_ != Distribution::kZipfian) return;
  zetan_ = zeta(keys_, theta_);
  const double zeta2 = zeta(2, theta_);
  alpha_ = 1.0 / (1.0 - theta_);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(keys_), 1.0 - theta_)) / (1.0 - zeta2 / zetan_);
  half_pow_theta_ = 1.0 + std::pow(0.5, theta_);
}

uint64_t KeyChooser::next(Rng& rng) const {
  if (distribution_ == Distribution::kUniform || keys_ == 1) return rng.below(keys_);
  const double u = rng.unit();
  const double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < half_pow_theta_) return 1;
  const auto k =
      static_cast<uint64_t>(static_cast<double>(keys_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return k < keys_ ? k : keys_ - 1;
}

}  // namespace mcguard::bench
