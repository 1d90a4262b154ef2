// Size classes: the embedded store's memory named as memcached names its slab
// classes, for `stats slabs`, `stats items`, `stats sizes` and `stats
// cachedump`. memcached carves 1 MiB pages into equal chunks per class; the
// store's buddy allocator has one block size per order instead, so class N is
// the block size 64 B << (N-1) and a "page" is the allocator's largest block.
// An item belongs to the class whose block would hold it whole (header, key,
// value), even when the store keeps a larger value in several blocks: so
// `stats items` and `cachedump` group items by size as memcached's classes do,
// while `stats slabs` counts the blocks themselves. Reports only: nothing here
// is on the request path.
#pragma once

#include <cstddef>

#include "cache/buddy_allocator.h"
#include "cache/item.h"

namespace mcguard {

inline constexpr unsigned kSizeClassCount = BuddyAllocator::kMaxOrder + 1;
inline constexpr size_t kSizeClassPage = BuddyAllocator::kMaxBlock;

// The class, 1..kSizeClassCount, of a linked item (items over 1 MiB: the last).
unsigned size_class_of(const Item& item);
// The bytes the item asked for before rounding: header, key, and the value (or,
// for a chunked value, the chunk table and the value).
size_t item_requested_bytes(const Item& item);
// Block size of class `size_class` (1-based).
constexpr size_t size_class_chunk(unsigned size_class) {
  return BuddyAllocator::block_size(size_class - 1);
}

}  // namespace mcguard
