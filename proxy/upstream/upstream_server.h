// UpstreamServer: one memcached server as one worker sees it: its resolved
// address, its connections, and its health. After `failure_limit` consecutive
// failures it is down; it is tried again after a delay that doubles up to a
// cap, and one success brings it back.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/core/latency_histogram.h"
#include "proxy/core/worker_stats.h"
#include "proxy/upstream/ketama.h"

namespace mcguard {

class UpstreamConnection;
struct PendingReply;

// --upstream-split: whether values over the upstreams' item limit are split into chunks.
// read-only understands split values but writes none (a fleet upgrading its sidecars).
enum class SplitMode : uint8_t { kOn, kReadOnly, kOff };

struct UpstreamSettings {
  int64_t timeout_ms = 1000;
  uint32_t failure_limit = 3;
  bool failover = false;
  int64_t retry_ms = 1000;
  int64_t max_retry_ms = 30000;
  uint32_t connections = 1;
  uint64_t max_value_size = 8u << 20;
  bool delete_on_reject = true;
  SplitMode split_mode = SplitMode::kOn;
  // The largest value stored as one item; larger ones are split (when split_mode is kOn).
  uint64_t split_threshold = (1u << 20) - 512;
  // How long an overwritten or deleted split value's chunks outlive its index
  // (--upstream-split-grace), so reads already streaming it finish whole.
  int64_t split_grace_ms = 2000;
  // The largest manifest a value of max_value_size needs (the tier sets it):
  // longer replies are never looked at as indexes.
  uint64_t max_manifest_bytes = 0;
};

struct UpstreamServer {
  UpstreamAddress address;
  std::string name;  // "host:port", for logs
  sockaddr_storage socket_address{};
  socklen_t socket_address_length = 0;
  std::vector<std::unique_ptr<UpstreamConnection>> connections;

  uint32_t consecutive_failures = 0;
  std::atomic<bool> down{false};  // read by `stats` from other threads
  int64_t retry_at_ms = 0;
  int64_t retry_delay_ms = 0;

  Counter requests;
  Counter failures;
  // TLS sessions opened to it: full handshakes, and sessions resumed from the cache.
  Counter tls_handshakes;
  Counter tls_resumptions;
  // Why its sessions fail (TLS, credentials) is logged at most once per
  // kSecurityLogIntervalMs; the rest are counted in the next line.
  static constexpr int64_t kSecurityLogIntervalMs = 5000;
  int64_t security_logged_ms = -kSecurityLogIntervalMs;
  uint64_t security_log_suppressed = 0;
  // From a request's queueing to its whole reply, for requests answered.
  LatencyHistogram reply_latency;

  // Down and not yet due for a retry.
  bool unavailable(int64_t now_ms) const { return down && now_ms < retry_at_ms; }
  void record_success();
  void record_failure(int64_t now_ms, const UpstreamSettings& settings);
  // Logs why a session to it could not be set up, rate-limited.
  void log_security_failure(int64_t now_ms, const std::string& why);
};

}  // namespace mcguard
