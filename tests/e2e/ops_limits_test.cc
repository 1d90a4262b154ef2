// Limit policies seen from a client: observe mode lets a value over its limit
// through and counts it (up to the value ceiling, which still holds), per-prefix
// limits pick the longest matching prefix, prefix limits come from the config
// file, and `stats` / `stats settings` report what an operator needs.
#include <gtest/gtest.h>

#include "ops_support.h"

namespace mcguard::e2e {
namespace {

constexpr std::string_view kStored = "STORED\r\n";
constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";

class OpsLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's limit policies only";
  }

  void start(const McguardOptions& options) {
    std::string error;
    server_ = start_subject(&error, options);
    ASSERT_NE(server_, nullptr) << error;
    auto c = Client::connect(server_->port());
    ASSERT_TRUE(c.has_value());
    client_ = std::move(*c);
  }

  // The value under `key` has `size` bytes (read back whole).
  bool holds(std::string_view key, size_t size) {
    if (!client_.send("get " + std::string(key) + "\r\n")) return false;
    const std::string expected = "VALUE " + std::string(key) + " 0 " + std::to_string(size) +
                                 "\r\n" + std::string(size, 'v') + "\r\nEND\r\n";
    return client_.read_exactly(expected.size(), milliseconds(10000)).bytes == expected;
  }

  std::unique_ptr<ServerProcess> server_;
  Client client_;
};

TEST_F(OpsLimits, EnforceModeRejectsOverTheLimit) {
  McguardOptions options;
  options.max_value_size = "1k";
  ASSERT_NO_FATAL_FAILURE(start(options));
  EXPECT_EQ(set_value(client_, "k", 1024), kStored);
  EXPECT_EQ(set_value(client_, "k", 1025), kTooLarge);
  EXPECT_EQ(stat_number(client_, "mcguard_rejected_too_large"), 1);
  EXPECT_EQ(stat_number(client_, "mcguard_observed_over_limit"), 0);
}

TEST_F(OpsLimits, ObserveModeLetsAnOversizedValueThroughAndCountsIt) {
  McguardOptions options;
  options.max_value_size = "1k";
  options.extra_args = {"--limit-mode", "observe", "--value-ceiling", "256k"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  EXPECT_EQ(set_value(client_, "small", 1000), kStored);
  // Over the 1k limit: stored, readable, counted, not rejected. 200k needs a chain.
  EXPECT_EQ(set_value(client_, "big", 5000), kStored);
  EXPECT_EQ(set_value(client_, "bigger", 200 << 10), kStored);
  EXPECT_TRUE(holds("big", 5000));
  EXPECT_TRUE(holds("bigger", 200 << 10));
  EXPECT_EQ(stat_number(client_, "mcguard_observed_over_limit"), 2);
  EXPECT_EQ(stat_number(client_, "mcguard_rejected_too_large"), 0);
  // The ceiling holds in observe mode too: buffers and the store are sized for it.
  EXPECT_EQ(set_value(client_, "huge", (256 << 10) + 1), kTooLarge);
  EXPECT_EQ(stat_number(client_, "mcguard_rejected_over_ceiling"), 1);
  EXPECT_EQ(stat_number(client_, "mcguard_rejected_too_large"), 1);
  EXPECT_EQ(stats_of(client_)["mcguard_limit_mode"], "observe");
  EXPECT_EQ(stat_number(client_, "mcguard_value_ceiling"), 256 << 10);
  EXPECT_EQ(set_value(client_, "after", 10), kStored) << "the connection is still in step";
}

TEST_F(OpsLimits, ObserveModeCeilingDefaultsToAtLeastEightMegabytes) {
  McguardOptions options;
  options.max_value_size = "1k";
  options.extra_args = {"--limit-mode", "observe"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  EXPECT_EQ(stat_number(client_, "mcguard_value_ceiling"), 8 << 20);
  EXPECT_EQ(set_value(client_, "big", 3 << 20, milliseconds(30000)), kStored);
  EXPECT_TRUE(holds("big", 3 << 20));
  EXPECT_EQ(set_value(client_, "huge", (8 << 20) + 1, milliseconds(30000)), kTooLarge);
}

TEST_F(OpsLimits, PrefixLimitsPickTheLongestPrefix) {
  McguardOptions options;
  options.max_value_size = "1k";
  options.extra_args = {"--limit", "a: 2k", "--limit", "a:b:c: 100", "--limit", "a:b: 8k"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  EXPECT_EQ(set_value(client_, "a:b:1", 8192), kStored);  // a:b: 8k
  EXPECT_EQ(set_value(client_, "a:b:1", 8193), kTooLarge);
  EXPECT_EQ(set_value(client_, "a:x", 2048), kStored);  // a: 2k
  EXPECT_EQ(set_value(client_, "a:x", 5000), kTooLarge);
  EXPECT_EQ(set_value(client_, "a:b:c:1", 100), kStored);  // a:b:c: 100, shorter than a:'s
  EXPECT_EQ(set_value(client_, "a:b:c:1", 101), kTooLarge);
  EXPECT_EQ(set_value(client_, "zzz", 1024), kStored);  // no prefix: --max-value-size
  EXPECT_EQ(set_value(client_, "zzz", 1025), kTooLarge);
  EXPECT_EQ(set_value(client_, "b:a:", 1500), kTooLarge);  // a prefix, not a substring
  EXPECT_EQ(stat_number(client_, "mcguard_rejected_too_large"), 5);
  // As memcached does, a refused set leaves no old value behind.
  ASSERT_TRUE(client_.send("get a:b:1\r\n"));
  EXPECT_EQ(client_.read_line().bytes, "END\r\n");
}

TEST_F(OpsLimits, PrefixLimitsFromTheConfigFile) {
  TempFile config(
      "# limits by key prefix\nlimit = session: 64k\nlimit = report: 4m\n"
      "limit-mode = enforce\n");
  McguardOptions options;
  options.max_value_size = "1k";
  options.config = config.path();
  ASSERT_NO_FATAL_FAILURE(start(options));
  EXPECT_EQ(set_value(client_, "session42", 64 << 10), kStored);
  EXPECT_EQ(set_value(client_, "session42", (64 << 10) + 1), kTooLarge);
  EXPECT_EQ(set_value(client_, "report:q3", 3 << 20, milliseconds(30000)), kStored);
  EXPECT_EQ(set_value(client_, "other", 2000), kTooLarge);
  auto settings = stats_of(client_, "settings");
  EXPECT_EQ(settings["mcguard_limit:session"], std::to_string(64 << 10));
  EXPECT_EQ(settings["mcguard_limit:report"], std::to_string(4 << 20));
  EXPECT_EQ(settings["item_size_max"], std::to_string(4 << 20)) << "the ceiling: largest limit";
}

TEST_F(OpsLimits, StatsHaveMemcachedsLinesAndMcguardsOwn) {
  McguardOptions options;
  options.threads = 2;
  ASSERT_NO_FATAL_FAILURE(start(options));
  EXPECT_EQ(set_value(client_, "k", 10), kStored);
  EXPECT_TRUE(holds("k", 10));
  ASSERT_TRUE(client_.send("get nope\r\n"));
  EXPECT_EQ(client_.read_line().bytes, "END\r\n");
  auto stats = stats_of(client_);
  for (const char* name : {"pid",
                           "uptime",
                           "time",
                           "version",
                           "pointer_size",
                           "rusage_user",
                           "rusage_system",
                           "curr_connections",
                           "total_connections",
                           "cmd_get",
                           "cmd_set",
                           "get_hits",
                           "get_misses",
                           "bytes_read",
                           "bytes_written",
                           "threads",
                           "limit_maxbytes",
                           "curr_items",
                           "evictions",
                           "mcguard_rejected_too_large",
                           "mcguard_rejected_no_memory",
                           "mcguard_observed_over_limit",
                           "mcguard_pool_buffers_in_use",
                           "mcguard_pool_high_water",
                           "mcguard_pool_waits",
                           "mcguard_values_le_64",
                           "mcguard_values_le_67108864",
                           "mcguard_ready"}) {
    EXPECT_TRUE(stats.count(name)) << "stats lacks " << name;
  }
  EXPECT_EQ(stats["threads"], "2");
  EXPECT_EQ(stats["cmd_set"], "1");
  EXPECT_EQ(stats["get_hits"], "1");
  EXPECT_EQ(stats["get_misses"], "1");
  EXPECT_EQ(stats["mcguard_values_le_64"], "1");
  auto settings = stats_of(client_, "settings");
  for (const char* name :
       {"maxbytes", "maxconns", "tcpport", "num_threads", "item_size_max", "evictions",
        "mcguard_max_value_size", "mcguard_value_ceiling", "mcguard_limit_mode",
        "mcguard_buffer_size", "mcguard_pool_size", "mcguard_admin", "mcguard_drain_timeout",
        "mcguard_log_level", "mcguard_log_format", "mcguard_tier"}) {
    EXPECT_TRUE(settings.count(name)) << "stats settings lacks " << name;
  }
  EXPECT_EQ(settings["tcpport"], std::to_string(server_->port()));
  EXPECT_EQ(settings["num_threads"], "2");
  EXPECT_EQ(settings["mcguard_admin"], "off");
  EXPECT_EQ(settings["mcguard_limit_mode"], "enforce");
}

}  // namespace
}  // namespace mcguard::e2e
