// The split counters (proxy/admin/split_table.h) in `stats` and /metrics: summed
// over the workers, printed once each with their value in upstream mode, with the
// threshold in use, and not at all in embedded mode.
#include "proxy/admin/split_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "proxy/admin/metrics_render.h"
#include "proxy/admin/stats_text.h"

namespace mcguard::admin {
namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Made-up figures: a distinct value per row, split over two workers.
uint64_t value_of_row(size_t row) { return 5000 + 11 * row; }

StatsSnapshot snapshot(bool upstream) {
  StatsSnapshot s;
  s.value_sizes.resize(1);
  s.limits = std::make_shared<LimitPolicy>(LimitMode::kEnforce, 1024, 4096,
                                           std::vector<LimitPolicy::Rule>{});
  if (!upstream) {
    s.embedded = EmbeddedStats{};
    return s;
  }
  s.upstreams.resize(1);
  s.upstreams[0].name = "127.0.0.1:11211";
  auto first = std::make_unique<SplitStats>();
  auto second = std::make_unique<SplitStats>();
  for (size_t i = 0; i < kSplitRowCount; ++i) {
    ((*first).*kSplitRows[i].field).add(value_of_row(i) - i);
    ((*second).*kSplitRows[i].field).add(i);
  }
  s.split.emplace();
  s.split->add(*first);
  s.split->add(*second);
  s.split->threshold = 1048064;
  return s;
}

TEST(SplitTable, RowsSumTheWorkers) {
  const StatsSnapshot s = snapshot(true);
  for (size_t i = 0; i < kSplitRowCount; ++i) {
    EXPECT_EQ(s.split->counts[i], value_of_row(i)) << kSplitRows[i].stats_name;
  }
}

TEST(SplitTable, StatsPrintEveryCounterAndTheThresholdInUpstreamMode) {
  const std::string text = stats_text(snapshot(true));
  for (size_t i = 0; i < kSplitRowCount; ++i) {
    const std::string name(kSplitRows[i].stats_name);
    EXPECT_EQ(count_of(text, "STAT " + name + " "), 1u) << name;
    EXPECT_EQ(count_of(text, "STAT " + name + " " + std::to_string(value_of_row(i)) + "\r\n"), 1u)
        << name;
  }
  EXPECT_EQ(count_of(text, "STAT mcguard_split_threshold 1048064\r\n"), 1u);
  EXPECT_TRUE(text.ends_with("STAT mcguard_split_threshold 1048064\r\nEND\r\n")) << text;
}

TEST(SplitTable, MetricsPrintEveryFamilyOnceWithItsSamples) {
  const std::string text = metrics_text(snapshot(true));
  const std::string incomplete = "mcguard_split_incomplete_total";
  EXPECT_EQ(count_of(text, "\nmcguard_split_sets_total 5000\n"), 1u) << text;
  EXPECT_EQ(count_of(text, "\nmcguard_split_gets_total 5011\n"), 1u);
  EXPECT_EQ(count_of(text, "\nmcguard_split_chunks_written_total 5022\n"), 1u);
  EXPECT_EQ(count_of(text, "\nmcguard_split_chunks_read_total 5033\n"), 1u);
  EXPECT_EQ(count_of(text, "\n" + incomplete + "{outcome=\"miss\"} 5044\n"), 1u);
  EXPECT_EQ(count_of(text, "\n" + incomplete + "{outcome=\"closed\"} 5055\n"), 1u);
  EXPECT_EQ(count_of(text, "\nmcguard_split_orphan_cleanups_total 5066\n"), 1u);
  EXPECT_EQ(count_of(text, "\nmcguard_split_orphan_chunks_total 5077\n"), 1u);
  EXPECT_EQ(count_of(text, "\nmcguard_split_threshold_bytes 1048064\n"), 1u);
  EXPECT_EQ(count_of(text, "# TYPE mcguard_split_threshold_bytes gauge\n"), 1u);
  for (size_t i = 0; i < kSplitRowCount; ++i) {
    const std::string family(kSplitRows[i].metric);
    EXPECT_EQ(count_of(text, "# HELP " + family + " " + std::string(kSplitRows[i].help) + "\n"), 1u)
        << family;
    EXPECT_EQ(count_of(text, "# TYPE " + family + " counter\n"), 1u) << family;
  }
}

TEST(SplitTable, EmbeddedModePrintsNoSplitLine) {
  const StatsSnapshot s = snapshot(false);
  EXPECT_EQ(stats_text(s).find("split"), std::string::npos);
  EXPECT_EQ(metrics_text(s).find("split"), std::string::npos);
}

TEST(SplitTable, RowsAreConsistent) {
  std::set<std::string_view> stats_names, finished_families;
  for (size_t i = 0; i < kSplitRowCount; ++i) {
    const SplitRow& row = kSplitRows[i];
    EXPECT_TRUE(stats_names.insert(row.stats_name).second) << "twice: " << row.stats_name;
    EXPECT_TRUE(row.stats_name.starts_with("mcguard_split_")) << row.stats_name;
    EXPECT_TRUE(row.metric.starts_with("mcguard_split_")) << row.metric;
    EXPECT_TRUE(row.metric.ends_with("_total")) << row.metric;
    EXPECT_EQ(row.label_key.empty(), row.label_value.empty()) << row.metric;
    // A family's rows stand together, agree on their help, and each has a label.
    const bool continues = i > 0 && kSplitRows[i - 1].metric == row.metric;
    if (continues) {
      EXPECT_EQ(kSplitRows[i - 1].help, row.help) << row.metric;
      EXPECT_FALSE(row.label_key.empty()) << row.metric << " has several samples";
    } else {
      EXPECT_TRUE(finished_families.insert(row.metric).second) << "rows apart: " << row.metric;
    }
  }
}

}  // namespace
}  // namespace mcguard::admin
