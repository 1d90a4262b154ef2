// Worker: one thread with its own buffer pool, counters, event loop and
// listening sockets (SO_REUSEPORT; only a unix: socket is shared), so workers
// share nothing on the request path but the embedded tier. In upstream mode
// each worker also has its own upstream connections and pending-reply slots.
#pragma once

#include <memory>
#include <thread>

#include "pool/buffer_pool.h"
#include "proxy/config.h"
#include "proxy/core/connection.h"
#include "proxy/core/pending_reply.h"
#include "proxy/core/rejection_log.h"
#include "proxy/core/worker_stats.h"
#include "proxy/embedded/embedded_tier.h"
#include "proxy/io/engine.h"
#include "proxy/io/event_loop.h"
#include "proxy/tls/tls_context.h"
#include "proxy/upstream/upstream_tier.h"

namespace mcguard {

class Worker final : private TurnHook {
 public:
  // Takes ownership of the listeners' descriptors. Allocates the pool now, so
  // a start-up that cannot get its memory fails before serving anything.
  // `embedded` is used when settings name no upstream; `live_limits` is the
  // Server's current value-limit policy, read by every connection.
  Worker(const Settings& settings, const EngineChoice& engine,
         std::vector<ListenerSocket> listeners, EmbeddedTier* embedded, const LimitBox* live_limits,
         LoopLimits limits, std::function<bool(std::string_view, ReplyQueue&)> render_stats,
         PrefixStats* detail = nullptr);
  ~Worker() override;

  // Connections accepted on tls: listeners get a TLS session of `tls`, which
  // must outlive the worker. Before start().
  void enable_client_tls(const tls::ServerContext& tls);
  void start();
  void stop();  // from any thread; returns at once
  void join();
  // From any thread: stop accepting and close each connection once it has no
  // request in progress and no reply unsent; open_connections() falls to 0.
  void begin_drain() { loop_->begin_drain(); }
  uint64_t open_connections() const { return stats_.curr_connections.get(); }

  const WorkerStats& stats() const { return stats_; }
  const BufferPool& pool() const { return pool_; }
  // Its open client connections (`stats conns`), readable from any thread.
  const ConnectionRegistry& connections() const { return connections_; }
  // Null in embedded mode.
  const UpstreamTier* upstream() const { return upstream_.get(); }
  // Upstream mode, before start(): TLS and authentication towards the upstreams.
  void set_upstream_security(const UpstreamSecurity* security) {
    if (upstream_) upstream_->set_security(security);
  }

 private:
  void end_of_turn(int64_t now_ms) override;
  int64_t next_deadline_ms() const override;

  BufferPool pool_;
  std::unique_ptr<BufferPool> reply_pool_;  // upstream mode: awaited replies
  WorkerStats stats_;
  RejectionLog rejection_log_;
  ConnectionRegistry connections_;  // before loop_: its connections leave it first
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<PendingReplyPool> pending_replies_;
  Tier* tier_ = nullptr;  // the shared embedded tier, or upstream_
  std::unique_ptr<UpstreamTier> upstream_;
  UpstreamSettings upstream_settings_;
  std::unique_ptr<ConnectionContext> context_;
  std::thread thread_;
};

}  // namespace mcguard
