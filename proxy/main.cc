// mcguard's entry point: read the settings, start the workers, serve until
// SIGINT or SIGTERM, drain (in-flight requests finish within --drain-timeout)
// and exit 0. SIGHUP re-reads the configuration and applies the limits and
// log settings; a file that does not parse changes nothing. Start-up failures
// exit 2 with one line on stderr; --check-config exits 0 or 2 without serving.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "proxy/config.h"
#include "proxy/core/connection.h"
#include "proxy/core/rejection_log.h"
#include "proxy/core/version.h"
#include "proxy/logging.h"
#include "proxy/memory_budget.h"
#include "proxy/server.h"

#ifndef MCGUARD_DEFAULT_CONFIG
#define MCGUARD_DEFAULT_CONFIG "/etc/mcguard/mcguard.conf"
#endif

namespace {

std::string mebibytes(uint64_t bytes) {
  char text[32];
  snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// Upstream mode: the upstreams' item limit beside mcguard's own (-I), and what happens between.
std::string describe_split_limit(const mcguard::Settings& s,
                                 const std::optional<mcguard::SplitLimit>& split) {
  if (!split) return "";
  return "; upstream item_size_max " + std::to_string(split->item_size_max) +
         " B, split threshold " + std::to_string(split->threshold) + " B (split " +
         std::string(mcguard::split_mode_name(s.upstream_split)) + ")";
}

void log_start(const mcguard::Settings& s, const mcguard::Server& server) {
  const mcguard::EngineChoice& engine = server.io_engine();
  const std::optional<mcguard::SplitLimit>& split = server.split_limit();
  const mcguard::MemoryBudget budget = mcguard::memory_budget(s, engine.uring);
  std::string tier = "embedded";
  if (!s.upstreams.empty()) {
    tier = "upstream (";
    for (size_t i = 0; i < s.upstreams.size(); ++i) {
      if (i > 0) tier += ", ";
      tier += s.upstreams[i].host + ":" + std::to_string(s.upstreams[i].port);
      if (s.upstreams[i].weight != 1) tier += ":" + std::to_string(s.upstreams[i].weight);
    }
    tier += ")";
  }
  std::string listening;  // every listener, with the port actually bound
  for (const auto& listener : server.listeners()) {
    listening += (listening.empty() ? "" : ", ") + listener.name;
  }
  spdlog::info("mcguard {} listening on {}; io engine {}; tier {}; {} workers", MCGUARD_VERSION,
               listening, engine.description, tier, s.threads);
  spdlog::info(
      "memory budget {}: pool {} ({} workers x {} buffers x {} B) + {} {} + connections {} "
      "({} x {} B) + io_uring receive buffers {} + TLS sessions {} ({} x {} B); max value {} B{}",
      mebibytes(budget.total()), mebibytes(budget.pool), s.threads, s.buffers_per_worker(),
      s.buffer_size, s.upstreams.empty() ? "store" : "reply pool", mebibytes(budget.store),
      mebibytes(budget.connections), s.max_connections, budget.per_connection,
      mebibytes(budget.receive_ring), mebibytes(budget.tls), budget.tls_sessions,
      budget.per_tls_session, s.max_value_size, describe_split_limit(s, split));
  if (!s.config_path.empty()) spdlog::info("configuration read from {}", s.config_path);
}

std::string describe_limits(const mcguard::Settings& s) {
  std::string text = std::string("limit mode ") +
                     (s.limit_mode == mcguard::LimitMode::kObserve ? "observe" : "enforce") +
                     ", max value " + std::to_string(s.value_limit) + " B";
  for (const auto& limit : s.prefix_limits) {
    text += ", '" + limit.prefix + "' " + std::to_string(limit.limit) + " B";
  }
  return text + ", ceiling " + std::to_string(s.max_value_size) + " B";
}

// SIGHUP: the same command line with the file read again (the command line
// still wins). Only limits and log settings change while running.
void reload(mcguard::Server& server, int argc, char** argv) {
  const auto parsed = mcguard::parse_settings(argc, argv, MCGUARD_DEFAULT_CONFIG);
  std::string error;
  if (!server.reload(parsed, &error)) {
    spdlog::error("SIGHUP: configuration rejected, settings unchanged: {}", error);
    return;
  }
  spdlog::info("SIGHUP: reloaded {}; {}; log level {}", parsed.settings.config_path,
               describe_limits(parsed.settings), parsed.settings.log_level);
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = mcguard::parse_settings(argc, argv, MCGUARD_DEFAULT_CONFIG);
  if (parsed.action == mcguard::SettingsResult::Action::kPrintAndExit) {
    std::fputs(parsed.message.c_str(), stdout);
    return 0;
  }
  if (parsed.action == mcguard::SettingsResult::Action::kFail) {
    std::fprintf(stderr, "mcguard: %s\n", parsed.message.c_str());
    return 2;
  }
  const mcguard::Settings& settings = parsed.settings;
  if (settings.check_config) {
    std::printf("configuration OK%s%s: %s\n", settings.config_path.empty() ? "" : " in ",
                settings.config_path.c_str(), describe_limits(settings).c_str());
    return 0;
  }
  mcguard::configure_logging(settings.log_level, settings.log_format);

  // Signals are taken synchronously by the main thread; workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<mcguard::Server> server;
  try {
    server = std::make_unique<mcguard::Server>(settings);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "mcguard: %s\n", error.what());
    return 2;
  }
  log_start(settings, *server);
  server->start();
  if (server->admin_port() != 0) {
    spdlog::info("admin listener on {}:{} (/metrics, /healthz, /readyz)", settings.admin_host,
                 server->admin_port());
  }
  for (;;) {
    // Wakes once a second to summarise rejection log lines that were suppressed.
    const timespec second{1, 0};
    const int received = sigtimedwait(&signals, nullptr, &second);
    mcguard::RejectionLog::flush_summaries();
    if (received < 0) continue;
    if (received == SIGHUP) {
      reload(*server, argc, argv);
      continue;
    }
    spdlog::info("signal {}: draining (up to {} ms)", received, settings.drain_timeout_ms);
    break;
  }
  const uint32_t left = server->drain(settings.drain_timeout_ms);
  if (left > 0) {
    spdlog::warn("drain timeout: closing {} connections with requests in progress", left);
  } else {
    spdlog::info("drained: every connection finished");
  }
  server->stop();
  server->join();
  mcguard::RejectionLog::flush_summaries();
  return 0;
}
