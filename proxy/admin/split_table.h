// The split counters' table: one row per SplitStats counter (values over the
// upstreams' item limit, stored as chunks), naming its `stats` line and its
// /metrics sample. As with the statistics table (stat_table.h), the row drives
// summing the workers' counters (SplitTotals), the `stats` line and the
// Prometheus sample; rows naming one family are its samples, by label, and
// stand together. Adding a split statistic is a SplitStats field and one row
// here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/upstream/split_stats.h"

namespace mcguard::admin {

struct SplitRow {
  Counter SplitStats::*field;
  std::string_view stats_name;
  std::string_view metric;                  // a counter family
  std::string_view label_key, label_value;  // this row's sample label, if any
  std::string_view help;
};

namespace split_table {
using S = SplitStats;
inline constexpr std::string_view kIncompleteHelp =
    "Split values found incomplete (a chunk missing, stale or corrupt), by outcome: miss before "
    "any byte was sent, closed after.";

// clang-format off
inline constexpr std::array kRows = {
  SplitRow{&S::sets, "mcguard_split_sets", "mcguard_split_sets_total", {}, {},
           "Values stored split into chunks."},
  SplitRow{&S::gets, "mcguard_split_gets", "mcguard_split_gets_total", {}, {},
           "Split values sent whole to a client."},
  SplitRow{&S::chunks_written, "mcguard_split_chunks_written", "mcguard_split_chunks_written_total",
           {}, {}, "Chunk items stored."},
  SplitRow{&S::chunks_read, "mcguard_split_chunks_read", "mcguard_split_chunks_read_total",
           {}, {}, "Chunk items read and verified."},
  SplitRow{&S::incomplete_misses, "mcguard_split_incomplete_misses",
           "mcguard_split_incomplete_total", "outcome", "miss", kIncompleteHelp},
  SplitRow{&S::incomplete_closes, "mcguard_split_incomplete_closes",
           "mcguard_split_incomplete_total", "outcome", "closed", kIncompleteHelp},
  SplitRow{&S::orphan_cleanups, "mcguard_split_orphan_cleanups",
           "mcguard_split_orphan_cleanups_total", {}, {},
           "Chunk sets of a replaced, deleted or failed value deleted."},
  SplitRow{&S::orphan_chunks, "mcguard_split_orphan_chunks", "mcguard_split_orphan_chunks_total",
           {}, {}, "Chunks left behind because their cleanup could not be sent."},
};
// clang-format on
}  // namespace split_table

inline constexpr const auto& kSplitRows = split_table::kRows;
inline constexpr size_t kSplitRowCount = kSplitRows.size();

// A Counter added to SplitStats without a row here would be counted and never shown.
static_assert(sizeof(SplitStats) == kSplitRowCount * sizeof(Counter),
              "every SplitStats counter needs its row in kSplitRows");

// Every worker's split counters summed, by row, and the threshold in use.
struct SplitTotals {
  std::array<uint64_t, kSplitRowCount> counts{};
  uint64_t threshold = 0;  // the largest value stored as one item

  void add(const SplitStats& stats) {
    for (size_t i = 0; i < kSplitRowCount; ++i) counts[i] += (stats.*kSplitRows[i].field).get();
  }
};

}  // namespace mcguard::admin
