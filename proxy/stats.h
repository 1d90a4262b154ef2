// Counters a worker updates on its own thread and any thread may read. Each
// counter has one writer, so an increment is a relaxed load and store (no
// locked instruction on the hot path) and readers see a recent value.
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

// What one worker counts. Cache-level counters (hits, items, evictions) are the
// tier's; these are the proxy's own.
struct WorkerStats {
  Counter curr_connections;
  Counter total_connections;
  Counter rejected_connections;  // accepted and closed at once: over max-connections
  Counter bytes_read;
  Counter bytes_written;
  Counter requests;
  Counter rejected_too_large;    // storage commands over max-value-size
  Counter rejected_no_memory;    // storage commands the pool could not hold
  Counter protocol_errors;       // ERROR / CLIENT_ERROR replies and closes for bad input
  Counter closed_for_pool;       // connections closed because a reply could not be buffered
  Counter slow_client_closes;    // a value not delivered within --slow-client-timeout
  Counter idle_closes;           // no traffic for --idle-timeout
  Counter pool_waits;            // values that had to wait for pool buffers
  Counter pool_waiters;          // connections waiting for pool buffers now
  Counter chain_buffers_in_use;  // buffers held by value chains (within --chain-share)
};

}  // namespace mcguard
