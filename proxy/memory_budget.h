// MemoryBudget: what the configuration lets the process hold, part by part:
// the start-up line prints it and `stats` reports its total, so an operator
// (or a test) can hold the measured RSS against one number.
#pragma once

#include <cstdint>

#include "proxy/config.h"

namespace mcguard {

struct MemoryBudget {
  uint64_t per_connection = 0;  // a Connection and its event-loop slot
  uint64_t pool = 0;            // every worker's buffer pool
  uint64_t store = 0;           // the embedded store, or the upstream tier's reply pool
  uint64_t connections = 0;     // per_connection x max_connections
  uint64_t receive_ring = 0;    // io_uring provided receive buffers (0 under epoll)
  // TLS sessions: OpenSSL's state for one session at most (its idle state and
  // the record buffers it holds mid-record); the ciphertext itself is in pool
  // buffers. Counted for every client connection when a tls: listener exists,
  // and for every upstream connection under --upstream-tls.
  uint64_t per_tls_session = 0;
  uint64_t tls_sessions = 0;  // how many may exist at once
  uint64_t tls = 0;           // per_tls_session x tls_sessions, and upstream TLS buffers
  uint64_t total() const { return pool + store + connections + receive_ring + tls; }
};

// The budget of `settings` run with (`uring`) or without io_uring.
MemoryBudget memory_budget(const Settings& settings, bool uring);

}  // namespace mcguard
