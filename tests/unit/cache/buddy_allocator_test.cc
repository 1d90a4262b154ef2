// BuddyAllocator: block sizes and alignment, coalescing back to whole blocks,
// odd region sizes, and a long random run checked against a model of which bytes
// are handed out (no overlap, never beyond the region, contents undisturbed).
#include "cache/buddy_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <vector>

namespace mcguard {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

TEST(BuddyAllocator, OrderForRoundsUpToAPowerOfTwo) {
  EXPECT_EQ(BuddyAllocator::order_for(0), 0u);
  EXPECT_EQ(BuddyAllocator::order_for(1), 0u);
  EXPECT_EQ(BuddyAllocator::order_for(64), 0u);
  EXPECT_EQ(BuddyAllocator::order_for(65), 1u);
  EXPECT_EQ(BuddyAllocator::order_for(128), 1u);
  EXPECT_EQ(BuddyAllocator::order_for(129), 2u);
  EXPECT_EQ(BuddyAllocator::order_for(kMiB / 2 + 1), 14u);
  EXPECT_EQ(BuddyAllocator::order_for(kMiB), 14u);
  EXPECT_EQ(BuddyAllocator::order_for(kMiB + 1), BuddyAllocator::kNoOrder);
  EXPECT_EQ(BuddyAllocator::block_size(14), kMiB);
}

TEST(BuddyAllocator, BlocksAreAlignedToTheirSizeAndInsideTheRegion) {
  BuddyAllocator a(4 * kMiB);
  for (unsigned order = 0; order <= BuddyAllocator::kMaxOrder; ++order) {
    void* p = a.allocate(order);
    ASSERT_NE(p, nullptr) << order;
    EXPECT_TRUE(a.contains(p));
    EXPECT_TRUE(a.contains(static_cast<char*>(p) + BuddyAllocator::block_size(order) - 1));
    const size_t alignment = std::min<size_t>(BuddyAllocator::block_size(order), 4096);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << order;
    EXPECT_EQ(a.allocated_order(p), order);
    EXPECT_EQ(BuddyAllocator::owner_of(p), &a);
  }
  EXPECT_EQ(a.allocate(BuddyAllocator::kMaxOrder + 1), nullptr);
}

TEST(BuddyAllocator, FillsTheRegionExactlyThenRefuses) {
  BuddyAllocator a(2 * kMiB);
  std::vector<void*> blocks;
  while (void* p = a.allocate(4)) blocks.push_back(p);  // 1 KiB blocks
  EXPECT_EQ(blocks.size(), 2 * kMiB / 1024);
  EXPECT_EQ(a.in_use(), a.capacity());
  EXPECT_EQ(a.allocate(0), nullptr);
  a.free(blocks.back());
  blocks.pop_back();
  EXPECT_NE(a.allocate(0), nullptr) << "a freed block splits for a smaller request";
  EXPECT_EQ(a.allocate(4), nullptr);
}

TEST(BuddyAllocator, FreeingEverythingCoalescesIntoWholeBlocks) {
  BuddyAllocator a(3 * kMiB);
  std::vector<void*> blocks;
  while (void* p = a.allocate(0)) blocks.push_back(p);
  ASSERT_EQ(blocks.size(), 3 * kMiB / 64);
  std::mt19937 rng(7);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  a.free(blocks);
  EXPECT_EQ(a.in_use(), 0u);
  EXPECT_EQ(a.free_blocks(BuddyAllocator::kMaxOrder), 3u);
  for (unsigned order = 0; order < BuddyAllocator::kMaxOrder; ++order) {
    EXPECT_EQ(a.free_blocks(order), 0u) << order;
  }
  // And the whole blocks are usable again at the largest size.
  for (int i = 0; i < 3; ++i) EXPECT_NE(a.allocate(BuddyAllocator::kMaxOrder), nullptr);
  EXPECT_EQ(a.allocate(0), nullptr);
}

TEST(BuddyAllocator, OddRegionSizeUsesItsTailAndNeverCoalescesPastTheEnd) {
  // 1 MiB + 512 KiB + 64 KiB + 3 * 64 B (the tail below 64 B is unusable).
  const size_t capacity = kMiB + kMiB / 2 + 64 * 1024 + 3 * 64 + 17;
  BuddyAllocator a(capacity);
  EXPECT_EQ(a.capacity(), capacity / 64 * 64);
  EXPECT_EQ(a.largest_order(), BuddyAllocator::kMaxOrder);
  std::vector<void*> blocks;
  while (void* p = a.allocate(0)) blocks.push_back(p);
  EXPECT_EQ(blocks.size() * 64, a.capacity());
  a.free(blocks);
  EXPECT_EQ(a.free_blocks(14), 1u);
  EXPECT_EQ(a.free_blocks(13), 1u);
  EXPECT_EQ(a.free_blocks(10), 1u);
  EXPECT_EQ(a.free_blocks(1), 1u);  // 3 * 64 B: one 128 B block and one 64 B block
  EXPECT_EQ(a.free_blocks(0), 1u);
  EXPECT_EQ(a.free_blocks(12), 0u);
}

TEST(BuddyAllocator, SmallRegionFormsOnlySmallBlocks) {
  BuddyAllocator a(300 * 1024);
  EXPECT_EQ(a.largest_order(), 12u);  // 256 KiB
  EXPECT_EQ(a.allocate(13), nullptr);
  EXPECT_NE(a.allocate(12), nullptr);
  BuddyAllocator tiny(10);
  EXPECT_EQ(tiny.largest_order(), BuddyAllocator::kNoOrder);
  EXPECT_EQ(tiny.allocate(0), nullptr);
}

TEST(BuddyAllocator, OwnerOfFindsEachAllocator) {
  BuddyAllocator a(kMiB);
  BuddyAllocator b(kMiB);
  void* pa = a.allocate(0);
  void* pb = b.allocate(0);
  EXPECT_EQ(BuddyAllocator::owner_of(pa), &a);
  EXPECT_EQ(BuddyAllocator::owner_of(pb), &b);
  int local = 0;
  EXPECT_EQ(BuddyAllocator::owner_of(&local), nullptr);
  a.free(pa);
  b.free(pb);
}

// Random allocations and frees against a model: every live block is disjoint
// from every other, inside the region, aligned, and keeps the bytes written
// into it; in_use always equals the model's total and never exceeds capacity.
TEST(BuddyAllocator, RandomAllocFreeAgreesWithModel) {
  const size_t capacity = 5 * kMiB + 300 * 1024;
  BuddyAllocator a(capacity);
  struct Live {
    size_t size;
    unsigned char fill;
  };
  std::map<char*, Live> live;
  std::mt19937 rng(12345);
  size_t model_bytes = 0;
  size_t refusals = 0;
  auto check_fill = [](char* p, const Live& l) {
    // First, middle and last bytes suffice to catch an overlapping block.
    return static_cast<unsigned char>(p[0]) == l.fill &&
           static_cast<unsigned char>(p[l.size / 2]) == l.fill &&
           static_cast<unsigned char>(p[l.size - 1]) == l.fill;
  };
  for (int step = 0; step < 200000; ++step) {
    const bool do_alloc = live.empty() || rng() % 100 < 55;
    if (do_alloc) {
      // Mostly small orders, sometimes big ones.
      const unsigned order = rng() % 10 == 0 ? rng() % 15 : rng() % 6;
      char* p = static_cast<char*>(a.allocate(order));
      const size_t size = BuddyAllocator::block_size(order);
      if (p == nullptr) {
        // Refused: then no free block of this order or larger may exist.
        ++refusals;
        for (unsigned k = order; k <= BuddyAllocator::kMaxOrder; ++k) {
          ASSERT_EQ(a.free_blocks(k), 0u) << "refused order " << order << " with one free";
        }
        continue;
      }
      ASSERT_TRUE(a.contains(p) && a.contains(p + size - 1));
      // Aligned to its own size, relative to the (page-aligned) region.
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % std::min<size_t>(size, 4096), 0u);
      auto next = live.lower_bound(p);
      if (next != live.end()) {
        ASSERT_LE(p + size, next->first) << "overlaps the next block";
      }
      if (next != live.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second.size, p) << "overlaps the previous block";
      }
      const auto fill = static_cast<unsigned char>(rng());
      std::memset(p, fill, size);
      live[p] = {size, fill};
      model_bytes += size;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      ASSERT_TRUE(check_fill(it->first, it->second)) << "block contents were disturbed";
      a.free(it->first);
      model_bytes -= it->second.size;
      live.erase(it);
    }
    ASSERT_EQ(a.in_use(), model_bytes);
    ASSERT_LE(a.in_use(), a.capacity());
  }
  for (auto& [p, l] : live) {
    ASSERT_TRUE(check_fill(p, l));
    a.free(p);
  }
  EXPECT_GT(refusals, 0u) << "the run should have filled the region at times";
  EXPECT_EQ(a.in_use(), 0u);
  // Fully coalesced: 5 whole MiB blocks plus the 300 KiB tail (256 + 32 + 8 + 4).
  EXPECT_EQ(a.free_blocks(14), 5u);
  EXPECT_EQ(a.free_blocks(12), 1u);
  EXPECT_EQ(a.free_blocks(9), 1u);
  EXPECT_EQ(a.free_blocks(7), 1u);
  EXPECT_EQ(a.free_blocks(6), 1u);
}

}  // namespace
}  // namespace mcguard
