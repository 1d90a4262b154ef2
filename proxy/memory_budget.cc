#include "proxy/memory_budget.h"

#include "proxy/core/connection.h"

namespace mcguard {

MemoryBudget memory_budget(const Settings& s, bool uring) {
  MemoryBudget b;
  // Per connection: the Connection itself and its event-loop slot; its chains
  // are links through the pool, and it holds no buffer while idle.
  b.per_connection = sizeof(Connection) + 64;
  b.pool = uint64_t{s.buffers_per_worker()} * s.buffer_size * s.threads;
  b.connections = b.per_connection * s.max_connections;
  b.store = s.upstreams.empty() ? s.memory_limit : s.reply_pool_size;
  b.receive_ring =
      uring ? uint64_t{s.uring_recv_buffers} * s.uring_recv_buffer_size * s.threads : 0;
  return b;
}

}  // namespace mcguard
