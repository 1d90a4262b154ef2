#include "tests/bench/stats.h"

namespace mcguard::bench {

void PhaseStats::merge(const PhaseStats& other) {
  requests += other.requests;
  gets += other.gets;
  sets += other.sets;
  hits += other.hits;
  misses += other.misses;
  misses_of_written += other.misses_of_written;
  verify_errors += other.verify_errors;
  reply_errors += other.reply_errors;
  connection_errors += other.connection_errors;
  timeouts += other.timeouts;
  lost_requests += other.lost_requests;
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  get_latency.merge(other.get_latency);
  set_latency.merge(other.set_latency);
}

}  // namespace mcguard::bench
