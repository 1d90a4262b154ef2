#include "proxy/server.h"

#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "proxy/logging.h"
#include "proxy/core/version.h"

namespace mcguard {
namespace {

// Large, so a burst of connects waits in the kernel rather than in SYN retries
// (the kernel clamps it to net.core.somaxconn).
constexpr int kListenBacklog = 65535;

// Enough descriptors for every client connection plus the process's own.
void raise_file_limit(uint32_t max_connections, uint32_t threads) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t wanted = rlim_t{max_connections} + threads * 4 + 64;
  if (limit.rlim_cur >= wanted) return;
  rlimit raised = limit;
  raised.rlim_cur = std::min(wanted, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0 || raised.rlim_cur < wanted) {
    spdlog::warn("file descriptor limit {} is below the {} that --max-connections {} needs",
                 raised.rlim_cur, wanted, max_connections);
  }
}

void append_stat(std::string& out, std::string_view name, uint64_t value) {
  out += "STAT ";
  out += name;
  out += ' ';
  out += std::to_string(value);
  out += "\r\n";
}

void append_stat(std::string& out, std::string_view name, std::string_view value) {
  out += "STAT ";
  out += name;
  out += ' ';
  out += value;
  out += "\r\n";
}

}  // namespace

int open_listener(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "cannot resolve listen address " + host + ": " + gai_strerror(rc));
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, kListenBacklog) != 0) {
    int error = errno;
    if (fd >= 0) close(fd);
    freeaddrinfo(found);
    throw std::system_error(error, std::generic_category(),
                            "cannot listen on " + host + ":" + service);
  }
  freeaddrinfo(found);
  return fd;
}

Server::Server(const Settings& settings) : settings_(settings) {
  raise_file_limit(settings_.max_connections, settings_.threads);
  std::string error;
  auto policy = limits_.build(settings_.limit_mode, settings_.value_limit, settings_.max_value_size,
                              settings_.prefix_limits, &error);
  if (policy == nullptr) throw std::system_error(EINVAL, std::generic_category(), error);
  limits_.publish(std::move(policy));
  engine_ = choose_io_engine(settings_.io_engine);
  if (settings_.upstreams.empty()) {
    EmbeddedConfig tier_config;
    tier_config.memory_limit = settings_.memory_limit;
    tier_config.max_value_size = settings_.max_value_size;
    tier_ = std::make_unique<EmbeddedTier>(tier_config);
  }
  // The admin port is bound before the data port, so a client that can connect
  // to the data port can reach /readyz too; its thread starts in start().
  if (settings_.admin_enabled) {
    admin::AdminServer::Tick tick;
    if (!settings_.upstreams.empty()) {
      probe_ = std::make_unique<admin::UpstreamProbe>(settings_.upstreams,
                                                      settings_.upstream_timeout_ms);
      tick = [this](int64_t now_ms) { probe_->tick(now_ms); };
    }
    admin_ = std::make_unique<admin::AdminServer>(
        settings_.admin_host, settings_.admin_port,
        [this](std::string_view method, std::string_view path) {
          return answer_admin(method, path);
        },
        std::move(tick));
  }
  LoopLimits limits{&open_connections_, settings_.max_connections};
  for (uint32_t i = 0; i < settings_.threads; ++i) {
    int fd = open_listener(settings_.listen_host, settings_.listen_port);
    workers_.push_back(std::make_unique<Worker>(
        settings_, engine_, fd, tier_.get(), &limits_, limits,
        [this](std::string_view args, ReplyQueue& reply) { render_stats(args, reply); }));
  }
  json_logs_ = settings_.log_format == "json";
  started_ = ::time(nullptr);
}

Server::~Server() {
  stop();
  join();
}

void Server::start() {
  for (auto& worker : workers_) worker->start();
  serving_ = true;
  if (admin_) admin_->start();
}

void Server::stop() {
  serving_ = false;
  for (auto& worker : workers_) worker->stop();
}

void Server::join() {
  for (auto& worker : workers_) worker->join();
  if (admin_) admin_->stop();
}

uint32_t Server::drain(int64_t timeout_ms) {
  draining_ = true;
  for (auto& worker : workers_) worker->begin_drain();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  uint32_t open = open_connections_.load();
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    open = open_connections_.load();
  }
  return open;
}

bool Server::reload(const SettingsResult& parsed, std::string* error) {
  if (parsed.action != SettingsResult::Action::kRun) {
    *error = parsed.message;
    failed_reloads_.fetch_add(1);
    return false;
  }
  const Settings& fresh = parsed.settings;
  auto policy = limits_.build(fresh.limit_mode, fresh.value_limit, settings_.max_value_size,
                              fresh.prefix_limits, error);
  if (policy == nullptr) {
    failed_reloads_.fetch_add(1);
    return false;
  }
  limits_.publish(std::move(policy));
  configure_logging(fresh.log_level, fresh.log_format);
  json_logs_ = fresh.log_format == "json";
  reloads_.fetch_add(1);
  return true;
}

bool Server::ready(std::string* why) const {
  auto say = [why](const char* reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (draining_) return say("draining");
  if (!serving_) return say("not serving");
  if (settings_.upstreams.empty()) return true;
  for (const UpstreamTotals& upstream : upstream_totals()) {
    if (upstream.probe_reachable && upstream.down_workers < workers_.size()) return true;
  }
  return say("no upstream reachable");
}

admin::HttpResponse Server::answer_admin(std::string_view method, std::string_view path) const {
  admin::HttpResponse response;
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!known) return {404, "text/plain; charset=utf-8", "not found\n"};
  if (method != "GET" && method != "HEAD") {
    return {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
  }
  if (path == "/metrics") {
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = render_metrics();
  } else if (path == "/healthz") {
    response.body = "ok\n";
  } else {
    std::string why;
    if (ready(&why)) {
      response.body = "ready\n";
    } else {
      response.status = 503;
      response.body = "not ready: " + why + "\n";
    }
  }
  return response;
}

ProxyTotals Server::totals() const {
  ProxyTotals t;
  for (const auto& worker : workers_) {
    const WorkerStats& s = worker->stats();
    t.curr_connections += s.curr_connections.get();
    t.total_connections += s.total_connections.get();
    t.rejected_connections += s.rejected_connections.get();
    t.bytes_read += s.bytes_read.get();
    t.bytes_written += s.bytes_written.get();
    t.requests += s.requests.get();
    t.rejected_too_large += s.rejected_too_large.get();
    t.rejected_no_memory += s.rejected_no_memory.get();
    t.rejected_over_ceiling += s.rejected_over_ceiling.get();
    t.observed_over_limit += s.observed_over_limit.get();
    t.protocol_errors += s.protocol_errors.get();
    t.closed_for_pool += s.closed_for_pool.get();
    t.slow_client_closes += s.slow_client_closes.get();
    t.idle_closes += s.idle_closes.get();
    t.pool_waits += s.pool_waits.get();
    t.pool_waiters += s.pool_waiters.get();
    t.chain_buffers_in_use += s.chain_buffers_in_use.get();
    // Pool counters belong to another thread's pool; a slightly stale value is fine.
    t.pool_buffers += worker->pool().capacity();
    t.pool_in_use += worker->pool().in_use();
    t.pool_high_water += worker->pool().high_water();
    t.pool_failed += worker->pool().failed_acquires();
  }
  return t;
}

std::vector<UpstreamTotals> Server::upstream_totals() const {
  std::vector<UpstreamTotals> out(settings_.upstreams.size());
  for (size_t i = 0; i < out.size(); ++i) {
    UpstreamTotals& u = out[i];
    u.name = settings_.upstreams[i].host + ":" + std::to_string(settings_.upstreams[i].port);
    for (const auto& worker : workers_) {
      const UpstreamServer& server = worker->upstream()->servers()[i];
      u.requests += server.requests.get();
      u.failures += server.failures.get();
      for (size_t b = 0; b < LatencyHistogram::kBuckets; ++b) {
        u.latency[b] += server.reply_latency.count(b);
      }
      u.latency_sum_us += server.reply_latency.sum_us();
      u.down_workers += server.down ? 1 : 0;
    }
    u.probe_reachable = probe_ ? probe_->reachable(i) : u.down_workers < workers_.size();
  }
  return out;
}

void Server::render_stats(std::string_view args, ReplyQueue& reply) const {
  if (args == "settings") {
    reply.append_text(render_settings());
    return;
  }
  if (!args.empty()) {
    // Subsystem stats (slabs, items, ...) describe memcached internals a
    // proxy does not have; an empty listing keeps exporters that poll them working.
    reply.append_text("END\r\n");
    return;
  }
  const ProxyTotals t = totals();
  const EmbeddedStats tier = tier_ ? tier_->stats() : EmbeddedStats{};
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  char rusage_text[2][32];
  snprintf(rusage_text[0], sizeof rusage_text[0], "%ld.%06ld", usage.ru_utime.tv_sec,
           usage.ru_utime.tv_usec);
  snprintf(rusage_text[1], sizeof rusage_text[1], "%ld.%06ld", usage.ru_stime.tv_sec,
           usage.ru_stime.tv_usec);
  const time_t now = ::time(nullptr);

  std::string out;
  out.reserve(8192);
  append_stat(out, "pid", static_cast<uint64_t>(getpid()));
  append_stat(out, "uptime", static_cast<uint64_t>(now - started_));
  append_stat(out, "time", static_cast<uint64_t>(now));
  append_stat(out, "version", MCGUARD_PROTOCOL_VERSION);
  append_stat(out, "libevent", "none");
  append_stat(out, "pointer_size", uint64_t{sizeof(void*) * 8});
  append_stat(out, "rusage_user", rusage_text[0]);
  append_stat(out, "rusage_system", rusage_text[1]);
  append_stat(out, "max_connections", uint64_t{settings_.max_connections});
  append_stat(out, "curr_connections", t.curr_connections);
  append_stat(out, "total_connections", t.total_connections);
  append_stat(out, "rejected_connections", t.rejected_connections);
  append_stat(out, "connection_structures", t.curr_connections);
  append_stat(out, "cmd_get", tier.cmd_get);
  append_stat(out, "cmd_set", tier.cmd_set);
  append_stat(out, "cmd_flush", tier.cmd_flush);
  append_stat(out, "cmd_touch", tier.cmd_touch);
  append_stat(out, "get_hits", tier.get_hits);
  append_stat(out, "get_misses", tier.get_misses);
  append_stat(out, "get_expired", tier.get_expired);
  append_stat(out, "get_flushed", tier.get_flushed);
  append_stat(out, "delete_misses", tier.delete_misses);
  append_stat(out, "delete_hits", tier.delete_hits);
  append_stat(out, "incr_misses", tier.incr_misses);
  append_stat(out, "incr_hits", tier.incr_hits);
  append_stat(out, "decr_misses", tier.decr_misses);
  append_stat(out, "decr_hits", tier.decr_hits);
  append_stat(out, "cas_misses", tier.cas_misses);
  append_stat(out, "cas_hits", tier.cas_hits);
  append_stat(out, "cas_badval", tier.cas_badval);
  append_stat(out, "touch_hits", tier.touch_hits);
  append_stat(out, "touch_misses", tier.touch_misses);
  append_stat(out, "bytes_read", t.bytes_read);
  append_stat(out, "bytes_written", t.bytes_written);
  append_stat(out, "limit_maxbytes", tier.limit_maxbytes);
  append_stat(out, "threads", uint64_t{settings_.threads});
  append_stat(out, "bytes", tier.bytes);
  append_stat(out, "curr_items", tier.curr_items);
  append_stat(out, "total_items", tier.total_items);
  append_stat(out, "expired_unfetched", tier.expired_unfetched);
  append_stat(out, "evictions", tier.evictions);
  append_stat(out, "mcguard_requests", t.requests);
  append_stat(out, "mcguard_rejected_too_large", t.rejected_too_large);
  append_stat(out, "mcguard_rejected_over_ceiling", t.rejected_over_ceiling);
  append_stat(out, "mcguard_rejected_no_memory", t.rejected_no_memory);
  append_stat(out, "mcguard_observed_over_limit", t.observed_over_limit);
  append_stat(out, "mcguard_protocol_errors", t.protocol_errors);
  append_stat(out, "mcguard_closed_for_pool", t.closed_for_pool);
  const auto policy = limits_.load();
  append_stat(out, "mcguard_max_value_size", policy->default_limit());
  append_stat(out, "mcguard_value_ceiling", settings_.max_value_size);
  append_stat(out, "mcguard_limit_mode",
              policy->mode() == LimitMode::kObserve ? "observe" : "enforce");
  append_stat(out, "mcguard_pool_buffers", t.pool_buffers);
  append_stat(out, "mcguard_pool_buffer_size", uint64_t{settings_.buffer_size});
  append_stat(out, "mcguard_pool_buffers_in_use", t.pool_in_use);
  append_stat(out, "mcguard_pool_high_water", t.pool_high_water);
  append_stat(out, "mcguard_pool_failed_acquires", t.pool_failed);
  append_stat(out, "mcguard_pool_waits", t.pool_waits);
  append_stat(out, "mcguard_pool_waiters", t.pool_waiters);
  append_stat(out, "mcguard_chain_buffers_in_use", t.chain_buffers_in_use);
  append_stat(out, "mcguard_chain_buffers",
              uint64_t{settings_.chain_buffer_limit()} * settings_.threads);
  append_stat(out, "mcguard_slow_client_closes", t.slow_client_closes);
  append_stat(out, "mcguard_idle_closes", t.idle_closes);
  // Values seen by size class (all prefixes): the count at or below each bound.
  for (uint32_t bucket = 0; bucket + 1 < ValueSizeHistograms::kBuckets; ++bucket) {
    uint64_t count = 0;
    for (const auto& worker : workers_) {
      for (uint32_t slot = 0; slot < limits_.slot_count(); ++slot) {
        count += worker->stats().value_sizes.count(slot, bucket);
      }
    }
    append_stat(out, "mcguard_values_le_" + std::to_string(ValueSizeHistograms::bound(bucket)),
                count);
  }
  append_stat(out, "mcguard_ready", uint64_t{ready() ? 1u : 0u});
  append_stat(out, "mcguard_reloads", reloads_.load());
  append_stat(out, "mcguard_failed_reloads", failed_reloads_.load());
  // Per upstream, summed over workers; "down" counts the workers that see it down.
  const auto upstreams = upstream_totals();
  for (size_t i = 0; i < upstreams.size(); ++i) {
    const std::string prefix = "mcguard_upstream_" + std::to_string(i) + "_";
    append_stat(out, prefix + "address", upstreams[i].name);
    append_stat(out, prefix + "requests", upstreams[i].requests);
    append_stat(out, prefix + "failures", upstreams[i].failures);
    append_stat(out, prefix + "down_workers", upstreams[i].down_workers);
    const uint64_t replies = upstreams[i].replies();
    append_stat(out, prefix + "replies", replies);
    append_stat(out, prefix + "reply_us_avg",
                replies == 0 ? uint64_t{0} : upstreams[i].latency_sum_us / replies);
  }
  out += "END\r\n";
  reply.append_text(out);
}

std::string Server::render_settings() const {
  const Settings& s = settings_;
  const auto policy = limits_.load();
  auto duration = [](int64_t ms) { return std::to_string(ms) + "ms"; };
  std::string out;
  out.reserve(4096);
  // memcached's names first, where they mean the same thing.
  append_stat(out, "maxbytes", s.upstreams.empty() ? s.memory_limit : uint64_t{0});
  append_stat(out, "maxconns", uint64_t{s.max_connections});
  append_stat(out, "tcpport", uint64_t{s.listen_port});
  append_stat(out, "udpport", uint64_t{0});
  append_stat(out, "inter", s.listen_host);
  append_stat(out, "verbosity", uint64_t{0});
  append_stat(out, "evictions", "on");
  append_stat(out, "num_threads", uint64_t{s.threads});
  append_stat(out, "cas_enabled", "yes");
  append_stat(out, "tcp_backlog", uint64_t{65535});
  append_stat(out, "binding_protocol", "ascii");
  append_stat(out, "item_size_max", s.max_value_size);
  // mcguard's own, as the options are named.
  append_stat(out, "mcguard_config", s.config_path.empty() ? "none" : s.config_path);
  append_stat(out, "mcguard_max_value_size", policy->default_limit());
  append_stat(out, "mcguard_value_ceiling", s.max_value_size);
  append_stat(out, "mcguard_limit_mode",
              policy->mode() == LimitMode::kObserve ? "observe" : "enforce");
  for (const LimitPolicy::Rule& rule : policy->rules()) {
    append_stat(out, "mcguard_limit:" + rule.prefix, rule.limit);
  }
  append_stat(out, "mcguard_buffer_size", uint64_t{s.buffer_size});
  append_stat(out, "mcguard_pool_size", s.pool_size);
  append_stat(out, "mcguard_chain_buffers_per_worker", uint64_t{s.chain_buffer_limit()});
  append_stat(out, "mcguard_max_reply_backlog", s.max_reply_backlog);
  append_stat(out, "mcguard_pool_wait_timeout", duration(s.pool_wait_timeout_ms));
  append_stat(out, "mcguard_slow_client_timeout", duration(s.slow_client_timeout_ms));
  append_stat(out, "mcguard_idle_timeout", duration(s.idle_timeout_ms));
  append_stat(out, "mcguard_tier", s.upstreams.empty() ? "embedded" : "upstream");
  for (size_t i = 0; i < s.upstreams.size(); ++i) {
    append_stat(out, "mcguard_upstream_" + std::to_string(i),
                s.upstreams[i].host + ":" + std::to_string(s.upstreams[i].port) + ":" +
                    std::to_string(s.upstreams[i].weight));
  }
  if (!s.upstreams.empty()) {
    append_stat(out, "mcguard_upstream_connections", uint64_t{s.upstream_connections});
    append_stat(out, "mcguard_upstream_timeout", duration(s.upstream_timeout_ms));
    append_stat(out, "mcguard_upstream_failure_limit", uint64_t{s.upstream_failure_limit});
    append_stat(out, "mcguard_upstream_failover", s.upstream_failover ? "yes" : "no");
    append_stat(out, "mcguard_upstream_retry", duration(s.upstream_retry_ms));
    append_stat(out, "mcguard_upstream_max_pending", uint64_t{s.upstream_max_pending});
    append_stat(out, "mcguard_reply_pool_size", s.reply_pool_size);
  }
  append_stat(out, "mcguard_on_reject", s.delete_on_reject ? "delete" : "keep");
  append_stat(out, "mcguard_admin",
              s.admin_enabled ? s.admin_host + ":" + std::to_string(admin_port()) : "off");
  append_stat(out, "mcguard_drain_timeout", duration(s.drain_timeout_ms));
  const auto level = spdlog::level::to_string_view(spdlog::get_level());
  append_stat(out, "mcguard_log_level", std::string_view(level.data(), level.size()));
  append_stat(out, "mcguard_log_format", json_logs_ ? "json" : "text");
  out += "END\r\n";
  return out;
}

}  // namespace mcguard
