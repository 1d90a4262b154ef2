// ChainBudget: how much of its worker's pool one client connection may hold in
// value chains at once (--max-connection-chain). A value's chain is charged to
// the connection's account in the pool when it is reserved, and stays charged
// while the tier holds its buffers (queued to an upstream, being sent,
// streamed) until they go back to the pool. A value that would take the
// connection past its budget waits until its own earlier values are let go,
// so one client pipelining large sets cannot take the pool from the others.
#pragma once

#include <cstdint>

#include "pool/buffer_accounts.h"
#include "pool/buffer_chain.h"
#include "pool/buffer_pool.h"
#include "proxy/core/worker_stats.h"

namespace mcguard {

class ChainBudget {
 public:
  // True when a value needing `buffers` fits within `limit` beside what this
  // connection's earlier values still hold. False: the connection waits
  // (waiting()), counted once per value. The wait has no deadline of its
  // own: the buffers it waits for are the connection's own requests, which
  // the tier sends or fails within its timeouts. A value is always admitted
  // when nothing is held, so one of any size the chains allow never waits
  // forever.
  bool admit(const BufferPool& pool, uint32_t buffers, uint32_t limit, WorkerStats& stats);
  // Charges the buffers `chain` holds to this connection (its value's chain,
  // just reserved) and keeps the most one connection has held in `stats`.
  void charge(BufferChain& chain, WorkerStats& stats);
  bool waiting() const { return waiting_; }
  // Pool buffers this connection's values hold now, wherever they are.
  uint32_t held(const BufferPool& pool) const { return pool.accounts().held(account_); }

 private:
  BufferAccounts::Handle account_;
  bool waiting_ = false;
};

}  // namespace mcguard
