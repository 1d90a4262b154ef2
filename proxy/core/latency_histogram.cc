#include "proxy/core/latency_histogram.h"

#include <ctime>

namespace mcguard {

int64_t monotonic_us() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
}

}  // namespace mcguard
