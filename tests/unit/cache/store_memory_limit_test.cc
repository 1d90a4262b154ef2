// Store::set_memory_limit (cache_memlimit): lowering the limit evicts down to it at
// once, least recently used first, and keeps later allocations under it; raising it
// goes back up to the region mapped at start-up and no further. The allocator's own
// limit refuses a block that would pass it.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "cache/buddy_allocator.h"
#include "cache/store.h"

namespace mcguard {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

std::unique_ptr<Store> make_store(size_t limit) {
  StoreConfig config;
  config.memory_limit = limit;
  config.max_value_size = 16 * kMiB;
  config.shards = 4;
  config.clock = [] { return int64_t{1'700'000'000}; };
  return std::make_unique<Store>(config);
}

bool set(Store& store, const std::string& key, size_t size) {
  const uint32_t now = store.now();
  Store::AllocStatus status;
  ItemRef item = store.allocate(key, 0, 0, size, status);
  if (!item) return false;
  const std::string value(size, 'v');
  item_write_value(item.get(), 0, {value.data(), value.size()});
  Store::Locked lock(store, key, now);
  if (Item* old = lock.find()) {
    lock.replace(old, item.get());
  } else {
    lock.link(item.get());
  }
  return true;
}

bool present(Store& store, const std::string& key) {
  Store::Locked lock(store, key, store.now());
  return lock.find() != nullptr;
}

TEST(BuddyAllocatorLimit, RefusesABlockThatWouldPassIt) {
  BuddyAllocator allocator(4 * kMiB);
  EXPECT_EQ(allocator.limit(), 4 * kMiB);
  allocator.set_limit(kMiB);
  void* a = allocator.allocate(BuddyAllocator::kMaxOrder);  // exactly 1 MiB: fits
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(allocator.allocate(0), nullptr);  // 64 more bytes would pass the limit
  allocator.free(a);
  void* b = allocator.allocate(0);
  EXPECT_NE(b, nullptr);
  allocator.free(b);
  allocator.set_limit(64 * kMiB);  // beyond the region: the region
  EXPECT_EQ(allocator.limit(), 4 * kMiB);
}

TEST(StoreMemoryLimit, LoweringEvictsDownToTheLimitOldestFirst) {
  auto store = make_store(32 * kMiB);
  int stored = 0;
  while (store->allocator().in_use() < 24 * kMiB) {
    ASSERT_TRUE(set(*store, "k" + std::to_string(stored), 10000));
    ++stored;
  }
  const uint64_t items_before = store->totals().curr_items;
  EXPECT_EQ(store->set_memory_limit(8 * kMiB), 8 * kMiB);
  EXPECT_EQ(store->memory_limit(), 8 * kMiB);
  EXPECT_EQ(store->totals().memory_limit, 8 * kMiB);
  EXPECT_LE(store->allocator().in_use(), 8 * kMiB);
  const StoreTotals after = store->totals();
  EXPECT_LT(after.curr_items, items_before);
  EXPECT_EQ(after.evictions, items_before - after.curr_items);
  // The least recently used went; the newest stayed.
  EXPECT_FALSE(present(*store, "k0"));
  EXPECT_TRUE(present(*store, "k" + std::to_string(stored - 1)));
}

TEST(StoreMemoryLimit, LaterItemsStayUnderALoweredLimit) {
  auto store = make_store(32 * kMiB);
  store->set_memory_limit(8 * kMiB);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(set(*store, "k" + std::to_string(i), 10000)) << i;
    ASSERT_LE(store->allocator().in_use(), 8 * kMiB) << i;
  }
  EXPECT_TRUE(present(*store, "k2999"));
  EXPECT_GT(store->totals().evictions, 0u);
}

TEST(StoreMemoryLimit, AnItemLargerThanTheLimitEvictsNothing) {
  auto store = make_store(32 * kMiB);
  store->set_memory_limit(8 * kMiB);
  ASSERT_TRUE(set(*store, "small", 100));
  Store::AllocStatus status;
  ItemRef big = store->allocate("big", 0, 0, 9 * kMiB, status);
  EXPECT_FALSE(big);
  EXPECT_EQ(status, Store::AllocStatus::kNoMemory);
  EXPECT_TRUE(present(*store, "small"));
}

TEST(StoreMemoryLimit, RaisingIsClampedToTheRegion) {
  auto store = make_store(16 * kMiB);
  store->set_memory_limit(8 * kMiB);
  EXPECT_EQ(store->set_memory_limit(12 * kMiB), 12 * kMiB);
  EXPECT_EQ(store->set_memory_limit(100 * kMiB), 16 * kMiB);
  EXPECT_EQ(store->memory_limit(), 16 * kMiB);
  // The whole region is usable again.
  int stored = 0;
  while (store->totals().evictions == 0 && stored < 5000) {
    ASSERT_TRUE(set(*store, "k" + std::to_string(stored), 10000));
    ++stored;
  }
  EXPECT_GT(store->allocator().in_use(), 12 * kMiB);
}

}  // namespace
}  // namespace mcguard
