#include "proxy/worker.h"

#include "proxy/client_tls.h"

namespace mcguard {

Worker::Worker(const Settings& settings, const EngineChoice& engine,
               std::vector<ListenerSocket> listeners, EmbeddedTier* embedded,
               const LimitBox* live_limits, LoopLimits limits,
               std::function<bool(std::string_view, ReplyQueue&)> render_stats, PrefixStats* detail)
    : pool_(settings.buffers_per_worker(), settings.buffer_size),
      loop_(make_event_loop(engine, std::move(listeners), limits,
                            {settings.uring_recv_buffers, settings.uring_recv_buffer_size})) {
  if (settings.upstreams.empty()) {
    tier_ = embedded;
  } else {
    upstream_settings_.timeout_ms = settings.upstream_timeout_ms;
    upstream_settings_.failure_limit = settings.upstream_failure_limit;
    upstream_settings_.failover = settings.upstream_failover;
    upstream_settings_.retry_ms = settings.upstream_retry_ms;
    upstream_settings_.connections = settings.upstream_connections;
    upstream_settings_.max_value_size = settings.max_value_size;
    upstream_settings_.delete_on_reject = settings.delete_on_reject;
    upstream_settings_.split_mode = settings.upstream_split;
    upstream_settings_.split_threshold = settings.upstream_split_threshold;
    upstream_settings_.split_grace_ms = settings.upstream_split_grace_ms;
    reply_pool_ = std::make_unique<BufferPool>(settings.reply_buffers_per_worker(),
                                               Settings::kReplyBufferSize);
    // A reply slot may hold one max-size value with its VALUE line.
    const uint32_t slot_buffers =
        static_cast<uint32_t>((settings.max_value_size + 512) / Settings::kReplyBufferSize + 2);
    pending_replies_ = std::make_unique<PendingReplyPool>(
        *reply_pool_, settings.upstream_max_pending, slot_buffers);
    upstream_ = std::make_unique<UpstreamTier>(settings.upstreams, upstream_settings_, pool_,
                                               *loop_, *pending_replies_);
    tier_ = upstream_.get();
    loop_->set_turn_hook(this);
  }
  context_ = std::make_unique<ConnectionContext>(ConnectionContext{
      pool_, *tier_, stats_, &rejection_log_, pending_replies_.get(), settings.max_value_size,
      settings.max_reply_backlog, settings.pool_wait_timeout_ms, 0, std::move(render_stats)});
  context_->chain_buffer_limit = settings.chain_buffer_limit();
  context_->connection_chain_limit = settings.connection_chain_buffer_limit();
  context_->slow_client_timeout_ms = settings.slow_client_timeout_ms;
  context_->idle_timeout_ms = settings.idle_timeout_ms;
  context_->zerocopy_threshold = settings.zerocopy_threshold;
  // Waiters hold a receive buffer each: at most a quarter of what chains leave.
  context_->max_pool_waiters =
      std::max(1u, (settings.buffers_per_worker() - settings.chain_buffer_limit()) / 4);
  context_->limits.attach(live_limits);
  context_->registry = &connections_;
  context_->detail = detail;
  if (upstream_) upstream_->set_prefix_stats(detail);
  loop_->set_context(context_.get());
}

Worker::~Worker() {
  stop();
  join();
  // Clients first: they hand their pending replies back before the tier goes.
  loop_->close_all();
}

void Worker::enable_client_tls(const tls::ServerContext& tls) {
  context_->make_tls_transport = tls_transport_factory(pool_, tls);
}

void Worker::start() {
  thread_ = std::thread([this] { loop_->run(); });
}

void Worker::stop() { loop_->stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::end_of_turn(int64_t now_ms) {
  upstream_->check_timeouts(now_ms);
  upstream_->flush();
}

int64_t Worker::next_deadline_ms() const { return upstream_->next_deadline_ms(); }

}  // namespace mcguard
