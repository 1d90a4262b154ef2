// The split threshold as mcguard finds it at start-up in front of real memcached
// servers: each upstream's `stats settings` item_size_max (memcached -I), the
// smallest of those that answer, 1 MiB when none does, or
// --upstream-item-size-max; shown with --upstream-split's mode in `stats
// settings`, and with the split counters in `stats` and /metrics.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ops_support.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

constexpr size_t kTwoMiB = 2u << 20;

class UpstreamSplitSettings : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's upstream tier only";
  }

  // A memcached with -I `item_size_max` in front of which mcguard will run.
  void start_upstream(size_t item_size_max) {
    std::string error;
    auto server = start_memcached(&error, item_size_max);
    ASSERT_NE(server, nullptr) << error;
    upstream_ports_.push_back(server->port());
    upstreams_.push_back(std::move(server));
  }

  // mcguard with its admin listener, one --upstream per started upstream, then `args`.
  void start_proxy(const std::vector<std::string>& args) {
    McguardOptions options;
    for (uint16_t port : upstream_ports_) {
      options.extra_args.push_back("--upstream");
      options.extra_args.push_back("127.0.0.1:" + std::to_string(port));
    }
    options.extra_args.insert(options.extra_args.end(), args.begin(), args.end());
    std::string error;
    proxy_ = start_with_admin(options, &admin_port_, &error);
    ASSERT_NE(proxy_, nullptr) << error;
    auto client = Client::connect(proxy_->port());
    ASSERT_TRUE(client.has_value());
    client_ = std::move(*client);
  }

  std::map<std::string, std::string> settings() { return stats_of(client_, "settings"); }

  std::vector<uint16_t> upstream_ports_;
  std::vector<std::unique_ptr<ServerProcess>> upstreams_;
  std::unique_ptr<ServerProcess> proxy_;
  uint16_t admin_port_ = 0;
  Client client_;
};

TEST_F(UpstreamSplitSettings, ThresholdComesFromTheUpstreamsStatsSettings) {
  ASSERT_NO_FATAL_FAILURE(start_upstream(kTwoMiB));
  ASSERT_NO_FATAL_FAILURE(start_proxy({}));
  auto s = settings();
  EXPECT_EQ(s["mcguard_upstream_item_size_max"], "2097152");
  EXPECT_EQ(s["mcguard_upstream_split"], "on");
  EXPECT_EQ(s["mcguard_split_threshold"], "2096640") << "2 MiB less 512 bytes of item room";
  EXPECT_EQ(s["mcguard_upstream_split_grace"], "2000ms");
  EXPECT_EQ(s["item_size_max"], std::to_string(kMaxValueSize)) << "mcguard's own -I is unchanged";

  auto stats = stats_of(client_);
  EXPECT_EQ(stats["mcguard_split_threshold"], "2096640");
  for (const char* counter : {"mcguard_split_sets", "mcguard_split_gets",
                              "mcguard_split_chunks_written", "mcguard_split_chunks_read",
                              "mcguard_split_incomplete_misses", "mcguard_split_incomplete_closes",
                              "mcguard_split_orphan_cleanups", "mcguard_split_orphan_chunks"}) {
    EXPECT_EQ(stats.count(counter), 1u) << counter;
  }

  const HttpReply metrics = http_get(admin_port_, "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.head;
  for (const char* expected : {"\nmcguard_split_threshold_bytes 2096640\n",
                               "\n# TYPE mcguard_split_incomplete_total counter\n",
                               "\nmcguard_split_incomplete_total{outcome=\"miss\"} ",
                               "\nmcguard_split_incomplete_total{outcome=\"closed\"} "}) {
    EXPECT_NE(metrics.body.find(expected), std::string::npos) << "missing: " << expected;
  }
  if (have_promtool()) expect_promtool_accepts(metrics.body);
}

TEST_F(UpstreamSplitSettings, SmallestAnswerCountsAndSilentUpstreamsAreLeftOut) {
  std::string error;
  auto silent = FakeUpstream::start(FakeUpstream::Mode::kSilent, 0, "", &error);
  ASSERT_NE(silent, nullptr) << error;
  ASSERT_NO_FATAL_FAILURE(start_upstream(2 * kTwoMiB));
  ASSERT_NO_FATAL_FAILURE(start_upstream(kTwoMiB));
  upstream_ports_.push_back(silent->port());
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "300ms"}));
  auto s = settings();
  EXPECT_EQ(s["mcguard_upstream_item_size_max"], "2097152");
  EXPECT_EQ(s["mcguard_split_threshold"], "2096640");
}

TEST_F(UpstreamSplitSettings, NoAnswerFallsBackToOneMebibyte) {
  std::string error;
  auto silent = FakeUpstream::start(FakeUpstream::Mode::kSilent, 0, "", &error);
  ASSERT_NE(silent, nullptr) << error;
  upstream_ports_.push_back(silent->port());
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "300ms"}));
  auto s = settings();
  EXPECT_EQ(s["mcguard_upstream_item_size_max"], "1048576");
  EXPECT_EQ(s["mcguard_split_threshold"], "1048064");
}

TEST_F(UpstreamSplitSettings, TheOptionAndTheModeAreUsedAsGiven) {
  ASSERT_NO_FATAL_FAILURE(start_upstream(kTwoMiB));
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-item-size-max", "1m", "--upstream-split",
                                       "read-only", "--upstream-split-grace", "30s"}));
  auto s = settings();
  EXPECT_EQ(s["mcguard_upstream_split_grace"], "30000ms");
  EXPECT_EQ(s["mcguard_upstream_item_size_max"], "1048576");
  EXPECT_EQ(s["mcguard_upstream_split"], "read-only");
  EXPECT_EQ(s["mcguard_split_threshold"], "1048064");
}

TEST_F(UpstreamSplitSettings, EmbeddedTierShowsNoSplitLines) {
  ASSERT_NO_FATAL_FAILURE(start_proxy({}));
  const auto s = settings();
  EXPECT_EQ(s.count("mcguard_upstream_item_size_max"), 0u);
  for (const auto& [name, value] : s) EXPECT_EQ(name.find("split"), std::string::npos) << name;
  for (const auto& [name, value] : stats_of(client_)) {
    EXPECT_EQ(name.find("split"), std::string::npos) << name;
  }
  EXPECT_EQ(http_get(admin_port_, "/metrics").body.find("mcguard_split"), std::string::npos);
}

}  // namespace
}  // namespace mcguard::e2e
