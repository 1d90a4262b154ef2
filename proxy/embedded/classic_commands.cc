// The classic text commands: set add replace append prepend cas, get gets gat
// gats, delete, incr decr, touch, flush_all. A noreply command writes nothing at
// all, errors included, as memcached's out_string does.
#include "proxy/embedded/embedded_tier.h"

namespace mcguard {
namespace {

constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";
constexpr std::string_view kOutOfMemory = "SERVER_ERROR out of memory storing object\r\n";
constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";

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
    reply(status == Store::AllocStatus::kTooLarge ? kTooLarge : kOutOfMemory);
    // A failed set must not leave the old value readable.
    if (request.command == Command::kSet) unlink(request.key);
    return;
  }
  item_write_value(item.get(), value);
  uint64_t stored_cas = 0;
  const uint64_t cas_in = request.command == Command::kCas ? request.cas_unique : 0;
  switch (store_item(item.get(), store_mode(request.command), cas_in, false, now, stored_cas)) {
    case StoreResult::kStored:
      reply("STORED\r\n");
      break;
    case StoreResult::kNotStored:
      reply("NOT_STORED\r\n");
      break;
    case StoreResult::kExists:
      reply("EXISTS\r\n");
      break;
    case StoreResult::kNotFound:
      reply("NOT_FOUND\r\n");
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
      out.append("CLIENT_ERROR bad command line format\r\n");
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
    if (touch) {
      item->exptime = exptime;
      counters.touch_hits.add();
    } else {
      counters.get_hits.add();
    }
    out.append("VALUE ");
    out.append(key);
    out.append(' ');
    out.append_number(item->client_flags);
    out.append(' ');
    out.append_number(item->value_length);
    if (with_cas) {
      out.append(' ');
      out.append_number(item_cas(item));
    }
    out.append("\r\n");
    out.append_value(item);
    out.append("\r\n");
  }
  out.append("END\r\n");
}

void EmbeddedTier::remove(const Request& request, uint32_t now, ReplyWriter& out) {
  Store::Locked lock(store_, request.key, now);
  Item* item = lock.find();
  if (item == nullptr) {
    lock.counters().delete_misses.add();
    if (!request.noreply) out.append("NOT_FOUND\r\n");
    return;
  }
  lock.counters().delete_hits.add();
  lock.unlink(item);
  if (!request.noreply) out.append("DELETED\r\n");
}

void EmbeddedTier::arithmetic(const Request& request, uint32_t now, ReplyWriter& out) {
  const bool incr = request.command == Command::kIncr;
  DeltaOutcome outcome;
  const DeltaResult result =
      add_delta(request.key, incr, request.delta, 0, nullptr, true, now, outcome);
  if (request.noreply) return;
  switch (result) {
    case DeltaResult::kOk:
      out.append({outcome.digits, outcome.length});
      out.append("\r\n");
      break;
    case DeltaResult::kNonNumeric:
      out.append(kNonNumeric);
      break;
    case DeltaResult::kNoMemory:
      out.append("SERVER_ERROR out of memory\r\n");
      break;
    case DeltaResult::kNotFound:
    case DeltaResult::kCasMismatch:  // no CAS given: cannot happen
      out.append("NOT_FOUND\r\n");
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
    if (!request.noreply) out.append("NOT_FOUND\r\n");
    return;
  }
  lock.fetched(item);
  item->exptime = exptime;
  counters.touch_hits.add();
  if (!request.noreply) out.append("TOUCHED\r\n");
}

void EmbeddedTier::flush_all(const Request& request, uint32_t now, ReplyWriter& out) {
  cmd_flush_.fetch_add(1, std::memory_order_relaxed);
  store_.flush_all(request.has_delay ? request.delay : 0, now);
  if (!request.noreply) out.append("OK\r\n");
}

}  // namespace mcguard
