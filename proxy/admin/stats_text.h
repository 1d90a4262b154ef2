// The `stats` reply: memcached's STAT lines in memcached's order, then
// mcguard's own, ending with END. Built from a StatsSnapshot only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/admin/stats_snapshot.h"

namespace mcguard::admin {

// The whole reply to a plain `stats`, END included.
std::string stats_text(const StatsSnapshot& snapshot);

// One "STAT <name> <value>\r\n" line appended to `out`.
void append_stat(std::string& out, std::string_view name, uint64_t value);
void append_stat(std::string& out, std::string_view name, std::string_view value);

}  // namespace mcguard::admin
