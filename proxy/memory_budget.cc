#include "proxy/memory_budget.h"

#include "proxy/client_tls.h"
#include "proxy/core/connection.h"
#include "proxy/upstream/upstream_tier.h"

namespace mcguard {
namespace {

// One TLS session's heap, at most: 14.5 KB measured idle (TLS 1.3, P-256;
// TlsStreamTest's INFO line), rounded up, plus the read and write record
// buffers (16 KiB + overhead each) OpenSSL holds while a record is under way
// and frees when idle (SSL_MODE_RELEASE_BUFFERS).
constexpr uint64_t kTlsSessionBytes = 16 * 1024 + 2 * (16 * 1024 + 640);

}  // namespace

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
  b.per_tls_session = kTlsSessionBytes;
  if (has_tls_listener(s)) b.tls_sessions += s.max_connections;
  uint64_t upstream_tls_buffers = 0;
  if (s.upstream_tls) {  // every --upstream-tls-* option implies it
    const uint64_t upstream_connections =
        uint64_t{s.upstream_connections} * s.upstreams.size() * s.threads;
    b.tls_sessions += upstream_connections;
    upstream_tls_buffers =
        upstream_connections * UpstreamTier::kTlsBuffersPerConnection * uint64_t{s.buffer_size};
  }
  // Client sessions' ciphertext is in the pool, counted above; upstream
  // sessions have buffers of their own, so that clients holding the pool can
  // never stop a reply from being received.
  b.tls = b.per_tls_session * b.tls_sessions + upstream_tls_buffers;
  return b;
}

}  // namespace mcguard
