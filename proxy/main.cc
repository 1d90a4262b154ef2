// mcguard's entry point: read the settings, start the workers, serve until
// SIGINT or SIGTERM, then stop them and exit 0. Start-up failures exit 2 with
// one line on stderr.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "proxy/config.h"
#include "proxy/connection.h"
#include "proxy/server.h"
#include "proxy/version.h"

#ifndef MCGUARD_DEFAULT_CONFIG
#define MCGUARD_DEFAULT_CONFIG "/etc/mcguard/mcguard.conf"
#endif

namespace {

std::string mebibytes(uint64_t bytes) {
  char text[32];
  snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

void log_start(const mcguard::Settings& s) {
  // Per connection: the Connection itself and its event-loop slot; its chains
  // are links through the pool, and it holds no buffer while idle.
  const uint64_t per_connection = sizeof(mcguard::Connection) + 64;
  const uint64_t pool = uint64_t{s.buffers_per_worker()} * s.buffer_size * s.threads;
  const uint64_t connections = per_connection * s.max_connections;
  const uint64_t store = s.upstreams.empty() ? s.memory_limit : s.reply_pool_size;
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
  spdlog::info("mcguard {} listening on {}:{}; io engine epoll; tier {}; {} workers",
               MCGUARD_VERSION, s.listen_host, s.listen_port, tier, s.threads);
  spdlog::info(
      "memory budget {}: pool {} ({} workers x {} buffers x {} B) + {} {} + connections {} "
      "({} x {} B); max value {} B",
      mebibytes(pool + store + connections), mebibytes(pool), s.threads, s.buffers_per_worker(),
      s.buffer_size, s.upstreams.empty() ? "store" : "reply pool", mebibytes(store),
      mebibytes(connections), s.max_connections, per_connection, s.max_value_size);
  if (!s.config_path.empty()) spdlog::info("configuration read from {}", s.config_path);
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
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

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
  log_start(settings);
  server->start();
  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received == SIGHUP) {
      spdlog::info("SIGHUP: reloading is not supported yet; settings unchanged");
      continue;
    }
    spdlog::info("signal {}: stopping", received);
    break;
  }
  server->stop();
  server->join();
  return 0;
}
