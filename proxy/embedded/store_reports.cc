#include "proxy/embedded/store_reports.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <vector>

#include "cache/size_classes.h"
#include "protocol/response.h"

namespace mcguard {
namespace {

void append_stat(std::string& out, std::string_view name, uint64_t value) {
  out += "STAT ";
  out += name;
  out += ' ';
  out += std::to_string(value);
  out += "\r\n";
}

void append_class_stat(std::string& out, unsigned size_class, std::string_view name,
                       uint64_t value) {
  append_stat(out, std::to_string(size_class) + ":" + std::string(name), value);
}

// Per-class command counters of memcached's `stats slabs` (not tracked per class here).
constexpr std::string_view kSlabCommandLines[] = {"get_hits",   "cmd_set",   "delete_hits",
                                                  "incr_hits",  "decr_hits", "cas_hits",
                                                  "cas_badval", "touch_hits"};
// `stats items` lines after mem_requested: LRU and crawler figures of memcached's
// segmented LRU, which the store does not have.
constexpr std::string_view kItemsUntrackedLines[] = {
    "evicted",        "evicted_nonzero",   "evicted_time",          "outofmemory",
    "tailrepairs",    "reclaimed",         "expired_unfetched",     "evicted_unfetched",
    "evicted_active", "crawler_reclaimed", "crawler_items_checked", "lrutail_reflocked",
    "moves_to_cold",  "moves_to_warm",     "moves_within_lru",      "direct_reclaims",
    "hits_to_hot",    "hits_to_warm",      "hits_to_cold",          "hits_to_temp"};

struct ClassItems {
  uint64_t number = 0;
  uint64_t requested = 0;
  uint32_t oldest_time = UINT32_MAX;  // last access of its least recent item
};

bool parse_unsigned(std::string_view text, uint64_t& value) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

struct DumpLine {
  uint64_t cas;
  std::string text;
  // Reversed, so std's max-heap keeps the least recently stored line on top and
  // sort_heap puts the most recent first.
  bool operator<(const DumpLine& other) const { return cas > other.cas; }
};

}  // namespace

std::string StoreReports::slabs() const {
  const BuddyAllocator& allocator = store_.allocator();
  std::string out;
  uint64_t active = 0, malloced = 0;
  for (unsigned c = 1; c <= kSizeClassCount; ++c) {
    const size_t chunk = size_class_chunk(c);
    const uint64_t used = allocator.allocated_blocks(c - 1);
    const uint64_t free = allocator.free_blocks(c - 1);
    const uint64_t total = used + free;
    // Memory carved out of the region: blocks in use and blocks left free by
    // splitting (as memcached counts pages assigned to any class).
    malloced += total * chunk;
    // A class is listed while it holds blocks in use: splitting leaves free
    // blocks of every smaller order, which are no class's memory yet.
    if (used == 0) continue;
    const uint64_t per_page = kSizeClassPage / chunk;
    ++active;
    append_class_stat(out, c, "chunk_size", chunk);
    append_class_stat(out, c, "chunks_per_page", per_page);
    append_class_stat(out, c, "total_pages", (total + per_page - 1) / per_page);
    append_class_stat(out, c, "total_chunks", total);
    append_class_stat(out, c, "used_chunks", used);
    append_class_stat(out, c, "free_chunks", free);
    append_class_stat(out, c, "free_chunks_end", 0);
    for (std::string_view name : kSlabCommandLines) append_class_stat(out, c, name, 0);
  }
  append_stat(out, "active_slabs", active);
  append_stat(out, "total_malloced", malloced);
  out += reply::kEnd;
  return out;
}

std::string StoreReports::items() const {
  std::array<ClassItems, kSizeClassCount + 1> classes{};
  store_.for_each_item([&](const Item& item) {
    ClassItems& c = classes[size_class_of(item)];
    ++c.number;
    c.requested += item_requested_bytes(item);
    if (item.time < c.oldest_time) c.oldest_time = item.time;
  });
  const uint32_t now = store_.now();
  std::string out;
  for (unsigned c = 1; c <= kSizeClassCount; ++c) {
    const ClassItems& items = classes[c];
    if (items.number == 0) continue;
    const std::string prefix = "items:" + std::to_string(c) + ":";
    auto line = [&](std::string_view name, uint64_t value) {
      append_stat(out, prefix + std::string(name), value);
    };
    // One LRU per shard, none segmented: every item counts as cold, as in a
    // memcached whose items all left the hot segment.
    line("number", items.number);
    line("number_hot", 0);
    line("number_warm", 0);
    line("number_cold", items.number);
    line("age_hot", 0);
    line("age_warm", 0);
    line("age", now > items.oldest_time ? now - items.oldest_time : 0);
    line("mem_requested", items.requested);
    for (std::string_view name : kItemsUntrackedLines) line(name, 0);
  }
  out += reply::kEnd;
  return out;
}

std::string StoreReports::sizes() const {
  const uint64_t after = sizes_after_cas_.load(std::memory_order_relaxed);
  if (after == 0) return "STAT sizes_status disabled\r\nEND\r\n";
  // memcached's 32-byte buckets, named by their upper bound.
  std::map<uint64_t, uint64_t> buckets;
  store_.for_each_item([&](const Item& item) {
    if (item.cas.load(std::memory_order_relaxed) <= after) return;
    const uint64_t bytes = item_requested_bytes(item);
    ++buckets[(bytes + 31) / 32 * 32];
  });
  std::string out;
  for (const auto& [size, count] : buckets) append_stat(out, std::to_string(size), count);
  out += reply::kEnd;
  return out;
}

std::string StoreReports::enable_sizes() {
  uint64_t expected = 0;
  // Items stored from now on have a larger CAS than this one.
  sizes_after_cas_.compare_exchange_strong(expected, store_.next_cas());
  return "STAT sizes_status enabled\r\n";
}

std::string StoreReports::disable_sizes() {
  sizes_after_cas_.store(0, std::memory_order_relaxed);
  return "STAT sizes_status disabled\r\n";
}

std::string_view StoreReports::cachedump_error(std::string_view class_text,
                                               std::string_view limit_text) {
  if (class_text.empty() || limit_text.empty()) return "CLIENT_ERROR bad command line\r\n";
  uint64_t wanted_class = 0, limit = 0;
  if (!parse_unsigned(class_text, wanted_class) || !parse_unsigned(limit_text, limit)) {
    return "CLIENT_ERROR bad command line format\r\n";
  }
  if (wanted_class > kMaxClassId) return "CLIENT_ERROR Illegal slab id\r\n";
  return {};
}

std::string StoreReports::cachedump(std::string_view class_text,
                                    std::string_view limit_text) const {
  if (std::string_view error = cachedump_error(class_text, limit_text); !error.empty()) {
    return std::string(error);
  }
  uint64_t wanted_class = 0, limit = 0;
  parse_unsigned(class_text, wanted_class);
  parse_unsigned(limit_text, limit);
  // The most recently stored lines (largest CAS) that fit, kept in a bounded
  // min-heap on CAS, so a class of millions of items never costs more than
  // the reply's own 2 MiB.
  const size_t text_limit = kCachedumpTextLimit - reply::kEnd.size();
  std::vector<DumpLine> kept;
  size_t text_bytes = 0;
  store_.for_each_item([&](const Item& item) {
    if (size_class_of(item) != wanted_class) return;
    const int64_t exptime = item.exptime == 0 ? 0 : store_.unix_time(item.exptime);
    kept.push_back({item.cas.load(std::memory_order_relaxed),
                    "ITEM " + std::string(item_key_of(&item)) + " [" +
                        std::to_string(item.value_length) + " b; " + std::to_string(exptime) +
                        " s]\r\n"});
    text_bytes += kept.back().text.size();
    std::push_heap(kept.begin(), kept.end());
    while (!kept.empty() && (text_bytes > text_limit || (limit != 0 && kept.size() > limit))) {
      std::pop_heap(kept.begin(), kept.end());
      text_bytes -= kept.back().text.size();
      kept.pop_back();
    }
  });
  std::sort_heap(kept.begin(), kept.end());  // largest CAS first
  std::string out;
  out.reserve(text_bytes + reply::kEnd.size());
  for (const DumpLine& line : kept) out += line.text;
  out += reply::kEnd;
  return out;
}

}  // namespace mcguard
