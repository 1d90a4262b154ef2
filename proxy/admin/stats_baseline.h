// StatsBaseline: `stats reset` without moving a counter backwards. A reset
// records the counters' values at that moment; `stats` then prints each
// counter less its recorded value, while /metrics keeps printing the raw,
// monotonic counters (Prometheus counters must never decrease).
//
// What resets is what memcached resets: its counters (cmd_*, *_hits,
// *_misses, bytes_read/written, total_connections, rejected_connections,
// total_items, evictions, reclaimed, ...) and mcguard's own counter rows; not
// gauges (curr_connections, curr_items, bytes, pool buffers in use), not
// uptime or rusage, not the per-upstream counters, value-size histograms or
// split counters (mcguard's diagnostics, which /metrics carries).
#pragma once

#include "proxy/admin/stats_snapshot.h"

namespace mcguard::admin {

class StatsBaseline {
 public:
  // Records `now` as the zero point.
  void reset_to(const StatsSnapshot& now);
  // `s` as `stats` shows it: counters less the zero point.
  void apply(StatsSnapshot& s) const;

 private:
  bool set_ = false;
  WorkerTotals workers_;
  EmbeddedStats cache_;
  uint64_t pool_failed_ = 0;
};

// The counters of EmbeddedStats (all its fields but the gauges curr_items,
// bytes and limit_maxbytes).
EmbeddedStats cache_counters_less(const EmbeddedStats& now, const EmbeddedStats& base);

}  // namespace mcguard::admin
