// Item: one cached key/value, laid out in buddy blocks of the store's region. A
// small item is one block: header, key, value. A large one is a header block
// (header, key, table of chunk pointers) plus chunks: 1 MiB blocks, then at most
// two smaller blocks for the rest, so rounding wastes little. Key, value, client
// flags and length never change once an item is linked (values are sent without a
// lock); the remaining fields change only under the owning shard's lock.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "cache/item_ref.h"

namespace mcguard {

struct Item {
  // `bits`: state, changed only under the shard's lock.
  enum Bits : uint8_t {
    kLinked = 1 << 0,     // in the hash table and LRU (which hold one reference)
    kFetched = 1 << 1,    // read at least once (memcached's ITEM_FETCHED)
    kStale = 1 << 2,      // invalidated by md I / ms I (meta X flag)
    kTokenSent = 1 << 3,  // a client already won the recache token (meta W/Z)
  };
  // `shape`: fixed before the item is linked, read without a lock. Kept apart
  // from `bits` so that reading one never races with writing the other.
  enum Shape : uint8_t {
    kChunked = 1 << 0,    // value lives in chunks, not after the key
    kKeyBinary = 1 << 1,  // key arrived base64-encoded ('b'): echo it encoded
  };

  std::atomic<uint32_t> refs;  // the table's reference plus every ItemRef
  uint32_t bump_time;          // when last moved to the LRU head (eviction order)
  Item* hash_next;
  Item* lru_prev;
  Item* lru_next;
  uint32_t value_length;
  uint32_t client_flags;
  uint32_t exptime;  // store time (see Store::now); 0 = never
  uint32_t time;     // last access as memcached reports it (mg l, me la, flush_all)
  std::atomic<uint64_t> cas;
  uint8_t key_length;
  uint8_t bits;
  uint8_t shape;
  uint8_t reserved;
  uint32_t chunk_count;  // 0 for a single-block item
};
static_assert(sizeof(Item) == 64, "the item header is one minimum block");

inline constexpr size_t kItemHeaderSize = sizeof(Item);
inline constexpr size_t kMaxItemKey = 250;
// Values above this many bytes are refused whatever the configuration.
inline constexpr size_t kMaxItemValue = size_t{1} << 30;

// How an item of a given key and value size is laid out.
struct ItemLayout {
  bool chunked = false;
  unsigned header_order = 0;  // buddy order of the header block
  uint32_t chunk_count = 0;
  size_t header_bytes = 0;  // bytes used in the header block
  size_t total_bytes = 0;   // bytes of all blocks, rounding included
};
ItemLayout plan_item(size_t key_length, size_t value_length);

// Walks the chunks of a chunked value: each has a block capacity and a used length.
class ChunkSizer {
 public:
  explicit ChunkSizer(size_t value_length) : remaining_(value_length) {}
  bool done() const { return remaining_ == 0; }
  struct Chunk {
    size_t capacity;
    size_t used;
  };
  Chunk next();

 private:
  size_t remaining_;
  bool tail_started_ = false;
};

inline std::string_view item_key_of(const Item* item) {
  return {reinterpret_cast<const char*>(item) + kItemHeaderSize, item->key_length};
}
// Value bytes of a single-block item.
inline char* item_inline_value(Item* item) {
  return reinterpret_cast<char*>(item) + kItemHeaderSize + item->key_length;
}
inline const char* item_inline_value(const Item* item) {
  return reinterpret_cast<const char*>(item) + kItemHeaderSize + item->key_length;
}
// The chunk pointer table of a chunked item.
char** item_chunks(Item* item);
char* const* item_chunks(const Item* item);

// Initialises the header (one reference, unlinked) of a freshly allocated item.
void item_init(Item* item, std::string_view key, uint32_t client_flags, uint32_t exptime,
               const ItemLayout& layout, size_t value_length);
// Copies value bytes [offset, offset + bytes.size()) in or out.
void item_write_value(Item* item, size_t offset, std::span<const char> bytes);
void item_read_value(const Item* item, size_t offset, std::span<char> out);
// Copies the gathered bytes of `value` into the item, up to its value length.
void item_write_value(Item* item, std::span<const iovec> value);
// Sets value bytes [offset, end) to `c`.
void item_fill_value(Item* item, size_t offset, char c);

// Adds a reference to an item already referenced by the caller (or by the table,
// under its shard's lock).
inline void item_acquire(Item* item) { item->refs.fetch_add(1, std::memory_order_relaxed); }
inline ItemRef item_share(Item* item) {
  item_acquire(item);
  return ItemRef(item);
}

// The size memcached 1.6.18 would report for this item (`me` size=, and the
// size above which memcached chunks a value and refuses to incr it).
size_t memcached_item_size(const Item* item);
// memcached's default slab class (-n 48 -f 1.25, 512 KiB largest) for that size.
unsigned memcached_slab_class(size_t item_size);

}  // namespace mcguard
