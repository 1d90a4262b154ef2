// Server::render_metrics: every counter of `stats` as Prometheus families with
// the conventional names and base units (bytes, seconds), plus the value-size
// histogram per key prefix. Runs on the admin thread and only reads counters.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "proxy/admin/metrics_text.h"
#include "proxy/server.h"
#include "proxy/core/version.h"

namespace mcguard {
namespace {

uint64_t resident_bytes() {
  long pages = 0, resident = 0;
  FILE* file = std::fopen("/proc/self/statm", "r");
  if (file == nullptr) return 0;
  const int read = std::fscanf(file, "%ld %ld", &pages, &resident);
  std::fclose(file);
  return read == 2 ? static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE))
                   : 0;
}

}  // namespace

std::string Server::render_metrics() const {
  const ProxyTotals t = totals();
  const auto policy = limits_.load();
  MetricsText m;

  m.family("mcguard_build_info", "gauge", "Version of the running mcguard (always 1).");
  m.sample("mcguard_build_info", uint64_t{1},
           {{"version", MCGUARD_VERSION},
            {"tier", settings_.upstreams.empty() ? "embedded" : "upstream"}});
  m.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.",
          static_cast<uint64_t>(started_));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  m.family("process_cpu_seconds_total", "counter", "User and system CPU time spent.");
  m.sample("process_cpu_seconds_total",
           static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
  m.gauge("process_resident_memory_bytes", "Resident memory size.", resident_bytes());
  m.gauge("mcguard_ready", "1 when /readyz answers 200.", ready() ? 1 : 0);
  m.gauge("mcguard_draining", "1 once SIGTERM or SIGINT started the drain.", draining_ ? 1 : 0);
  m.family("mcguard_config_reloads_total", "counter", "SIGHUP reloads, by result.");
  m.sample("mcguard_config_reloads_total", reloads_.load(), {{"result", "applied"}});
  m.sample("mcguard_config_reloads_total", failed_reloads_.load(), {{"result", "rejected"}});
  m.gauge("mcguard_worker_threads", "Worker threads serving clients.", settings_.threads);

  // Connections.
  m.gauge("mcguard_connections", "Client connections open now.", t.curr_connections);
  m.gauge("mcguard_connections_max", "Client connections allowed at once (--max-connections).",
          settings_.max_connections);
  m.counter("mcguard_connections_accepted_total", "Client connections accepted.",
            t.total_connections);
  m.counter("mcguard_connections_rejected_total",
            "Client connections closed at once for being over --max-connections.",
            t.rejected_connections);
  m.family("mcguard_connections_closed_total", "counter",
           "Client connections mcguard closed, by reason.");
  m.sample("mcguard_connections_closed_total", t.slow_client_closes, {{"reason", "slow_client"}});
  m.sample("mcguard_connections_closed_total", t.idle_closes, {{"reason", "idle"}});
  m.sample("mcguard_connections_closed_total", t.closed_for_pool, {{"reason", "reply_buffers"}});

  // Traffic.
  m.counter("mcguard_requests_total", "Requests parsed from clients.", t.requests);
  m.counter("mcguard_received_bytes_total", "Bytes read from clients.", t.bytes_read);
  m.counter("mcguard_sent_bytes_total", "Bytes written to clients.", t.bytes_written);
  m.counter("mcguard_protocol_errors_total",
            "ERROR and CLIENT_ERROR replies and connections closed for bad input.",
            t.protocol_errors);

  // Limits.
  const uint64_t over_limit = t.rejected_too_large > t.rejected_over_ceiling
                                  ? t.rejected_too_large - t.rejected_over_ceiling
                                  : 0;
  m.family("mcguard_rejections_total", "counter", "Storage commands refused, by reason.");
  m.sample("mcguard_rejections_total", over_limit, {{"reason", "over_limit"}});
  m.sample("mcguard_rejections_total", t.rejected_over_ceiling, {{"reason", "over_ceiling"}});
  m.sample("mcguard_rejections_total", t.rejected_no_memory, {{"reason", "out_of_memory"}});
  m.counter("mcguard_observed_over_limit_total",
            "Observe mode: values over their limit that were let through.", t.observed_over_limit);
  m.gauge("mcguard_limit_observe_mode", "1 in observe mode, 0 when limits are enforced.",
          policy->mode() == LimitMode::kObserve ? 1 : 0);
  m.gauge("mcguard_value_ceiling_bytes",
          "Largest value let through in either mode; buffers are sized for it.",
          settings_.max_value_size);
  m.family("mcguard_value_limit_bytes", "gauge",
           "Value-size limit by key prefix (prefix=\"\": keys matching no prefix).");
  m.sample("mcguard_value_limit_bytes", policy->default_limit(), {{"prefix", ""}});
  for (const LimitPolicy::Rule& rule : policy->rules()) {
    m.sample("mcguard_value_limit_bytes", rule.limit, {{"prefix", rule.prefix}});
  }
  constexpr uint32_t kBounds = ValueSizeHistograms::kBuckets - 1;
  uint64_t bounds[kBounds];
  for (uint32_t i = 0; i < kBounds; ++i) bounds[i] = ValueSizeHistograms::bound(i);
  m.family("mcguard_value_size_bytes", "histogram",
           "Value sizes of storage commands by key prefix (prefix=\"\": keys matching no prefix).");
  for (uint32_t slot = 0; slot < limits_.slot_count(); ++slot) {
    uint64_t per_bucket[ValueSizeHistograms::kBuckets] = {};
    uint64_t sum = 0;
    for (const auto& worker : workers_) {
      const ValueSizeHistograms& h = worker->stats().value_sizes;
      for (uint32_t b = 0; b < ValueSizeHistograms::kBuckets; ++b)
        per_bucket[b] += h.count(slot, b);
      sum += h.sum(slot);
    }
    uint64_t cumulative[kBounds];
    uint64_t running = 0;
    for (uint32_t b = 0; b < kBounds; ++b) cumulative[b] = running += per_bucket[b];
    const uint64_t count = running + per_bucket[kBounds];
    m.histogram("mcguard_value_size_bytes", bounds, cumulative, kBounds, count, sum,
                {{"prefix", limits_.slot_prefix(slot)}});
  }

  // Buffer pool.
  m.gauge("mcguard_pool_buffers", "I/O buffers in the pool, all workers.", t.pool_buffers);
  m.gauge("mcguard_pool_buffer_size_bytes", "Size of one I/O buffer.", settings_.buffer_size);
  m.gauge("mcguard_pool_buffers_in_use", "I/O buffers held now.", t.pool_in_use);
  m.gauge("mcguard_pool_buffers_high_water", "Most I/O buffers held at once, summed per worker.",
          t.pool_high_water);
  m.counter("mcguard_pool_acquire_failures_total", "Buffer requests the pool could not serve.",
            t.pool_failed);
  m.counter("mcguard_pool_waits_total", "Values that had to wait for pool buffers.", t.pool_waits);
  m.gauge("mcguard_pool_waiters", "Connections waiting for pool buffers now.", t.pool_waiters);
  m.gauge("mcguard_chain_buffers_in_use", "Buffers held by value chains now.",
          t.chain_buffers_in_use);
  m.gauge("mcguard_chain_buffers_limit", "Buffers value chains may hold, all workers.",
          uint64_t{settings_.chain_buffer_limit()} * settings_.threads);

  if (tier_) {
    const EmbeddedStats s = tier_->stats();
    m.family("mcguard_commands_total", "counter", "Embedded cache commands, by command.");
    m.sample("mcguard_commands_total", s.cmd_get, {{"command", "get"}});
    m.sample("mcguard_commands_total", s.cmd_set, {{"command", "set"}});
    m.sample("mcguard_commands_total", s.cmd_touch, {{"command", "touch"}});
    m.sample("mcguard_commands_total", s.cmd_flush, {{"command", "flush"}});
    m.family("mcguard_cache_lookups_total", "counter", "Embedded cache key lookups, by result.");
    m.sample("mcguard_cache_lookups_total", s.get_hits, {{"command", "get"}, {"result", "hit"}});
    m.sample("mcguard_cache_lookups_total", s.get_misses, {{"command", "get"}, {"result", "miss"}});
    m.sample("mcguard_cache_lookups_total", s.delete_hits,
             {{"command", "delete"}, {"result", "hit"}});
    m.sample("mcguard_cache_lookups_total", s.delete_misses,
             {{"command", "delete"}, {"result", "miss"}});
    m.sample("mcguard_cache_lookups_total", s.incr_hits, {{"command", "incr"}, {"result", "hit"}});
    m.sample("mcguard_cache_lookups_total", s.incr_misses,
             {{"command", "incr"}, {"result", "miss"}});
    m.sample("mcguard_cache_lookups_total", s.decr_hits, {{"command", "decr"}, {"result", "hit"}});
    m.sample("mcguard_cache_lookups_total", s.decr_misses,
             {{"command", "decr"}, {"result", "miss"}});
    m.sample("mcguard_cache_lookups_total", s.cas_hits, {{"command", "cas"}, {"result", "hit"}});
    m.sample("mcguard_cache_lookups_total", s.cas_misses, {{"command", "cas"}, {"result", "miss"}});
    m.sample("mcguard_cache_lookups_total", s.cas_badval,
             {{"command", "cas"}, {"result", "badval"}});
    m.sample("mcguard_cache_lookups_total", s.touch_hits,
             {{"command", "touch"}, {"result", "hit"}});
    m.sample("mcguard_cache_lookups_total", s.touch_misses,
             {{"command", "touch"}, {"result", "miss"}});
    m.gauge("mcguard_cache_items", "Items in the embedded cache.", s.curr_items);
    m.counter("mcguard_cache_items_stored_total", "Items ever stored in the embedded cache.",
              s.total_items);
    m.gauge("mcguard_cache_used_bytes", "Item memory in use in the embedded cache.", s.bytes);
    m.gauge("mcguard_cache_limit_bytes", "Memory limit of the embedded cache.", s.limit_maxbytes);
    m.counter("mcguard_cache_evictions_total", "Items evicted to make room.", s.evictions);
  }

  const auto upstreams = upstream_totals();
  if (!upstreams.empty()) {
    m.family("mcguard_upstream_requests_total", "counter", "Requests sent to each upstream.");
    for (const auto& u : upstreams)
      m.sample("mcguard_upstream_requests_total", u.requests, {{"upstream", u.name}});
    m.family("mcguard_upstream_failures_total", "counter",
             "Failures (timeouts, closes, bad replies) talking to each upstream.");
    for (const auto& u : upstreams)
      m.sample("mcguard_upstream_failures_total", u.failures, {{"upstream", u.name}});
    m.family("mcguard_upstream_down_workers", "gauge",
             "Workers that consider each upstream down now.");
    for (const auto& u : upstreams)
      m.sample("mcguard_upstream_down_workers", u.down_workers, {{"upstream", u.name}});
    m.family("mcguard_upstream_reachable", "gauge",
             "1 when the last probe connected to the upstream.");
    for (const auto& u : upstreams) {
      m.sample("mcguard_upstream_reachable", uint64_t{u.probe_reachable ? 1u : 0u},
               {{"upstream", u.name}});
    }
    m.family("mcguard_upstream_reply_duration_seconds", "histogram",
             "Time from queueing a request for an upstream to its whole reply.");
    for (const auto& u : upstreams) {
      constexpr size_t kBounds = LatencyHistogram::kBoundsUs.size();
      uint64_t cumulative[kBounds];
      uint64_t running = 0;
      for (size_t b = 0; b < kBounds; ++b) cumulative[b] = running += u.latency[b];
      m.histogram("mcguard_upstream_reply_duration_seconds", LatencyHistogram::kBoundsUs.data(),
                  cumulative, kBounds, u.replies(), u.latency_sum_us, {{"upstream", u.name}}, 1e-6);
    }
  }
  return m.take();
}

}  // namespace mcguard
