#include "proxy/upstream/upstream_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mcguard {

void UpstreamServer::record_success() {
  if (down) spdlog::info("upstream {} is back", name);
  consecutive_failures = 0;
  down = false;
  retry_delay_ms = 0;
}

void UpstreamServer::record_failure(int64_t now_ms, const UpstreamSettings& settings) {
  failures.add();
  ++consecutive_failures;
  if (!down && consecutive_failures < settings.failure_limit) return;
  retry_delay_ms =
      retry_delay_ms == 0 ? settings.retry_ms : std::min(retry_delay_ms * 2, settings.max_retry_ms);
  retry_at_ms = now_ms + retry_delay_ms;
  if (!down) {
    spdlog::warn("upstream {} marked down after {} consecutive failures; retry in {} ms", name,
                 consecutive_failures, retry_delay_ms);
  }
  down = true;
}

void UpstreamServer::log_security_failure(int64_t now_ms, const std::string& why) {
  if (now_ms - security_logged_ms < kSecurityLogIntervalMs) {
    ++security_log_suppressed;
    return;
  }
  if (security_log_suppressed > 0) {
    spdlog::warn("upstream {}: {} ({} more like it not logged)", name, why,
                 security_log_suppressed);
  } else {
    spdlog::warn("upstream {}: {}", name, why);
  }
  security_logged_ms = now_ms;
  security_log_suppressed = 0;
}

}  // namespace mcguard
