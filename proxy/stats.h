// WorkerStats: the counters a worker updates on its own thread and any thread
// may read (see Counter).
#pragma once

#include <cstdint>

#include "proxy/counter.h"

namespace mcguard {

// What one worker counts. Cache-level counters (hits, items, evictions) are the
// tier's; these are the proxy's own.
struct WorkerStats {
  Counter curr_connections;
  Counter total_connections;
  Counter rejected_connections;  // accepted and closed at once: over max-connections
  Counter bytes_read;
  Counter bytes_written;
  Counter requests;
  Counter rejected_too_large;    // storage commands over max-value-size
  Counter rejected_no_memory;    // storage commands the pool could not hold
  Counter protocol_errors;       // ERROR / CLIENT_ERROR replies and closes for bad input
  Counter closed_for_pool;       // connections closed because a reply could not be buffered
  Counter slow_client_closes;    // a value not delivered within --slow-client-timeout
  Counter idle_closes;           // no traffic for --idle-timeout
  Counter pool_waits;            // values that had to wait for pool buffers
  Counter pool_waiters;          // connections waiting for pool buffers now
  Counter chain_buffers_in_use;  // buffers held by value chains (within --chain-share)
};

}  // namespace mcguard
