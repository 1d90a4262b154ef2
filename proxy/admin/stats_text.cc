#include "proxy/admin/stats_text.h"

#include <bit>
#include <cstdio>
#include <span>

#include "protocol/response.h"
#include "proxy/core/version.h"

namespace mcguard::admin {
namespace {

struct TierLine {
  std::string_view name;
  uint64_t EmbeddedStats::*value;
};

// The cache's command counts, between the connection and traffic lines.
constexpr TierLine kTierCommandLines[] = {
    {"cmd_get", &EmbeddedStats::cmd_get},
    {"cmd_set", &EmbeddedStats::cmd_set},
    {"cmd_flush", &EmbeddedStats::cmd_flush},
    {"cmd_touch", &EmbeddedStats::cmd_touch},
};

// Its hit and miss counts, after cmd_meta.
constexpr TierLine kTierHitLines[] = {
    {"get_hits", &EmbeddedStats::get_hits},           {"get_misses", &EmbeddedStats::get_misses},
    {"get_expired", &EmbeddedStats::get_expired},     {"get_flushed", &EmbeddedStats::get_flushed},
    {"delete_misses", &EmbeddedStats::delete_misses}, {"delete_hits", &EmbeddedStats::delete_hits},
    {"incr_misses", &EmbeddedStats::incr_misses},     {"incr_hits", &EmbeddedStats::incr_hits},
    {"decr_misses", &EmbeddedStats::decr_misses},     {"decr_hits", &EmbeddedStats::decr_hits},
    {"cas_misses", &EmbeddedStats::cas_misses},       {"cas_hits", &EmbeddedStats::cas_hits},
    {"cas_badval", &EmbeddedStats::cas_badval},       {"touch_hits", &EmbeddedStats::touch_hits},
    {"touch_misses", &EmbeddedStats::touch_misses},
};

// memcached's fields for features mcguard does not have, printed as memcached
// prints them with the feature off or idle: 0. Between `threads` and `bytes`.
constexpr std::string_view kUnusedEngineLines[] = {
    "conn_yields",  // (hash_* come first, see append_engine)
};
constexpr std::string_view kUnusedMaintenanceLines[] = {
    "slab_reassign_rescues",
    "slab_reassign_chunk_rescues",
    "slab_reassign_evictions_nomem",
    "slab_reassign_inline_reclaim",
    "slab_reassign_busy_items",
    "slab_reassign_busy_deletes",
    "slab_reassign_running",
    "slabs_moved",
    "lru_crawler_running",
    "lru_crawler_starts",
    "lru_maintainer_juggles",
    "malloc_fails",
    "log_worker_dropped",
    "log_worker_written",
    "log_watcher_skipped",
    "log_watcher_sent",
    "log_watchers",
    "unexpected_napi_ids",
    "round_robin_fallback",
};
// After evictions: memcached's segmented-LRU and crawler figures.
constexpr std::string_view kUnusedLruLines[] = {
    "crawler_reclaimed", "crawler_items_checked", "lrutail_reflocked", "moves_to_cold",
    "moves_to_warm",     "moves_within_lru",      "direct_reclaims",   "lru_bumps_dropped",
};

void append_zeros(std::string& out, std::span<const std::string_view> names) {
  for (std::string_view name : names) append_stat(out, name, uint64_t{0});
}

void append_tier(std::string& out, const EmbeddedStats& tier, std::span<const TierLine> lines) {
  for (const TierLine& line : lines) append_stat(out, line.name, tier.*line.value);
}

void append_rows(std::string& out, const StatsSnapshot& s, StatsBlock block) {
  for (size_t i = 0; i < kStatRowCount; ++i) {
    if (kStatRows[i].stats_block == block) append_stat(out, kStatRows[i].stats_name, s.workers[i]);
  }
}

std::string seconds_text(const timeval& time) {
  char text[32];
  snprintf(text, sizeof text, "%ld.%06ld", time.tv_sec, time.tv_usec);
  return text;
}

void append_process(std::string& out, const StatsSnapshot& s) {
  const ProcessFacts& p = s.process;
  append_stat(out, "pid", static_cast<uint64_t>(p.pid));
  append_stat(out, "uptime", static_cast<uint64_t>(p.now - p.started));
  append_stat(out, "time", static_cast<uint64_t>(p.now));
  append_stat(out, "version", MCGUARD_PROTOCOL_VERSION);
  append_stat(out, "libevent", "none");
  append_stat(out, "pointer_size", uint64_t{sizeof(void*) * 8});
  append_stat(out, "rusage_user", seconds_text(p.user_cpu));
  append_stat(out, "rusage_system", seconds_text(p.system_cpu));
  append_stat(out, "max_connections", uint64_t{s.max_connections});
}

// After connection_structures: memcached's read buffers are mcguard's pool
// (allocated at start-up, so all of it counts as allocated); replies have no
// objects of their own (they are written from the same pool).
void append_buffers(std::string& out, const StatsSnapshot& s) {
  append_stat(out, "response_obj_oom", uint64_t{0});
  append_stat(out, "response_obj_count", uint64_t{0});
  append_stat(out, "response_obj_bytes", uint64_t{0});
  append_stat(out, "read_buf_count", s.pool.buffers);
  append_stat(out, "read_buf_bytes", s.pool.buffers * s.buffer_size);
  const uint64_t free = s.pool.buffers > s.pool.in_use ? s.pool.buffers - s.pool.in_use : 0;
  append_stat(out, "read_buf_bytes_free", free * s.buffer_size);
  append_stat(out, "read_buf_oom", s.pool.failed);
  append_stat(out, "reserved_fds", s.reserved_fds);
}

// From limit_maxbytes to evictions; `gathered` includes the lines the
// upstream tier gathers from its upstreams.
void append_engine(std::string& out, const StatsSnapshot& s, bool gathered) {
  const EmbeddedStats& tier = s.cache;
  if (gathered) append_stat(out, "limit_maxbytes", tier.limit_maxbytes);
  append_stat(out, "accepting_conns", uint64_t{s.draining ? 0u : 1u});
  append_stat(out, "listen_disabled_num", uint64_t{0});
  append_stat(out, "time_in_listen_disabled_us", uint64_t{0});
  append_stat(out, "threads", uint64_t{s.threads});
  append_zeros(out, kUnusedEngineLines);
  const uint64_t buckets = s.hash_buckets;
  append_stat(out, "hash_power_level",
              uint64_t{buckets == 0 ? 0u : static_cast<unsigned>(std::bit_width(buckets) - 1)});
  append_stat(out, "hash_bytes", buckets * sizeof(void*));
  append_stat(out, "hash_is_expanding", uint64_t{0});
  append_zeros(out, kUnusedMaintenanceLines);
  if (gathered) {
    append_stat(out, "bytes", tier.bytes);
    append_stat(out, "curr_items", tier.curr_items);
    append_stat(out, "total_items", tier.total_items);
  }
  append_stat(out, "slab_global_page_pool", uint64_t{0});
  append_stat(out, "expired_unfetched", tier.expired_unfetched);
  append_stat(out, "evicted_unfetched", tier.evicted_unfetched);
  append_stat(out, "evicted_active", uint64_t{0});
  if (gathered) append_stat(out, "evictions", tier.evictions);
  append_stat(out, "reclaimed", tier.reclaimed);
  append_zeros(out, kUnusedLruLines);
}

void append_limits_and_pool(std::string& out, const StatsSnapshot& s) {
  append_stat(out, "mcguard_max_value_size", s.limits->default_limit());
  append_stat(out, "mcguard_value_ceiling", s.value_ceiling);
  append_stat(out, "mcguard_limit_mode",
              s.limits->mode() == LimitMode::kObserve ? "observe" : "enforce");
  append_stat(out, "mcguard_pool_buffers", s.pool.buffers);
  append_stat(out, "mcguard_pool_buffer_size", uint64_t{s.buffer_size});
  append_stat(out, "mcguard_pool_buffers_in_use", s.pool.in_use);
  append_stat(out, "mcguard_pool_high_water", s.pool.high_water);
  append_stat(out, "mcguard_pool_failed_acquires", s.pool.failed);
  append_stat(out, "mcguard_memory_budget", s.memory_budget);
  append_stat(out, "mcguard_memory_per_tls_session", s.memory_per_tls_session);
  append_stat(out, "mcguard_memory_per_connection", s.memory_per_connection);
}

// Values seen by size class (all prefixes): the count at or below each bound.
void append_value_sizes(std::string& out, const StatsSnapshot& s) {
  for (uint32_t bucket = 0; bucket + 1 < ValueSizeHistograms::kBuckets; ++bucket) {
    uint64_t count = 0;
    for (const ValueSizeTotals& slot : s.value_sizes) count += slot.buckets[bucket];
    append_stat(out, "mcguard_values_le_" + std::to_string(ValueSizeHistograms::bound(bucket)),
                count);
  }
}

// Per upstream, summed over workers; "down" counts the workers that see it down.
void append_upstreams(std::string& out, const StatsSnapshot& s) {
  if (!s.upstreams.empty()) {
    uint64_t handshakes = 0, resumptions = 0;
    for (const UpstreamTotals& u : s.upstreams) {
      handshakes += u.tls_handshakes;
      resumptions += u.tls_resumptions;
    }
    append_stat(out, "mcguard_upstream_tls_handshakes", handshakes);
    append_stat(out, "mcguard_upstream_tls_resumptions", resumptions);
  }
  for (size_t i = 0; i < s.upstreams.size(); ++i) {
    const UpstreamTotals& u = s.upstreams[i];
    const std::string prefix = "mcguard_upstream_" + std::to_string(i) + "_";
    append_stat(out, prefix + "address", u.name);
    append_stat(out, prefix + "requests", u.requests);
    append_stat(out, prefix + "failures", u.failures);
    append_stat(out, prefix + "down_workers", u.down_workers);
    const uint64_t replies = u.replies();
    append_stat(out, prefix + "replies", replies);
    append_stat(out, prefix + "reply_us_avg",
                replies == 0 ? uint64_t{0} : u.latency_sum_us / replies);
  }
}

// Values split into chunks (upstream tier only): the counters, then the threshold in use.
void append_split(std::string& out, const SplitTotals& split) {
  for (size_t i = 0; i < kSplitRowCount; ++i) {
    append_stat(out, kSplitRows[i].stats_name, split.counts[i]);
  }
  append_stat(out, "mcguard_split_threshold", split.threshold);
}

}  // namespace

void append_stat(std::string& out, std::string_view name, uint64_t value) {
  append_stat(out, name, std::string_view(std::to_string(value)));
}

void append_stat(std::string& out, std::string_view name, std::string_view value) {
  out += "STAT ";
  out += name;
  out += ' ';
  out += value;
  out += "\r\n";
}

std::string stats_text(const StatsSnapshot& s, StatsTextPart part) {
  const EmbeddedStats& tier = s.cache;
  std::string out;
  out.reserve(8192);
  append_process(out, s);
  append_rows(out, s, StatsBlock::kConnections);
  append_stat(out, "connection_structures", s.workers.get(&WorkerStats::curr_connections));
  append_buffers(out, s);
  append_tier(out, tier, kTierCommandLines);
  append_rows(out, s, StatsBlock::kCommands);
  append_tier(out, tier, kTierHitLines);
  append_stat(out, "store_too_large", s.workers.get(&WorkerStats::rejected_too_large));
  append_stat(out, "store_no_memory", s.workers.get(&WorkerStats::rejected_no_memory));
  append_stat(out, "auth_cmds", uint64_t{0});
  append_stat(out, "auth_errors", uint64_t{0});
  append_rows(out, s, StatsBlock::kTraffic);
  append_engine(out, s, part == StatsTextPart::kWhole);
  append_stat(out, "mcguard_version", MCGUARD_VERSION);
  append_rows(out, s, StatsBlock::kRequests);
  append_rows(out, s, StatsBlock::kErrors);
  append_limits_and_pool(out, s);
  append_rows(out, s, StatsBlock::kPool);
  append_stat(out, "mcguard_chain_buffers", s.chain_buffers);
  append_rows(out, s, StatsBlock::kCloses);
  append_value_sizes(out, s);
  append_stat(out, "mcguard_ready", uint64_t{s.ready ? 1u : 0u});
  append_stat(out, "mcguard_reloads", s.reloads);
  append_stat(out, "mcguard_failed_reloads", s.failed_reloads);
  append_stat(out, "mcguard_tls_certificate_reloads", s.tls_reloads);
  append_stat(out, "mcguard_tls_certificate_failed_reloads", s.tls_failed_reloads);
  append_upstreams(out, s);
  if (s.split) append_split(out, *s.split);
  if (part == StatsTextPart::kWhole) out += reply::kEnd;
  return out;
}

}  // namespace mcguard::admin
