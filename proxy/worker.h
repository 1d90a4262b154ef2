// Worker: one thread with its own buffer pool, counters and event loop, and
// its own listening socket (SO_REUSEPORT), so workers share nothing on the
// request path but the embedded tier.
#pragma once

#include <memory>
#include <thread>

#include "pool/buffer_pool.h"
#include "proxy/config.h"
#include "proxy/connection.h"
#include "proxy/io/epoll_loop.h"
#include "proxy/rejection_log.h"
#include "proxy/stats.h"

namespace mcguard {

class Worker {
 public:
  // Takes ownership of listen_fd. Allocates the pool now, so a start-up that
  // cannot get its memory fails before serving anything.
  Worker(const Settings& settings, int listen_fd, EmbeddedTier& tier, LoopLimits limits,
         std::function<void(std::string_view, ReplyQueue&)> render_stats);
  ~Worker();

  void start();
  void stop();  // from any thread; returns at once
  void join();

  const WorkerStats& stats() const { return stats_; }
  const BufferPool& pool() const { return pool_; }

 private:
  BufferPool pool_;
  WorkerStats stats_;
  RejectionLog rejection_log_;
  ConnectionContext context_;
  EpollLoop loop_;
  std::thread thread_;
};

}  // namespace mcguard
