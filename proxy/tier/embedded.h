// EmbeddedTier: memcached's data commands served from an in-process cache that
// all workers share. It never holds more than memory_limit bytes of item memory
// (its own slabs, no malloc per item), evicts least recently used items, and
// hands values to replies by reference (ItemRef). execute() is thread-safe.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "protocol/request.h"
#include "proxy/reply_queue.h"

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

class EmbeddedTier {
 public:
  explicit EmbeddedTier(const EmbeddedConfig& config);
  ~EmbeddedTier();
  EmbeddedTier(const EmbeddedTier&) = delete;
  EmbeddedTier& operator=(const EmbeddedTier&) = delete;

  // Executes one data command whose data block (if any) is complete: `value`
  // covers its value_length bytes, without the trailing "\r\n". Appends exactly
  // the bytes memcached would send (nothing for noreply / meta q where memcached
  // sends nothing). Handles: set add replace append prepend cas get gets gat gats
  // delete incr decr touch flush_all mg ms md ma mn me.
  void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply);

  // A `set` rejected for size before its data arrived: memcached unlinks the
  // old item so no client reads a stale value.
  void unlink(std::string_view key);

  EmbeddedStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcguard
