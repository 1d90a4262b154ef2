// StoreReports over a store with a fake clock: `stats slabs`, `items`, `sizes`
// and `cachedump` count what the store holds, by size class, in memcached's
// reply shapes; cachedump lists the most recently stored first and keeps to its
// limit; sizes counts only what was stored after sizes_enable.
#include "proxy/embedded/store_reports.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "cache/size_classes.h"

namespace mcguard {
namespace {

constexpr int64_t kStart = 1'800'000'000;

class StoreReportsTest : public ::testing::Test {
 protected:
  StoreReportsTest() {
    StoreConfig config;
    config.memory_limit = 8u << 20;
    config.shards = 4;
    config.clock = [] { return kStart; };
    store_ = std::make_unique<Store>(config);
    reports_ = std::make_unique<StoreReports>(*store_);
  }

  void set(std::string_view key, size_t value_length, int64_t exptime = 0) {
    const uint32_t now = store_->now();
    Store::AllocStatus status;
    ItemRef item =
        store_->allocate(key, 0, store_->expiry_time(exptime, now), value_length, status);
    ASSERT_TRUE(item);
    const std::string value(value_length, 'v');
    item_write_value(item.get(), 0, {value.data(), value.size()});
    Store::Locked lock(*store_, key, now);
    if (Item* old = lock.find()) {
      lock.replace(old, item.get());
    } else {
      lock.link(item.get());
    }
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreReports> reports_;
};

TEST_F(StoreReportsTest, CachedumpListsAClassMostRecentFirst) {
  set("a", 1);
  set("b", 5, kStart + 1000);
  set("c", 10);
  set("big", 4000);  // 4067 bytes: class 7 (4096)
  // 64-byte header, key and value: 66..75 bytes, the 128-byte class 2.
  EXPECT_EQ(reports_->cachedump("2", "0"), "ITEM c [10 b; 0 s]\r\nITEM b [5 b; " +
                                               std::to_string(kStart + 1000) +
                                               " s]\r\nITEM a [1 b; 0 s]\r\nEND\r\n");
  EXPECT_EQ(reports_->cachedump("2", "2"), "ITEM c [10 b; 0 s]\r\nITEM b [5 b; " +
                                               std::to_string(kStart + 1000) + " s]\r\nEND\r\n");
  EXPECT_EQ(reports_->cachedump("7", "0"), "ITEM big [4000 b; 0 s]\r\nEND\r\n");
  EXPECT_EQ(reports_->cachedump("1", "0"), "END\r\n");
  EXPECT_EQ(reports_->cachedump("63", "0"), "END\r\n");
  EXPECT_EQ(reports_->cachedump("64", "0"), "CLIENT_ERROR Illegal slab id\r\n");
  EXPECT_EQ(reports_->cachedump("2", ""), "CLIENT_ERROR bad command line\r\n");
  EXPECT_EQ(reports_->cachedump("2", "-1"), "CLIENT_ERROR bad command line format\r\n");
}

TEST_F(StoreReportsTest, CachedumpStopsAtTwoMebibytes) {
  // 20,000 items with 200-byte keys (the newest 16,384 fit in the store): over
  // 3 MiB of ITEM lines.
  for (int i = 0; i < 20000; ++i) {
    std::string key = std::to_string(i);
    key.resize(200, 'k');
    set(key, 1);
  }
  unsigned size_class = 0;
  store_->for_each_item([&](const Item& item) { size_class = size_class_of(item); });
  const std::string dump = reports_->cachedump(std::to_string(size_class), "0");
  EXPECT_LE(dump.size(), StoreReports::kCachedumpTextLimit);
  EXPECT_GT(dump.size(), StoreReports::kCachedumpTextLimit - 300);
  EXPECT_TRUE(dump.starts_with("ITEM 19999")) << dump.substr(0, 80);
  EXPECT_TRUE(dump.ends_with("END\r\n"));
}

TEST_F(StoreReportsTest, ItemsAndSlabsCountByClass) {
  set("a", 1);
  set("b", 10);
  set("big", 4000);
  set("chunked", 5000);  // kept in 4096 + 1024 byte blocks, listed by its whole size
  const std::string items = reports_->items();
  EXPECT_NE(items.find("STAT items:2:number 2\r\n"), std::string::npos) << items;
  EXPECT_NE(items.find("STAT items:2:number_cold 2\r\n"), std::string::npos) << items;
  EXPECT_NE(items.find("STAT items:2:mem_requested " + std::to_string(2 * 64 + 2 + 11)),
            std::string::npos)
      << items;
  EXPECT_NE(items.find("STAT items:7:number 1\r\n"), std::string::npos) << items;
  EXPECT_NE(items.find("STAT items:8:number 1\r\n"), std::string::npos) << items;
  EXPECT_TRUE(items.ends_with("STAT items:8:hits_to_temp 0\r\nEND\r\n")) << items;
  const std::string slabs = reports_->slabs();
  EXPECT_NE(slabs.find("STAT 2:chunk_size 128\r\n"), std::string::npos) << slabs;
  // a, b and the chunked item's header block.
  EXPECT_NE(slabs.find("STAT 2:used_chunks 3\r\n"), std::string::npos) << slabs;
  EXPECT_NE(slabs.find("STAT 7:chunk_size 4096\r\n"), std::string::npos) << slabs;
  EXPECT_EQ(slabs.find("STAT 8:chunk_size"), std::string::npos) << slabs;  // no 8 KiB block
  EXPECT_NE(slabs.find("STAT active_slabs"), std::string::npos) << slabs;
  EXPECT_TRUE(slabs.ends_with("END\r\n"));
}

TEST_F(StoreReportsTest, SizesCountOnlyItemsStoredSinceEnabled) {
  set("before", 1);
  EXPECT_EQ(reports_->sizes(), "STAT sizes_status disabled\r\nEND\r\n");
  EXPECT_EQ(reports_->enable_sizes(), "STAT sizes_status enabled\r\n");
  EXPECT_EQ(reports_->sizes(), "END\r\n");
  set("a", 1);    // 66 bytes: the 96 bucket
  set("b", 20);   // 85 bytes: 96 too
  set("c", 100);  // 165: 192
  EXPECT_EQ(reports_->sizes(), "STAT 96 2\r\nSTAT 192 1\r\nEND\r\n");
  EXPECT_EQ(reports_->disable_sizes(), "STAT sizes_status disabled\r\n");
  EXPECT_EQ(reports_->sizes(), "STAT sizes_status disabled\r\nEND\r\n");
}

}  // namespace
}  // namespace mcguard
