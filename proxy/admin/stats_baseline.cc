#include "proxy/admin/stats_baseline.h"

namespace mcguard::admin {
namespace {

constexpr uint64_t EmbeddedStats::*kCacheCounters[] = {
    &EmbeddedStats::total_items,       &EmbeddedStats::evictions,
    &EmbeddedStats::evicted_unfetched, &EmbeddedStats::reclaimed,
    &EmbeddedStats::expired_unfetched, &EmbeddedStats::get_hits,
    &EmbeddedStats::get_misses,        &EmbeddedStats::get_expired,
    &EmbeddedStats::get_flushed,       &EmbeddedStats::cmd_get,
    &EmbeddedStats::cmd_set,           &EmbeddedStats::cmd_touch,
    &EmbeddedStats::cmd_flush,         &EmbeddedStats::delete_hits,
    &EmbeddedStats::delete_misses,     &EmbeddedStats::incr_hits,
    &EmbeddedStats::incr_misses,       &EmbeddedStats::decr_hits,
    &EmbeddedStats::decr_misses,       &EmbeddedStats::cas_hits,
    &EmbeddedStats::cas_misses,        &EmbeddedStats::cas_badval,
    &EmbeddedStats::touch_hits,        &EmbeddedStats::touch_misses,
};

// Every uint64_t of EmbeddedStats is either a counter above or one of its three gauges.
static_assert(sizeof(EmbeddedStats) == (std::size(kCacheCounters) + 3) * sizeof(uint64_t),
              "a new EmbeddedStats field must be listed as a counter or a gauge");

uint64_t less(uint64_t value, uint64_t base) { return value > base ? value - base : 0; }

}  // namespace

EmbeddedStats cache_counters_less(const EmbeddedStats& now, const EmbeddedStats& base) {
  EmbeddedStats out = now;
  for (uint64_t EmbeddedStats::*field : kCacheCounters) out.*field = less(now.*field, base.*field);
  return out;
}

void StatsBaseline::reset_to(const StatsSnapshot& now) {
  set_ = true;
  workers_ = now.workers;
  cache_ = now.cache;
  pool_failed_ = now.pool.failed;
}

void StatsBaseline::apply(StatsSnapshot& s) const {
  if (!set_) return;
  s.workers.subtract_counters(workers_);
  s.cache = cache_counters_less(s.cache, cache_);
  s.pool.failed = less(s.pool.failed, pool_failed_);
}

}  // namespace mcguard::admin
