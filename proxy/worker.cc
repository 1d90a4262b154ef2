#include "proxy/worker.h"

namespace mcguard {

Worker::Worker(const Settings& settings, int listen_fd, EmbeddedTier& tier, LoopLimits limits,
               std::function<void(std::string_view, ReplyQueue&)> render_stats)
    : pool_(settings.buffers_per_worker(), settings.buffer_size),
      context_{pool_,
               tier,
               stats_,
               &rejection_log_,
               settings.max_value_size,
               settings.max_reply_backlog,
               settings.pool_wait_timeout_ms,
               0,
               std::move(render_stats)},
      loop_(listen_fd, context_, limits) {}

Worker::~Worker() {
  stop();
  join();
}

void Worker::start() {
  thread_ = std::thread([this] { loop_.run(); });
}

void Worker::stop() { loop_.stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace mcguard
