// WorkerStats: the counters a worker updates on its own thread and any thread
// may read (see Counter).
#pragma once

#include <array>
#include <bit>
#include <cstdint>

#include "cache/counter.h"
#include "proxy/core/limits.h"

namespace mcguard {

// Value sizes of storage commands by key-prefix slot (see LimitBox), in
// power-of-4 buckets from 64 bytes to 64 MiB and one above. Counts are per
// bucket, not cumulative; the exporter sums them into Prometheus's `le` form.
class ValueSizeHistograms {
 public:
  static constexpr uint32_t kBuckets = 12;  // 11 bounds and +Inf
  static constexpr uint64_t bound(uint32_t bucket) { return uint64_t{64} << (2 * bucket); }
  static constexpr uint32_t bucket_of(uint64_t size) {
    if (size <= 64) return 0;
    const uint32_t bits = static_cast<uint32_t>(std::bit_width(size - 1));  // size <= 2^bits
    const uint32_t bucket = (bits - 6 + 1) / 2;
    return bucket < kBuckets - 1 ? bucket : kBuckets - 1;
  }
  void record(uint32_t slot, uint64_t size) {
    if (slot > kMaxPrefixSlots) slot = 0;
    Row& row = rows_[slot];
    row.buckets[bucket_of(size)].add();
    row.sum.add(size);
  }
  uint64_t count(uint32_t slot, uint32_t bucket) const { return rows_[slot].buckets[bucket].get(); }
  uint64_t sum(uint32_t slot) const { return rows_[slot].sum.get(); }

 private:
  struct Row {
    std::array<Counter, kBuckets> buckets;
    Counter sum;
  };
  std::array<Row, kMaxPrefixSlots + 1> rows_;
};

// What one worker counts. Cache-level counters (hits, items, evictions) are the
// tier's; these are the proxy's own. Each Counter has one row in the statistics
// table (proxy/admin/stat_table.h), which sums it over the workers and prints it
// in `stats` and /metrics.
struct WorkerStats {
  Counter curr_connections;
  Counter total_connections;
  Counter rejected_connections;  // accepted and closed at once: over max-connections
  Counter bytes_read;
  Counter bytes_written;
  Counter requests;
  Counter rejected_too_large;     // storage commands over max-value-size
  Counter rejected_no_memory;     // storage commands the pool could not hold
  Counter protocol_errors;        // ERROR / CLIENT_ERROR replies and closes for bad input
  Counter closed_for_pool;        // connections closed because a reply could not be buffered
  Counter slow_client_closes;     // a value not delivered within --slow-client-timeout
  Counter idle_closes;            // no traffic for --idle-timeout
  Counter pool_waits;             // values that had to wait for pool buffers
  Counter pool_waiters;           // connections waiting for pool buffers now
  Counter chain_buffers_in_use;   // buffers held by value chains (within --chain-share)
  Counter observed_over_limit;    // observe mode: values over their limit let through
  Counter rejected_over_ceiling;  // values over --value-ceiling, refused in either mode
  Counter meta_commands;          // mg ms md ma mn me handed to the tier (cmd_meta)
  // Connections closed for a request in the binary protocol (first byte 0x80).
  Counter binary_protocol_closes;
  // TLS listeners: sessions established, and connections closed because the
  // client's bytes were not a TLS session or it did not verify.
  Counter tls_handshakes;
  Counter tls_failures;
  // Zero-copy sends (--zerocopy-threshold): taken by the kernel, notified as
  // copied after all (so the socket stopped using them), awaiting notification now.
  Counter zerocopy_sends;
  Counter zerocopy_copied;
  Counter zerocopy_pending;
  // Values that waited because their connection's earlier values still held
  // its --max-connection-chain, and the most chain bytes one connection held.
  Counter connection_chain_waits;
  Counter connection_chain_high_water;
  ValueSizeHistograms value_sizes;
};

}  // namespace mcguard
