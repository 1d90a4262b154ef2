#include "proxy/admin/stats_text.h"

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

// The embedded cache's command counts, between the connection and traffic lines.
constexpr TierLine kTierCommandLines[] = {
    {"cmd_get", &EmbeddedStats::cmd_get},
    {"cmd_set", &EmbeddedStats::cmd_set},
    {"cmd_flush", &EmbeddedStats::cmd_flush},
    {"cmd_touch", &EmbeddedStats::cmd_touch},
    {"get_hits", &EmbeddedStats::get_hits},
    {"get_misses", &EmbeddedStats::get_misses},
    {"get_expired", &EmbeddedStats::get_expired},
    {"get_flushed", &EmbeddedStats::get_flushed},
    {"delete_misses", &EmbeddedStats::delete_misses},
    {"delete_hits", &EmbeddedStats::delete_hits},
    {"incr_misses", &EmbeddedStats::incr_misses},
    {"incr_hits", &EmbeddedStats::incr_hits},
    {"decr_misses", &EmbeddedStats::decr_misses},
    {"decr_hits", &EmbeddedStats::decr_hits},
    {"cas_misses", &EmbeddedStats::cas_misses},
    {"cas_hits", &EmbeddedStats::cas_hits},
    {"cas_badval", &EmbeddedStats::cas_badval},
    {"touch_hits", &EmbeddedStats::touch_hits},
    {"touch_misses", &EmbeddedStats::touch_misses},
};

// Its item counts, after the "threads" line.
constexpr TierLine kTierItemLines[] = {
    {"bytes", &EmbeddedStats::bytes},
    {"curr_items", &EmbeddedStats::curr_items},
    {"total_items", &EmbeddedStats::total_items},
    {"expired_unfetched", &EmbeddedStats::expired_unfetched},
    {"evictions", &EmbeddedStats::evictions},
};

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

std::string stats_text(const StatsSnapshot& s) {
  const EmbeddedStats tier = s.embedded.value_or(EmbeddedStats{});
  std::string out;
  out.reserve(8192);
  append_process(out, s);
  append_rows(out, s, StatsBlock::kConnections);
  append_stat(out, "connection_structures", s.workers.get(&WorkerStats::curr_connections));
  append_tier(out, tier, kTierCommandLines);
  append_rows(out, s, StatsBlock::kTraffic);
  append_stat(out, "limit_maxbytes", tier.limit_maxbytes);
  append_stat(out, "threads", uint64_t{s.threads});
  append_tier(out, tier, kTierItemLines);
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
  append_upstreams(out, s);
  if (s.split) append_split(out, *s.split);
  out += reply::kEnd;
  return out;
}

}  // namespace mcguard::admin
