// The meta commands mg ms md ma me, as memcached 1.6.18 answers them. The parser
// has already refused bad flags (and filled the numeric ones into the Request);
// what is left here is each command's semantics and its reply line, whose flags
// come back in the order the client sent them.
#include <charconv>
#include <cstring>

#include "protocol/base64.h"
#include "protocol/meta.h"
#include "protocol/parser.h"
#include "protocol/response.h"
#include "proxy/embedded/embedded_tier.h"

namespace mcguard {
namespace {

// A meta key, base64-decoded under 'b'.
struct MetaKey {
  char decoded[kMaxItemKey + 8];
  std::string_view key;
  bool binary = false;
};

bool decode_key(const Request& request, MetaKey& out) {
  if (!request.meta.has('b')) {
    out.key = request.key;
    return true;
  }
  const size_t length = base64_decode(request.key, {out.decoded, sizeof(out.decoded)});
  if (length == 0) return false;
  out.key = {out.decoded, length};
  out.binary = true;
  return true;
}

// Meta reply lines are formatted whole by protocol's encoder: every return flag
// appears at most once (the parser refuses a repeated one), so a line fits
// kMaxMetaLineLength.
static_assert(kMaxItemKey <= kMaxKeyLength);

// The flags that miss replies echo: O and k.
void format_miss_flags(ReplyFormatter& line, const MetaFlags& flags, const MetaKey& key) {
  for (size_t i = 0; i < flags.count; ++i) {
    if (flags.flags[i].name == 'O') line.flag_token('O', flags.flags[i].token);
    if (flags.flags[i].name == 'k') line.flag_key(key.key, key.binary);
  }
}

// A status line that echoes only O and k: "<status>[ O..][ k..]\r\n".
void append_status(ReplyWriter& out, std::string_view status, const MetaFlags& flags,
                   const MetaKey& key) {
  ReplyFormatter& line = out.format(kMaxMetaLineLength).text(status);
  format_miss_flags(line, flags, key);
  line.crlf();
}

// A remaining TTL as memcached prints it: -1 for none, else 32-bit arithmetic.
int64_t remaining_ttl(uint32_t exptime, uint32_t now) {
  return exptime == 0 ? -1 : static_cast<int64_t>(static_cast<uint32_t>(exptime - now));
}

// ma's M token: I, + or none increments, D or - decrements; false for anything else.
bool arithmetic_mode(char mode, bool& incr) {
  switch (mode) {
    case 0:
    case 'I':
    case '+':
      incr = true;
      return true;
    case 'D':
    case '-':
      incr = false;
      return true;
    default:
      return false;
  }
}

// ma's success line (HD, or VA and the new value under v) with its return flags. t shows
// the exptime as the flags before it left it.
void append_arithmetic_reply(ReplyWriter& out, const MetaFlags& flags, const MetaKey& key,
                             const EmbeddedTier::DeltaOutcome& outcome, bool created, uint32_t ttl,
                             uint32_t vivify_ttl, uint32_t now) {
  ReplyFormatter& line = out.format(kMaxMetaLineLength);
  if (flags.has('v')) {
    line.meta_value(outcome.length);
  } else {
    line.text(reply::kMetaHd);
  }
  uint32_t exptime = outcome.exptime_before;
  for (size_t i = 0; i < flags.count; ++i) {
    switch (flags.flags[i].name) {
      case 'c':
        line.flag_number('c', outcome.cas);
        break;
      case 't':
        line.flag_signed('t', remaining_ttl(exptime, now));
        break;
      case 'T':
        exptime = ttl;
        break;
      case 'N':
        if (created) exptime = vivify_ttl;
        break;
      case 'O':
        line.flag_token('O', flags.flags[i].token);
        break;
      case 'k':
        line.flag_key(key.key, key.binary);
        break;
      default:
        break;
    }
  }
  line.crlf();
  if (flags.has('v')) {
    out.append({outcome.digits, outcome.length});
    out.append(reply::kCrlf);
  }
}

}  // namespace

namespace {

// TTLs an mg request asks for, as store times.
struct MetaGetTimes {
  uint32_t ttl;         // T
  uint32_t vivify_ttl;  // N
  uint32_t recache;     // R
};

// mg's reply for an item it found (or just created), under the item's lock: the
// flags in request order, then Z / X / W, then the value. Returns whether T set
// the TTL (memcached then counts a touch rather than a get).
bool reply_meta_hit(Store::Locked& lock, Item* item, bool created, const MetaFlags& flags,
                    const MetaGetTimes& times, ReplyWriter& out) {
  const uint32_t now = lock.now();
  bool won = false;
  bool ttl_set = false;
  ReplyFormatter& line = out.format(kMaxMetaLineLength);
  if (flags.has('v')) {
    line.meta_value(item->value_length);
  } else {
    line.text(reply::kMetaHd);
  }
  for (size_t i = 0; i < flags.count; ++i) {
    switch (flags.flags[i].name) {
      case 'T':
        ttl_set = true;
        item->exptime = times.ttl;
        break;
      case 'N':
        if (created) {
          item->exptime = times.vivify_ttl;
          won = true;
        }
        break;
      case 'R':
        if ((item->bits & Item::kTokenSent) == 0 && !created && item->exptime != 0 &&
            item->exptime < times.recache) {
          won = true;
        }
        break;
      case 's':
        line.flag_number('s', item->value_length);
        break;
      case 't':
        line.flag_signed('t', remaining_ttl(item->exptime, now));
        break;
      case 'c':
        line.flag_number('c', item_cas(item));
        break;
      case 'f':
        line.flag_number('f', item->client_flags);
        break;
      case 'l':
        line.flag_number('l', static_cast<uint32_t>(now - item->time));
        break;
      case 'h':
        line.flag_number('h', (item->bits & Item::kFetched) != 0 ? 1 : 0);
        break;
      case 'O':
        line.flag_token('O', flags.flags[i].token);
        break;
      case 'k':
        line.flag_key(item_key_of(item), (item->shape & Item::kKeyBinary) != 0);
        break;
      default:
        break;
    }
  }
  // Z: a token went out already; X: stale, and the first to see it wins (W).
  if ((item->bits & Item::kTokenSent) != 0) line.flag('Z');
  if ((item->bits & Item::kStale) != 0) {
    line.flag('X');
    if ((item->bits & Item::kTokenSent) == 0) won = true;
  }
  if (won) {
    line.flag('W');
    item->bits |= Item::kTokenSent;
  }
  line.crlf();
  if (flags.has('v')) {
    out.append_value(item);
    out.append(reply::kCrlf);
  }
  // h and l above read the state from before this read.
  if (!flags.has('u')) lock.fetched(item);
  return ttl_set;
}

}  // namespace

void EmbeddedTier::meta_get(const Request& request, uint32_t now, ReplyWriter& out) {
  const MetaFlags& flags = request.meta;
  MetaKey key;
  if (!decode_key(request, key)) {
    out.append(reply::kMetaErrorDecodingKey);
    return;
  }
  const bool vivify = flags.has('N');
  const MetaGetTimes times{
      flags.has('T') ? store_.expiry_time(request.exptime, now) : 0,
      vivify ? store_.expiry_time(flags.vivify_ttl, now) : 0,
      flags.has('R') ? store_.expiry_time(flags.recache_ttl, now) : 0,
  };

  // N on a miss links an empty item. It is allocated with no lock held, then the
  // lookup runs again (someone may have created the key meanwhile); when there is
  // no memory for it, the miss stands, as in memcached.
  ItemRef fresh;
  bool allocation_failed = false;
  for (;;) {
    {
      Store::Locked lock(store_, key.key, now);
      ShardCounters& counters = lock.counters();
      Item* item = lock.find();
      const bool create = item == nullptr && vivify && !allocation_failed;
      if (!create || fresh) {
        if (create) {
          lock.link(fresh.get());
          item = fresh.get();
        }
        if (item == nullptr) {
          counters.cmd_get.add();
          counters.get_misses.add();
          if (flags.has('q')) return;
          append_status(out, reply::kMetaMiss, flags, key);
          return;
        }
        if (reply_meta_hit(lock, item, create, flags, times, out)) {
          counters.cmd_touch.add();
          counters.touch_hits.add();
        } else {
          counters.cmd_get.add();
          counters.get_hits.add();
        }
        return;
      }
    }
    Store::AllocStatus status;
    fresh = store_.allocate(key.key, 0, 0, 0, status);
    allocation_failed = !fresh;
  }
}

void EmbeddedTier::meta_set(const Request& request, std::span<const iovec> value, uint32_t now,
                            ReplyWriter& out) {
  const MetaFlags& flags = request.meta;
  MetaKey key;
  if (!decode_key(request, key)) {
    out.append(reply::kMetaErrorDecodingKey);
    return;
  }
  StoreMode mode;
  switch (flags.mode) {
    case 0:
    case 'S':
      mode = StoreMode::kSet;
      break;
    case 'E':
      mode = StoreMode::kAdd;
      break;
    case 'A':
      mode = StoreMode::kAppend;
      break;
    case 'P':
      mode = StoreMode::kPrepend;
      break;
    case 'R':
      mode = StoreMode::kReplace;
      break;
    default:
      out.append(reply::kMetaInvalidSetMode);
      return;
  }
  // A CAS turns set and replace into cas; append/prepend check it themselves.
  const bool has_cas = flags.has('C');
  if (has_cas && (mode == StoreMode::kSet || mode == StoreMode::kReplace)) {
    mode = StoreMode::kCas;
  }
  const uint32_t exptime = flags.has('T') ? store_.expiry_time(request.exptime, now) : 0;
  const uint32_t client_flags = flags.has('F') ? request.client_flags : 0;

  Store::AllocStatus status;
  ItemRef item = store_.allocate(key.key, client_flags, exptime, request.value_length, status);
  if (!item) {
    // Errors are never quiet. The old value must not stay readable.
    out.append(status == Store::AllocStatus::kTooLarge ? reply::kTooLarge : reply::kOutOfMemory);
    unlink(key.key);
    return;
  }
  if (key.binary) item.get()->shape |= Item::kKeyBinary;
  item_write_value(item.get(), value);
  uint64_t stored_cas = 0;
  const StoreResult result = store_item(item.get(), mode, has_cas ? request.cas_unique : 0,
                                        flags.has('I') && mode == StoreMode::kCas, now, stored_cas);
  std::string_view code = reply::kMetaHd;
  switch (result) {
    case StoreResult::kStored:
      if (flags.has('q')) return;
      break;
    case StoreResult::kExists:
      code = reply::kMetaExists;
      break;
    case StoreResult::kNotFound:
      code = reply::kMetaNotFound;
      break;
    case StoreResult::kNotStored:
      code = reply::kMetaNotStored;
      break;
  }
  ReplyFormatter& line = out.format(kMaxMetaLineLength).text(code);
  for (size_t i = 0; i < flags.count; ++i) {
    switch (flags.flags[i].name) {
      case 'O':
        line.flag_token('O', flags.flags[i].token);
        break;
      case 'k':
        line.flag_key(item_key_of(item.get()), key.binary);
        break;
      case 'c':
        line.flag_number('c', stored_cas);
        break;
      default:
        break;
    }
  }
  line.crlf();
}

void EmbeddedTier::meta_delete(const Request& request, uint32_t now, ReplyWriter& out) {
  const MetaFlags& flags = request.meta;
  MetaKey key;
  if (!decode_key(request, key)) {
    out.append(reply::kMetaInvalidOrDuplicateFlag);
    return;
  }
  std::string_view status;
  {
    Store::Locked lock(store_, key.key, now);
    ShardCounters& counters = lock.counters();
    Item* item = lock.find();
    if (item == nullptr) {
      counters.delete_misses.add();
      status = reply::kMetaNotFound;
    } else if (flags.has('C') && item_cas(item) != request.cas_unique) {
      counters.delete_misses.add();
      status = reply::kMetaExists;
    } else {
      if (flags.has('I')) {
        // Invalidate instead of delete: stale, a new CAS, the next reader wins.
        if (flags.has('T')) item->exptime = store_.expiry_time(request.exptime, now);
        item->bits |= Item::kStale;
        item->bits &= static_cast<uint8_t>(~Item::kTokenSent);
        item->cas.store(store_.next_cas(), std::memory_order_relaxed);
      } else {
        counters.delete_hits.add();
        lock.unlink(item);
      }
      if (flags.has('q')) return;
      status = reply::kMetaHd;
    }
  }
  append_status(out, status, flags, key);
}

void EmbeddedTier::meta_arithmetic(const Request& request, uint32_t now, ReplyWriter& out) {
  const MetaFlags& flags = request.meta;
  MetaKey key;
  if (!decode_key(request, key)) {
    out.append(reply::kMetaInvalidOrDuplicateFlag);
    return;
  }
  bool incr = true;
  if (!arithmetic_mode(flags.mode, incr)) {
    out.append(reply::kMetaInvalidArithmeticMode);
    return;
  }
  const bool vivify = flags.has('N');
  const uint32_t ttl = flags.has('T') ? store_.expiry_time(request.exptime, now) : 0;
  const uint32_t vivify_ttl = vivify ? store_.expiry_time(flags.vivify_ttl, now) : 0;
  const uint64_t cas_in = flags.has('C') ? request.cas_unique : 0;

  DeltaOutcome outcome;
  bool created = false;
  for (;;) {
    const DeltaResult result = add_delta(key.key, incr, request.delta, cas_in,
                                         flags.has('T') ? &ttl : nullptr, !vivify, now, outcome);
    if (result == DeltaResult::kOk) break;
    switch (result) {
      case DeltaResult::kNonNumeric:
        out.append(reply::kNonNumeric);
        return;
      case DeltaResult::kNoMemory:
        out.append(reply::kOutOfMemoryShort);
        return;
      case DeltaResult::kCasMismatch:
        append_status(out, reply::kMetaExists, flags, key);
        return;
      default:
        break;
    }
    // Not found.
    if (!vivify) {
      append_status(out, reply::kMetaNotFound, flags, key);
      return;
    }
    // N: create it holding J (not incremented). Its exptime is what memcached's
    // flag loop leaves: the last of T and N.
    uint32_t exptime = 0;
    for (size_t i = 0; i < flags.count; ++i) {
      if (flags.flags[i].name == 'T') exptime = ttl;
      if (flags.flags[i].name == 'N') exptime = vivify_ttl;
    }
    outcome.length = static_cast<size_t>(
        std::to_chars(outcome.digits, outcome.digits + sizeof(outcome.digits), flags.initial).ptr -
        outcome.digits);
    Store::AllocStatus status;
    ItemRef item = store_.allocate(key.key, 0, exptime, outcome.length, status);
    if (!item) {
      out.append(reply::kOutOfMemoryNewItem);
      return;
    }
    item_write_value(item.get(), 0, {outcome.digits, outcome.length});
    uint64_t stored_cas = 0;
    if (store_item(item.get(), StoreMode::kAdd, 0, false, now, stored_cas) ==
        StoreResult::kStored) {
      created = true;
      outcome.cas = stored_cas;
      outcome.exptime_before = 0;
      break;
    }
    // Someone created the key meanwhile: do the arithmetic on theirs.
  }

  // Quiet mode hides a successful change, but not a creation (as memcached).
  if (flags.has('q') && !created) return;
  append_arithmetic_reply(out, flags, key, outcome, created, ttl, vivify_ttl, now);
}

void EmbeddedTier::meta_debug(const Request& request, uint32_t now, ReplyWriter& out) {
  MetaKey key;
  if (!decode_key(request, key)) {
    out.append(reply::kBadCommandLineFormat);
    return;
  }
  Store::Locked lock(store_, key.key, now);
  Item* item = lock.find();
  if (item == nullptr) {
    out.append(reply::kMetaDebugMiss);
    return;
  }
  ReplyFormatter& line = out.format(kMaxMetaDebugLineLength).text(reply::kMetaDebugPrefix);
  const std::string_view item_key = item_key_of(item);
  if ((item->shape & Item::kKeyBinary) != 0) {
    line.base64(item_key);
  } else {
    line.text(item_key);
  }
  // memcached prints exp as a signed difference (negative while the item lives)
  // and la as an unsigned one.
  line.text(" exp=").signed_number(item->exptime == 0 ? -1
                                                      : static_cast<int32_t>(now - item->exptime));
  line.text(" la=").number(static_cast<uint32_t>(now - item->time));
  line.text(" cas=").number(item_cas(item));
  line.text((item->bits & Item::kFetched) != 0 ? " fetch=yes" : " fetch=no");
  const size_t size = memcached_item_size(item);
  line.text(" cls=").number(memcached_slab_class(size));
  line.text(" size=").number(size).crlf();
}

}  // namespace mcguard
