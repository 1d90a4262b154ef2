// The statistics table (proxy/admin/stat_table.h) drives the workers' totals,
// the `stats` reply and /metrics: every row appears once in each, with the
// value its counters summed to.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "proxy/admin/metrics_render.h"
#include "proxy/admin/stat_table.h"
#include "proxy/admin/stats_text.h"

namespace mcguard::admin {
namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A distinct value per row, so a row printing another row's counter is caught; falling, so a
// row reported less a later row (rejections over the limit) stays above 0.
uint64_t value_of_row(size_t row) { return 100000 - 7 * row; }

// A snapshot of two workers whose counters add up to value_of_row(row) for each row.
StatsSnapshot snapshot_with_row_values(bool embedded) {
  StatsSnapshot s;
  auto first = std::make_unique<WorkerStats>();
  auto second = std::make_unique<WorkerStats>();
  for (size_t i = 0; i < kStatRowCount; ++i) {
    ((*first).*kStatRows[i].field).add(value_of_row(i) - i);
    ((*second).*kStatRows[i].field).add(i);
  }
  s.workers.add(*first);
  s.workers.add(*second);
  if (embedded) s.embedded = EmbeddedStats{};
  s.value_sizes.resize(1);
  s.limits = std::make_shared<LimitPolicy>(LimitMode::kEnforce, 1024, 4096,
                                           std::vector<LimitPolicy::Rule>{});
  return s;
}

std::string sample_line(size_t row, uint64_t value) {
  const StatRow& r = kStatRows[row];
  std::string line(r.metric);
  if (!r.label_key.empty()) {
    line += "{" + std::string(r.label_key) + "=\"" + std::string(r.label_value) + "\"}";
  }
  return line + " " + std::to_string(value) + "\n";
}

TEST(StatsTable, WorkerTotalsSumEveryRowOverTheWorkers) {
  const StatsSnapshot s = snapshot_with_row_values(true);
  for (size_t i = 0; i < kStatRowCount; ++i) {
    EXPECT_EQ(s.workers[i], value_of_row(i)) << kStatRows[i].stats_name;
    EXPECT_EQ(s.workers.get(kStatRows[i].field), value_of_row(i)) << kStatRows[i].stats_name;
  }
}

TEST(StatsTable, EveryRowIsOneStatsLineWithItsValue) {
  for (bool embedded : {true, false}) {
    const std::string text = stats_text(snapshot_with_row_values(embedded));
    for (size_t i = 0; i < kStatRowCount; ++i) {
      const std::string name(kStatRows[i].stats_name);
      EXPECT_EQ(count_of(text, "STAT " + name + " "), 1u) << name;
      EXPECT_EQ(count_of(text, "STAT " + name + " " + std::to_string(value_of_row(i)) + "\r\n"), 1u)
          << name;
    }
  }
}

TEST(StatsTable, EveryRowIsOneMetricsSampleWithItsValue) {
  for (bool embedded : {true, false}) {
    const StatsSnapshot s = snapshot_with_row_values(embedded);
    const std::string text = metrics_text(s);
    for (size_t i = 0; i < kStatRowCount; ++i) {
      const StatRow& row = kStatRows[i];
      uint64_t expected = value_of_row(i);
      if (row.less != nullptr) {
        const uint64_t part = value_of_row(stat_row_of(row.less));
        expected = expected > part ? expected - part : 0;
      }
      EXPECT_EQ(s.workers.metric_value(i), expected) << row.stats_name;
      EXPECT_EQ(count_of(text, "\n" + sample_line(i, expected)), 1u) << text;
      const std::string family(row.metric);
      EXPECT_EQ(count_of(text, "# HELP " + family + " " + std::string(row.help) + "\n"), 1u)
          << family;
      const std::string type = row.kind == StatKind::kCounter ? "counter" : "gauge";
      EXPECT_EQ(count_of(text, "# TYPE " + family + " " + type + "\n"), 1u) << family;
    }
  }
}

TEST(StatsTable, RowsAreConsistent) {
  std::set<std::string_view> stats_names;
  std::set<std::pair<std::string_view, std::string_view>> samples;
  for (size_t i = 0; i < kStatRowCount; ++i) {
    const StatRow& row = kStatRows[i];
    EXPECT_EQ(stat_row_of(row.field), i) << "a counter in two rows: " << row.stats_name;
    EXPECT_TRUE(stats_names.insert(row.stats_name).second) << "twice: " << row.stats_name;
    EXPECT_TRUE(samples.insert({row.metric, row.label_value}).second) << "twice: " << row.metric;
    EXPECT_EQ(row.kind == StatKind::kCounter, row.metric.ends_with("_total")) << row.metric;
    EXPECT_EQ(row.label_key.empty(), row.label_value.empty()) << row.metric;
    if (row.less != nullptr) {
      EXPECT_LT(stat_row_of(row.less), kStatRowCount) << row.metric;
    }
    // The rows of one family agree on everything the family prints once.
    for (size_t j = 0; j < i; ++j) {
      const StatRow& other = kStatRows[j];
      if (other.metric != row.metric) continue;
      EXPECT_EQ(other.kind, row.kind) << row.metric;
      EXPECT_EQ(other.help, row.help) << row.metric;
      EXPECT_EQ(other.metrics_block, row.metrics_block) << row.metric;
      EXPECT_FALSE(other.label_key.empty()) << row.metric << " has several samples";
    }
  }
}

}  // namespace
}  // namespace mcguard::admin
