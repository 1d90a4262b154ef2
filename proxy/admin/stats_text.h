// The `stats` reply: memcached's STAT lines in memcached's order, then
// mcguard's own, ending with END. Built from a StatsSnapshot only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/admin/stats_snapshot.h"

namespace mcguard::admin {

// How much of the plain `stats` reply mcguard writes itself.
enum class StatsTextPart : uint8_t {
  kWhole,  // every line and END (the embedded tier)
  // Without the lines the upstream tier gathers from its upstreams
  // (limit_maxbytes, bytes, curr_items, total_items, evictions) and without
  // END: the tier appends those after them.
  kWithoutGathered,
};

// The reply to a plain `stats`: memcached 1.6.18's fields in its order (those
// without a meaning here as memcached prints them with the feature off, 0),
// then mcguard's own.
std::string stats_text(const StatsSnapshot& snapshot, StatsTextPart part = StatsTextPart::kWhole);

// One "STAT <name> <value>\r\n" line appended to `out`.
void append_stat(std::string& out, std::string_view name, uint64_t value);
void append_stat(std::string& out, std::string_view name, std::string_view value);

}  // namespace mcguard::admin
