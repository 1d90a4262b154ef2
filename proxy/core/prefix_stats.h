// PrefixStats: `stats detail on|off|dump`, memcached's per-prefix counts of
// gets, hits, sets and deletes. A key's prefix is what precedes its first ':'
// (memcached's default delimiter); keys without one are not counted.
//
// Counting happens only while detail is on: off, the request path pays one
// relaxed load. On, each count takes one mutex (memcached takes its global
// stats lock too). Memory is fixed: at most kMaxPrefixes prefixes, in a table
// allocated when detail is first turned on; counts for further prefixes are
// dropped (memcached would grow without bound). Thread-safe across workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "protocol/request.h"

namespace mcguard {

class PrefixStats {
 public:
  static constexpr size_t kMaxPrefixes = 256;
  static constexpr size_t kMaxPrefixLength = 250;

  PrefixStats();
  ~PrefixStats();
  PrefixStats(const PrefixStats&) = delete;
  PrefixStats& operator=(const PrefixStats&) = delete;

  void set_enabled(bool on);
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }

  // Both count only while enabled (callers check enabled() first to skip the call).
  // Counts a request as memcached does when it is parsed: every key of a get
  // family command as a get, a storage command as a set, a delete as a
  // delete. Meta commands are not counted (nor are they by memcached).
  void record_request(const Request& request);
  // A get of `key` found its item.
  void record_hit(std::string_view key);

  // "PREFIX <p> get <n> hit <n> set <n> del <n>" lines, in the order the
  // prefixes were first seen, then END.
  std::string dump() const;
  // `stats reset`: forgets every prefix.
  void clear();

 private:
  enum Field : uint8_t { kGet, kHit, kSet, kDelete };
  struct Entry;
  void count(std::string_view key, Field field);
  Entry* find_or_add(std::string_view prefix);

  std::atomic<bool> enabled_{false};
  mutable std::mutex mutex_;
  std::unique_ptr<Entry[]> entries_;  // allocated when detail is first turned on
  size_t used_ = 0;                   // entries in first-seen order
};

}  // namespace mcguard
