// UpstreamTier: one worker's view of the memcached servers it forwards to.
// Keys are placed by a ketama ring compatible with libmemcached, so each key
// reaches the server the application's own client would have chosen. Requests
// from all the worker's clients are pipelined onto a few connections per
// server and written once per loop turn; a multi-get is split per server and
// answered in the client's key order with one END. Down servers fail fast (or
// fail over along the ring) and are retried with backoff.
#pragma once

#include <deque>
#include <memory>
#include <span>
#include <string_view>

#include "proxy/core/pending_reply.h"
#include "proxy/core/reactor.h"
#include "proxy/core/tier.h"
#include "proxy/upstream/command_stats.h"
#include "proxy/upstream/ketama.h"
#include "proxy/upstream/reply_groups.h"
#include "proxy/upstream/split_context.h"
#include "proxy/upstream/split_read.h"
#include "proxy/upstream/split_stats.h"
#include "proxy/upstream/upstream_connection.h"
#include "proxy/upstream/upstream_server.h"

namespace mcguard {

class UpstreamTier final : public Tier, private SplitIndexHandler {
 public:
  // Resolves every address now; throws std::runtime_error when one cannot be.
  UpstreamTier(std::span<const UpstreamAddress> addresses, const UpstreamSettings& settings,
               BufferPool& pool, Reactor& reactor, PendingReplyPool& replies);
  ~UpstreamTier() override;

  bool can_accept(const Request& request, const ReplyQueue& client) override;
  void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
               BufferChain* value_chain) override;
  // Values that will be split are taken as they arrive (SplitWrite::stream).
  ValueStream* stream_value(const Request& request, ReplyQueue& reply) override;
  void remove_stale(std::string_view key, const ReplyQueue& client) override;
  // Each key of a get holds a pending reply until its server answers.
  uint32_t retrieval_batch_limit() const override { return groups_.capacity(); }

  // Loop hooks: write what this turn queued; fail what is overdue; when the
  // loop must next look at the clock (-1: no deadline).
  void flush();
  void check_timeouts(int64_t now_ms);
  int64_t next_deadline_ms() const;

  const std::deque<UpstreamServer>& servers() const { return servers_; }
  const SplitStats& split_stats() const { return split_stats_; }
  // memcached's command counters as the forwarded requests and replies show them.
  const UpstreamCommandStats& command_stats() const { return command_stats_; }
  // TLS and authentication for every connection opened from now on (the
  // process's; it must outlive the tier). Under TLS the sessions' ciphertext
  // buffers come from a pool of the tier's own: two per connection.
  void set_security(const UpstreamSecurity* security);
  // Bytes held by that pool (0: no TLS).
  // Upstream TLS buffers per connection: ciphertext in, ciphertext out, and
  // (completion engines) the buffer the kernel receives into. A failed
  // connection whose operations the kernel still holds keeps its three until
  // they report, while its replacement takes three more: hence six.
  static constexpr uint32_t kTlsBuffersPerConnection = 6;
  uint64_t tls_pool_bytes() const {
    return tls_pool_ ? uint64_t{tls_pool_->capacity()} * tls_pool_->buffer_size() : 0;
  }
  // `stats detail`: get hits are counted by key prefix here.
  void set_prefix_stats(PrefixStats* prefixes) { groups_.set_prefix_stats(prefixes); }

 private:
  UpstreamServer* route(std::string_view key);
  // One client's requests to one server always share a connection, so they
  // reach memcached in the order the client sent them.
  UpstreamConnection& pick(UpstreamServer& server, const ReplyQueue& client) {
    return pick(server, client.owner_id());
  }
  UpstreamConnection& pick(UpstreamServer& server, int client_id);
  // Values over the threshold (and any that could pass for an index) are
  // split; true when this request was taken that way.
  bool forward_split(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
                     BufferChain* value_chain);
  void take_index(PendingReply* slot) override;
  void screen_meta_value(PendingReply* slot) override { SplitRead::screen_meta_value(slot); }
  void hold(int client_id, bool begin);
  void forward_single(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
                      BufferChain* value_chain);
  void forward_retrieval(const Request& request, ReplyQueue& reply);
  // The client's next request goes after its gets still in open lines.
  void end_retrieval_lines_of(int client_id);
  void forward_to_all(const Request& request, ReplyQueue& reply);
  // `stats` gathered from every upstream and merged (stats_gather.h).
  void forward_stats(const Request& request, ReplyQueue& reply);

  UpstreamSettings settings_;
  BufferPool& pool_;
  Reactor& reactor_;
  UpstreamCommandStats command_stats_;  // before groups_, which counts into it
  ReplyGroups groups_;
  UpstreamContext context_;
  std::unique_ptr<BufferPool> tls_pool_;  // before servers_: their sessions hold its buffers
  std::deque<UpstreamServer> servers_;
  KetamaRing ring_;
  SplitStats split_stats_;
  SplitContext split_;
  // Clients with a split operation under way, and how many: their later
  // requests wait, so they reach the servers after it.
  std::vector<std::pair<int, uint32_t>> held_clients_;
};

}  // namespace mcguard
