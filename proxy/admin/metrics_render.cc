#include "proxy/admin/metrics_render.h"

#include <string_view>

#include "proxy/admin/metrics_text.h"
#include "proxy/core/version.h"

namespace mcguard::admin {
namespace {

std::string_view type_of(StatKind kind) { return kind == StatKind::kCounter ? "counter" : "gauge"; }

// The first row naming the same family as row `row`.
size_t family_start(size_t row) {
  size_t first = 0;
  while (kStatRows[first].metric != kStatRows[row].metric) ++first;
  return first;
}

void sample_row(MetricsText& m, const StatsSnapshot& s, size_t row) {
  const StatRow& r = kStatRows[row];
  if (r.label_key.empty()) {
    m.sample(r.metric, s.workers.metric_value(row));
  } else {
    m.sample(r.metric, s.workers.metric_value(row), {{r.label_key, r.label_value}});
  }
}

// The table's families of `block`, each where its first row is, with all its rows' samples.
void add_rows(MetricsText& m, const StatsSnapshot& s, MetricsBlock block) {
  for (size_t i = 0; i < kStatRowCount; ++i) {
    const StatRow& row = kStatRows[i];
    if (row.metrics_block != block || family_start(i) != i) continue;
    m.family(row.metric, type_of(row.kind), row.help);
    for (size_t j = i; j < kStatRowCount; ++j) {
      if (kStatRows[j].metric == row.metric) sample_row(m, s, j);
    }
  }
}

void add_process(MetricsText& m, const StatsSnapshot& s) {
  const ProcessFacts& p = s.process;
  m.family("mcguard_build_info", "gauge", "Version of the running mcguard (always 1).");
  m.sample("mcguard_build_info", uint64_t{1},
           {{"version", MCGUARD_VERSION}, {"tier", s.embedded ? "embedded" : "upstream"}});
  m.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.",
          static_cast<uint64_t>(p.started));
  m.family("process_cpu_seconds_total", "counter", "User and system CPU time spent.");
  m.sample("process_cpu_seconds_total",
           static_cast<double>(p.user_cpu.tv_sec + p.system_cpu.tv_sec) +
               static_cast<double>(p.user_cpu.tv_usec + p.system_cpu.tv_usec) / 1e6);
  m.gauge("process_resident_memory_bytes", "Resident memory size.", p.resident_bytes);
  m.gauge("mcguard_ready", "1 when /readyz answers 200.", s.ready ? 1 : 0);
  m.gauge("mcguard_draining", "1 once SIGTERM or SIGINT started the drain.", s.draining ? 1 : 0);
  m.family("mcguard_config_reloads_total", "counter", "SIGHUP reloads, by result.");
  m.sample("mcguard_config_reloads_total", s.reloads, {{"result", "applied"}});
  m.sample("mcguard_config_reloads_total", s.failed_reloads, {{"result", "rejected"}});
  m.family("mcguard_tls_certificate_reloads_total", "counter",
           "SIGHUP re-reads of the tls: listeners' certificate and key, by result.");
  m.sample("mcguard_tls_certificate_reloads_total", s.tls_reloads, {{"result", "applied"}});
  m.sample("mcguard_tls_certificate_reloads_total", s.tls_failed_reloads, {{"result", "kept_old"}});
  m.gauge("mcguard_worker_threads", "Worker threads serving clients.", s.threads);
}

void add_limits(MetricsText& m, const StatsSnapshot& s) {
  const LimitPolicy& policy = *s.limits;
  m.gauge("mcguard_limit_observe_mode", "1 in observe mode, 0 when limits are enforced.",
          policy.mode() == LimitMode::kObserve ? 1 : 0);
  m.gauge("mcguard_value_ceiling_bytes",
          "Largest value let through in either mode; buffers are sized for it.", s.value_ceiling);
  m.family("mcguard_value_limit_bytes", "gauge",
           "Value-size limit by key prefix (prefix=\"\": keys matching no prefix).");
  m.sample("mcguard_value_limit_bytes", policy.default_limit(), {{"prefix", ""}});
  for (const LimitPolicy::Rule& rule : policy.rules()) {
    m.sample("mcguard_value_limit_bytes", rule.limit, {{"prefix", rule.prefix}});
  }
}

void add_value_sizes(MetricsText& m, const StatsSnapshot& s) {
  constexpr uint32_t kBounds = ValueSizeHistograms::kBuckets - 1;
  uint64_t bounds[kBounds];
  for (uint32_t i = 0; i < kBounds; ++i) bounds[i] = ValueSizeHistograms::bound(i);
  m.family("mcguard_value_size_bytes", "histogram",
           "Value sizes of storage commands by key prefix (prefix=\"\": keys matching no prefix).");
  for (const ValueSizeTotals& slot : s.value_sizes) {
    uint64_t cumulative[kBounds];
    uint64_t running = 0;
    for (uint32_t b = 0; b < kBounds; ++b) cumulative[b] = running += slot.buckets[b];
    const uint64_t count = running + slot.buckets[kBounds];
    m.histogram("mcguard_value_size_bytes", bounds, cumulative, kBounds, count, slot.sum,
                {{"prefix", slot.prefix}});
  }
}

void add_pool(MetricsText& m, const StatsSnapshot& s) {
  m.gauge("mcguard_pool_buffers", "I/O buffers in the pool, all workers.", s.pool.buffers);
  m.gauge("mcguard_pool_buffer_size_bytes", "Size of one I/O buffer.", s.buffer_size);
  m.gauge("mcguard_pool_buffers_in_use", "I/O buffers held now.", s.pool.in_use);
  m.gauge("mcguard_pool_buffers_high_water", "Most I/O buffers held at once, summed per worker.",
          s.pool.high_water);
  m.counter("mcguard_pool_acquire_failures_total", "Buffer requests the pool could not serve.",
            s.pool.failed);
}

struct Lookup {
  uint64_t EmbeddedStats::*value;
  std::string_view command, result;
};

constexpr Lookup kLookups[] = {
    {&EmbeddedStats::get_hits, "get", "hit"},
    {&EmbeddedStats::get_misses, "get", "miss"},
    {&EmbeddedStats::delete_hits, "delete", "hit"},
    {&EmbeddedStats::delete_misses, "delete", "miss"},
    {&EmbeddedStats::incr_hits, "incr", "hit"},
    {&EmbeddedStats::incr_misses, "incr", "miss"},
    {&EmbeddedStats::decr_hits, "decr", "hit"},
    {&EmbeddedStats::decr_misses, "decr", "miss"},
    {&EmbeddedStats::cas_hits, "cas", "hit"},
    {&EmbeddedStats::cas_misses, "cas", "miss"},
    {&EmbeddedStats::cas_badval, "cas", "badval"},
    {&EmbeddedStats::touch_hits, "touch", "hit"},
    {&EmbeddedStats::touch_misses, "touch", "miss"},
};

void add_embedded(MetricsText& m, const EmbeddedStats& s) {
  m.family("mcguard_commands_total", "counter", "Embedded cache commands, by command.");
  m.sample("mcguard_commands_total", s.cmd_get, {{"command", "get"}});
  m.sample("mcguard_commands_total", s.cmd_set, {{"command", "set"}});
  m.sample("mcguard_commands_total", s.cmd_touch, {{"command", "touch"}});
  m.sample("mcguard_commands_total", s.cmd_flush, {{"command", "flush"}});
  m.family("mcguard_cache_lookups_total", "counter", "Embedded cache key lookups, by result.");
  for (const Lookup& l : kLookups) {
    m.sample("mcguard_cache_lookups_total", s.*l.value,
             {{"command", l.command}, {"result", l.result}});
  }
  m.gauge("mcguard_cache_items", "Items in the embedded cache.", s.curr_items);
  m.counter("mcguard_cache_items_stored_total", "Items ever stored in the embedded cache.",
            s.total_items);
  m.gauge("mcguard_cache_used_bytes", "Item memory in use in the embedded cache.", s.bytes);
  m.gauge("mcguard_cache_limit_bytes", "Memory limit of the embedded cache.", s.limit_maxbytes);
  m.counter("mcguard_cache_evictions_total", "Items evicted to make room.", s.evictions);
}

// One sample per upstream of a family of one number per upstream.
void add_per_upstream(MetricsText& m, const std::vector<UpstreamTotals>& upstreams,
                      std::string_view name, std::string_view type, std::string_view help,
                      uint64_t (*value)(const UpstreamTotals&)) {
  m.family(name, type, help);
  for (const UpstreamTotals& u : upstreams) m.sample(name, value(u), {{"upstream", u.name}});
}

void add_upstreams(MetricsText& m, const std::vector<UpstreamTotals>& upstreams) {
  add_per_upstream(m, upstreams, "mcguard_upstream_requests_total", "counter",
                   "Requests sent to each upstream.",
                   [](const UpstreamTotals& u) { return u.requests; });
  add_per_upstream(m, upstreams, "mcguard_upstream_failures_total", "counter",
                   "Failures (timeouts, closes, bad replies) talking to each upstream.",
                   [](const UpstreamTotals& u) { return u.failures; });
  add_per_upstream(m, upstreams, "mcguard_upstream_tls_handshakes_total", "counter",
                   "Full TLS handshakes with each upstream.",
                   [](const UpstreamTotals& u) { return u.tls_handshakes; });
  add_per_upstream(m, upstreams, "mcguard_upstream_tls_resumptions_total", "counter",
                   "TLS sessions with each upstream resumed from the session cache.",
                   [](const UpstreamTotals& u) { return u.tls_resumptions; });
  add_per_upstream(m, upstreams, "mcguard_upstream_down_workers", "gauge",
                   "Workers that consider each upstream down now.",
                   [](const UpstreamTotals& u) { return u.down_workers; });
  add_per_upstream(m, upstreams, "mcguard_upstream_reachable", "gauge",
                   "1 when the last probe connected to the upstream.",
                   [](const UpstreamTotals& u) { return uint64_t{u.probe_reachable ? 1u : 0u}; });
  m.family("mcguard_upstream_reply_duration_seconds", "histogram",
           "Time from queueing a request for an upstream to its whole reply.");
  for (const UpstreamTotals& u : upstreams) {
    constexpr size_t kBounds = LatencyHistogram::kBoundsUs.size();
    uint64_t cumulative[kBounds];
    uint64_t running = 0;
    for (size_t b = 0; b < kBounds; ++b) cumulative[b] = running += u.latency[b];
    m.histogram("mcguard_upstream_reply_duration_seconds", LatencyHistogram::kBoundsUs.data(),
                cumulative, kBounds, u.replies(), u.latency_sum_us, {{"upstream", u.name}}, 1e-6);
  }
}

// The split table's families (rows of one family stand together), then the threshold.
void add_split(MetricsText& m, const SplitTotals& split) {
  for (size_t i = 0; i < kSplitRowCount; ++i) {
    const SplitRow& row = kSplitRows[i];
    if (i == 0 || kSplitRows[i - 1].metric != row.metric) m.family(row.metric, "counter", row.help);
    if (row.label_key.empty()) {
      m.sample(row.metric, split.counts[i]);
    } else {
      m.sample(row.metric, split.counts[i], {{row.label_key, row.label_value}});
    }
  }
  m.gauge("mcguard_split_threshold_bytes",
          "Largest value stored as one upstream item; larger ones are split into chunks.",
          split.threshold);
}

}  // namespace

std::string metrics_text(const StatsSnapshot& s) {
  MetricsText m;
  add_process(m, s);
  add_rows(m, s, MetricsBlock::kOpenConnections);
  m.gauge("mcguard_connections_max", "Client connections allowed at once (--max-connections).",
          s.max_connections);
  add_rows(m, s, MetricsBlock::kClientTraffic);
  add_limits(m, s);
  add_value_sizes(m, s);
  add_pool(m, s);
  add_rows(m, s, MetricsBlock::kPool);
  m.gauge("mcguard_chain_buffers_limit", "Buffers value chains may hold, all workers.",
          s.chain_buffers);
  if (s.embedded) add_embedded(m, *s.embedded);
  if (!s.upstreams.empty()) add_upstreams(m, s.upstreams);
  if (s.split) add_split(m, *s.split);
  return m.take();
}

}  // namespace mcguard::admin
