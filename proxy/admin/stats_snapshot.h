// StatsSnapshot: everything the `stats` reply and /metrics print, gathered at
// once by whoever owns the workers, tiers and settings (the Server). The
// renderers (stats_text.h, metrics_render.h) read only this, so they know
// nothing of the layers above admin and can be tested with made-up numbers.
#pragma once

#include <sys/time.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/admin/split_table.h"
#include "proxy/admin/stat_table.h"
#include "proxy/core/latency_histogram.h"
#include "proxy/core/limits.h"
#include "proxy/core/worker_stats.h"
#include "proxy/embedded/embedded_tier.h"

namespace mcguard::admin {

// The workers' buffer pools, summed.
struct PoolTotals {
  uint64_t buffers = 0, in_use = 0, high_water = 0, failed = 0;
};

// One upstream as every worker sees it.
struct UpstreamTotals {
  std::string name;
  uint64_t requests = 0, failures = 0, down_workers = 0;
  // Reply latency: per bucket (LatencyHistogram::kBoundsUs, then above), and the sum.
  std::array<uint64_t, LatencyHistogram::kBuckets> latency{};
  uint64_t latency_sum_us = 0;
  // TLS sessions to it: full handshakes, and resumed sessions.
  uint64_t tls_handshakes = 0, tls_resumptions = 0;
  uint64_t replies() const {
    uint64_t n = 0;
    for (uint64_t c : latency) n += c;
    return n;
  }
  bool probe_reachable = false;
};

// Value sizes of one key-prefix slot, summed over the workers; per bucket, not cumulative.
struct ValueSizeTotals {
  std::string prefix;  // "" for slot 0: keys matching no prefix
  std::array<uint64_t, ValueSizeHistograms::kBuckets> buckets{};
  uint64_t sum = 0;
};

// The process as the kernel reports it.
struct ProcessFacts {
  pid_t pid = 0;
  time_t started = 0;
  time_t now = 0;
  timeval user_cpu{}, system_cpu{};
  uint64_t resident_bytes = 0;

  // Reads them now, for a process started at `started`.
  static ProcessFacts read(time_t started);
};

struct StatsSnapshot {
  WorkerTotals workers;  // the table's counters (stat_table.h)
  PoolTotals pool;
  std::optional<EmbeddedStats> embedded;  // embedded tier only
  // The cache's counts as `stats` prints them: the embedded store's, or in the
  // upstream tier those the workers counted from forwarded requests and replies
  // (its gauges, curr_items and bytes, are gathered from the upstreams instead).
  EmbeddedStats cache;
  uint64_t hash_buckets = 0;                  // embedded tier: the store's hash table
  std::vector<UpstreamTotals> upstreams;      // upstream tier only, in configured order
  std::optional<SplitTotals> split;           // upstream tier only
  std::vector<ValueSizeTotals> value_sizes;   // by slot
  std::shared_ptr<const LimitPolicy> limits;  // the policy in force
  ProcessFacts process;
  // Settings.
  uint32_t max_connections = 0, threads = 0, buffer_size = 0;
  uint64_t reserved_fds = 0;            // descriptors kept for the process's own use
  uint64_t value_ceiling = 0;           // --value-ceiling (max_value_size)
  uint64_t memory_budget = 0;           // the start-up line's total (MemoryBudget)
  uint64_t memory_per_tls_session = 0;  // its TLS part, per session
  uint64_t memory_per_connection = 0;   // its part per idle client connection
  uint64_t chain_buffers = 0;           // buffers value chains may hold, all workers
  // State.
  bool ready = false, draining = false;
  uint64_t reloads = 0, failed_reloads = 0;
  // SIGHUP re-reads of the tls: listeners' certificate: applied, and kept the old one.
  uint64_t tls_reloads = 0, tls_failed_reloads = 0;
};

}  // namespace mcguard::admin
