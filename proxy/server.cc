#include "proxy/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "protocol/response.h"
#include "proxy/admin/metrics_render.h"
#include "proxy/admin/stats_text.h"
#include "proxy/client_tls.h"
#include "proxy/logging.h"
#include "proxy/memory_budget.h"
#include "proxy/upstream/stats_merge.h"

namespace mcguard {
namespace {

// Descriptors kept for the process's own use (listeners, event loops, upstream
// connections, logs): `stats` reports it as reserved_fds.
uint64_t reserved_fds(uint32_t threads) { return uint64_t{threads} * 4 + 64; }

// Enough descriptors for every client connection plus the process's own.
void raise_file_limit(uint32_t max_connections, uint32_t threads) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t wanted = rlim_t{max_connections} + reserved_fds(threads);
  if (limit.rlim_cur >= wanted) return;
  rlimit raised = limit;
  raised.rlim_cur = std::min(wanted, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0 || raised.rlim_cur < wanted) {
    spdlog::warn("file descriptor limit {} is below the {} that --max-connections {} needs",
                 raised.rlim_cur, wanted, max_connections);
  }
}

std::string duration_text(int64_t ms) { return std::to_string(ms) + "ms"; }

// The event loops' clock (CLOCK_MONOTONIC_COARSE), which connections stamp
// their last command with.
int64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

// The upstream tier's command counts (one worker's) added into what `stats` prints.
void add_command_stats(EmbeddedStats& into, const UpstreamCommandStats& c) {
  into.cmd_get += c.cmd_get.get();
  into.get_hits += c.get_hits.get();
  into.get_misses += c.get_misses.get();
  into.cmd_set += c.cmd_set.get();
  into.cmd_touch += c.cmd_touch.get();
  into.touch_hits += c.touch_hits.get();
  into.touch_misses += c.touch_misses.get();
  into.delete_hits += c.delete_hits.get();
  into.delete_misses += c.delete_misses.get();
  into.incr_hits += c.incr_hits.get();
  into.incr_misses += c.incr_misses.get();
  into.decr_hits += c.decr_hits.get();
  into.decr_misses += c.decr_misses.get();
  into.cas_hits += c.cas_hits.get();
  into.cas_misses += c.cas_misses.get();
  into.cas_badval += c.cas_badval.get();
  into.cmd_flush += c.cmd_flush.get();
}

// `stats settings`: memcached's names first, where they mean the same thing.
// `maxbytes`: the embedded store's limit in force (cache_memlimit changes it).
void append_memcached_settings(std::string& out, const Settings& s, uint64_t maxbytes) {
  using admin::append_stat;
  append_stat(out, "maxbytes", maxbytes);
  append_stat(out, "maxconns", uint64_t{s.max_connections});
  append_stat(out, "tcpport", uint64_t{s.listen_port});
  append_stat(out, "udpport", uint64_t{0});
  const bool tcp = std::any_of(s.listeners.begin(), s.listeners.end(), [](const ListenAddress& a) {
    return a.kind == ListenAddress::Kind::kTcp;
  });
  append_stat(out, "inter", tcp ? s.listen_host : "NULL");
  append_stat(out, "verbosity", uint64_t{0});
  append_stat(out, "evictions", "on");
  append_stat(out, "num_threads", uint64_t{s.threads});
  append_stat(out, "cas_enabled", "yes");
  append_stat(out, "tcp_backlog", uint64_t{65535});
  append_stat(out, "binding_protocol", "ascii");
  append_stat(out, "item_size_max", s.max_value_size);
}

// `stats settings`: memcached's domain_socket and umask (its -s and -a: the first
// unix: listener, and the mode in octal as memcached prints it), then every
// listener as opened (the port actually bound).
void append_listener_settings(std::string& out, const Settings& s,
                              const std::vector<ListenSockets::Listener>& listeners) {
  using admin::append_stat;
  std::string domain_socket = "NULL";
  for (const ListenSockets::Listener& listener : listeners) {
    if (listener.kind == ListenAddress::Kind::kUnix) {
      domain_socket = listener.address;
      break;
    }
  }
  append_stat(out, "domain_socket", domain_socket);
  char mask[8];
  std::snprintf(mask, sizeof mask, "%o", s.unix_mask);
  append_stat(out, "umask", std::string_view(mask));
  for (const ListenSockets::Listener& listener : listeners) {
    append_stat(out, "mcguard_listen", listener.name);
  }
}

// `stats settings`: the upstreams and their options (upstream tier only).
void append_upstream_settings(std::string& out, const Settings& s,
                              const std::optional<SplitLimit>& split) {
  using admin::append_stat;
  for (size_t i = 0; i < s.upstreams.size(); ++i) {
    append_stat(out, "mcguard_upstream_" + std::to_string(i),
                s.upstreams[i].host + ":" + std::to_string(s.upstreams[i].port) + ":" +
                    std::to_string(s.upstreams[i].weight));
  }
  if (s.upstreams.empty()) return;
  append_stat(out, "mcguard_upstream_connections", uint64_t{s.upstream_connections});
  append_stat(out, "mcguard_upstream_timeout", duration_text(s.upstream_timeout_ms));
  append_stat(out, "mcguard_upstream_failure_limit", uint64_t{s.upstream_failure_limit});
  append_stat(out, "mcguard_upstream_failover", s.upstream_failover ? "yes" : "no");
  append_stat(out, "mcguard_upstream_retry", duration_text(s.upstream_retry_ms));
  append_stat(out, "mcguard_upstream_max_pending", uint64_t{s.upstream_max_pending});
  append_stat(out, "mcguard_reply_pool_size", s.reply_pool_size);
  append_stat(out, "mcguard_upstream_item_size_max", split->item_size_max);
  append_stat(out, "mcguard_upstream_split", split_mode_name(s.upstream_split));
  append_stat(out, "mcguard_split_threshold", split->threshold);
  append_stat(out, "mcguard_upstream_split_grace", duration_text(s.upstream_split_grace_ms));
}

// The split threshold (upstream tier): from --upstream-item-size-max, or asked of
// the upstreams. The wait is the upstream timeout, at most a second, so upstreams
// that are down at start-up delay it little.
// TLS and credentials towards the upstreams; null when neither is asked for.
// Throws when a file cannot be used (start-up fails with the reason).
std::unique_ptr<UpstreamSecurity> make_upstream_security(const Settings& s) {
  UpstreamSecurityOptions options;
  options.tls = s.upstream_tls;  // every --upstream-tls-* option implies it
  options.tls_options = {
      s.upstream_tls_ca, s.upstream_tls_cert, s.upstream_tls_key, s.upstream_tls_server_name, {}};
  options.auth_file = s.upstream_auth_file;
  if (!options.tls && options.auth_file.empty()) return nullptr;
  std::string error;
  std::unique_ptr<UpstreamSecurity> security = UpstreamSecurity::create(options, &error);
  if (security == nullptr) throw std::runtime_error(error);
  return security;
}

SplitLimit find_split_limit(const Settings& s) {
  constexpr int64_t kLongestProbeMs = 1000;
  std::vector<std::optional<uint64_t>> reported;
  // The probe speaks plain, unauthenticated memcached: never to secured upstreams.
  const bool secured = s.upstream_tls || !s.upstream_auth_file.empty();
  if (secured && s.upstream_item_size_max == 0) {
    spdlog::info(
        "not asking TLS or authenticating upstreams for item_size_max; "
        "--upstream-item-size-max gives it");
  } else if (s.upstream_item_size_max == 0) {
    reported = probe_item_size_max(s.upstreams, std::min(s.upstream_timeout_ms, kLongestProbeMs));
  }
  const SplitLimit limit = split_limit(s.upstream_item_size_max, reported);
  const std::string line = describe_split(limit, s.upstream_split);
  if (limit.source == ItemSizeSource::kFallback) {
    spdlog::warn("{}", line);
  } else {
    spdlog::info("{}", line);
  }
  return limit;
}

}  // namespace

Server::Server(const Settings& settings) : settings_(settings) {
  raise_file_limit(settings_.max_connections, settings_.threads);
  std::string error;
  auto policy = limits_.build(settings_.limit_mode, settings_.value_limit, settings_.max_value_size,
                              settings_.prefix_limits, &error);
  if (policy == nullptr) throw std::system_error(EINVAL, std::generic_category(), error);
  limits_.publish(std::move(policy));
  client_tls_ = open_client_tls(settings_);  // a certificate that does not load stops start-up
  engine_ = choose_io_engine(settings_.io_engine);
  if (settings_.upstreams.empty()) {
    EmbeddedConfig tier_config;
    tier_config.memory_limit = settings_.memory_limit;
    tier_config.max_value_size = settings_.max_value_size;
    tier_ = std::make_unique<EmbeddedTier>(tier_config);
    tier_->set_prefix_stats(&detail_);
    store_reports_ = std::make_unique<StoreReports>(tier_->store());
  } else {
    // Before the workers: each copies the threshold from settings_.
    upstream_security_ = make_upstream_security(settings_);
    split_ = find_split_limit(settings_);
    settings_.upstream_split_threshold = split_->threshold;
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
  listen_sockets_ = std::make_unique<ListenSockets>(settings_, settings_.threads);
  // `stats settings` tcpport: the port bound, also when --listen asked for port 0.
  for (const ListenSockets::Listener& listener : listen_sockets_->listeners()) {
    if (listener.kind != ListenAddress::Kind::kTcp) continue;
    settings_.listen_port =
        static_cast<uint16_t>(std::stoul(listener.address.substr(listener.address.rfind(':') + 1)));
    break;
  }
  for (uint32_t i = 0; i < settings_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(
        settings_, engine_, listen_sockets_->take_for_worker(i), tier_.get(), &limits_, limits,
        [this](std::string_view args, ReplyQueue& reply) { return render_stats(args, reply); },
        &detail_));
  }
  for (auto& worker : workers_) worker->set_upstream_security(upstream_security_.get());
  started_ms_ = monotonic_ms();
  json_logs_ = settings_.log_format == "json";
  started_ = ::time(nullptr);
}

Server::~Server() {
  stop();
  join();
}

void Server::start() {
  for (auto& worker : workers_) {
    if (client_tls_) worker->enable_client_tls(*client_tls_);
    worker->start();
  }
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
  // The upstream auth file and TLS files (as named at start-up) are re-read
  // first: one that fails keeps everything as it was.
  if (upstream_security_ != nullptr && !upstream_security_->reload(error)) {
    failed_reloads_.fetch_add(1);
    return false;
  }
  auto policy = limits_.build(fresh.limit_mode, fresh.value_limit, settings_.max_value_size,
                              fresh.prefix_limits, error);
  if (policy == nullptr) {
    failed_reloads_.fetch_add(1);
    return false;
  }
  limits_.publish(std::move(policy));
  reload_client_tls();
  configure_logging(fresh.log_level, fresh.log_format);
  json_logs_ = fresh.log_format == "json";
  reloads_.fetch_add(1);
  return true;
}

void Server::reload_client_tls() {
  if (!client_tls_) return;
  // The files are the start-up ones, read again: a renewed certificate goes
  // live for new connections; a broken one leaves the old in force.
  std::string why;
  if (client_tls_->reload(&why)) {
    tls_reloads_.fetch_add(1);
    spdlog::info("SIGHUP: TLS certificate {} reloaded", settings_.tls_cert);
  } else {
    tls_failed_reloads_.fetch_add(1);
    spdlog::error("SIGHUP: TLS certificate not reloaded, the old one stays in use: {}", why);
  }
}

bool Server::ready(std::string* why) const {
  auto say = [why](const char* reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (draining_) return say("draining");
  if (!serving_) return say("not serving");
  if (settings_.upstreams.empty()) return true;
  for (const admin::UpstreamTotals& upstream : upstream_totals()) {
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

admin::StatsSnapshot Server::snapshot() const {
  admin::StatsSnapshot s;
  for (const auto& worker : workers_) {
    s.workers.add(worker->stats());
    // Pool counters belong to another thread's pool; a slightly stale value is fine.
    s.pool.buffers += worker->pool().capacity();
    s.pool.in_use += worker->pool().in_use();
    s.pool.high_water += worker->pool().high_water();
    s.pool.failed += worker->pool().failed_acquires();
  }
  if (tier_) {
    s.embedded = tier_->stats();
    s.cache = *s.embedded;
    s.hash_buckets = tier_->store().bucket_count();
  } else {
    for (const auto& worker : workers_) {
      add_command_stats(s.cache, worker->upstream()->command_stats());
    }
  }
  s.upstreams = upstream_totals();
  if (split_) {
    s.split.emplace();
    s.split->threshold = split_->threshold;
    for (const auto& worker : workers_) s.split->add(worker->upstream()->split_stats());
  }
  s.value_sizes = value_size_totals();
  s.limits = limits_.load();
  s.process = admin::ProcessFacts::read(started_);
  s.max_connections = settings_.max_connections;
  s.reserved_fds = reserved_fds(settings_.threads);
  s.threads = settings_.threads;
  s.buffer_size = settings_.buffer_size;
  s.value_ceiling = settings_.max_value_size;
  const MemoryBudget budget = memory_budget(settings_, engine_.uring);
  s.memory_budget = budget.total();
  s.memory_per_tls_session = budget.per_tls_session;
  s.memory_per_connection = budget.per_connection;
  s.chain_buffers = uint64_t{settings_.chain_buffer_limit()} * settings_.threads;
  s.ready = ready();
  s.draining = draining_;
  s.reloads = reloads_.load();
  s.failed_reloads = failed_reloads_.load();
  s.tls_reloads = tls_reloads_.load();
  s.tls_failed_reloads = tls_failed_reloads_.load();
  return s;
}

std::vector<admin::UpstreamTotals> Server::upstream_totals() const {
  std::vector<admin::UpstreamTotals> out(settings_.upstreams.size());
  for (size_t i = 0; i < out.size(); ++i) {
    admin::UpstreamTotals& u = out[i];
    u.name = settings_.upstreams[i].host + ":" + std::to_string(settings_.upstreams[i].port);
    for (const auto& worker : workers_) {
      const UpstreamServer& server = worker->upstream()->servers()[i];
      u.requests += server.requests.get();
      u.failures += server.failures.get();
      u.tls_handshakes += server.tls_handshakes.get();
      u.tls_resumptions += server.tls_resumptions.get();
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

std::vector<admin::ValueSizeTotals> Server::value_size_totals() const {
  std::vector<admin::ValueSizeTotals> out(limits_.slot_count());
  for (uint32_t slot = 0; slot < out.size(); ++slot) {
    admin::ValueSizeTotals& v = out[slot];
    v.prefix = limits_.slot_prefix(slot);
    for (const auto& worker : workers_) {
      const ValueSizeHistograms& h = worker->stats().value_sizes;
      for (uint32_t b = 0; b < ValueSizeHistograms::kBuckets; ++b) v.buckets[b] += h.count(slot, b);
      v.sum += h.sum(slot);
    }
  }
  return out;
}

bool Server::render_stats(std::string_view args, ReplyQueue& reply) const {
  const admin::StatsArgs parsed = admin::split_stats_args(args);
  const std::string_view sub = parsed.subcommand;
  auto arg = [&parsed](size_t i) {
    return i < parsed.rest.size() ? parsed.rest[i] : std::string_view{};
  };
  auto whole = [&reply](std::string_view text) {
    reply.append_text(text);
    return true;
  };
  if (sub.empty()) {
    const admin::StatsSnapshot s = snapshot_since_reset();
    if (tier_) return whole(admin::stats_text(s));
    // The upstream tier appends the figures it gathers, and END.
    reply.append_text(admin::stats_text(s, admin::StatsTextPart::kWithoutGathered));
    return false;
  }
  // memcached ignores what follows these subcommands.
  if (sub == "settings") return whole(render_settings());
  if (sub == "reset") {
    reset_stats();
    return whole(admin::kResetReply);
  }
  if (sub == "detail") return whole(admin::detail_reply(arg(0), detail_));
  if (sub == "conns") return whole(render_conns());
  if (tier_) {
    if (std::optional<std::string> text = render_store_report(parsed)) return whole(*text);
  } else {
    if (sub == "cachedump") {
      const std::string_view error = StoreReports::cachedump_error(arg(0), arg(1));
      if (!error.empty()) return whole(error);
    }
    if (gathered_stats_kind(args).has_value()) return false;  // gathered from every upstream
  }
  // Unknown (and "noreply", which memcached takes for a subcommand).
  return whole(admin::kUnknownReply);
}

std::optional<std::string> Server::render_store_report(const admin::StatsArgs& args) const {
  const std::string_view sub = args.subcommand;
  if (sub == "slabs") return store_reports_->slabs();
  if (sub == "items") return store_reports_->items();
  if (sub == "sizes") return store_reports_->sizes();
  if (sub == "sizes_enable") return store_reports_->enable_sizes();
  if (sub == "sizes_disable") return store_reports_->disable_sizes();
  if (sub == "cachedump") {
    auto arg = [&args](size_t i) {
      return i < args.rest.size() ? args.rest[i] : std::string_view{};
    };
    return store_reports_->cachedump(arg(0), arg(1));
  }
  return std::nullopt;
}

admin::StatsSnapshot Server::snapshot_since_reset() const {
  admin::StatsSnapshot s = snapshot();
  std::lock_guard lock(baseline_mutex_);
  baseline_.apply(s);
  return s;
}

void Server::reset_stats() const {
  const admin::StatsSnapshot now = snapshot();
  {
    std::lock_guard lock(baseline_mutex_);
    baseline_.reset_to(now);
  }
  detail_.clear();
}

std::string Server::render_conns() const {
  std::vector<admin::ConnsRow> rows;
  const int64_t now_ms = monotonic_ms();
  // As memcached names them: tcp:HOST:PORT (tcp6: for IPv6) or unix:PATH.
  auto conns_name = [](const ListenSockets::Listener& l) {
    return l.kind == ListenAddress::Kind::kUnix ? l.name : admin::tcp_address(l.address);
  };
  const auto& listeners = listen_sockets_->listeners();
  if (!draining_) {  // a draining worker closes its listeners
    for (const ListenSockets::Listener& listener : listeners) {
      for (int fd : listener.worker_fds) {
        rows.push_back(
            {fd, conns_name(listener), {}, "conn_listening", (now_ms - started_ms_) / 1000});
      }
    }
  }
  // A connection's listener: the unix: one it is named after, else the TCP or
  // tls: one on its local port.
  auto listener_of = [&](const ConnectionRecord& c) -> std::string {
    if (c.peer->starts_with("unix:")) return *c.peer;
    const std::string local = bound_address(c.fd);
    const std::string port = local.substr(local.rfind(':') + 1);
    for (const ListenSockets::Listener& l : listeners) {
      if (l.kind != ListenAddress::Kind::kUnix &&
          l.address.substr(l.address.rfind(':') + 1) == port)
        return conns_name(l);
    }
    return listeners.empty() ? std::string() : conns_name(listeners.front());
  };
  for (const auto& worker : workers_) {
    worker->connections().for_each([&](const ConnectionRecord& c) {
      const int64_t last = c.last_command_ms.load(std::memory_order_relaxed);
      const bool unix_peer = c.peer->starts_with("unix:");
      rows.push_back({c.fd, unix_peer ? *c.peer : admin::tcp_address(*c.peer), listener_of(c),
                      connection_state_name(c.state.load(std::memory_order_relaxed)),
                      (now_ms - last) / 1000});
    });
  }
  return admin::conns_text(std::move(rows));
}

std::string Server::render_metrics() const { return admin::metrics_text(snapshot()); }

std::string Server::render_settings() const {
  using admin::append_stat;
  const Settings& s = settings_;
  const auto policy = limits_.load();
  std::string out;
  out.reserve(4096);
  append_memcached_settings(out, s, tier_ ? tier_->stats().limit_maxbytes : 0);
  append_listener_settings(out, s, listen_sockets_->listeners());
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
  append_stat(out, "mcguard_max_connection_chain",
              uint64_t{s.connection_chain_buffer_limit()} * s.buffer_size);
  append_stat(out, "mcguard_max_reply_backlog", s.max_reply_backlog);
  append_stat(out, "mcguard_pool_wait_timeout", duration_text(s.pool_wait_timeout_ms));
  append_stat(out, "mcguard_slow_client_timeout", duration_text(s.slow_client_timeout_ms));
  append_stat(out, "mcguard_idle_timeout", duration_text(s.idle_timeout_ms));
  append_stat(out, "mcguard_zerocopy_threshold", s.zerocopy_threshold);
  append_stat(out, "mcguard_reuse_port", s.reuse_port ? "yes" : "no");
  append_stat(out, "mcguard_tier", s.upstreams.empty() ? "embedded" : "upstream");
  append_upstream_settings(out, s, split_);
  append_stat(out, "mcguard_on_reject", s.delete_on_reject ? "delete" : "keep");
  append_stat(out, "mcguard_admin",
              s.admin_enabled ? s.admin_host + ":" + std::to_string(admin_port()) : "off");
  append_stat(out, "mcguard_drain_timeout", duration_text(s.drain_timeout_ms));
  const auto level = spdlog::level::to_string_view(spdlog::get_level());
  append_stat(out, "mcguard_log_level", std::string_view(level.data(), level.size()));
  append_stat(out, "mcguard_log_format", json_logs_ ? "json" : "text");
  out += reply::kEnd;
  return out;
}

}  // namespace mcguard
