#include "proxy/memory_budget.h"

#include "proxy/client_tls.h"
#include "proxy/core/connection.h"
#include "proxy/io/epoll_loop.h"
#include "proxy/io/uring_loop.h"
#include "proxy/upstream/upstream_tier.h"

namespace mcguard {
namespace {

// One TLS session's heap, at most: 14.5 KB measured idle (TLS 1.3, P-256;
// TlsStreamTest's INFO line), rounded up, plus the read and write record
// buffers (16 KiB + overhead each) OpenSSL holds while a record is under way
// and frees when idle (SSL_MODE_RELEASE_BUFFERS).
constexpr uint64_t kTlsSessionBytes = 16 * 1024 + 2 * (16 * 1024 + 640);

// What malloc (glibc, 64-bit) takes for an object of `bytes`: an 8-byte size
// field, rounded up to 16 bytes, 32 at least.
constexpr uint64_t malloc_chunk(uint64_t bytes) {
  const uint64_t chunk = (bytes + 8 + 15) / 16 * 16;
  return chunk < 32 ? 32 : chunk;
}

}  // namespace

MemoryBudget memory_budget(const Settings& s, bool uring) {
  MemoryBudget b;
  // Per connection while idle: the Connection as malloc holds it, and what the
  // loop and its engine keep per descriptor, once for the process whatever the
  // number of workers: their tables are indexed by descriptor number and
  // shared, an entry being used only by the worker holding that descriptor.
  // Its chains are links through the pool, and it holds no buffer, no request,
  // no parked line and no reply segments while idle (those are the worker's,
  // lent while a request is under way). A peer name too long for
  // std::string's inline storage (some IPv6 addresses, unix: socket paths)
  // adds its own small allocation, and a connection that leaves part of a
  // request line unfinished while it is quiet borrows a parked-line block
  // (kParkedHeaderBytes, 272 B as malloc holds it) until the line goes on.
  // BoundedMemory.TenThousandIdleConnectionsCostLittle measures this.
  const uint64_t per_descriptor =
      EventLoop::kDescriptorBytes + (uring ? UringLoop::slot_bytes() : EpollLoop::slot_bytes());
  b.per_connection = malloc_chunk(sizeof(Connection)) + per_descriptor;
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
