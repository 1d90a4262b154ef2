// Store: the embedded tier's cache. Items live in a BuddyAllocator region of
// exactly memory_limit bytes; a sharded hash table (one mutex, table and LRU list
// per shard) finds them. The table holds one reference per linked item, each
// ItemRef another; memory is freed when the last one goes, so eviction or delete
// during a send is safe. Allocation evicts LRU tails (across shards, one shard
// lock at a time, never while the caller holds one) and fails only when nothing
// evictable is left. Times follow memcached: seconds since a start epoch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "cache/buddy_allocator.h"
#include "cache/counter.h"
#include "cache/item.h"
#include "cache/item_ref.h"
#include "cache/mapping.h"

namespace mcguard {

struct StoreConfig {
  size_t memory_limit = 64u << 20;   // bytes of item memory, headers and rounding included
  size_t max_value_size = 8u << 20;  // larger values are refused (kTooLarge)
  uint32_t shards = 16;              // lock stripes; rounded up to a power of two, <= 256
  std::function<int64_t()> clock;    // unix seconds; empty: the real clock
};

// A counter written only under its shard's lock, readable from any thread.
using ShardCounter = Counter;

// Per-shard counters: the store's own and those the embedded tier bumps for
// memcached's `stats` (kept here so they share the shard's cache lines and lock).
struct ShardCounters {
  // store
  ShardCounter curr_items, total_items, evictions, evicted_unfetched, reclaimed, expired_unfetched,
      get_expired, get_flushed;
  // commands
  ShardCounter cmd_get, get_hits, get_misses, cmd_set, cmd_touch, touch_hits, touch_misses;
  ShardCounter delete_hits, delete_misses, incr_hits, incr_misses, decr_hits, decr_misses;
  ShardCounter cas_hits, cas_misses, cas_badval;
};

// Sums over all shards, plus memory.
struct StoreTotals {
  uint64_t curr_items = 0, total_items = 0, evictions = 0, evicted_unfetched = 0, reclaimed = 0,
           expired_unfetched = 0, get_expired = 0, get_flushed = 0;
  uint64_t cmd_get = 0, get_hits = 0, get_misses = 0, cmd_set = 0, cmd_touch = 0, touch_hits = 0,
           touch_misses = 0;
  uint64_t delete_hits = 0, delete_misses = 0, incr_hits = 0, incr_misses = 0, decr_hits = 0,
           decr_misses = 0;
  uint64_t cas_hits = 0, cas_misses = 0, cas_badval = 0;
  uint64_t memory_in_use = 0;  // bytes of allocated blocks (linked or still referenced)
  uint64_t memory_limit = 0;
};

class Store {
 public:
  // memcached's REALTIME_MAXDELTA: larger exptimes are absolute unix times.
  static constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

  // Maps the region and all metadata. Throws std::system_error when mapping fails.
  explicit Store(const StoreConfig& config);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Seconds since the store's epoch (its start minus 62 s, as memcached's
  // process_started), so the store time 1 always lies in the past.
  uint32_t now() const;
  // memcached's realtime(): an exptime as sent to store time. 0 stays 0 (never);
  // negative means already expired; up to 30 days is relative to `now`; more is an
  // absolute unix time (one before the epoch means already expired).
  uint32_t expiry_time(int64_t exptime, uint32_t now) const;
  // The unix time of a store time (for tests and diagnostics).
  int64_t unix_time(uint32_t store_time) const { return epoch_ + store_time; }

  enum class AllocStatus : uint8_t { kOk, kTooLarge, kNoMemory };
  // A new, unlinked item holding the caller's one reference, value uninitialised.
  // Evicts as needed. The caller must hold no shard lock (no Locked alive).
  ItemRef allocate(std::string_view key, uint32_t client_flags, uint32_t exptime,
                   size_t value_length, AllocStatus& status);

  // memcached's get_cas_id(): the next CAS unique, from one global counter.
  uint64_t next_cas() { return cas_counter_.fetch_add(1, std::memory_order_relaxed) + 1; }

  // flush_all: items last accessed before the flush time (now, or now + delay) read
  // as missing from then on. Lazy, as memcached: nothing is freed here.
  void flush_all(int64_t delay, uint32_t now);

  // Evicts one item from the LRU tails (expired ones first reclaimed); false when
  // nothing can go. allocate() calls it; public for tests.
  bool evict_one(uint32_t now);

  StoreTotals totals() const;
  // Calls `visit` for every linked item, shard by shard, each from its LRU head
  // (most recently used) down, under that shard's lock: for reports (`stats
  // items`, `sizes`, `cachedump`), never on the request path. `visit` must not
  // call into the store.
  void for_each_item(const std::function<void(const Item&)>& visit) const;
  // Hash buckets over all shards (`stats`' hash_bytes).
  size_t bucket_count() const { return buckets_.size() / sizeof(Item*); }
  // The limit of item memory: the region's size until set_memory_limit lowers it.
  size_t memory_limit() const { return allocator_.limit(); }
  // cache_memlimit: a new limit, at most the region mapped at start-up (a larger one
  // is clamped to it, so the process stays within its configured budget). Lowering it
  // evicts down to it before returning. Returns the limit now in force.
  size_t set_memory_limit(size_t bytes);
  size_t max_value_size() const { return max_value_size_; }
  size_t shard_count() const { return shard_count_; }
  const BuddyAllocator& allocator() const { return allocator_; }

  class Locked;

 private:
  struct Shard;

  bool is_expired(const Item* item, uint32_t now) const {
    return item->exptime != 0 && item->exptime <= now;
  }
  bool is_flushed(const Item* item, uint32_t now) const;
  size_t shard_index(uint64_t hash) const {
    return shard_bits_ == 0 ? 0 : static_cast<size_t>(hash >> (64 - shard_bits_));
  }
  void* allocate_block(unsigned order, uint32_t now);
  // Both under the shard's lock.
  void unlink_item(Shard& shard, Item* item);
  void lru_unlink(Shard& shard, Item* item);
  void lru_push_head(Shard& shard, Item* item);
  void update_tail_time(Shard& shard);

  BuddyAllocator allocator_;
  size_t max_value_size_;
  std::function<int64_t()> clock_;
  int64_t epoch_;
  size_t shard_count_;
  unsigned shard_bits_;
  std::unique_ptr<Shard[]> shards_;
  Mapping buckets_;  // every shard's bucket array, zero until touched
  std::atomic<uint64_t> cas_counter_{0};
  std::atomic<uint32_t> oldest_live_{0};  // memcached's settings.oldest_live
  std::atomic<uint64_t> oldest_cas_{0};   // and settings.oldest_cas
  std::atomic<uint32_t> evict_cursor_{0};
};

// The shard that owns one key, locked for the Locked's lifetime. Every table and
// LRU operation on that key goes through it. The key's bytes must outlive it.
// Never allocate (Store::allocate) while one is alive: eviction takes other
// shards' locks.
class Store::Locked {
 public:
  Locked(Store& store, std::string_view key, uint32_t now);
  ~Locked();
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

  // The linked, live item for the key, or nullptr. An expired or flushed item met
  // on the way is unlinked (counted as get_expired / get_flushed).
  Item* find();
  // Links a new item: takes the table's reference, a new CAS, time = now.
  void link(Item* item);
  // Unlinks and drops the table's reference (the memory goes when no ItemRef is left).
  void unlink(Item* item);
  void replace(Item* old_item, Item* new_item) {
    unlink(old_item);
    link(new_item);
  }
  // A read (memcached's do_item_bump): marks the item fetched, moves it to the LRU
  // head and, from its second read on, refreshes its access time.
  void fetched(Item* item);
  // memcached's do_item_update (add over an existing item, incr in place): the
  // access time is refreshed when older than a minute; moves it to the LRU head.
  void touched(Item* item);
  // True when the table holds the only reference: nobody can be reading the value.
  bool sole_reference(const Item* item) const {
    return item->refs.load(std::memory_order_acquire) == 1;
  }
  ItemRef share(Item* item) { return item_share(item); }

  ShardCounters& counters();
  uint32_t now() const { return now_; }
  std::string_view key() const { return key_; }

 private:
  Store& store_;
  uint64_t hash_;
  Shard& shard_;
  std::string_view key_;
  uint32_t now_;
};

}  // namespace mcguard
