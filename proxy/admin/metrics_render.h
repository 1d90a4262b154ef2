// /metrics: every counter of `stats` as Prometheus families with the
// conventional names and base units (bytes, seconds), plus the value-size
// histogram per key prefix and the upstream reply-time histogram. Built from a
// StatsSnapshot only.
#pragma once

#include <string>

#include "proxy/admin/stats_snapshot.h"

namespace mcguard::admin {

// The page in the Prometheus text format (version 0.0.4).
std::string metrics_text(const StatsSnapshot& snapshot);

}  // namespace mcguard::admin
