#include "proxy/core/chain_budget.h"

namespace mcguard {

bool ChainBudget::admit(const BufferPool& pool, uint32_t buffers, uint32_t limit,
                        WorkerStats& stats) {
  const uint32_t held_now = held(pool);
  if (held_now == 0 || uint64_t{held_now} + buffers <= limit) {
    waiting_ = false;
    return true;
  }
  if (!waiting_) {
    waiting_ = true;
    stats.connection_chain_waits.add();
  }
  return false;
}

void ChainBudget::charge(BufferChain& chain, WorkerStats& stats) {
  const uint64_t bytes = uint64_t{chain.charge(account_)} * chain.pool().buffer_size();
  // A high-water mark: only this worker's thread writes it.
  const uint64_t most = stats.connection_chain_high_water.get();
  if (bytes > most) stats.connection_chain_high_water.add(bytes - most);
}

}  // namespace mcguard
