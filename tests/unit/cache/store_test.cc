// Store: time conversion, LRU eviction order (within a shard and across shards),
// references keeping memory alive across delete and eviction, expiry and
// flush_all on a fake clock, and a random load that must never exceed the limit
// nor return a value other than the last one stored.
#include "cache/store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace mcguard {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr int64_t kStart = 1'700'000'000;

std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    s[i] = static_cast<char>('a' + (seed >> 16) % 26);
  }
  return s;
}

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> make(size_t limit, uint32_t shards = 1, size_t max_value = 8 * kMiB) {
    StoreConfig config;
    config.memory_limit = limit;
    config.max_value_size = max_value;
    config.shards = shards;
    config.clock = [this] { return clock_; };
    return std::make_unique<Store>(config);
  }

  // Stores key=value (replacing any old item); false when allocation failed.
  static bool set(Store& store, std::string_view key, std::string_view value, int64_t exptime = 0) {
    const uint32_t now = store.now();
    Store::AllocStatus status;
    ItemRef item = store.allocate(key, 0, store.expiry_time(exptime, now), value.size(), status);
    if (!item) return false;
    item_write_value(item.get(), 0, {value.data(), value.size()});
    Store::Locked lock(store, key, now);
    if (Item* old = lock.find()) {
      lock.replace(old, item.get());
    } else {
      lock.link(item.get());
    }
    return true;
  }

  // The value stored under key, or "<missing>".
  static std::string get(Store& store, std::string_view key, bool bump = true) {
    Store::Locked lock(store, key, store.now());
    Item* item = lock.find();
    if (item == nullptr) return "<missing>";
    if (bump) lock.fetched(item);
    std::string out(item->value_length, '\0');
    item_read_value(item, 0, {out.data(), out.size()});
    return out;
  }

  static ItemRef ref(Store& store, std::string_view key) {
    Store::Locked lock(store, key, store.now());
    Item* item = lock.find();
    return item != nullptr ? lock.share(item) : ItemRef();
  }

  static bool remove(Store& store, std::string_view key) {
    Store::Locked lock(store, key, store.now());
    Item* item = lock.find();
    if (item == nullptr) return false;
    lock.unlink(item);
    return true;
  }

  int64_t clock_ = kStart;
};

TEST_F(StoreTest, ExpiryTimeFollowsMemcachedsRealtime) {
  auto store = make(kMiB);
  const uint32_t now = store->now();
  EXPECT_EQ(store->unix_time(now), kStart);
  EXPECT_EQ(store->expiry_time(0, now), 0u);
  EXPECT_EQ(store->expiry_time(10, now), now + 10);
  EXPECT_EQ(store->expiry_time(Store::kMaxRelativeExptime, now), now + Store::kMaxRelativeExptime);
  // Beyond 30 days: an absolute time.
  EXPECT_EQ(store->expiry_time(kStart + 100, now), now + 100);
  // Absolute times before the store started, and negative times, are already past.
  EXPECT_EQ(store->expiry_time(kStart - 1'000'000, now), 1u);
  EXPECT_EQ(store->expiry_time(-1, now), 1u);
  EXPECT_LT(store->expiry_time(-1, now), now);
}

TEST_F(StoreTest, LinkFindUnlinkAndCounters) {
  auto store = make(kMiB);
  EXPECT_EQ(get(*store, "a"), "<missing>");
  ASSERT_TRUE(set(*store, "a", "one"));
  ASSERT_TRUE(set(*store, "b", "two"));
  ASSERT_TRUE(set(*store, "a", "three"));
  EXPECT_EQ(get(*store, "a"), "three");
  EXPECT_EQ(get(*store, "b"), "two");
  StoreTotals t = store->totals();
  EXPECT_EQ(t.curr_items, 2u);
  EXPECT_EQ(t.total_items, 3u);
  EXPECT_EQ(t.memory_in_use, 2 * 128u);
  EXPECT_TRUE(remove(*store, "a"));
  EXPECT_FALSE(remove(*store, "a"));
  t = store->totals();
  EXPECT_EQ(t.curr_items, 1u);
  EXPECT_EQ(t.memory_in_use, 128u);
}

TEST_F(StoreTest, CasUniquesComeFromOneCounter) {
  auto store = make(kMiB, 4);
  ASSERT_TRUE(set(*store, "a", "x"));
  ASSERT_TRUE(set(*store, "b", "x"));
  ASSERT_TRUE(set(*store, "a", "y"));
  EXPECT_EQ(ref(*store, "a").cas(), 3u);
  EXPECT_EQ(ref(*store, "b").cas(), 2u);
  EXPECT_EQ(store->next_cas(), 4u);
}

// 2 KiB blocks: 1 MiB holds exactly 512 of these items.
constexpr size_t kItemValue = 1900;

TEST_F(StoreTest, EvictsLeastRecentlyUsedFirst) {
  auto store = make(kMiB);
  for (int i = 0; i < 512; ++i)
    ASSERT_TRUE(set(*store, "k" + std::to_string(i), pattern(kItemValue, i)));
  EXPECT_EQ(store->totals().evictions, 0u);
  EXPECT_EQ(store->allocator().in_use(), kMiB);

  ASSERT_TRUE(set(*store, "new0", pattern(kItemValue, 1000)));
  EXPECT_EQ(store->totals().evictions, 1u);
  EXPECT_EQ(get(*store, "k0", false), "<missing>");
  EXPECT_EQ(get(*store, "k1", false), pattern(kItemValue, 1));

  // A read moves k1 to the head: k2 goes next, then k3.
  EXPECT_EQ(get(*store, "k1"), pattern(kItemValue, 1));
  ASSERT_TRUE(set(*store, "new1", pattern(kItemValue, 1001)));
  ASSERT_TRUE(set(*store, "new2", pattern(kItemValue, 1002)));
  EXPECT_EQ(get(*store, "k2", false), "<missing>");
  EXPECT_EQ(get(*store, "k3", false), "<missing>");
  EXPECT_EQ(get(*store, "k1", false), pattern(kItemValue, 1));
  EXPECT_EQ(get(*store, "k4", false), pattern(kItemValue, 4));
  EXPECT_EQ(store->totals().evictions, 3u);
  EXPECT_EQ(store->totals().evicted_unfetched, 3u);
  EXPECT_EQ(store->totals().curr_items, 512u);
}

TEST_F(StoreTest, EvictionPicksTheOldestTailAcrossShards) {
  auto store = make(kMiB, 8);
  // One item per second: their times order them globally.
  for (int i = 0; i < 512; ++i) {
    ASSERT_TRUE(set(*store, "k" + std::to_string(i), pattern(kItemValue, i)));
    ++clock_;
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(set(*store, "n" + std::to_string(i), pattern(kItemValue, i)));
    ++clock_;
  }
  for (int i = 0; i < 512; ++i) {
    EXPECT_EQ(get(*store, "k" + std::to_string(i), false) == "<missing>", i < 100) << i;
  }
}

TEST_F(StoreTest, EvictionSkipsItemsBeingRead) {
  auto store = make(kMiB);
  for (int i = 0; i < 512; ++i)
    ASSERT_TRUE(set(*store, "k" + std::to_string(i), pattern(kItemValue, i)));
  ItemRef held = ref(*store, "k0");  // the LRU tail, as if a reply were sending it
  ASSERT_TRUE(held);
  ASSERT_TRUE(set(*store, "new", pattern(kItemValue, 7)));
  EXPECT_EQ(get(*store, "k0", false), pattern(kItemValue, 0)) << "k0 was being read";
  EXPECT_EQ(get(*store, "k1", false), "<missing>");
}

TEST_F(StoreTest, ReferenceKeepsMemoryAcrossDeleteAndChurn) {
  auto store = make(kMiB);
  const std::string value = pattern(100000, 99);
  ASSERT_TRUE(set(*store, "big", value));
  ItemRef held = ref(*store, "big");
  const size_t in_use = store->allocator().in_use();
  ASSERT_TRUE(remove(*store, "big"));
  EXPECT_EQ(store->totals().curr_items, 0u);
  EXPECT_EQ(store->allocator().in_use(), in_use) << "the reference keeps the blocks";
  // Churn through the whole cache several times: the held blocks stay untouched.
  for (int i = 0; i < 2000; ++i)
    ASSERT_TRUE(set(*store, "c" + std::to_string(i), pattern(kItemValue, i)));
  std::string out(value.size(), '\0');
  item_read_value(held.get(), 0, {out.data(), out.size()});
  EXPECT_EQ(out, value);
  EXPECT_EQ(held.key(), "big");
  const size_t before = store->allocator().in_use();
  held.reset();
  EXPECT_LT(store->allocator().in_use(), before) << "the last reference frees it";
}

TEST_F(StoreTest, OutOfMemoryWhenNothingCanBeEvicted) {
  auto store = make(kMiB);
  std::vector<ItemRef> held;
  for (int i = 0; i < 512; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(set(*store, key, pattern(kItemValue, i)));
    held.push_back(ref(*store, key));
  }
  Store::AllocStatus status;
  EXPECT_FALSE(store->allocate("x", 0, 0, 10, status));
  EXPECT_EQ(status, Store::AllocStatus::kNoMemory);
  EXPECT_EQ(store->totals().curr_items, 512u) << "nothing was evicted";
  held.clear();
  EXPECT_TRUE(store->allocate("x", 0, 0, 10, status)) << "evictable again once released";
}

TEST_F(StoreTest, TooLargeAndLargerThanMemory) {
  auto store = make(kMiB, 1, 4 * kMiB);
  ASSERT_TRUE(set(*store, "a", "x"));
  Store::AllocStatus status;
  EXPECT_FALSE(store->allocate("v", 0, 0, 4 * kMiB + 1, status));
  EXPECT_EQ(status, Store::AllocStatus::kTooLarge);
  // Allowed by max_value_size but larger than the whole cache: refused at once,
  // without evicting everything first.
  EXPECT_FALSE(store->allocate("v", 0, 0, 2 * kMiB, status));
  EXPECT_EQ(status, Store::AllocStatus::kNoMemory);
  EXPECT_EQ(get(*store, "a"), "x");
}

TEST_F(StoreTest, LargeValueEvictsEnoughSmallOnes) {
  auto store = make(4 * kMiB);
  for (int i = 0; i < 2048; ++i)
    ASSERT_TRUE(set(*store, "k" + std::to_string(i), pattern(kItemValue, i)));
  const std::string big = pattern(3 * kMiB + 1000, 5);
  ASSERT_TRUE(set(*store, "big", big));
  EXPECT_EQ(get(*store, "big"), big);
  EXPECT_LE(store->allocator().in_use(), store->memory_limit());
  EXPECT_GT(store->totals().evictions, 1500u);
}

TEST_F(StoreTest, ItemsExpireOnTheFakeClock) {
  auto store = make(kMiB);
  ASSERT_TRUE(set(*store, "short", "s", 10));
  ASSERT_TRUE(set(*store, "never", "n", 0));
  ASSERT_TRUE(set(*store, "past", "p", -1));
  EXPECT_EQ(get(*store, "past"), "<missing>");
  clock_ += 9;
  EXPECT_EQ(get(*store, "short"), "s");
  clock_ += 1;
  EXPECT_EQ(get(*store, "short"), "<missing>");
  clock_ += 100'000'000;
  EXPECT_EQ(get(*store, "never"), "n");
  EXPECT_EQ(store->totals().get_expired, 2u);
  EXPECT_EQ(store->totals().curr_items, 1u);
}

TEST_F(StoreTest, ExpiredItemsAreReclaimedBeforeLiveOnesAreEvicted) {
  auto store = make(kMiB);
  // k0 (the LRU tail) lives; k1..k3 expire after 5 s.
  for (int i = 0; i < 512; ++i) {
    ASSERT_TRUE(
        set(*store, "k" + std::to_string(i), pattern(kItemValue, i), i >= 1 && i <= 3 ? 5 : 0));
  }
  clock_ += 5;
  ASSERT_TRUE(set(*store, "new", pattern(kItemValue, 1)));
  const StoreTotals t = store->totals();
  EXPECT_EQ(t.reclaimed, 3u) << "expired items near the tail made room";
  EXPECT_EQ(t.expired_unfetched, 3u);
  EXPECT_EQ(t.evictions, 0u);
  EXPECT_EQ(get(*store, "k0", false), pattern(kItemValue, 0)) << "the live tail stays";
}

TEST_F(StoreTest, FlushAllNowHidesEverythingWrittenBefore) {
  auto store = make(kMiB);
  ASSERT_TRUE(set(*store, "old", "1"));
  clock_ += 5;
  ASSERT_TRUE(set(*store, "same_second", "2"));
  store->flush_all(0, store->now());
  ASSERT_TRUE(set(*store, "after", "3"));
  EXPECT_EQ(get(*store, "old"), "<missing>");
  EXPECT_EQ(get(*store, "same_second"), "<missing>") << "CAS orders writes within a second";
  EXPECT_EQ(get(*store, "after"), "3");
  EXPECT_EQ(store->totals().get_flushed, 2u);
  clock_ += 1;
  EXPECT_EQ(get(*store, "after"), "3");
}

TEST_F(StoreTest, FlushAllWithDelayTakesEffectASecondEarly) {
  auto store = make(kMiB);
  ASSERT_TRUE(set(*store, "a", "1"));
  store->flush_all(10, store->now());
  clock_ += 8;
  EXPECT_EQ(get(*store, "a"), "1");
  ASSERT_TRUE(set(*store, "b", "2"));
  // memcached sets oldest_live to the flush time minus one.
  clock_ += 1;
  EXPECT_EQ(get(*store, "a"), "<missing>");
  EXPECT_EQ(get(*store, "b"), "<missing>");
  ASSERT_TRUE(set(*store, "c", "3"));
  EXPECT_EQ(get(*store, "c"), "<missing>") << "written at the flush second itself";
  clock_ += 1;
  ASSERT_TRUE(set(*store, "d", "4"));
  EXPECT_EQ(get(*store, "d"), "4");
}

TEST_F(StoreTest, FlushAllAtAPastAbsoluteTimeDoesNothing) {
  auto store = make(kMiB);
  ASSERT_TRUE(set(*store, "a", "1"));
  store->flush_all(kStart - 1'000'000, store->now());
  EXPECT_EQ(get(*store, "a"), "1");
}

// Random sets (small to chunked), deletes and reads, some values held by
// references while the load goes on: the allocator never goes past the limit, and
// a key reads back either missing or exactly its latest value.
TEST_F(StoreTest, RandomLoadStaysWithinTheLimit) {
  auto store = make(3 * kMiB + 100 * 1024, 4, 2 * kMiB);
  std::mt19937 rng(2024);
  std::map<std::string, std::string> latest;
  std::vector<std::pair<ItemRef, std::string>> held;
  for (int step = 0; step < 20000; ++step) {
    const std::string key = "k" + std::to_string(rng() % 300);
    const unsigned op = rng() % 10;
    if (op < 5) {
      size_t length = rng() % 2000;
      if (rng() % 50 == 0) length = rng() % (2 * kMiB);
      const std::string value = pattern(length, rng());
      if (set(*store, key, value)) {
        latest[key] = value;
      } else {
        latest.erase(key);  // a failed set leaves no stale value behind in the model
        remove(*store, key);
      }
    } else if (op < 6) {
      remove(*store, key);
      latest.erase(key);
    } else if (op < 9) {
      const std::string got = get(*store, key);
      if (got != "<missing>") {
        ASSERT_TRUE(latest.count(key)) << key;
        ASSERT_EQ(got, latest[key]) << key;
      }
    } else if (held.size() < 8) {
      if (ItemRef r = ref(*store, key)) held.emplace_back(std::move(r), latest[key]);
    } else {
      for (auto& [r, value] : held) {
        std::string out(r.value_length(), '\0');
        item_read_value(r.get(), 0, {out.data(), out.size()});
        ASSERT_EQ(out, value) << "a held value changed under its reference";
      }
      held.clear();
    }
    ASSERT_LE(store->allocator().in_use(), store->memory_limit());
  }
  held.clear();
  for (int i = 0; i < 300; ++i) remove(*store, "k" + std::to_string(i));
  EXPECT_EQ(store->allocator().in_use(), 0u) << "no block leaked";
  EXPECT_EQ(store->totals().curr_items, 0u);
}

}  // namespace
}  // namespace mcguard
