#include "pool/buffer_pool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <system_error>
#include <vector>

namespace mcguard {
namespace {

TEST(BufferPoolTest, StartsEmptyWithEveryBufferFree) {
  BufferPool pool(4, 128);
  EXPECT_EQ(pool.capacity(), 4u);
  EXPECT_EQ(pool.buffer_size(), 128u);
  EXPECT_EQ(pool.available(), 4u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.high_water(), 0u);
  EXPECT_EQ(pool.failed_acquires(), 0u);
}

TEST(BufferPoolTest, AcquireHandsOutDistinctNonOverlappingBuffers) {
  constexpr uint32_t kCount = 16, kSize = 64;
  BufferPool pool(kCount, kSize);
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < kCount; ++i) {
    const uint32_t index = pool.acquire();
    ASSERT_NE(index, BufferPool::kNoBuffer);
    ASSERT_LT(index, kCount);
    EXPECT_TRUE(seen.insert(index).second) << "index handed out twice: " << index;
    std::memset(pool.data(index), static_cast<int>(index), kSize);
  }
  EXPECT_EQ(pool.in_use(), kCount);
  EXPECT_EQ(pool.available(), 0u);
  // Each buffer still holds its own fill pattern: no two buffers overlap.
  for (uint32_t index : seen) {
    const char* bytes = pool.data(index);
    for (uint32_t b = 0; b < kSize; ++b) {
      ASSERT_EQ(bytes[b], static_cast<char>(index)) << "buffer " << index << " byte " << b;
    }
  }
  // Buffers are laid out buffer_size apart in one slab.
  const BufferPool& const_pool = pool;
  EXPECT_EQ(const_pool.data(1) - const_pool.data(0), kSize);
  EXPECT_EQ(pool.data(kCount - 1) - pool.data(0), ptrdiff_t{kSize} * (kCount - 1));
}

TEST(BufferPoolTest, AcquireFromDryPoolFailsAndIsCounted) {
  BufferPool pool(2, 32);
  const uint32_t a = pool.acquire();
  const uint32_t b = pool.acquire();
  ASSERT_NE(a, BufferPool::kNoBuffer);
  ASSERT_NE(b, BufferPool::kNoBuffer);
  EXPECT_EQ(pool.acquire(), BufferPool::kNoBuffer);
  EXPECT_EQ(pool.acquire(), BufferPool::kNoBuffer);
  EXPECT_EQ(pool.failed_acquires(), 2u);
  EXPECT_EQ(pool.in_use(), 2u);
  pool.release(a);
  EXPECT_EQ(pool.acquire(), a);
  EXPECT_EQ(pool.failed_acquires(), 2u);
}

TEST(BufferPoolTest, ReleaseReturnsBufferAndReuseIsLastInFirstOut) {
  BufferPool pool(8, 32);
  const uint32_t a = pool.acquire();
  const uint32_t b = pool.acquire();
  pool.release(a);
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.available(), 7u);
  // The most recently released buffer comes back first (its pages are warm).
  EXPECT_EQ(pool.acquire(), a);
  pool.release(b);
  pool.release(a);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.acquire(), a);
  EXPECT_EQ(pool.acquire(), b);
}

TEST(BufferPoolTest, HighWaterKeepsThePeak) {
  BufferPool pool(8, 32);
  std::vector<uint32_t> held;
  for (int i = 0; i < 5; ++i) held.push_back(pool.acquire());
  EXPECT_EQ(pool.high_water(), 5u);
  for (uint32_t index : held) pool.release(index);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.high_water(), 5u);
  const uint32_t one = pool.acquire();
  EXPECT_EQ(pool.high_water(), 5u);
  uint32_t many[6];
  ASSERT_TRUE(pool.acquire_many(6, many));
  EXPECT_EQ(pool.high_water(), 7u);
  pool.release(one);
  for (uint32_t index : many) pool.release(index);
  EXPECT_EQ(pool.high_water(), 7u);
}

TEST(BufferPoolTest, AcquireManyIsWholeOrNothing) {
  BufferPool pool(5, 32);
  const uint32_t first = pool.acquire();
  uint32_t out[5];
  std::fill(std::begin(out), std::end(out), 12345u);
  EXPECT_FALSE(pool.acquire_many(5, out));
  // Nothing taken, nothing written, one failure counted for the whole request.
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.available(), 4u);
  EXPECT_EQ(pool.failed_acquires(), 1u);
  EXPECT_EQ(pool.high_water(), 1u);
  for (uint32_t value : out) EXPECT_EQ(value, 12345u);

  // Exactly what is left succeeds.
  ASSERT_TRUE(pool.acquire_many(4, out));
  EXPECT_EQ(pool.in_use(), 5u);
  EXPECT_EQ(pool.available(), 0u);
  std::set<uint32_t> seen(out, out + 4);
  seen.insert(first);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pool.failed_acquires(), 1u);
}

TEST(BufferPoolTest, AcquireManyOfZeroSucceedsEvenWhenDry) {
  BufferPool pool(1, 32);
  uint32_t out[1];
  EXPECT_TRUE(pool.acquire_many(0, out));
  EXPECT_EQ(pool.in_use(), 0u);
  const uint32_t only = pool.acquire();
  EXPECT_TRUE(pool.acquire_many(0, out));
  EXPECT_FALSE(pool.acquire_many(1, out));
  EXPECT_EQ(pool.failed_acquires(), 1u);
  pool.release(only);
}

// Walks a list linked through the pool's link array.
std::vector<uint32_t> walk(const BufferPool& pool, uint32_t head) {
  std::vector<uint32_t> out;
  for (uint32_t at = head; at != BufferPool::kNoBuffer; at = pool.next(at)) {
    out.push_back(at);
    if (out.size() > pool.capacity()) break;  // a cycle: fail below, do not hang
  }
  return out;
}

TEST(BufferPoolTest, AcquireListLinksTheBuffersHeadToTail) {
  BufferPool pool(8, 32);
  const uint32_t single = pool.acquire();
  uint32_t head = 0, tail = 0;
  ASSERT_TRUE(pool.acquire_list(5, &head, &tail));
  const std::vector<uint32_t> list = walk(pool, head);
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(list.back(), tail);
  EXPECT_EQ(pool.next(tail), BufferPool::kNoBuffer);
  std::set<uint32_t> seen(list.begin(), list.end());
  seen.insert(single);
  EXPECT_EQ(seen.size(), 6u);  // distinct, and none is the buffer already held
  EXPECT_EQ(pool.in_use(), 6u);
  EXPECT_EQ(pool.high_water(), 6u);
  for (uint32_t index : list) pool.release(index);
  pool.release(single);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferPoolTest, AcquireListIsWholeOrNothing) {
  BufferPool pool(4, 32);
  const uint32_t first = pool.acquire();
  uint32_t head = 7, tail = 7;
  EXPECT_FALSE(pool.acquire_list(4, &head, &tail));
  EXPECT_EQ(head, BufferPool::kNoBuffer);
  EXPECT_EQ(tail, BufferPool::kNoBuffer);
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.failed_acquires(), 1u);
  ASSERT_TRUE(pool.acquire_list(3, &head, &tail));
  EXPECT_EQ(walk(pool, head).size(), 3u);
  EXPECT_EQ(pool.available(), 0u);
  // Zero succeeds even when dry, with an empty list.
  EXPECT_TRUE(pool.acquire_list(0, &head, &tail));
  EXPECT_EQ(head, BufferPool::kNoBuffer);
  EXPECT_EQ(tail, BufferPool::kNoBuffer);
  EXPECT_EQ(pool.failed_acquires(), 1u);
  pool.release(first);
}

TEST(BufferPoolTest, AcquireClearsTheLinkLeftByAPreviousHolder) {
  BufferPool pool(2, 32);
  const uint32_t a = pool.acquire();
  const uint32_t b = pool.acquire();
  pool.set_next(a, b);
  pool.set_next(b, a);
  EXPECT_EQ(pool.next(a), b);
  EXPECT_EQ(pool.next(b), a);
  pool.release(a);
  const uint32_t again = pool.acquire();
  ASSERT_EQ(again, a);  // last in, first out
  EXPECT_EQ(pool.next(again), BufferPool::kNoBuffer);
  EXPECT_EQ(pool.next(b), a);  // other links are the holder's business
  pool.release(again);
  pool.release(b);
  uint32_t head, tail;
  ASSERT_TRUE(pool.acquire_list(2, &head, &tail));
  EXPECT_EQ(pool.next(head), tail);
  EXPECT_EQ(pool.next(tail), BufferPool::kNoBuffer);
}

TEST(BufferPoolTest, EmptyPoolRefusesEverything) {
  BufferPool pool(0, 32);
  EXPECT_EQ(pool.capacity(), 0u);
  EXPECT_EQ(pool.acquire(), BufferPool::kNoBuffer);
  uint32_t out[1];
  EXPECT_FALSE(pool.acquire_many(1, out));
  uint32_t head, tail;
  EXPECT_FALSE(pool.acquire_list(1, &head, &tail));
  EXPECT_EQ(pool.failed_acquires(), 3u);
}

TEST(BufferPoolTest, ZeroBufferSizeIsRejected) {
  EXPECT_THROW(BufferPool(4, 0), std::system_error);
}

TEST(BufferPoolTest, MappingFailureThrowsSystemError) {
  // 2^64 - 2^33 bytes: more address space than any process has.
  EXPECT_THROW(BufferPool(UINT32_MAX, UINT32_MAX), std::system_error);
}

size_t resident_bytes() {
  FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int fields = std::fscanf(statm, "%lu %lu", &size, &resident);
  std::fclose(statm);
  return fields == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

TEST(BufferPoolTest, UntouchedBuffersCostNoResidentMemory) {
  const size_t before = resident_bytes();
  ASSERT_GT(before, 0u);
  // 1 GiB of buffers; only the index stack (256 KiB) is written at start-up.
  BufferPool pool(65536, 16384);
  const size_t after_map = resident_bytes();
  EXPECT_LT(after_map - std::min(after_map, before), size_t{8} << 20);
  // Touching a few buffers costs about their size, not the slab's.
  for (int i = 0; i < 64; ++i) std::memset(pool.data(pool.acquire()), 1, 16384);
  const size_t after_touch = resident_bytes();
  EXPECT_LT(after_touch - std::min(after_touch, before), size_t{16} << 20);
}

TEST(BufferPoolTest, RandomAcquireReleaseMatchesModel) {
  constexpr uint32_t kCount = 32;
  BufferPool pool(kCount, 16);
  std::mt19937 rng(1234);
  std::vector<uint32_t> held;
  uint32_t peak = 0;
  uint64_t failures = 0;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 4);
    if (op == 0) {
      const uint32_t index = pool.acquire();
      if (held.size() == kCount) {
        ASSERT_EQ(index, BufferPool::kNoBuffer);
        ++failures;
      } else {
        ASSERT_NE(index, BufferPool::kNoBuffer);
        ASSERT_EQ(std::count(held.begin(), held.end(), index), 0);
        held.push_back(index);
      }
    } else if (op == 1) {
      const uint32_t want = rng() % 8;
      uint32_t out[8];
      const bool ok = pool.acquire_many(want, out);
      ASSERT_EQ(ok, held.size() + want <= kCount);
      if (ok) {
        for (uint32_t i = 0; i < want; ++i) {
          ASSERT_EQ(std::count(held.begin(), held.end(), out[i]), 0);
          held.push_back(out[i]);
        }
      } else {
        ++failures;
      }
    } else if (op == 2) {
      const uint32_t want = rng() % 8;
      uint32_t head, tail;
      const bool ok = pool.acquire_list(want, &head, &tail);
      ASSERT_EQ(ok, held.size() + want <= kCount);
      if (ok) {
        const std::vector<uint32_t> list = walk(pool, head);
        ASSERT_EQ(list.size(), want);
        if (want > 0) {
          ASSERT_EQ(list.back(), tail);
        }
        for (uint32_t index : list) {
          ASSERT_EQ(std::count(held.begin(), held.end(), index), 0);
          held.push_back(index);
        }
      } else {
        ++failures;
      }
    } else if (!held.empty()) {
      const size_t at = rng() % held.size();
      pool.release(held[at]);
      held[at] = held.back();
      held.pop_back();
    }
    peak = std::max(peak, static_cast<uint32_t>(held.size()));
    ASSERT_EQ(pool.in_use(), held.size());
    ASSERT_EQ(pool.available(), kCount - held.size());
    ASSERT_EQ(pool.high_water(), peak);
    ASSERT_EQ(pool.failed_acquires(), failures);
  }
}

#ifndef NDEBUG
TEST(BufferPoolDeathTest, DoubleReleaseIsCaught) {
  BufferPool pool(4, 32);
  const uint32_t index = pool.acquire();
  pool.release(index);
  EXPECT_DEATH(pool.release(index), "");
}

TEST(BufferPoolDeathTest, ReleasingANeverAcquiredBufferIsCaught) {
  BufferPool pool(4, 32);
  const uint32_t index = pool.acquire();
  EXPECT_DEATH(pool.release(index == 0 ? 1 : 0), "");
  EXPECT_DEATH(pool.release(4), "");
}
#endif

}  // namespace
}  // namespace mcguard
