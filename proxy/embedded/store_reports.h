// StoreReports: the embedded tier's answers to `stats slabs`, `stats items`,
// `stats sizes` (with sizes_enable / sizes_disable) and `stats cachedump`, in
// memcached 1.6.18's reply shapes, built from the store's size classes
// (cache/size_classes.h) and LRU lists. Every report walks the store (or asks
// its allocator) when asked; the request path pays nothing. Thread-safe.
//
// What memcached tracks per class and the store does not (segmented LRU
// movements, per-class hit counters, crawler figures) is printed as 0, so the
// lines and their order are memcached's.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/store.h"

namespace mcguard {

class StoreReports {
 public:
  explicit StoreReports(Store& store) : store_(store) {}

  // Whole replies, END included (except where memcached sends none, see below).
  std::string slabs() const;
  std::string items() const;
  std::string sizes() const;
  // memcached answers these two with the status line and no END.
  std::string enable_sizes();
  std::string disable_sizes();
  // `stats cachedump <class> <limit>`: `class_text` and `limit_text` as sent
  // (empty when missing). Lists the class's items most recently stored first,
  // at most `limit` (0: all) and at most 2 MiB of text, as memcached does.
  std::string cachedump(std::string_view class_text, std::string_view limit_text) const;
  // memcached's error line for bad cachedump arguments; empty when they are
  // good. (The upstream tier checks them before asking its upstreams.)
  static std::string_view cachedump_error(std::string_view class_text, std::string_view limit_text);

  // Largest class number cachedump accepts (memcached's MAX_NUMBER_OF_SLAB_CLASSES - 1).
  static constexpr uint64_t kMaxClassId = 63;
  static constexpr size_t kCachedumpTextLimit = 2u << 20;

 private:
  Store& store_;
  // `stats sizes` counts items whose CAS is above this (0: disabled): those
  // stored since it was enabled, as memcached's histogram does.
  std::atomic<uint64_t> sizes_after_cas_{0};
};

}  // namespace mcguard
