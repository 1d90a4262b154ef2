#include "cache/item.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <new>

#include "cache/buddy_allocator.h"

namespace mcguard {
namespace {

constexpr size_t kBlock = BuddyAllocator::kMinBlock;
constexpr size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

size_t chunk_table_offset(size_t key_length) {
  return round_up(kItemHeaderSize + key_length, alignof(char*));
}

// Calls fn(pointer, bytes) for value bytes [offset, offset + length) of `item`, in
// order, stopping early when fn returns false.
template <typename Fn>
void walk_value(const Item* item, size_t offset, size_t length, Fn&& fn) {
  length = std::min(length, item->value_length - std::min<size_t>(offset, item->value_length));
  if (length == 0) return;
  if ((item->shape & Item::kChunked) == 0) {
    fn(const_cast<char*>(item_inline_value(item)) + offset, length);
    return;
  }
  char* const* chunks = item_chunks(item);
  ChunkSizer sizer(item->value_length);
  for (uint32_t i = 0; length > 0 && !sizer.done(); ++i) {
    const ChunkSizer::Chunk chunk = sizer.next();
    if (offset >= chunk.used) {
      offset -= chunk.used;
      continue;
    }
    const size_t n = std::min(chunk.used - offset, length);
    if (!fn(chunks[i] + offset, n)) return;
    offset = 0;
    length -= n;
  }
}

}  // namespace

ChunkSizer::Chunk ChunkSizer::next() {
  if (remaining_ >= BuddyAllocator::kMaxBlock) {
    remaining_ -= BuddyAllocator::kMaxBlock;
    return {BuddyAllocator::kMaxBlock, BuddyAllocator::kMaxBlock};
  }
  // The rest below 1 MiB: the largest power of two that it fills, then one block
  // rounded up for what is left. Two pieces waste less than a third of the rest.
  const size_t rounded = round_up(remaining_, kBlock);
  size_t capacity = std::bit_ceil(rounded);
  if (!tail_started_ && !std::has_single_bit(rounded)) capacity = std::bit_floor(rounded);
  tail_started_ = true;
  const size_t used = std::min(capacity, remaining_);
  remaining_ -= used;
  return {capacity, used};
}

ItemLayout plan_item(size_t key_length, size_t value_length) {
  ItemLayout chunked;
  chunked.chunked = true;
  size_t chunk_bytes = 0;
  for (ChunkSizer sizer(value_length); !sizer.done();) {
    chunk_bytes += sizer.next().capacity;
    ++chunked.chunk_count;
  }
  chunked.header_bytes = chunk_table_offset(key_length) + chunked.chunk_count * sizeof(char*);
  chunked.header_order = BuddyAllocator::order_for(chunked.header_bytes);
  chunked.total_bytes = chunk_bytes + (chunked.header_order == BuddyAllocator::kNoOrder
                                           ? chunked.header_bytes
                                           : BuddyAllocator::block_size(chunked.header_order));

  const size_t inline_bytes = kItemHeaderSize + key_length + value_length;
  if (inline_bytes <= BuddyAllocator::kMaxBlock) {
    ItemLayout single;
    single.header_order = BuddyAllocator::order_for(inline_bytes);
    single.header_bytes = inline_bytes;
    single.total_bytes = BuddyAllocator::block_size(single.header_order);
    // One block unless chunks save more than an eighth: every extra block costs an
    // allocation and an iovec.
    if (single.total_bytes * 8 <= chunked.total_bytes * 9) return single;
  }
  return chunked;
}

char** item_chunks(Item* item) {
  return reinterpret_cast<char**>(reinterpret_cast<char*>(item) +
                                  chunk_table_offset(item->key_length));
}
char* const* item_chunks(const Item* item) {
  return reinterpret_cast<char* const*>(reinterpret_cast<const char*>(item) +
                                        chunk_table_offset(item->key_length));
}

void item_init(Item* item, std::string_view key, uint32_t client_flags, uint32_t exptime,
               const ItemLayout& layout, size_t value_length) {
  assert(key.size() <= kMaxItemKey && value_length <= kMaxItemValue);
  new (item) Item();
  item->refs.store(1, std::memory_order_relaxed);
  item->value_length = static_cast<uint32_t>(value_length);
  item->client_flags = client_flags;
  item->exptime = exptime;
  item->key_length = static_cast<uint8_t>(key.size());
  item->shape = layout.chunked ? Item::kChunked : 0;
  item->chunk_count = layout.chunk_count;
  std::memcpy(reinterpret_cast<char*>(item) + kItemHeaderSize, key.data(), key.size());
}

void item_write_value(Item* item, size_t offset, std::span<const char> bytes) {
  const char* from = bytes.data();
  walk_value(item, offset, bytes.size(), [&](char* p, size_t n) {
    std::memcpy(p, from, n);
    from += n;
    return true;
  });
}

void item_read_value(const Item* item, size_t offset, std::span<char> out) {
  char* to = out.data();
  walk_value(item, offset, out.size(), [&](const char* p, size_t n) {
    std::memcpy(to, p, n);
    to += n;
    return true;
  });
}

void item_write_value(Item* item, std::span<const iovec> value) {
  size_t offset = 0;
  for (const iovec& iov : value) {
    if (offset >= item->value_length) break;
    const size_t n = std::min(iov.iov_len, item->value_length - offset);
    item_write_value(item, offset, {static_cast<const char*>(iov.iov_base), n});
    offset += n;
  }
}

void item_fill_value(Item* item, size_t offset, char c) {
  walk_value(item, offset, item->value_length, [&](char* p, size_t n) {
    std::memset(p, c, n);
    return true;
  });
}

size_t memcached_item_size(const Item* item) {
  // sizeof(item) 48, CAS 8, key + NUL, value + "\r\n", client flags when non-zero.
  return 48 + 8 + item->key_length + 1 + item->value_length + 2 + (item->client_flags != 0 ? 4 : 0);
}

unsigned memcached_slab_class(size_t item_size) {
  struct Classes {
    std::array<uint32_t, 64> size{};
    unsigned count = 0;
    Classes() {
      constexpr uint32_t kChunkMax = 512 * 1024;
      constexpr double kFactor = 1.25;
      uint32_t s = 96;
      while (count < 62 && s < kChunkMax / kFactor) {
        s = static_cast<uint32_t>(round_up(s, 8));
        size[++count] = s;
        s = static_cast<uint32_t>(s * kFactor);
      }
      size[++count] = kChunkMax;
    }
  };
  static const Classes classes;
  for (unsigned i = 1; i <= classes.count; ++i) {
    if (item_size <= classes.size[i]) return i;
  }
  return classes.count;
}

// ItemRef's functions.

void item_release(Item* item) {
  if (item->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  BuddyAllocator* allocator = BuddyAllocator::owner_of(item);
  assert(allocator != nullptr);
  if ((item->shape & Item::kChunked) != 0) {
    // Chunk pointers live in the header block: free chunks in batches, header last.
    std::array<void*, 64> batch;
    char* const* chunks = item_chunks(item);
    for (uint32_t i = 0; i < item->chunk_count;) {
      size_t n = 0;
      while (n < batch.size() && i < item->chunk_count) batch[n++] = chunks[i++];
      allocator->free(std::span<void* const>(batch.data(), n));
    }
  }
  allocator->free(item);
}

size_t item_value_length(const Item* item) { return item->value_length; }

size_t item_value_iovecs(const Item* item, size_t offset, iovec* out, size_t max_iov) {
  size_t count = 0;
  if (max_iov == 0) return 0;
  walk_value(item, offset, item->value_length, [&](char* p, size_t n) {
    out[count++] = iovec{p, n};
    return count < max_iov;
  });
  return count;
}

std::string_view item_key(const Item* item) { return item_key_of(item); }
uint32_t item_client_flags(const Item* item) { return item->client_flags; }
uint64_t item_cas(const Item* item) { return item->cas.load(std::memory_order_relaxed); }

}  // namespace mcguard
