// Counter: a statistic with one writer at a time (a worker thread, or whoever
// holds a lock) that any thread may read. An increment is a relaxed load and
// store, so the hot path pays no locked instruction and readers see a recent
// value.
#pragma once

#include <atomic>
#include <cstdint>

namespace mcguard {

class Counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace mcguard
