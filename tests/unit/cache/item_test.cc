// Item layout: when a value stays in one block and when it is chunked, how little
// chunking wastes, and that value bytes written through one path read back the
// same through every other (iovecs at any offset, copies, ItemRef accessors).
#include "cache/item.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/buddy_allocator.h"
#include "cache/store.h"

namespace mcguard {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

std::string pattern(size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(ItemLayout, SmallItemsAreOneBlock) {
  const ItemLayout l = plan_item(10, 20);
  EXPECT_FALSE(l.chunked);
  EXPECT_EQ(l.header_bytes, 64u + 10 + 20);
  EXPECT_EQ(l.total_bytes, 128u);
  EXPECT_EQ(plan_item(1, 0).total_bytes, 128u);
  EXPECT_EQ(plan_item(0, 0).total_bytes, 64u);
}

TEST(ItemLayout, LargeValuesAreChunkedWithLittleWaste) {
  for (size_t value : {size_t{3000}, size_t{70000}, size_t{600000}, kMiB, kMiB + 1, 8 * kMiB - 5,
                       8 * kMiB + 300000}) {
    const ItemLayout l = plan_item(250, value);
    SCOPED_TRACE(value);
    EXPECT_TRUE(l.chunked);
    // Chunks waste less than a third of the part below 1 MiB, plus one header block.
    const size_t below = value % kMiB;
    EXPECT_LE(l.total_bytes, value + below / 3 + 64 + 1024);
    size_t capacity = 0, used = 0, count = 0;
    for (ChunkSizer s(value); !s.done(); ++count) {
      const ChunkSizer::Chunk c = s.next();
      EXPECT_LE(c.used, c.capacity);
      EXPECT_LE(c.capacity, kMiB);
      EXPECT_EQ(c.capacity & (c.capacity - 1), 0u) << "a buddy block size";
      capacity += c.capacity;
      used += c.used;
    }
    EXPECT_EQ(used, value);
    EXPECT_LT(capacity, l.total_bytes) << "the chunks' blocks and a header block";
    EXPECT_EQ(count, l.chunk_count);
    EXPECT_LE(count, value / kMiB + 2);
  }
}

TEST(ItemLayout, NeverMoreThanTheSingleBlockWouldCost) {
  for (size_t value = 0; value < 2 * kMiB; value = value * 3 / 2 + 7) {
    const ItemLayout l = plan_item(30, value);
    if (64 + 30 + value <= kMiB) {
      EXPECT_LE(l.total_bytes,
                BuddyAllocator::block_size(BuddyAllocator::order_for(64 + 30 + value)))
          << value;
    }
  }
}

class ItemValueTest : public ::testing::Test {
 protected:
  ItemValueTest() : store_(config()) {}
  static StoreConfig config() {
    StoreConfig c;
    c.memory_limit = 32 * kMiB;
    c.max_value_size = 16 * kMiB;
    return c;
  }
  ItemRef make(std::string_view key, size_t length) {
    Store::AllocStatus status;
    ItemRef item = store_.allocate(key, 42, 0, length, status);
    EXPECT_EQ(status, Store::AllocStatus::kOk);
    return item;
  }
  Store store_;
};

TEST_F(ItemValueTest, BytesReadBackThroughEveryPath) {
  for (size_t length :
       {size_t{0}, size_t{1}, size_t{900}, size_t{5000}, size_t{700000}, 3 * kMiB + 12345}) {
    SCOPED_TRACE(length);
    const std::string value = pattern(length, static_cast<unsigned>(length));
    ItemRef item = make("key", length);
    ASSERT_TRUE(item);
    // Written as odd-sized iovecs.
    std::vector<iovec> iov;
    for (size_t at = 0; at < length; at += 4099) {
      iov.push_back({const_cast<char*>(value.data() + at), std::min<size_t>(4099, length - at)});
    }
    item_write_value(item.get(), iov);
    EXPECT_EQ(item.key(), "key");
    EXPECT_EQ(item.client_flags(), 42u);
    EXPECT_EQ(item.value_length(), length);
    // Read with a copy at a few offsets.
    for (size_t offset : {size_t{0}, length / 3, length > 0 ? length - 1 : 0}) {
      std::string out(length - offset, '\0');
      item_read_value(item.get(), offset, {out.data(), out.size()});
      EXPECT_EQ(out, value.substr(offset));
    }
    // Gathered as iovecs from several offsets, with a small iovec budget.
    for (size_t offset : {size_t{0}, size_t{1}, length / 2, kMiB, kMiB + 1}) {
      if (offset > length) continue;
      std::string out;
      size_t at = offset;
      iovec parts[2];
      while (at < length) {
        const size_t n = item.value_iovecs(at, parts, 2);
        ASSERT_GT(n, 0u);
        for (size_t i = 0; i < n; ++i) {
          out.append(static_cast<const char*>(parts[i].iov_base), parts[i].iov_len);
          at += parts[i].iov_len;
        }
      }
      EXPECT_EQ(out, value.substr(offset)) << "offset " << offset;
      EXPECT_EQ(item.value_iovecs(length, parts, 2), 0u);
    }
  }
  EXPECT_EQ(store_.allocator().in_use(), 0u) << "every item went back";
}

TEST(MemcachedSizes, MatchMemcachedsSlabClasses) {
  // Sizes and classes `me` reported for memcached 1.6.18's defaults.
  EXPECT_EQ(memcached_slab_class(61), 1u);
  EXPECT_EQ(memcached_slab_class(96), 1u);
  EXPECT_EQ(memcached_slab_class(97), 2u);
  EXPECT_EQ(memcached_slab_class(162), 4u);
  EXPECT_EQ(memcached_slab_class(1062), 12u);
  EXPECT_EQ(memcached_slab_class(16062), 24u);
  EXPECT_EQ(memcached_slab_class(100062), 32u);
  EXPECT_EQ(memcached_slab_class(500062), 39u);
  EXPECT_EQ(memcached_slab_class(1000062), 39u);
}

}  // namespace
}  // namespace mcguard
