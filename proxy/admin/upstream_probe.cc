#include "proxy/admin/upstream_probe.h"

#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcguard::admin {

UpstreamProbe::UpstreamProbe(const std::vector<UpstreamAddress>& upstreams, int64_t timeout_ms,
                             int64_t interval_ms)
    : timeout_ms_(timeout_ms), interval_ms_(interval_ms) {
  for (const UpstreamAddress& upstream : upstreams) {
    auto target = std::make_unique<Target>();
    target->name = upstream.host + ":" + std::to_string(upstream.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(upstream.port);
    if (getaddrinfo(upstream.host.c_str(), service.c_str(), &hints, &found) == 0) {
      std::memcpy(&target->address, found->ai_addr, found->ai_addrlen);
      target->address_length = found->ai_addrlen;
      target->resolved = true;
      freeaddrinfo(found);
    }
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
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(target->fd, SOL_SOCKET, SO_ERROR, &error, &length);
      finish(*target, error == 0 && (entry.revents & (POLLERR | POLLHUP)) == 0);
    } else if (now_ms - target->started_ms >= timeout_ms_) {
      finish(*target, false);
    }
  }
  if (now_ms < next_round_ms_) return;
  next_round_ms_ = now_ms + interval_ms_;
  for (auto& target : targets_) {
    if (target->fd >= 0) continue;  // still waiting for the previous round
    if (!target->resolved) {
      finish(*target, false);
      continue;
    }
    const int fd = socket(target->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      finish(*target, false);
      continue;
    }
    target->fd = fd;
    target->started_ms = now_ms;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&target->address), target->address_length) ==
        0) {
      finish(*target, true);
    } else if (errno != EINPROGRESS) {
      finish(*target, false);
    }
  }
}

}  // namespace mcguard::admin
