// The statistics table: one row per WorkerStats counter, naming it in the `stats`
// reply and in /metrics. The row drives all three uses: summing the workers'
// counters (WorkerTotals), the `stats` line (stats_text.h) and the Prometheus
// sample (metrics_render.h). Adding a statistic is a WorkerStats field and one
// row here.
//
// The two outputs order their lines differently, and both orders are fixed
// (scripts and dashboards read them), so each row says where it goes in each:
// a block of the `stats` reply and a block of /metrics, placed among the lines
// that do not come from this table. Within a block rows keep table order, and
// in /metrics the rows naming one family are its samples, printed together
// where the family first appears.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/core/worker_stats.h"

namespace mcguard::admin {

enum class StatKind : uint8_t { kCounter, kGauge };

// Where a row's line goes in `stats` (see stats_text.cc).
enum class StatsBlock : uint8_t {
  kConnections,  // after max_connections
  kCommands,     // after cmd_touch (cmd_meta)
  kTraffic,      // after the embedded cache's command counts
  kRequests,     // mcguard's own, after the embedded cache's item counts
  kErrors,       // right after kRequests
  kPool,         // after the pool's own lines
  kCloses,       // after mcguard_chain_buffers
};

// Where a row's family goes in /metrics (see metrics_render.cc).
enum class MetricsBlock : uint8_t {
  kOpenConnections,  // before mcguard_connections_max
  kClientTraffic,    // after it: connections, requests, bytes, errors, rejections
  kPool,             // after the pool's own families
};

struct StatRow {
  Counter WorkerStats::*field;
  std::string_view stats_name;
  StatsBlock stats_block;
  std::string_view metric;                  // the family; several rows naming one are its samples
  std::string_view label_key, label_value;  // this row's sample label, if any
  StatKind kind;
  MetricsBlock metrics_block;
  std::string_view help;
  // The sample reports `field` less this counter (a part the family reports on its own).
  Counter WorkerStats::*less = nullptr;
};

namespace stat_help {
inline constexpr std::string_view kClosed = "Client connections mcguard closed, by reason.";
inline constexpr std::string_view kRejections = "Storage commands refused, by reason.";
}  // namespace stat_help

namespace stat_table {
using enum StatKind;
using S = StatsBlock;
using M = MetricsBlock;
using W = WorkerStats;

// clang-format off
inline constexpr std::array kRows = {
  StatRow{&W::curr_connections, "curr_connections", S::kConnections,
          "mcguard_connections", {}, {}, kGauge, M::kOpenConnections,
          "Client connections open now."},
  StatRow{&W::total_connections, "total_connections", S::kConnections,
          "mcguard_connections_accepted_total", {}, {}, kCounter, M::kClientTraffic,
          "Client connections accepted."},
  StatRow{&W::rejected_connections, "rejected_connections", S::kConnections,
          "mcguard_connections_rejected_total", {}, {}, kCounter, M::kClientTraffic,
          "Client connections closed at once for being over --max-connections."},
  StatRow{&W::slow_client_closes, "mcguard_slow_client_closes", S::kCloses,
          "mcguard_connections_closed_total", "reason", "slow_client", kCounter, M::kClientTraffic,
          stat_help::kClosed},
  StatRow{&W::idle_closes, "mcguard_idle_closes", S::kCloses,
          "mcguard_connections_closed_total", "reason", "idle", kCounter, M::kClientTraffic,
          stat_help::kClosed},
  StatRow{&W::binary_protocol_closes, "mcguard_binary_protocol_closes", S::kCloses,
          "mcguard_connections_closed_total", "reason", "binary_protocol", kCounter,
          M::kClientTraffic, stat_help::kClosed},
  StatRow{&W::tls_handshakes, "mcguard_tls_handshakes", S::kConnections,
          "mcguard_tls_handshakes_total", {}, {}, kCounter, M::kClientTraffic,
          "TLS sessions established with clients of tls: listeners."},
  StatRow{&W::tls_failures, "mcguard_tls_failures", S::kCloses,
          "mcguard_connections_closed_total", "reason", "tls", kCounter,
          M::kClientTraffic, stat_help::kClosed},
  StatRow{&W::meta_commands, "cmd_meta", S::kCommands,
          "mcguard_meta_commands_total", {}, {}, kCounter, M::kClientTraffic,
          "Meta commands (mg ms md ma mn me) handled."},
  StatRow{&W::requests, "mcguard_requests", S::kRequests,
          "mcguard_requests_total", {}, {}, kCounter, M::kClientTraffic,
          "Requests parsed from clients."},
  StatRow{&W::bytes_read, "bytes_read", S::kTraffic,
          "mcguard_received_bytes_total", {}, {}, kCounter, M::kClientTraffic,
          "Bytes read from clients."},
  StatRow{&W::bytes_written, "bytes_written", S::kTraffic,
          "mcguard_sent_bytes_total", {}, {}, kCounter, M::kClientTraffic,
          "Bytes written to clients."},
  StatRow{&W::protocol_errors, "mcguard_protocol_errors", S::kErrors,
          "mcguard_protocol_errors_total", {}, {}, kCounter, M::kClientTraffic,
          "ERROR and CLIENT_ERROR replies and connections closed for bad input."},
  StatRow{&W::closed_for_pool, "mcguard_closed_for_pool", S::kErrors,
          "mcguard_connections_closed_total", "reason", "reply_buffers", kCounter,
          M::kClientTraffic, stat_help::kClosed},
  StatRow{&W::rejected_too_large, "mcguard_rejected_too_large", S::kRequests,
          "mcguard_rejections_total", "reason", "over_limit", kCounter, M::kClientTraffic,
          stat_help::kRejections, &W::rejected_over_ceiling},
  StatRow{&W::rejected_over_ceiling, "mcguard_rejected_over_ceiling", S::kRequests,
          "mcguard_rejections_total", "reason", "over_ceiling", kCounter, M::kClientTraffic,
          stat_help::kRejections},
  StatRow{&W::rejected_no_memory, "mcguard_rejected_no_memory", S::kRequests,
          "mcguard_rejections_total", "reason", "out_of_memory", kCounter, M::kClientTraffic,
          stat_help::kRejections},
  StatRow{&W::observed_over_limit, "mcguard_observed_over_limit", S::kRequests,
          "mcguard_observed_over_limit_total", {}, {}, kCounter, M::kClientTraffic,
          "Observe mode: values over their limit that were let through."},
  StatRow{&W::pool_waits, "mcguard_pool_waits", S::kPool,
          "mcguard_pool_waits_total", {}, {}, kCounter, M::kPool,
          "Values that had to wait for pool buffers."},
  StatRow{&W::pool_waiters, "mcguard_pool_waiters", S::kPool,
          "mcguard_pool_waiters", {}, {}, kGauge, M::kPool,
          "Connections waiting for pool buffers now."},
  StatRow{&W::chain_buffers_in_use, "mcguard_chain_buffers_in_use", S::kPool,
          "mcguard_chain_buffers_in_use", {}, {}, kGauge, M::kPool,
          "Buffers held by value chains now."},
  StatRow{&W::zerocopy_sends, "mcguard_zerocopy_sends", S::kPool,
          "mcguard_zerocopy_sends_total", {}, {}, kCounter, M::kPool,
          "Sends the kernel took as zero-copy (--zerocopy-threshold)."},
  StatRow{&W::zerocopy_copied, "mcguard_zerocopy_copied", S::kPool,
          "mcguard_zerocopy_copied_total", {}, {}, kCounter, M::kPool,
          "Zero-copy sends the kernel copied after all; their sockets send plainly since."},
  StatRow{&W::zerocopy_pending, "mcguard_zerocopy_pending", S::kPool,
          "mcguard_zerocopy_pending", {}, {}, kGauge, M::kPool,
          "Zero-copy sends whose buffers the kernel still holds (awaiting notification)."},
  StatRow{&W::connection_chain_waits, "mcguard_connection_chain_waits", S::kPool,
          "mcguard_connection_chain_waits_total", {}, {}, kCounter, M::kPool,
          "Values that waited for their connection's earlier values (--max-connection-chain)."},
  StatRow{&W::connection_chain_high_water, "mcguard_connection_chain_high_water", S::kPool,
          "mcguard_connection_chain_high_water_bytes", {}, {}, kGauge, M::kPool,
          "Most value-chain bytes one connection held at once, summed per worker."},
};
// clang-format on
}  // namespace stat_table

inline constexpr const auto& kStatRows = stat_table::kRows;
inline constexpr size_t kStatRowCount = kStatRows.size();

// A Counter added to WorkerStats without a row here would be counted and never shown.
static_assert(sizeof(WorkerStats) == kStatRowCount * sizeof(Counter) + sizeof(ValueSizeHistograms),
              "every WorkerStats counter needs its row in kStatRows");

// The row of `field` (kStatRowCount when it has none).
constexpr size_t stat_row_of(Counter WorkerStats::*field) {
  for (size_t i = 0; i < kStatRowCount; ++i) {
    if (kStatRows[i].field == field) return i;
  }
  return kStatRowCount;
}

// Every worker's table counters summed, by row.
class WorkerTotals {
 public:
  void add(const WorkerStats& stats) {
    for (size_t i = 0; i < kStatRowCount; ++i) values_[i] += (stats.*kStatRows[i].field).get();
  }
  uint64_t operator[](size_t row) const { return values_[row]; }
  // `stats reset`: every counter row less its value in `base` (gauges untouched).
  void subtract_counters(const WorkerTotals& base) {
    for (size_t i = 0; i < kStatRowCount; ++i) {
      if (kStatRows[i].kind != StatKind::kCounter) continue;
      values_[i] = values_[i] > base.values_[i] ? values_[i] - base.values_[i] : 0;
    }
  }
  uint64_t get(Counter WorkerStats::*field) const { return values_[stat_row_of(field)]; }
  // What row `row` reports in /metrics (its value less its `less` counter, never below 0).
  uint64_t metric_value(size_t row) const {
    const uint64_t value = values_[row];
    if (kStatRows[row].less == nullptr) return value;
    const uint64_t part = get(kStatRows[row].less);
    return value > part ? value - part : 0;
  }

 private:
  std::array<uint64_t, kStatRowCount> values_{};
};

}  // namespace mcguard::admin
