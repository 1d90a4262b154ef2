// The classic text commands: set add replace append prepend cas, get gets gat
// gats, delete, incr decr, touch, flush_all. A noreply command writes nothing at
// all, errors included, as memcached's out_string does.
#include "protocol/response.h"
#include "proxy/embedded/embedded_tier.h"

namespace mcguard {
namespace {

EmbeddedTier::StoreMode store_mode(Command command) {
  switch (command) {
    case Command::kAdd:
      return EmbeddedTier::StoreMode::kAdd;
    case Command::kReplace:
      return EmbeddedTier::StoreMode::kReplace;
    case Command::kAppend:
      return EmbeddedTier::StoreMode::kAppend;
    case Command::kPrepend:
      return EmbeddedTier::StoreMode::kPrepend;
    case Command::kCas:
      return EmbeddedTier::StoreMode::kCas;
    default:
      return EmbeddedTier::StoreMode::kSet;
  }
}

}  // namespace

void EmbeddedTier::storage(const Request& request, std::span<const iovec> value, uint32_t now,
                           ReplyWriter& out) {
  auto reply = [&](std::string_view text) {
    if (!request.noreply) out.append(text);
  };
  const uint32_t exptime = store_.expiry_time(request.exptime, now);
  Store::AllocStatus status;
  ItemRef item =
      store_.allocate(request.key, request.client_flags, exptime, request.value_length, status);
  if (!item) {
    reply(status == Store::AllocStatus::kTooLarge ? reply::kTooLarge : reply::kOutOfMemory);
    // A failed set must not leave the old value readable.
    if (request.command == Command::kSet) unlink(request.key);
    return;
  }
  item_write_value(item.get(), value);
  uint64_t stored_cas = 0;
  const uint64_t cas_in = request.command == Command::kCas ? request.cas_unique : 0;
  switch (store_item(item.get(), store_mode(request.command), cas_in, false, now, stored_cas)) {
    case StoreResult::kStored:
      reply(reply::kStored);
      break;
    case StoreResult::kNotStored:
      reply(reply::kNotStored);
      break;
    case StoreResult::kExists:
      reply(reply::kExists);
      break;
    case StoreResult::kNotFound:
      reply(reply::kNotFound);
      break;
  }
}

void EmbeddedTier::retrieval(const Request& request, uint32_t now, ReplyWriter& out) {
  const bool touch = request.command == Command::kGat || request.command == Command::kGats;
  const bool with_cas = request.command == Command::kGets || request.command == Command::kGats;
  const uint32_t exptime = touch ? store_.expiry_time(request.exptime, now) : 0;
  std::string_view key;
  // memcached answers a too-long key with only an error, whatever came before it.
  for (KeyCursor keys(request.keys); keys.next(key);) {
    if (key.size() > kMaxItemKey) {
      out.append(reply::kBadCommandLineFormat);
      return;
    }
  }
  for (KeyCursor keys(request.keys); keys.next(key);) {
    Store::Locked lock(store_, key, now);
    ShardCounters& counters = lock.counters();
    Item* item = lock.find();
    if (touch) {
      counters.cmd_touch.add();
    } else {
      counters.cmd_get.add();
    }
    if (item == nullptr) {
      (touch ? counters.touch_misses : counters.get_misses).add();
      continue;
    }
    lock.fetched(item);
    if (detail_ != nullptr && detail_->enabled()) detail_->record_hit(key);
    if (touch) {
      item->exptime = exptime;
      counters.touch_hits.add();
    } else {
      counters.get_hits.add();
    }
    ReplyFormatter& line = out.format(kMaxValueLineLength);
    if (with_cas) {
      line.value_line(key, item->client_flags, item->value_length, item_cas(item));
    } else {
      line.value_line(key, item->client_flags, item->value_length);
    }
    out.append_value(item);
    out.append(reply::kCrlf);
  }
  if (!request.more_keys_follow) out.append(reply::kEnd);
}

void EmbeddedTier::remove(const Request& request, uint32_t now, ReplyWriter& out) {
  Store::Locked lock(store_, request.key, now);
  Item* item = lock.find();
  if (item == nullptr) {
    lock.counters().delete_misses.add();
    if (!request.noreply) out.append(reply::kNotFound);
    return;
  }
  lock.counters().delete_hits.add();
  lock.unlink(item);
  if (!request.noreply) out.append(reply::kDeleted);
}

void EmbeddedTier::arithmetic(const Request& request, uint32_t now, ReplyWriter& out) {
  const bool incr = request.command == Command::kIncr;
  DeltaOutcome outcome;
  const DeltaResult result =
      add_delta(request.key, incr, request.delta, 0, nullptr, true, now, outcome);
  if (request.noreply) return;
  switch (result) {
    case DeltaResult::kOk:
      out.format(kMaxNumberLineLength).text({outcome.digits, outcome.length}).crlf();
      break;
    case DeltaResult::kNonNumeric:
      out.append(reply::kNonNumeric);
      break;
    case DeltaResult::kNoMemory:
      out.append(reply::kOutOfMemoryShort);
      break;
    case DeltaResult::kNotFound:
    case DeltaResult::kCasMismatch:  // no CAS given: cannot happen
      out.append(reply::kNotFound);
      break;
  }
}

void EmbeddedTier::touch(const Request& request, uint32_t now, ReplyWriter& out) {
  const uint32_t exptime = store_.expiry_time(request.exptime, now);
  Store::Locked lock(store_, request.key, now);
  ShardCounters& counters = lock.counters();
  counters.cmd_touch.add();
  Item* item = lock.find();
  if (item == nullptr) {
    counters.touch_misses.add();
    if (!request.noreply) out.append(reply::kNotFound);
    return;
  }
  lock.fetched(item);
  item->exptime = exptime;
  counters.touch_hits.add();
  if (!request.noreply) out.append(reply::kTouched);
}

void EmbeddedTier::flush_all(const Request& request, uint32_t now, ReplyWriter& out) {
  cmd_flush_.fetch_add(1, std::memory_order_relaxed);
  store_.flush_all(request.has_delay ? request.delay : 0, now);
  if (!request.noreply) out.append(reply::kOk);
}

}  // namespace mcguard
