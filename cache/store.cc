#include "cache/store.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <limits>

namespace mcguard {
namespace {

constexpr uint32_t kEmptyShard = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxShards = 256;
// Eviction looks this far up an LRU tail for an item nobody is reading, and
// reclaims whatever has expired among the first kReclaimWindow (memcached's 5).
constexpr int kEvictSearchDepth = 64;
constexpr int kReclaimWindow = 5;
// Hash buckets: one per 512 bytes of memory, so even an all-minimum-size cache
// (128-byte items) averages four per chain and the table never needs to grow.
constexpr size_t kBytesPerBucket = 512;
// memcached's ITEM_UPDATE_INTERVAL.
constexpr uint32_t kUpdateInterval = 60;

// 64-bit hash of a key (multiply-rotate over 8-byte words, murmur3's finaliser).
uint64_t hash_key(std::string_view key) {
  constexpr uint64_t c1 = 0x87c37b91114253d5ULL;
  constexpr uint64_t c2 = 0x4cf5ad432745937fULL;
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (key.size() * c2);
  const char* p = key.data();
  size_t n = key.size();
  auto mix = [&](uint64_t k) {
    k *= c1;
    k = std::rotl(k, 31);
    k *= c2;
    h ^= k;
    h = std::rotl(h, 27) * 5 + 0x52dce729;
  };
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    mix(k);
  }
  uint64_t k = 0;
  std::memcpy(&k, p, n);
  mix(k);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

int64_t real_unix_time() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

}  // namespace

struct alignas(64) Store::Shard {
  std::mutex mutex;
  Item** buckets = nullptr;
  size_t mask = 0;
  Item* lru_head = nullptr;  // most recently used
  Item* lru_tail = nullptr;
  // bump_time of lru_tail (kEmptyShard when empty), read without the lock to pick
  // the shard whose tail is oldest.
  std::atomic<uint32_t> tail_time{kEmptyShard};
  ShardCounters counters;
};

Store::Store(const StoreConfig& config)
    : allocator_(config.memory_limit),
      max_value_size_(std::min(config.max_value_size, kMaxItemValue)),
      clock_(config.clock) {
  // memcached's process_started: 62 seconds in the past, so that store time 1
  // ("already expired") is always before now.
  epoch_ = (clock_ ? clock_() : real_unix_time()) - 62;
  shard_count_ = std::bit_ceil(std::clamp<size_t>(config.shards, 1, kMaxShards));
  shard_bits_ = static_cast<unsigned>(std::countr_zero(shard_count_));
  shards_ = std::make_unique<Shard[]>(shard_count_);
  const size_t per_shard =
      std::bit_ceil(std::max<size_t>(64, config.memory_limit / kBytesPerBucket / shard_count_));
  buckets_ = Mapping(per_shard * shard_count_ * sizeof(Item*));
  for (size_t i = 0; i < shard_count_; ++i) {
    shards_[i].buckets = buckets_.as<Item*>() + i * per_shard;
    shards_[i].mask = per_shard - 1;
  }
}

Store::~Store() {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    while (shard.lru_tail != nullptr) unlink_item(shard, shard.lru_tail);
  }
  // An ItemRef outliving its store would free into an unmapped region.
  assert(allocator_.in_use() == 0 && "an ItemRef outlived its store");
}

uint32_t Store::now() const {
  const int64_t t = (clock_ ? clock_() : real_unix_time()) - epoch_;
  return static_cast<uint32_t>(std::clamp<int64_t>(t, 2, std::numeric_limits<uint32_t>::max()));
}

uint32_t Store::expiry_time(int64_t exptime, uint32_t now) const {
  if (exptime == 0) return 0;
  // memcached's EXPTIME_TO_POSITIVE_TIME: a negative time becomes one just past the
  // relative range, which realtime() then treats as an absolute time in the past.
  if (exptime < 0) exptime = kMaxRelativeExptime + 1;
  if (exptime > kMaxRelativeExptime) {
    if (exptime <= epoch_) return 1;
    return static_cast<uint32_t>(exptime - epoch_);
  }
  return static_cast<uint32_t>(exptime + now);
}

void Store::flush_all(int64_t delay, uint32_t now) {
  const uint32_t new_oldest = delay > 0 ? expiry_time(delay, now) : now;
  const uint32_t oldest_live = new_oldest - 1;
  // With CAS, an immediate flush also covers items written earlier in this second.
  if (oldest_live <= now) oldest_cas_.store(next_cas(), std::memory_order_relaxed);
  oldest_live_.store(oldest_live, std::memory_order_relaxed);
}

bool Store::is_flushed(const Item* item, uint32_t now) const {
  const uint32_t oldest_live = oldest_live_.load(std::memory_order_relaxed);
  if (oldest_live == 0 || oldest_live > now) return false;
  const uint64_t oldest_cas = oldest_cas_.load(std::memory_order_relaxed);
  const uint64_t cas = item->cas.load(std::memory_order_relaxed);
  return item->time <= oldest_live || (oldest_cas != 0 && cas != 0 && cas < oldest_cas);
}

ItemRef Store::allocate(std::string_view key, uint32_t client_flags, uint32_t exptime,
                        size_t value_length, AllocStatus& status) {
  status = AllocStatus::kOk;
  if (value_length > max_value_size_ || key.size() > kMaxItemKey) {
    status = AllocStatus::kTooLarge;
    return {};
  }
  const ItemLayout layout = plan_item(key.size(), value_length);
  const unsigned largest = allocator_.largest_order();
  bool fits = largest != BuddyAllocator::kNoOrder && layout.header_order <= largest &&
              layout.total_bytes <= allocator_.limit();
  if (fits && layout.chunked) {
    for (ChunkSizer sizer(value_length); !sizer.done();) {
      if (BuddyAllocator::order_for(sizer.next().capacity) > largest) fits = false;
    }
  }
  if (!fits) {  // could not be stored even in an empty cache: evict nothing
    status = AllocStatus::kNoMemory;
    return {};
  }

  const uint32_t now = this->now();
  void* header = allocate_block(layout.header_order, now);
  if (header == nullptr) {
    status = AllocStatus::kNoMemory;
    return {};
  }
  auto* item = static_cast<Item*>(header);
  item_init(item, key, client_flags, exptime, layout, value_length);
  ItemRef ref(item);
  if (layout.chunked) {
    char** chunks = item_chunks(item);
    uint32_t i = 0;
    for (ChunkSizer sizer(value_length); !sizer.done(); ++i) {
      void* block = allocate_block(BuddyAllocator::order_for(sizer.next().capacity), now);
      if (block == nullptr) {
        item->chunk_count = i;  // release frees exactly the chunks taken so far
        status = AllocStatus::kNoMemory;
        return {};
      }
      chunks[i] = static_cast<char*>(block);
    }
  }
  return ref;
}

size_t Store::set_memory_limit(size_t bytes) {
  allocator_.set_limit(bytes);
  // Down to the new limit at once, least recently used first, so the memory is free
  // (for the process; pages stay mapped) and later sets do not pay for it in a burst.
  const uint32_t now = this->now();
  while (allocator_.in_use() > allocator_.limit() && evict_one(now)) {
  }
  return allocator_.limit();
}

void* Store::allocate_block(unsigned order, uint32_t now) {
  for (;;) {
    if (void* block = allocator_.allocate(order)) return block;
    if (!evict_one(now)) return nullptr;
  }
}

bool Store::evict_one(uint32_t now) {
  std::array<bool, kMaxShards> tried{};
  const size_t start = evict_cursor_.fetch_add(1, std::memory_order_relaxed) % shard_count_;
  for (size_t attempt = 0; attempt < shard_count_; ++attempt) {
    // The shard whose LRU tail is oldest approximates one global LRU; the rotating
    // start spreads ties (same second) over the shards.
    size_t best = kMaxShards;
    uint32_t best_time = kEmptyShard;
    for (size_t j = 0; j < shard_count_; ++j) {
      const size_t i = (start + j) % shard_count_;
      if (tried[i]) continue;
      const uint32_t t = shards_[i].tail_time.load(std::memory_order_relaxed);
      if (t < best_time) {
        best = i;
        best_time = t;
      }
    }
    if (best == kMaxShards) return false;
    tried[best] = true;

    Shard& shard = shards_[best];
    std::lock_guard lock(shard.mutex);
    // Within the first few items of the tail, expired ones are reclaimed (all of
    // them: they are dead weight) in preference to evicting a live one. Only an
    // item nobody reads frees memory now; one being sent stays where it is.
    Item* victim = nullptr;
    bool freed = false;
    Item* item = shard.lru_tail;
    for (int depth = 0; item != nullptr && depth < kEvictSearchDepth; ++depth) {
      Item* const prev = item->lru_prev;
      const bool sole = item->refs.load(std::memory_order_acquire) == 1;
      if (is_expired(item, now) || is_flushed(item, now)) {
        shard.counters.reclaimed.add();
        if ((item->bits & Item::kFetched) == 0) shard.counters.expired_unfetched.add();
        unlink_item(shard, item);
        freed = freed || sole;
      } else if (sole && victim == nullptr) {
        victim = item;
      }
      if ((freed || victim != nullptr) && depth + 1 >= kReclaimWindow) break;
      item = prev;
    }
    if (freed) return true;
    if (victim != nullptr) {
      shard.counters.evictions.add();
      if ((victim->bits & Item::kFetched) == 0) shard.counters.evicted_unfetched.add();
      unlink_item(shard, victim);
      return true;
    }
  }
  return false;
}

void Store::for_each_item(const std::function<void(const Item&)>& visit) const {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    for (const Item* item = shard.lru_head; item != nullptr; item = item->lru_next) visit(*item);
  }
}

void Store::unlink_item(Shard& shard, Item* item) {
  assert((item->bits & Item::kLinked) != 0);
  Item** link = &shard.buckets[hash_key(item_key_of(item)) & shard.mask];
  while (*link != item) link = &(*link)->hash_next;
  *link = item->hash_next;
  item->hash_next = nullptr;
  lru_unlink(shard, item);
  update_tail_time(shard);
  item->bits &= static_cast<uint8_t>(~Item::kLinked);
  shard.counters.curr_items.sub();
  item_release(item);  // the table's reference
}

void Store::lru_unlink(Shard& shard, Item* item) {
  if (item->lru_prev != nullptr) {
    item->lru_prev->lru_next = item->lru_next;
  } else {
    shard.lru_head = item->lru_next;
  }
  if (item->lru_next != nullptr) {
    item->lru_next->lru_prev = item->lru_prev;
  } else {
    shard.lru_tail = item->lru_prev;
  }
  item->lru_prev = item->lru_next = nullptr;
}

void Store::lru_push_head(Shard& shard, Item* item) {
  item->lru_prev = nullptr;
  item->lru_next = shard.lru_head;
  if (shard.lru_head != nullptr) {
    shard.lru_head->lru_prev = item;
  } else {
    shard.lru_tail = item;
  }
  shard.lru_head = item;
}

void Store::update_tail_time(Shard& shard) {
  shard.tail_time.store(shard.lru_tail != nullptr ? shard.lru_tail->bump_time : kEmptyShard,
                        std::memory_order_relaxed);
}

StoreTotals Store::totals() const {
  StoreTotals t;
  for (size_t i = 0; i < shard_count_; ++i) {
    const ShardCounters& c = shards_[i].counters;
    t.curr_items += c.curr_items.get();
    t.total_items += c.total_items.get();
    t.evictions += c.evictions.get();
    t.evicted_unfetched += c.evicted_unfetched.get();
    t.reclaimed += c.reclaimed.get();
    t.expired_unfetched += c.expired_unfetched.get();
    t.get_expired += c.get_expired.get();
    t.get_flushed += c.get_flushed.get();
    t.cmd_get += c.cmd_get.get();
    t.get_hits += c.get_hits.get();
    t.get_misses += c.get_misses.get();
    t.cmd_set += c.cmd_set.get();
    t.cmd_touch += c.cmd_touch.get();
    t.touch_hits += c.touch_hits.get();
    t.touch_misses += c.touch_misses.get();
    t.delete_hits += c.delete_hits.get();
    t.delete_misses += c.delete_misses.get();
    t.incr_hits += c.incr_hits.get();
    t.incr_misses += c.incr_misses.get();
    t.decr_hits += c.decr_hits.get();
    t.decr_misses += c.decr_misses.get();
    t.cas_hits += c.cas_hits.get();
    t.cas_misses += c.cas_misses.get();
    t.cas_badval += c.cas_badval.get();
  }
  t.memory_in_use = allocator_.in_use();
  t.memory_limit = allocator_.limit();
  return t;
}

// Locked

Store::Locked::Locked(Store& store, std::string_view key, uint32_t now)
    : store_(store),
      hash_(hash_key(key)),
      shard_(store.shards_[store.shard_index(hash_)]),
      key_(key),
      now_(now) {
  shard_.mutex.lock();
}

Store::Locked::~Locked() { shard_.mutex.unlock(); }

ShardCounters& Store::Locked::counters() { return shard_.counters; }

Item* Store::Locked::find() {
  Item* item = shard_.buckets[hash_ & shard_.mask];
  while (item != nullptr && (item->key_length != key_.size() || item_key_of(item) != key_)) {
    item = item->hash_next;
  }
  if (item == nullptr) return nullptr;
  if (store_.is_flushed(item, now_)) {
    shard_.counters.get_flushed.add();
    store_.unlink_item(shard_, item);
    return nullptr;
  }
  if (store_.is_expired(item, now_)) {
    shard_.counters.get_expired.add();
    store_.unlink_item(shard_, item);
    return nullptr;
  }
  return item;
}

void Store::Locked::link(Item* item) {
  assert((item->bits & Item::kLinked) == 0 && item_key_of(item) == key_);
  item_acquire(item);  // the table's reference
  item->bits |= Item::kLinked;
  item->time = now_;
  item->bump_time = now_;
  item->cas.store(store_.next_cas(), std::memory_order_relaxed);
  Item** bucket = &shard_.buckets[hash_ & shard_.mask];
  item->hash_next = *bucket;
  *bucket = item;
  store_.lru_push_head(shard_, item);
  store_.update_tail_time(shard_);
  shard_.counters.curr_items.add();
  shard_.counters.total_items.add();
}

void Store::Locked::unlink(Item* item) { store_.unlink_item(shard_, item); }

void Store::Locked::fetched(Item* item) {
  // memcached only refreshes the access time from the second read on.
  if ((item->bits & Item::kFetched) != 0) {
    item->time = now_;
  } else {
    item->bits |= Item::kFetched;
  }
  item->bump_time = now_;
  store_.lru_unlink(shard_, item);
  store_.lru_push_head(shard_, item);
  store_.update_tail_time(shard_);
}

void Store::Locked::touched(Item* item) {
  if (now_ >= kUpdateInterval && item->time < now_ - kUpdateInterval) item->time = now_;
  item->bump_time = now_;
  store_.lru_unlink(shard_, item);
  store_.lru_push_head(shard_, item);
  store_.update_tail_time(shard_);
}

}  // namespace mcguard
