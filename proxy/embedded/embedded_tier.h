// EmbeddedTier: memcached's data commands served from an in-process cache that
// all workers share. It writes the exact reply bytes memcached 1.6.18 sends, never
// holds more than memory_limit bytes of item memory (cache/'s Store: its own slabs,
// no malloc per item), evicts least recently used items, and hands values to replies
// by reference (ItemRef). One object serves every worker: all of it is thread-safe.
// Classic commands are in classic_commands.cc, meta commands in meta_commands.cc,
// the store and arithmetic rules they share in embedded_tier.cc.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "cache/store.h"
#include "protocol/request.h"
#include "proxy/core/prefix_stats.h"
#include "proxy/core/reply_queue.h"
#include "proxy/core/tier.h"
#include "proxy/embedded/reply_writer.h"

namespace mcguard {

struct EmbeddedConfig {
  size_t memory_limit = 64u << 20;   // bytes of item memory, all included
  size_t max_value_size = 8u << 20;  // largest value the tier must be able to hold
  uint32_t shards = 16;              // lock stripes (power of two)
  // Seconds since the Unix epoch; tests substitute their own clock.
  std::function<int64_t()> clock;  // empty: the real clock
};

// Counters memcached's `stats` reports for its cache; all monotonic except the
// two "curr" gauges.
struct EmbeddedStats {
  uint64_t curr_items = 0;
  uint64_t total_items = 0;
  uint64_t bytes = 0;  // bytes of item memory in use
  uint64_t evictions = 0;
  uint64_t evicted_unfetched = 0;  // evicted before anyone read them
  uint64_t reclaimed = 0;          // expired or flushed items whose memory was reused
  uint64_t expired_unfetched = 0;
  uint64_t get_hits = 0, get_misses = 0, get_expired = 0, get_flushed = 0;
  uint64_t cmd_get = 0, cmd_set = 0, cmd_touch = 0, cmd_flush = 0;
  uint64_t delete_hits = 0, delete_misses = 0;
  uint64_t incr_hits = 0, incr_misses = 0, decr_hits = 0, decr_misses = 0;
  uint64_t cas_hits = 0, cas_misses = 0, cas_badval = 0;
  uint64_t touch_hits = 0, touch_misses = 0;
  uint64_t limit_maxbytes = 0;
};

class EmbeddedTier final : public Tier {
 public:
  explicit EmbeddedTier(const EmbeddedConfig& config);
  EmbeddedTier(const EmbeddedTier&) = delete;
  EmbeddedTier& operator=(const EmbeddedTier&) = delete;

  // Executes one data command whose data block (if any) is complete: `value`
  // covers its value_length bytes, without the trailing "\r\n". Appends exactly
  // the bytes memcached would send (nothing for noreply / meta q where memcached
  // sends nothing). Handles: set add replace append prepend cas get gets gat gats
  // delete incr decr touch flush_all cache_memlimit mg ms md ma mn me.
  void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply);

  // A `set` rejected for size before its data arrived: memcached unlinks the
  // old item so no client reads a stale value.
  void unlink(std::string_view key);

  EmbeddedStats stats() const;
  Store& store() { return store_; }
  // `stats detail`: gets that hit are counted here, while detail is on (the
  // connection counts the requests themselves).
  void set_prefix_stats(PrefixStats* detail) { detail_ = detail; }

  // Tier: always accepts, answers at once, copies values out of their chain.
  bool can_accept(const Request&, const ReplyQueue&) override { return true; }
  void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
               BufferChain*) override {
    execute(request, value, reply);
  }
  void remove_stale(std::string_view key, const ReplyQueue&) override { unlink(key); }

  // memcached's do_store_item modes and outcomes.
  enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };
  enum class StoreResult : uint8_t { kStored, kNotStored, kExists, kNotFound };
  // do_add_delta's outcomes.
  enum class DeltaResult : uint8_t { kOk, kNonNumeric, kNoMemory, kNotFound, kCasMismatch };
  struct DeltaOutcome {
    char digits[24];  // the new value, unpadded
    size_t length = 0;
    uint64_t cas = 0;
    uint32_t exptime_before = 0;  // the item's exptime before `set_exptime` applied
    uint32_t exptime = 0;         // and after
  };

 private:
  // classic_commands.cc
  void storage(const Request& request, std::span<const iovec> value, uint32_t now,
               ReplyWriter& out);
  void retrieval(const Request& request, uint32_t now, ReplyWriter& out);
  void remove(const Request& request, uint32_t now, ReplyWriter& out);
  void arithmetic(const Request& request, uint32_t now, ReplyWriter& out);
  void touch(const Request& request, uint32_t now, ReplyWriter& out);
  void flush_all(const Request& request, uint32_t now, ReplyWriter& out);
  // meta_commands.cc
  void meta_get(const Request& request, uint32_t now, ReplyWriter& out);
  void meta_set(const Request& request, std::span<const iovec> value, uint32_t now,
                ReplyWriter& out);
  void meta_delete(const Request& request, uint32_t now, ReplyWriter& out);
  void meta_arithmetic(const Request& request, uint32_t now, ReplyWriter& out);
  void meta_debug(const Request& request, uint32_t now, ReplyWriter& out);

  // embedded_tier.cc
  // Stores `item` (allocated, value written, unlinked) under `mode`. `cas_in` is
  // the CAS the client sent (0: none); `set_stale` allows ms I's stale CAS. On
  // kStored, `stored_cas` is the CAS of what got linked.
  StoreResult store_item(Item* item, StoreMode mode, uint64_t cas_in, bool set_stale, uint32_t now,
                         uint64_t& stored_cas);
  // incr/decr by `delta` (cas_in 0: no check). On kOk, `set_exptime` (when given)
  // becomes the item's exptime, atomically with the change. A miss counts as
  // incr/decr_misses when `count_miss`.
  DeltaResult add_delta(std::string_view key, bool incr, uint64_t delta, uint64_t cas_in,
                        const uint32_t* set_exptime, bool count_miss, uint32_t now,
                        DeltaOutcome& out);

  Store store_;
  std::atomic<uint64_t> cmd_flush_{0};
  PrefixStats* detail_ = nullptr;
};

}  // namespace mcguard
