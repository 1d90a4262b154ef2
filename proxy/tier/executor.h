// Executor: runs memcached's data commands against a Store and writes the exact
// reply bytes memcached 1.6.18 sends. EmbeddedTier's implementation, internal to
// proxy/tier: classic commands in classic_commands.cc, meta commands in
// meta_commands.cc, the store/arithmetic rules they share in executor.cc.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/request.h"
#include "proxy/reply_queue.h"
#include "proxy/tier/embedded.h"
#include "proxy/tier/reply_writer.h"
#include "proxy/tier/store.h"

namespace mcguard {

class Executor {
 public:
  explicit Executor(const EmbeddedConfig& config);

  void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply);
  void unlink(std::string_view key);
  EmbeddedStats stats() const;
  Store& store() { return store_; }

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

  // executor.cc
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
};

}  // namespace mcguard
