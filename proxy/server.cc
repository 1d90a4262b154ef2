#include "proxy/server.h"

#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "proxy/version.h"

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
  if (settings_.upstreams.empty()) {
    EmbeddedConfig tier_config;
    tier_config.memory_limit = settings_.memory_limit;
    tier_config.max_value_size = settings_.max_value_size;
    tier_ = std::make_unique<EmbeddedTier>(tier_config);
  }
  LoopLimits limits{&open_connections_, settings_.max_connections};
  for (uint32_t i = 0; i < settings_.threads; ++i) {
    int fd = open_listener(settings_.listen_host, settings_.listen_port);
    workers_.push_back(std::make_unique<Worker>(
        settings_, fd, tier_.get(), limits,
        [this](std::string_view args, ReplyQueue& reply) { render_stats(args, reply); }));
  }
  started_ = ::time(nullptr);
}

Server::~Server() {
  stop();
  join();
}

void Server::start() {
  for (auto& worker : workers_) worker->start();
}

void Server::stop() {
  for (auto& worker : workers_) worker->stop();
}

void Server::join() {
  for (auto& worker : workers_) worker->join();
}

void Server::render_stats(std::string_view args, ReplyQueue& reply) const {
  if (!args.empty()) {
    // Subsystem stats (slabs, items, ...) describe memcached internals a
    // proxy does not have; an empty listing keeps exporters that poll them working.
    reply.append_text("END\r\n");
    return;
  }
  uint64_t curr = 0, total = 0, rejected = 0, read = 0, written = 0, requests = 0;
  uint64_t too_large = 0, no_memory = 0, protocol_errors = 0, closed_for_pool = 0;
  uint64_t slow_closes = 0, idle_closes = 0, pool_waits = 0, chain_in_use = 0;
  uint64_t pool_buffers = 0, pool_in_use = 0, pool_high_water = 0, pool_failed = 0;
  for (const auto& worker : workers_) {
    const WorkerStats& s = worker->stats();
    curr += s.curr_connections.get();
    total += s.total_connections.get();
    rejected += s.rejected_connections.get();
    read += s.bytes_read.get();
    written += s.bytes_written.get();
    requests += s.requests.get();
    too_large += s.rejected_too_large.get();
    no_memory += s.rejected_no_memory.get();
    protocol_errors += s.protocol_errors.get();
    closed_for_pool += s.closed_for_pool.get();
    slow_closes += s.slow_client_closes.get();
    idle_closes += s.idle_closes.get();
    pool_waits += s.pool_waits.get();
    chain_in_use += s.chain_buffers_in_use.get();
    // Pool counters belong to another thread's pool; a slightly stale value is fine.
    pool_buffers += worker->pool().capacity();
    pool_in_use += worker->pool().in_use();
    pool_high_water += worker->pool().high_water();
    pool_failed += worker->pool().failed_acquires();
  }
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
  out.reserve(4096);
  append_stat(out, "pid", static_cast<uint64_t>(getpid()));
  append_stat(out, "uptime", static_cast<uint64_t>(now - started_));
  append_stat(out, "time", static_cast<uint64_t>(now));
  append_stat(out, "version", MCGUARD_PROTOCOL_VERSION);
  append_stat(out, "pointer_size", uint64_t{sizeof(void*) * 8});
  append_stat(out, "rusage_user", rusage_text[0]);
  append_stat(out, "rusage_system", rusage_text[1]);
  append_stat(out, "max_connections", uint64_t{settings_.max_connections});
  append_stat(out, "curr_connections", curr);
  append_stat(out, "total_connections", total);
  append_stat(out, "rejected_connections", rejected);
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
  append_stat(out, "bytes_read", read);
  append_stat(out, "bytes_written", written);
  append_stat(out, "limit_maxbytes", tier.limit_maxbytes);
  append_stat(out, "threads", uint64_t{settings_.threads});
  append_stat(out, "bytes", tier.bytes);
  append_stat(out, "curr_items", tier.curr_items);
  append_stat(out, "total_items", tier.total_items);
  append_stat(out, "expired_unfetched", tier.expired_unfetched);
  append_stat(out, "evictions", tier.evictions);
  append_stat(out, "mcguard_requests", requests);
  append_stat(out, "mcguard_rejected_too_large", too_large);
  append_stat(out, "mcguard_rejected_no_memory", no_memory);
  append_stat(out, "mcguard_protocol_errors", protocol_errors);
  append_stat(out, "mcguard_closed_for_pool", closed_for_pool);
  append_stat(out, "mcguard_max_value_size", settings_.max_value_size);
  append_stat(out, "mcguard_pool_buffers", pool_buffers);
  append_stat(out, "mcguard_pool_buffer_size", uint64_t{settings_.buffer_size});
  append_stat(out, "mcguard_pool_buffers_in_use", pool_in_use);
  append_stat(out, "mcguard_pool_high_water", pool_high_water);
  append_stat(out, "mcguard_pool_failed_acquires", pool_failed);
  append_stat(out, "mcguard_pool_waits", pool_waits);
  append_stat(out, "mcguard_chain_buffers_in_use", chain_in_use);
  append_stat(out, "mcguard_chain_buffers",
              uint64_t{settings_.chain_buffer_limit()} * settings_.threads);
  append_stat(out, "mcguard_slow_client_closes", slow_closes);
  append_stat(out, "mcguard_idle_closes", idle_closes);
  // Per upstream, summed over workers; "down" counts the workers that see it down.
  if (!settings_.upstreams.empty()) {
    for (size_t i = 0; i < settings_.upstreams.size(); ++i) {
      uint64_t requests_sent = 0, failures = 0, down = 0;
      std::string name;
      for (const auto& worker : workers_) {
        const UpstreamServer& server = worker->upstream()->servers()[i];
        name = server.name;
        requests_sent += server.requests.get();
        failures += server.failures.get();
        down += server.down ? 1 : 0;
      }
      const std::string prefix = "mcguard_upstream_" + std::to_string(i) + "_";
      append_stat(out, prefix + "address", name);
      append_stat(out, prefix + "requests", requests_sent);
      append_stat(out, prefix + "failures", failures);
      append_stat(out, prefix + "down_workers", down);
    }
  }
  out += "END\r\n";
  reply.append_text(out);
}

}  // namespace mcguard
