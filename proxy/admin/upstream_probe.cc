#include "proxy/admin/upstream_probe.h"

#include <poll.h>
#include <unistd.h>

namespace mcguard::admin {

UpstreamProbe::UpstreamProbe(const std::vector<UpstreamAddress>& upstreams, int64_t timeout_ms,
                             int64_t interval_ms)
    : timeout_ms_(timeout_ms), interval_ms_(interval_ms) {
  for (const UpstreamAddress& upstream : upstreams) {
    auto target = std::make_unique<Target>();
    target->address = resolve_upstream(upstream);
    targets_.push_back(std::move(target));
  }
}

UpstreamProbe::~UpstreamProbe() {
  for (auto& target : targets_) {
    if (target->fd >= 0) close(target->fd);
  }
}

void UpstreamProbe::finish(Target& target, bool ok) {
  if (target.fd >= 0) close(target.fd);
  target.fd = -1;
  target.reachable.store(ok, std::memory_order_relaxed);
}

void UpstreamProbe::tick(int64_t now_ms) {
  // Collect what the last round started.
  for (auto& target : targets_) {
    if (target->fd < 0) continue;
    pollfd entry{target->fd, POLLOUT, 0};
    if (poll(&entry, 1, 0) == 1) {
      finish(*target, connect_error(target->fd) == 0 && (entry.revents & (POLLERR | POLLHUP)) == 0);
    } else if (now_ms - target->started_ms >= timeout_ms_) {
      finish(*target, false);
    }
  }
  if (now_ms < next_round_ms_) return;
  next_round_ms_ = now_ms + interval_ms_;
  for (auto& target : targets_) {
    if (target->fd >= 0) continue;  // still waiting for the previous round
    bool connected = false;
    const int fd = target->address ? start_connect(*target->address, &connected) : -1;
    target->fd = fd;
    target->started_ms = now_ms;
    if (fd < 0 || connected) finish(*target, connected);
  }
}

}  // namespace mcguard::admin
