#include "proxy/embedded/embedded_tier.h"

#include <algorithm>
#include <charconv>

#include "protocol/response.h"

namespace mcguard {
namespace {

// memcached chunks items larger than its largest slab class and refuses to incr
// or decr those.
constexpr size_t kMemcachedChunkedItem = 512 * 1024;

bool is_c_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Reads an item's value as memcached's safe_strtoull reads ITEM_data: leading
// whitespace, an optional sign, decimal digits, then whitespace or the end of the
// value (memcached sees the "\r\n" there). A '-' is refused unless the result is
// below 2^63, as strtoull's negation makes it ("-0" is 0, "-1" fails).
bool parse_counter(const Item* item, uint64_t& out) {
  iovec parts[4];
  const size_t count = item_value_iovecs(item, 0, parts, 4);
  size_t part = 0;
  size_t at = 0;
  auto peek = [&]() -> int {
    while (part < count && at == parts[part].iov_len) {
      ++part;
      at = 0;
    }
    return part < count
               ? static_cast<unsigned char>(static_cast<const char*>(parts[part].iov_base)[at])
               : -1;
  };
  while (is_c_space(peek())) ++at;
  bool negative = false;
  if (peek() == '+' || peek() == '-') {
    negative = peek() == '-';
    ++at;
  }
  uint64_t value = 0;
  bool digits = false;
  for (int c = peek(); c >= '0' && c <= '9'; c = peek()) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;  // strtoull's ERANGE
    value = value * 10 + digit;
    digits = true;
    ++at;
  }
  if (!digits) return false;
  const int next = peek();
  if (next != -1 && !is_c_space(next)) return false;
  if (negative) {
    value = 0 - value;
    if (static_cast<int64_t>(value) < 0) return false;
  }
  out = value;
  return true;
}

// Copies the whole value of `from` into `to` at `offset`.
void copy_value(const Item* from, Item* to, size_t offset) {
  iovec parts[16];
  size_t done = 0;
  while (done < from->value_length) {
    const size_t count = item_value_iovecs(from, done, parts, 16);
    for (size_t i = 0; i < count; ++i) {
      item_write_value(to, offset + done,
                       {static_cast<const char*>(parts[i].iov_base), parts[i].iov_len});
      done += parts[i].iov_len;
    }
  }
}

}  // namespace

EmbeddedTier::EmbeddedTier(const EmbeddedConfig& config)
    : store_(StoreConfig{config.memory_limit, config.max_value_size, config.shards, config.clock}) {
}

void EmbeddedTier::execute(const Request& request, std::span<const iovec> value,
                           ReplyQueue& reply) {
  ReplyWriter out(reply);
  const uint32_t now = store_.now();
  switch (request.command) {
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas:
      storage(request, value, now, out);
      break;
    case Command::kGet:
    case Command::kGets:
    case Command::kGat:
    case Command::kGats:
      retrieval(request, now, out);
      break;
    case Command::kDelete:
      remove(request, now, out);
      break;
    case Command::kIncr:
    case Command::kDecr:
      arithmetic(request, now, out);
      break;
    case Command::kTouch:
      touch(request, now, out);
      break;
    case Command::kFlushAll:
      flush_all(request, now, out);
      break;
    case Command::kMetaGet:
      meta_get(request, now, out);
      break;
    case Command::kMetaSet:
      meta_set(request, value, now, out);
      break;
    case Command::kMetaDelete:
      meta_delete(request, now, out);
      break;
    case Command::kMetaArithmetic:
      meta_arithmetic(request, now, out);
      break;
    case Command::kMetaNoop:
      out.append(reply::kMetaNoop);
      break;
    case Command::kMetaDebug:
      meta_debug(request, now, out);
      break;
    case Command::kCacheMemlimit:
      // Clamped to the memory mapped at start-up (--memory-limit): memcached says OK
      // to any limit it can set, and so does mcguard; limit_maxbytes shows the result.
      store_.set_memory_limit(size_t{request.memlimit_mb} << 20);
      if (!request.noreply) out.append(reply::kOk);
      break;
    default:  // not a data command: the connection answers those itself
      out.append(reply::kError);
      break;
  }
}

void EmbeddedTier::unlink(std::string_view key) {
  Store::Locked lock(store_, key, store_.now());
  if (Item* item = lock.find()) lock.unlink(item);
}

EmbeddedStats EmbeddedTier::stats() const {
  const StoreTotals t = store_.totals();
  EmbeddedStats s;
  s.curr_items = t.curr_items;
  s.total_items = t.total_items;
  s.bytes = t.memory_in_use;
  s.evictions = t.evictions;
  s.evicted_unfetched = t.evicted_unfetched;
  s.reclaimed = t.reclaimed;
  s.expired_unfetched = t.expired_unfetched;
  s.get_hits = t.get_hits;
  s.get_misses = t.get_misses;
  s.get_expired = t.get_expired;
  s.get_flushed = t.get_flushed;
  s.cmd_get = t.cmd_get;
  s.cmd_set = t.cmd_set;
  s.cmd_touch = t.cmd_touch;
  s.cmd_flush = cmd_flush_.load(std::memory_order_relaxed);
  s.delete_hits = t.delete_hits;
  s.delete_misses = t.delete_misses;
  s.incr_hits = t.incr_hits;
  s.incr_misses = t.incr_misses;
  s.decr_hits = t.decr_hits;
  s.decr_misses = t.decr_misses;
  s.cas_hits = t.cas_hits;
  s.cas_misses = t.cas_misses;
  s.cas_badval = t.cas_badval;
  s.touch_hits = t.touch_hits;
  s.touch_misses = t.touch_misses;
  s.limit_maxbytes = t.memory_limit;
  return s;
}

EmbeddedTier::StoreResult EmbeddedTier::store_item(Item* item, StoreMode mode, uint64_t cas_in,
                                                   bool set_stale, uint32_t now,
                                                   uint64_t& stored_cas) {
  const std::string_view key = item_key_of(item);
  // append/prepend build the joined item outside the lock (allocation may evict),
  // then link it only if the item it copied is still the current one.
  ItemRef source;
  uint64_t source_cas = 0;
  ItemRef joined;
  bool counted = false;
  for (;;) {
    {
      Store::Locked lock(store_, key, now);
      ShardCounters& counters = lock.counters();
      if (!counted) {
        counters.cmd_set.add();
        counted = true;
      }
      Item* old = lock.find();
      if (old == nullptr) {
        switch (mode) {
          case StoreMode::kSet:
          case StoreMode::kAdd:
            lock.link(item);
            stored_cas = item_cas(item);
            return StoreResult::kStored;
          case StoreMode::kCas:
            counters.cas_misses.add();
            return StoreResult::kNotFound;
          default:  // replace, append, prepend need an existing item
            return StoreResult::kNotStored;
        }
      }
      const uint64_t old_cas = item_cas(old);
      enum { kNone, kMatch, kBadValue, kStale } cas_result = kNone;
      if (cas_in == 0) {
        cas_result = kNone;
      } else if (cas_in == old_cas) {
        cas_result = kMatch;
      } else if (set_stale && cas_in < old_cas) {
        cas_result = kStale;
      } else {
        cas_result = kBadValue;
      }
      switch (mode) {
        case StoreMode::kAdd:
          lock.touched(old);
          return StoreResult::kNotStored;
        case StoreMode::kCas:
          if (cas_result == kMatch) {
            counters.cas_hits.add();
          } else if (cas_result == kStale) {
            // A stale write keeps the TTL and the invalidation markers.
            item->exptime = old->exptime;
            item->bits |= Item::kStale | (old->bits & Item::kTokenSent);
            counters.cas_hits.add();
          } else {
            counters.cas_badval.add();
            return StoreResult::kExists;
          }
          break;
        case StoreMode::kAppend:
        case StoreMode::kPrepend:
          if (cas_result != kNone && cas_result != kMatch) return StoreResult::kExists;
          if (joined && source.get() == old && source_cas == old_cas) {
            joined.get()->exptime = old->exptime;  // as it is now, not when copied
            lock.replace(old, joined.get());
            stored_cas = item_cas(joined.get());
            return StoreResult::kStored;
          }
          source = lock.share(old);
          source_cas = old_cas;
          joined.reset();
          break;
        case StoreMode::kSet:
        case StoreMode::kReplace:
          break;
      }
      if (mode != StoreMode::kAppend && mode != StoreMode::kPrepend) {
        lock.replace(old, item);
        stored_cas = item_cas(item);
        return StoreResult::kStored;
      }
    }
    // append/prepend: join old and new values in a new item with the old item's
    // flags (and, when linked, its exptime); no memory (or too large) leaves the
    // old one: NOT_STORED.
    const Item* old = source.get();
    Store::AllocStatus status;
    joined = store_.allocate(key, old->client_flags, 0,
                             size_t{old->value_length} + item->value_length, status);
    if (!joined) return StoreResult::kNotStored;
    if (mode == StoreMode::kAppend) {
      copy_value(old, joined.get(), 0);
      copy_value(item, joined.get(), old->value_length);
    } else {
      copy_value(item, joined.get(), 0);
      copy_value(old, joined.get(), item->value_length);
    }
  }
}

EmbeddedTier::DeltaResult EmbeddedTier::add_delta(std::string_view key, bool incr, uint64_t delta,
                                                  uint64_t cas_in, const uint32_t* set_exptime,
                                                  bool count_miss, uint32_t now,
                                                  DeltaOutcome& out) {
  // A result that does not fit the old value goes in a new item, allocated outside
  // the lock and linked only if the item it replaces is still current.
  ItemRef source;
  uint64_t source_cas = 0;
  ItemRef replacement;
  for (;;) {
    {
      Store::Locked lock(store_, key, now);
      ShardCounters& counters = lock.counters();
      Item* item = lock.find();
      if (item == nullptr) {
        if (count_miss) (incr ? counters.incr_misses : counters.decr_misses).add();
        return DeltaResult::kNotFound;
      }
      if (item->value_length == 0 || memcached_item_size(item) > kMemcachedChunkedItem) {
        return DeltaResult::kNonNumeric;
      }
      const uint64_t item_cas_value = item_cas(item);
      if (cas_in != 0 && item_cas_value != cas_in) return DeltaResult::kCasMismatch;
      uint64_t value = 0;
      if (!parse_counter(item, value)) return DeltaResult::kNonNumeric;
      if (incr) {
        value += delta;  // wraps at 2^64, as memcached
      } else {
        value = delta > value ? 0 : value - delta;
      }
      out.length = static_cast<size_t>(
          std::to_chars(out.digits, out.digits + sizeof(out.digits), value).ptr - out.digits);

      Item* result = nullptr;
      if (replacement && source.get() == item && source_cas == item_cas_value) {
        replacement.get()->exptime = item->exptime;  // as it is now, not when copied
        lock.replace(item, replacement.get());
        result = replacement.get();
      } else if (out.length <= item->value_length && lock.sole_reference(item)) {
        // In place, as memcached: the number, then spaces to the old length. Nobody
        // else holds the item, so nobody can be reading these bytes.
        item_write_value(item, 0, {out.digits, out.length});
        item_fill_value(item, out.length, ' ');
        item->cas.store(store_.next_cas(), std::memory_order_relaxed);
        lock.touched(item);
        result = item;
      }
      if (result != nullptr) {
        (incr ? counters.incr_hits : counters.decr_hits).add();
        out.cas = item_cas(result);
        out.exptime_before = result->exptime;
        if (set_exptime != nullptr) result->exptime = *set_exptime;
        out.exptime = result->exptime;
        return DeltaResult::kOk;
      }
      source = lock.share(item);
      source_cas = item_cas_value;
    }
    const Item* old = source.get();
    Store::AllocStatus status;
    replacement = store_.allocate(key, old->client_flags, 0, out.length, status);
    if (!replacement) return DeltaResult::kNoMemory;
    item_write_value(replacement.get(), 0, {out.digits, out.length});
  }
}

}  // namespace mcguard
