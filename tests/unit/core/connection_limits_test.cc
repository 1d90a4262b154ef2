// Connection with a limit policy attached: the policy's limit (per prefix)
// decides, observe mode lets a value over its limit through up to the ceiling
// (max_value_size), and a value that arrives in pieces is counted once.
#include <gtest/gtest.h>

#include <string>

#include "proxy/core/connection.h"
#include "proxy/embedded/embedded_tier.h"
#include "test_support.h"

namespace mcguard {
namespace {

constexpr uint32_t kBufferSize = 4096;
constexpr uint64_t kCeiling = 100000;
constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";

EmbeddedConfig tier_config() {
  EmbeddedConfig config;
  config.memory_limit = 16u << 20;
  config.max_value_size = kCeiling;
  return config;
}

class ConnectionLimits : public ::testing::Test {
 protected:
  ConnectionLimits()
      : pool_(256, kBufferSize), tier_(tier_config()), context_{pool_,    tier_,   stats_,
                                                                nullptr,  nullptr, kCeiling,
                                                                1u << 20, 2000,    0,
                                                                nullptr} {
    context_.limits.attach(&box_);
  }

  void publish(LimitMode mode, uint64_t default_limit, std::vector<PrefixLimit> prefixes) {
    std::string error;
    auto policy = box_.build(mode, default_limit, kCeiling, prefixes, &error);
    ASSERT_NE(policy, nullptr) << error;
    box_.publish(std::move(policy));
  }

  // Sends a set of `size` bytes under `key` in pieces of `step` bytes; returns the reply.
  std::string set(Connection& connection, const std::string& key, size_t size, size_t step) {
    const std::string input =
        "set " + key + " 0 0 " + std::to_string(size) + "\r\n" + std::string(size, 'v') + "\r\n";
    std::string output;
    for (size_t at = 0; at < input.size(); at += step) {
      const size_t n = std::min(step, input.size() - at);
      EXPECT_EQ(connection.feed(input.data() + at, n), n);
      test::drain_connection(connection, output);
    }
    return output;
  }

  BufferPool pool_;
  EmbeddedTier tier_;
  WorkerStats stats_;
  ConnectionContext context_;
  LimitBox box_;
};

TEST_F(ConnectionLimits, PrefixLimitDecidesAndAValueInPiecesIsCountedOnce) {
  ASSERT_NO_FATAL_FAILURE(publish(LimitMode::kEnforce, 1000, {{"big:", 50000}}));
  Connection connection(context_, "test");
  EXPECT_EQ(set(connection, "big:1", 20000, 7), "STORED\r\n");
  EXPECT_EQ(set(connection, "small", 2000, 3), kTooLarge);
  EXPECT_EQ(set(connection, "small", 1000, 1), "STORED\r\n");
  EXPECT_EQ(stats_.rejected_too_large.get(), 1u);
  const uint32_t big_slot = box_.load()->match("big:").slot;
  uint64_t big_count = 0, other_count = 0;
  for (uint32_t b = 0; b < ValueSizeHistograms::kBuckets; ++b) {
    big_count += stats_.value_sizes.count(big_slot, b);
    other_count += stats_.value_sizes.count(0, b);
  }
  EXPECT_EQ(big_count, 1u) << "one set, however many pieces it came in";
  EXPECT_EQ(other_count, 2u);
  EXPECT_EQ(stats_.value_sizes.sum(big_slot), 20000u);
}

TEST_F(ConnectionLimits, ObserveModeLetsThroughUpToTheCeiling) {
  ASSERT_NO_FATAL_FAILURE(publish(LimitMode::kObserve, 1000, {}));
  Connection connection(context_, "test");
  EXPECT_EQ(set(connection, "k", 50000, 1000), "STORED\r\n");
  EXPECT_EQ(stats_.observed_over_limit.get(), 1u);
  EXPECT_EQ(set(connection, "k", kCeiling + 1, 5000), kTooLarge);
  EXPECT_EQ(stats_.rejected_over_ceiling.get(), 1u);
  EXPECT_EQ(stats_.observed_over_limit.get(), 1u);
  // Back to enforce (a reload): the next request sees it.
  ASSERT_NO_FATAL_FAILURE(publish(LimitMode::kEnforce, 1000, {}));
  EXPECT_EQ(set(connection, "k", 50000, 1000), kTooLarge);
  EXPECT_EQ(pool_.in_use(), 0u);
}

}  // namespace
}  // namespace mcguard
