// UpstreamProbe: whether each upstream accepts TCP connections, for /readyz.
// Workers connect to upstreams only when requests need them, so an idle
// sidecar cannot tell from its own traffic; the probe opens a non-blocking
// connection to every upstream each round and never waits for one: tick()
// starts a round, later ticks collect the answers. Any thread may read
// reachable().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "proxy/upstream/ketama.h"
#include "proxy/upstream/socket_address.h"

namespace mcguard::admin {

class UpstreamProbe {
 public:
  UpstreamProbe(const std::vector<UpstreamAddress>& upstreams, int64_t timeout_ms,
                int64_t interval_ms = 1000);
  ~UpstreamProbe();
  UpstreamProbe(const UpstreamProbe&) = delete;
  UpstreamProbe& operator=(const UpstreamProbe&) = delete;

  // Call often (the admin thread's tick); returns at once.
  void tick(int64_t now_ms);
  size_t size() const { return targets_.size(); }
  // False until the first probe of `i` finished.
  bool reachable(size_t i) const { return targets_[i]->reachable.load(std::memory_order_relaxed); }

 private:
  struct Target {
    std::optional<SocketAddress> address;  // nullopt: the name did not resolve
    int fd = -1;                           // a connect in progress
    int64_t started_ms = 0;
    std::atomic<bool> reachable{false};
  };
  void finish(Target& target, bool ok);

  std::vector<std::unique_ptr<Target>> targets_;
  int64_t timeout_ms_;
  int64_t interval_ms_;
  int64_t next_round_ms_ = 0;
};

}  // namespace mcguard::admin
