// SplitStats: what one worker's upstream tier did with values split into
// chunks (values over the upstreams' item limit). Counters only; `stats` and
// /metrics sum them over the workers.
#pragma once

#include "cache/counter.h"

namespace mcguard {

struct SplitStats {
  Counter sets;               // split values stored (their index item written)
  Counter gets;               // split values sent whole to a client
  Counter chunks_written;     // chunk items stored
  Counter chunks_read;        // chunk items read and verified
  Counter incomplete_misses;  // split values answered as a miss: a chunk missing, stale or
                              // corrupt, found before any byte of the value was sent
  Counter incomplete_closes;  // the same found after bytes went out: the client was closed
  Counter orphan_cleanups;    // chunk sets of a replaced, deleted or failed value deleted
  Counter orphan_chunks;      // chunks known to be left behind (their cleanup could not be sent)
};

}  // namespace mcguard
