// Merging the `stats` replies of several memcached servers into the one reply
// a client of the upstream tier gets, in memcached's shape. Pure functions of
// the reply texts: the tier gathers them (stats_gather.h), this file decides
// what the sum of N servers looks like.
//
// Merge rules, by subcommand:
// - "" (plain stats): only the figures of the data the upstreams hold are
//   gathered (mcguard's own lines come first, from the stats renderer):
//   curr_items, bytes, total_items, evictions and limit_maxbytes, summed.
// - slabs, items, sizes: one line per statistic name, in the first server's
//   order, names only later servers have inserted after the name they follow
//   there. Numeric values are summed, except per-class configuration
//   (chunk_size, chunks_per_page: the first server's, the servers share their
//   slab sizes) and ages (age, age_hot, age_warm, evicted_time: the largest,
//   the oldest item of any server). active_slabs is the number of distinct
//   slab classes in the merged reply. A value that is not a number
//   (sizes_status) is the first server's.
// - cachedump: every server's ITEM lines, in server order.
// - sizes_enable, sizes_disable: memcached answers one STAT line and no END;
//   the first server's line is the answer (each server switched its own).
// Every other merged reply ends in one END.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mcguard {

enum class GatheredStats : unsigned char {
  kGeneral,
  kSlabs,
  kItems,
  kSizes,
  kCachedump,
  kSizesSwitch,  // sizes_enable, sizes_disable: one STAT line, no END
};

// Which gathered subcommand `stats <args>` is (args trimmed, as the parser
// gives them); nullopt when the upstream tier does not gather it.
std::optional<GatheredStats> gathered_stats_kind(std::string_view args);

// A server's reply captured whole, at most this long; lines past it are
// dropped (the END still kept). cachedump lists are the only replies that
// come near it: memcached itself caps one at 2 MiB.
inline constexpr size_t kMaxGatheredStatsReply = 1u << 20;

// Whether `reply` is a stats reply (STAT or ITEM lines, then END) rather
// than an error line.
bool is_stats_reply(std::string_view reply);

// Merges stats replies (each is_stats_reply) into one, by the rules above.
// An empty `replies` gives a bare END.
std::string merge_stats_replies(GatheredStats kind, std::span<const std::string_view> replies);

}  // namespace mcguard
