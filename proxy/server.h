// Server: the running proxy. It opens the listening sockets, builds the
// embedded tier and the workers, publishes the value-limit policy they read,
// runs the admin HTTP listener, and answers `stats` and /metrics from all of
// them. The constructor does everything that can fail at start-up (and
// throws), and in upstream mode finds the split threshold (asking the
// upstreams, see item_size_probe.h); run() serves until stop() is called. drain() and reload() are
// the SIGTERM and SIGHUP paths; they run on the main thread.
#pragma once

#include <atomic>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/admin/admin_server.h"
#include "proxy/admin/stats_baseline.h"
#include "proxy/admin/stats_snapshot.h"
#include "proxy/admin/stats_subcommands.h"
#include "proxy/admin/upstream_probe.h"
#include "proxy/config.h"
#include "proxy/core/limits.h"
#include "proxy/embedded/embedded_tier.h"
#include "proxy/embedded/store_reports.h"
#include "proxy/io/engine.h"
#include "proxy/listen_sockets.h"
#include "proxy/tls/tls_context.h"
#include "proxy/upstream/item_size_probe.h"
#include "proxy/upstream/upstream_security.h"
#include "proxy/worker.h"

namespace mcguard {

class Server {
 public:
  explicit Server(const Settings& settings);
  ~Server();

  void start();
  void stop();
  void join();

  // SIGTERM: /readyz turns unready, the workers stop accepting and close each
  // connection once it has nothing in progress. Returns the connections still
  // open when `timeout_ms` passed (0: all finished).
  uint32_t drain(int64_t timeout_ms);
  // SIGHUP: applies the reloadable part of `parsed` (limit mode, limits,
  // prefix limits, log level and format). Returns false with `error` and
  // changes nothing when the file did not parse or a limit is over the
  // start-up ceiling. Counted either way.
  bool reload(const SettingsResult& parsed, std::string* error);

  // The `stats` reply (memcached's lines plus mcguard's own) and its
  // subcommands: settings (the effective configuration), reset, detail,
  // conns; in the embedded tier also slabs, items, sizes and cachedump. In the
  // upstream tier plain `stats` and the subcommands gathered from the
  // upstreams go on to the tier (false). See ConnectionContext::render_stats.
  bool render_stats(std::string_view args, ReplyQueue& reply) const;
  // /metrics in the Prometheus text format (admin/metrics_render.h).
  std::string render_metrics() const;
  // /readyz: serving, not draining and, in upstream mode, an upstream reachable.
  bool ready(std::string* why = nullptr) const;
  // The admin listener's port (0: off).
  uint16_t admin_port() const { return admin_ ? admin_->port() : 0; }
  const LimitBox& limits() const { return limits_; }
  // Every listener as opened, with the port actually bound (the start-up line).
  const std::vector<ListenSockets::Listener>& listeners() const {
    return listen_sockets_->listeners();
  }
  // The I/O engine chosen at start-up (io_uring or epoll, and why).
  const EngineChoice& io_engine() const { return engine_; }
  // Upstream mode: the upstreams' item limit and the split threshold in use.
  const std::optional<SplitLimit>& split_limit() const { return split_; }

 private:
  // What `stats` and /metrics print, gathered from the workers, tiers and settings now.
  admin::StatsSnapshot snapshot() const;
  std::vector<admin::UpstreamTotals> upstream_totals() const;
  std::vector<admin::ValueSizeTotals> value_size_totals() const;
  std::string render_settings() const;
  // `stats` with the counters since the last `stats reset`.
  admin::StatsSnapshot snapshot_since_reset() const;
  void reset_stats() const;
  std::string render_conns() const;
  // slabs, items, sizes(_enable|_disable), cachedump; nullopt for another subcommand.
  std::optional<std::string> render_store_report(const admin::StatsArgs& args) const;
  // SIGHUP: the tls: listeners' certificate and key, read again.
  void reload_client_tls();
  admin::HttpResponse answer_admin(std::string_view method, std::string_view path) const;

  Settings settings_;  // as at start-up; reloadable parts live in limits_ and spdlog
  EngineChoice engine_;
  std::optional<SplitLimit> split_;  // upstream mode
  // Upstream mode: TLS and credentials towards the upstreams (null: neither).
  // Before workers_, whose connections use it.
  std::unique_ptr<UpstreamSecurity> upstream_security_;
  LimitBox limits_;
  std::unique_ptr<EmbeddedTier> tier_;
  std::unique_ptr<StoreReports> store_reports_;  // embedded tier only
  mutable PrefixStats detail_;                   // `stats detail`, thread-safe
  mutable std::mutex baseline_mutex_;
  mutable admin::StatsBaseline baseline_;  // `stats reset`
  // Before workers_: UNIX socket files are removed once the workers are gone.
  std::unique_ptr<ListenSockets> listen_sockets_;
  int64_t started_ms_ = 0;  // monotonic
  std::atomic<uint32_t> open_connections_{0};
  // tls: listeners' certificate and key (null: none); outlives the workers.
  std::unique_ptr<tls::ServerContext> client_tls_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::UpstreamProbe> probe_;  // upstream mode with the admin listener
  std::unique_ptr<admin::AdminServer> admin_;
  std::atomic<uint64_t> tls_reloads_{0};
  std::atomic<uint64_t> tls_failed_reloads_{0};
  std::atomic<bool> serving_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> json_logs_{false};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failed_reloads_{0};
  time_t started_ = 0;
};

}  // namespace mcguard
