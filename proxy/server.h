// Server: the running proxy. It opens the listening sockets, builds the
// embedded tier and the workers, publishes the value-limit policy they read,
// runs the admin HTTP listener, and answers `stats` and /metrics from all of
// them. The constructor does everything that can fail at start-up (and
// throws); run() serves until stop() is called. drain() and reload() are the
// SIGTERM and SIGHUP paths; they run on the main thread.
#pragma once

#include <array>
#include <atomic>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/admin/admin_server.h"
#include "proxy/admin/upstream_probe.h"
#include "proxy/config.h"
#include "proxy/io/engine.h"
#include "proxy/core/limits.h"
#include "proxy/embedded/embedded_tier.h"
#include "proxy/worker.h"

namespace mcguard {

// Every worker's counters summed once, for `stats` and /metrics.
struct ProxyTotals {
  uint64_t curr_connections = 0, total_connections = 0, rejected_connections = 0;
  uint64_t bytes_read = 0, bytes_written = 0, requests = 0;
  uint64_t rejected_too_large = 0, rejected_no_memory = 0, rejected_over_ceiling = 0;
  uint64_t observed_over_limit = 0, protocol_errors = 0, closed_for_pool = 0;
  uint64_t slow_client_closes = 0, idle_closes = 0, pool_waits = 0, pool_waiters = 0;
  uint64_t chain_buffers_in_use = 0;
  uint64_t pool_buffers = 0, pool_in_use = 0, pool_high_water = 0, pool_failed = 0;
};

// One upstream as every worker sees it.
struct UpstreamTotals {
  std::string name;
  uint64_t requests = 0, failures = 0, down_workers = 0;
  // Reply latency: per bucket (LatencyHistogram::kBoundsUs, then above), and the sum.
  std::array<uint64_t, LatencyHistogram::kBuckets> latency{};
  uint64_t latency_sum_us = 0;
  uint64_t replies() const {
    uint64_t n = 0;
    for (uint64_t c : latency) n += c;
    return n;
  }
  bool probe_reachable = false;
};

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

  // The `stats` reply (memcached's lines plus mcguard's own); "settings" lists
  // the effective configuration.
  void render_stats(std::string_view args, ReplyQueue& reply) const;
  // /metrics in the Prometheus text format.
  std::string render_metrics() const;
  // /readyz: serving, not draining and, in upstream mode, an upstream reachable.
  bool ready(std::string* why = nullptr) const;
  // The admin listener's port (0: off).
  uint16_t admin_port() const { return admin_ ? admin_->port() : 0; }
  const LimitBox& limits() const { return limits_; }
  // The I/O engine chosen at start-up (io_uring or epoll, and why).
  const EngineChoice& io_engine() const { return engine_; }

 private:
  ProxyTotals totals() const;
  std::vector<UpstreamTotals> upstream_totals() const;
  std::string render_settings() const;
  admin::HttpResponse answer_admin(std::string_view method, std::string_view path) const;

  Settings settings_;  // as at start-up; reloadable parts live in limits_ and spdlog
  EngineChoice engine_;
  LimitBox limits_;
  std::unique_ptr<EmbeddedTier> tier_;
  std::atomic<uint32_t> open_connections_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::UpstreamProbe> probe_;  // upstream mode with the admin listener
  std::unique_ptr<admin::AdminServer> admin_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> json_logs_{false};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failed_reloads_{0};
  time_t started_ = 0;
};

// Opens a listening TCP socket with SO_REUSEPORT. Throws std::system_error.
int open_listener(const std::string& host, uint16_t port);

}  // namespace mcguard
