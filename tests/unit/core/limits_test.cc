// LimitPolicy, LimitBox and LimitView: "PREFIX: SIZE" parsing, longest prefix
// wins, histogram slots that stay with their prefix across reloads, limits over
// the ceiling refused, and views that pick up a new policy by generation.
#include "proxy/core/limits.h"

#include <gtest/gtest.h>

#include "proxy/core/worker_stats.h"

namespace mcguard {
namespace {

TEST(PrefixLimit, PrefixIsWhatComesBeforeTheLastColon) {
  auto limit = parse_prefix_limit("session: 64k");
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->prefix, "session");
  EXPECT_EQ(limit->limit, 64u << 10);
  limit = parse_prefix_limit("user:profile:: 4m");
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->prefix, "user:profile:");
  EXPECT_EQ(limit->limit, 4u << 20);
  limit = parse_prefix_limit("a:100");
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->prefix, "a");
  EXPECT_EQ(limit->limit, 100u);
}

TEST(PrefixLimit, MalformedTextIsRefused) {
  for (const char* text : {"session 64k", ": 64k", "session:", "session: lots", "session: 0",
                           "two words: 1k", "tab\there: 1k", ""}) {
    EXPECT_FALSE(parse_prefix_limit(text).has_value()) << text;
  }
}

TEST(LimitPolicy, LongestMatchingPrefixWinsElseTheDefault) {
  LimitBox box;
  std::string error;
  auto policy = box.build(LimitMode::kEnforce, 1000, 1 << 20,
                          {{"a", 2000}, {"a:b:c", 100}, {"a:b", 8000}}, &error);
  ASSERT_NE(policy, nullptr) << error;
  EXPECT_EQ(policy->match("a:b:1").limit, 8000u);
  EXPECT_EQ(policy->match("a:b:c:1").limit, 100u);
  EXPECT_EQ(policy->match("a:x").limit, 2000u);
  EXPECT_EQ(policy->match("a").limit, 2000u);
  EXPECT_EQ(policy->match("b:a").limit, 1000u);
  EXPECT_EQ(policy->match("").limit, 1000u);
  EXPECT_EQ(policy->match("zzz").slot, 0u);
  EXPECT_NE(policy->match("a:b:1").slot, policy->match("a:x").slot);
  ASSERT_EQ(policy->rules().size(), 3u);
  EXPECT_EQ(policy->rules().front().prefix, "a:b:c") << "longest first";
}

TEST(LimitBox, SlotsStayWithTheirPrefixAcrossReloads) {
  LimitBox box;
  std::string error;
  auto first = box.build(LimitMode::kEnforce, 1000, 1 << 20, {{"a", 1}, {"b", 2}}, &error);
  ASSERT_NE(first, nullptr);
  const uint32_t slot_a = first->match("a").slot;
  const uint32_t slot_b = first->match("b").slot;
  auto second = box.build(LimitMode::kObserve, 1000, 1 << 20, {{"c", 3}, {"a", 5}}, &error);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->match("a").slot, slot_a);
  const uint32_t slot_c = second->match("c").slot;
  EXPECT_NE(slot_c, slot_a);
  EXPECT_NE(slot_c, slot_b) << "a removed prefix's slot is never reused";
  EXPECT_EQ(box.slot_count(), 4u);
  EXPECT_EQ(box.slot_prefix(0), "");
  EXPECT_EQ(box.slot_prefix(slot_c), "c");
}

TEST(LimitBox, RefusesLimitsOverTheCeilingAndDuplicatePrefixes) {
  LimitBox box;
  std::string error;
  EXPECT_EQ(box.build(LimitMode::kEnforce, 2000, 1000, {}, &error), nullptr);
  EXPECT_NE(error.find("ceiling"), std::string::npos) << error;
  EXPECT_EQ(box.build(LimitMode::kEnforce, 10, 1000, {{"a", 1001}}, &error), nullptr);
  EXPECT_NE(error.find("'a'"), std::string::npos) << error;
  EXPECT_EQ(box.build(LimitMode::kEnforce, 10, 1000, {{"a", 1}, {"a", 2}}, &error), nullptr);
  EXPECT_EQ(box.slot_count(), 1u) << "a refused policy claims no slot";
}

TEST(LimitBox, RefusesMorePrefixesThanSlotsOverTime) {
  LimitBox box;
  std::string error;
  for (uint32_t i = 0; i < kMaxPrefixSlots; ++i) {
    ASSERT_NE(box.build(LimitMode::kEnforce, 10, 1000, {{"p" + std::to_string(i), 5}}, &error),
              nullptr)
        << error;
  }
  EXPECT_EQ(box.build(LimitMode::kEnforce, 10, 1000, {{"one-more", 5}}, &error), nullptr);
  EXPECT_NE(box.build(LimitMode::kEnforce, 10, 1000, {{"p0", 6}}, &error), nullptr)
      << "a prefix seen before keeps its slot";
}

TEST(LimitView, PicksUpAPublishedPolicyByGeneration) {
  LimitBox box;
  std::string error;
  LimitView view;
  EXPECT_EQ(view.current(), nullptr) << "unattached";
  box.publish(box.build(LimitMode::kEnforce, 100, 1000, {}, &error));
  view.attach(&box);
  const LimitPolicy* first = view.current();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->default_limit(), 100u);
  EXPECT_EQ(view.current(), first) << "same generation, same snapshot";
  box.publish(box.build(LimitMode::kObserve, 200, 1000, {}, &error));
  const LimitPolicy* second = view.current();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->default_limit(), 200u);
  EXPECT_EQ(second->mode(), LimitMode::kObserve);
}

TEST(ValueSizeHistograms, PowerOfFourBucketsFrom64Bytes) {
  EXPECT_EQ(ValueSizeHistograms::bucket_of(0), 0u);
  EXPECT_EQ(ValueSizeHistograms::bucket_of(64), 0u);
  EXPECT_EQ(ValueSizeHistograms::bucket_of(65), 1u);
  EXPECT_EQ(ValueSizeHistograms::bucket_of(256), 1u);
  EXPECT_EQ(ValueSizeHistograms::bucket_of(257), 2u);
  EXPECT_EQ(ValueSizeHistograms::bucket_of(1 << 20), 7u);
  EXPECT_EQ(ValueSizeHistograms::bucket_of(64u << 20), 10u);
  EXPECT_EQ(ValueSizeHistograms::bucket_of((64u << 20) + 1), 11u) << "+Inf";
  for (uint32_t b = 0; b + 1 < ValueSizeHistograms::kBuckets; ++b) {
    const uint64_t bound = ValueSizeHistograms::bound(b);
    EXPECT_EQ(ValueSizeHistograms::bucket_of(bound), b);
    EXPECT_EQ(ValueSizeHistograms::bucket_of(bound + 1), b + 1);
  }
  ValueSizeHistograms h;
  h.record(3, 100);
  h.record(3, 200);
  h.record(kMaxPrefixSlots + 5, 10);  // out of range: counted as "no prefix"
  EXPECT_EQ(h.count(3, 1), 2u);
  EXPECT_EQ(h.sum(3), 300u);
  EXPECT_EQ(h.count(0, 0), 1u);
}

}  // namespace
}  // namespace mcguard
