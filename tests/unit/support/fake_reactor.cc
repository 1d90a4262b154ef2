#include "fake_reactor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace mcguard::test {

void FakeReactor::watch(int fd, IoHandler* handler, bool want_write) {
  watched_[fd] = Watch{handler, want_write};
}

void FakeReactor::unwatch(int fd) { watched_.erase(fd); }

bool FakeReactor::wants_write(int fd) const {
  auto it = watched_.find(fd);
  return it != watched_.end() && it->second.want_write;
}

int FakeReactor::turn(int wait_ms, const std::vector<int>& extra_fds) {
  std::vector<pollfd> fds;
  for (const auto& [fd, watch] : watched_) {
    fds.push_back({fd, static_cast<short>(POLLIN | (watch.want_write ? POLLOUT : 0)), 0});
  }
  const size_t watched = fds.size();
  for (int fd : extra_fds) fds.push_back({fd, POLLIN, 0});
  if (poll(fds.data(), fds.size(), wait_ms) <= 0) return 0;
  int calls = 0;
  for (size_t i = 0; i < watched; ++i) {
    const pollfd& ready = fds[i];
    // A handler may unwatch (or close and reuse) a descriptor: look it up each time.
    auto it = watched_.find(ready.fd);
    if (it == watched_.end() || ready.revents == 0) continue;
    IoHandler* handler = it->second.handler;
    if (it->second.want_write && (ready.revents & (POLLOUT | POLLERR | POLLHUP))) {
      handler->on_writable();
      ++calls;
    }
    it = watched_.find(ready.fd);
    if (it == watched_.end() || it->second.handler != handler) continue;
    if (ready.revents & (POLLIN | POLLERR | POLLHUP)) {
      handler->on_readable();
      ++calls;
    }
  }
  return calls;
}

LoopbackServer::LoopbackServer() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(listen_fd_);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
}

LoopbackServer::~LoopbackServer() {
  for (Peer& peer : peers_) {
    if (peer.fd >= 0) close(peer.fd);
  }
  close(listen_fd_);
}

int LoopbackServer::try_accept() {
  const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return -1;
  peers_.push_back(Peer{fd, {}});
  return static_cast<int>(peers_.size() - 1);
}

bool LoopbackServer::read_available(size_t index) {
  Peer& peer = peers_[index];
  if (peer.fd < 0 || peer.eof) return false;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(peer.fd, buffer, sizeof buffer);
    if (n > 0) {
      peer.received.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    peer.eof = true;  // closed (0) or reset
    return false;
  }
}

void LoopbackServer::send(size_t index, std::string_view bytes) {
  const int fd = peers_[index].fd;
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd writable{fd, POLLOUT, 0};
      if (poll(&writable, 1, static_cast<int>(kWaitLimit.count())) <= 0) {
        throw std::runtime_error("loopback peer does not drain");
      }
      continue;
    }
    if (n <= 0) throw std::runtime_error("write to loopback peer failed");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void LoopbackServer::close_peer(size_t index) {
  if (peers_[index].fd >= 0) close(peers_[index].fd);
  peers_[index].fd = -1;
}

std::vector<int> LoopbackServer::fds() const {
  std::vector<int> out{listen_fd_};
  for (const Peer& peer : peers_) {
    if (peer.fd >= 0 && !peer.eof) out.push_back(peer.fd);
  }
  return out;
}

bool run_until(FakeReactor& reactor, const std::function<bool()>& done,
               const std::function<void()>& each_turn, const std::vector<int>& extra_fds,
               std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (each_turn) each_turn();
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    reactor.turn(10, extra_fds);
  }
}

}  // namespace mcguard::test
