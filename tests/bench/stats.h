// Counters of one phase (warm-up or measurement) of one thread; threads keep their own and the
// main thread merges them after joining, so counting never needs atomics.
#pragma once

#include <cstdint>

#include "tests/bench/histogram.h"

namespace mcguard::bench {

struct PhaseStats {
  uint64_t requests = 0;  // replies received, whatever they were
  uint64_t gets = 0;
  uint64_t sets = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t misses_of_written = 0;  // GET misses of keys whose SET was acknowledged before
  uint64_t verify_errors = 0;      // a value read back failed its check
  uint64_t reply_errors = 0;       // SERVER_ERROR, NOT_STORED, garbage, ...
  uint64_t connection_errors = 0;  // refused, reset or closed by the server
  uint64_t timeouts = 0;           // a request unanswered past --timeout
  uint64_t lost_requests = 0;      // in flight on a connection that failed (not counted above)
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  LatencyHistogram get_latency;
  LatencyHistogram set_latency;

  uint64_t errors() const { return verify_errors + reply_errors + connection_errors + timeouts; }
  void merge(const PhaseStats& other);
};

}  // namespace mcguard::bench
