// Several threads at once, on a cache small enough to evict all the time: the
// store (set/get/delete with references held across other threads' churn, every
// value checked against its self-describing contents) and the embedded tier (incr and
// append from every thread must not lose an update). Threads are joined, never
// slept on; at the end every block must be back in the allocator.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache/store.h"
#include "pool/buffer_pool.h"
#include "proxy/core/reply_queue.h"
#include "proxy/embedded/embedded_tier.h"
#include "tier_test_harness.h"

namespace mcguard {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr int kThreads = 4;

// "<key>|<seed>|" then filler derived from the seed, `length` bytes in all.
std::string make_value(const std::string& key, uint32_t seed, size_t length) {
  std::string v = key + "|" + std::to_string(seed) + "|";
  uint32_t x = seed;
  while (v.size() < length) {
    x = x * 1103515245u + 12345u;
    v.push_back(static_cast<char>('a' + (x >> 16) % 26));
  }
  return v;
}

// True when `value` is exactly what make_value wrote for `key`.
bool consistent(const std::string& key, const std::string& value) {
  const size_t bar1 = value.find('|');
  const size_t bar2 = bar1 == std::string::npos ? bar1 : value.find('|', bar1 + 1);
  if (bar2 == std::string::npos) return false;
  if (value.substr(0, bar1) != key) return false;
  const uint32_t seed = static_cast<uint32_t>(std::stoul(value.substr(bar1 + 1, bar2 - bar1 - 1)));
  return make_value(key, seed, value.size()) == value;
}

std::string read_all(const ItemRef& item) {
  std::string out(item.value_length(), '\0');
  item_read_value(item.get(), 0, {out.data(), out.size()});
  return out;
}

TEST(Concurrency, StoreSetGetDeleteUnderEviction) {
  StoreConfig config;
  config.memory_limit = kMiB;
  config.max_value_size = 256 * 1024;
  config.shards = 8;
  Store store(config);
  std::atomic<int> failures{0};
  std::atomic<uint64_t> hits{0};

  auto worker = [&](int id) {
    std::mt19937 rng(1000 + id);
    std::vector<ItemRef> held;
    for (int op = 0; op < 20000; ++op) {
      const std::string key = "k" + std::to_string(rng() % 256);
      const unsigned choice = rng() % 100;
      if (choice < 45) {
        size_t length = 20 + rng() % 3000;
        if (rng() % 100 == 0) length = 50000 + rng() % 200000;
        const std::string value = make_value(key, rng(), length);
        const uint32_t now = store.now();
        Store::AllocStatus status;
        ItemRef item = store.allocate(key, 0, 0, value.size(), status);
        if (!item) continue;  // everything else referenced at this instant: allowed
        item_write_value(item.get(), 0, {value.data(), value.size()});
        Store::Locked lock(store, key, now);
        if (Item* old = lock.find()) {
          lock.replace(old, item.get());
        } else {
          lock.link(item.get());
        }
      } else if (choice < 85) {
        ItemRef item;
        {
          Store::Locked lock(store, key, store.now());
          if (Item* found = lock.find()) {
            lock.fetched(found);
            item = lock.share(found);
          }
        }
        if (!item) continue;
        hits.fetch_add(1, std::memory_order_relaxed);
        if (item.key() != key || !consistent(key, read_all(item))) failures.fetch_add(1);
        if (held.size() < 4) {
          held.push_back(std::move(item));
        } else {
          // Held across everyone's churn: still intact.
          for (const ItemRef& h : held) {
            if (!consistent(std::string(h.key()), read_all(h))) failures.fetch_add(1);
          }
          held.clear();
        }
      } else {
        Store::Locked lock(store, key, store.now());
        if (Item* found = lock.find()) lock.unlink(found);
      }
      if (store.allocator().in_use() > store.memory_limit()) failures.fetch_add(1);
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(hits.load(), 1000u);
  EXPECT_GT(store.totals().evictions, 0u) << "the cache was meant to be under pressure";
  for (int i = 0; i < 256; ++i) {
    const std::string key = "k" + std::to_string(i);
    Store::Locked lock(store, key, store.now());
    if (Item* found = lock.find()) lock.unlink(found);
  }
  EXPECT_EQ(store.totals().curr_items, 0u);
  EXPECT_EQ(store.allocator().in_use(), 0u) << "a block leaked";
}

TEST(Concurrency, EmbeddedTierLosesNoIncrOrAppend) {
  EmbeddedConfig config;
  config.memory_limit = 4 * kMiB;
  config.shards = 4;
  EmbeddedTier tier(config);
  constexpr int kOps = 3000;
  {
    BufferPool pool(64, 4096);
    ReplyQueue queue(pool, 64);
    test::submit_commands(tier, queue, "set ctr 0 0 1\r\n0\r\nset log 0 0 0\r\n\r\n");
    ASSERT_EQ(test::drain_queue(queue), "STORED\r\nSTORED\r\n");
  }
  std::atomic<int> failures{0};
  auto worker = [&](int id) {
    BufferPool pool(64, 4096);
    ReplyQueue queue(pool, 64);
    std::mt19937 rng(id);
    for (int op = 0; op < kOps; ++op) {
      // The contended keys, and some churn on private ones besides.
      test::submit_commands(tier, queue, "incr ctr 1\r\nappend log 0 0 1\r\nx\r\n");
      const std::string reply = test::drain_queue(queue);
      if (reply.size() < 10 || reply.substr(reply.size() - 8) != "STORED\r\n") failures++;
      const std::string key = "p" + std::to_string(id) + "_" + std::to_string(rng() % 20);
      const std::string value = make_value(key, rng(), 10 + rng() % 2000);
      test::submit_commands(tier, queue,
                            "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value +
                                "\r\nget " + key + "\r\n");
      const std::string expected = "STORED\r\nVALUE " + key + " 0 " + std::to_string(value.size()) +
                                   "\r\n" + value + "\r\nEND\r\n";
      if (test::drain_queue(queue) != expected) failures++;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  BufferPool pool(64, 4096);
  ReplyQueue queue(pool, 64);
  const std::string total = std::to_string(kThreads * kOps);
  test::submit_commands(tier, queue, "get ctr\r\nmg log s\r\n");
  EXPECT_EQ(test::drain_queue(queue), "VALUE ctr 0 " + std::to_string(total.size()) + "\r\n" +
                                          total + "\r\nEND\r\nHD s" + total + "\r\n");
}

}  // namespace
}  // namespace mcguard
