// Gathered stats groups: a `stats` request sent to every upstream is one
// reply group with a slot per upstream (in server order). Each slot captures
// its server's whole reply; an upstream that fails marks its slot failed
// instead of failing the group. When the group completes, its slots' texts
// are merged (stats_merge.h) and the merged reply replaces them.
#pragma once

#include <cstdint>

#include "proxy/core/pending_reply.h"
#include "proxy/upstream/command_stats.h"
#include "proxy/upstream/stats_merge.h"

namespace mcguard {

// PendingReply::tag of a gathered group's leader (CountAs tags are below it).
inline constexpr uint8_t kGatherTag = 0x80;
inline uint8_t gather_tag(GatheredStats kind) {
  return static_cast<uint8_t>(kGatherTag | static_cast<uint8_t>(kind));
}
inline bool is_gather_tag(uint8_t tag) { return (tag & kGatherTag) != 0; }

// Replaces the complete gathered group's bytes with its merged reply, written
// from the leader on (a long one spreads over the group's slots, which are
// sent in order). Upstreams that failed or answered an error are left out
// and counted in `stats`. When none answered, a subcommand's group keeps the
// leader's failure (the client gets SERVER_ERROR); plain stats ends in END
// without the gathered lines (no figure rather than a false zero), so
// mcguard's own lines still reach the client.
void merge_gathered_group(PendingReply* leader, UpstreamCommandStats* stats);

}  // namespace mcguard
