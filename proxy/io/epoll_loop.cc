#include "proxy/io/epoll_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <system_error>

namespace mcguard {
namespace {

constexpr int kMaxEvents = 256;
constexpr int kReadsPerEvent = 16;  // fairness: one busy client cannot hold the loop
constexpr int kParkedRetryMs = 5;

int64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

std::string peer_name(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "unix";
}

}  // namespace

EpollLoop::EpollLoop(int listen_fd, LoopLimits limits)
    : listen_fd_(listen_fd), limits_(limits), now_ms_(monotonic_ms()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "epoll set-up");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listen_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event);
  event.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
}

void EpollLoop::close_all() {
  for (size_t fd = 0; fd < slots_.size(); ++fd) {
    if (slots_[fd].connection) close_connection(static_cast<int>(fd));
  }
}

EpollLoop::~EpollLoop() {
  close_all();
  for (int fd : {listen_fd_, epoll_fd_, wake_fd_, spare_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void EpollLoop::stop() {
  stopping_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = write(wake_fd_, &one, sizeof one);
}

void EpollLoop::run() {
  epoll_event events[kMaxEvents];
  while (!stopping_.load(std::memory_order_relaxed)) {
    int count = epoll_wait(epoll_fd_, events, kMaxEvents, wait_timeout_ms());
    now_ms_ = monotonic_ms();
    context_->now_ms = now_ms_;
    if (count < 0) {
      if (errno == EINTR) continue;
      spdlog::error("epoll_wait: {}", std::strerror(errno));
      return;
    }
    for (int i = 0; i < count; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        accept_all();
      } else if (fd == wake_fd_) {
        return;
      } else if (static_cast<size_t>(fd) < slots_.size() && slots_[fd].handler != nullptr) {
        IoHandler* handler = slots_[fd].handler;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) handler->on_readable();
        // The read may have closed it (it unwatches itself then).
        if ((events[i].events & EPOLLOUT) && slots_[fd].handler == handler) handler->on_writable();
      } else {
        on_event(fd, events[i].events);
      }
    }
    if (!parked_.empty()) retry_parked();
    if (hook_ != nullptr) hook_->end_of_turn(now_ms_);
    if (!woken_.empty()) send_woken();
    if (now_ms_ >= next_timeout_scan_ms_) close_timed_out();
  }
}

void EpollLoop::close_timed_out() {
  // A scan a few times a second: timeouts are seconds long, and a scan of
  // even 10,000 connections costs microseconds.
  constexpr int64_t kScanIntervalMs = 250;
  next_timeout_scan_ms_ = now_ms_ + kScanIntervalMs;
  if (context_->slow_client_timeout_ms <= 0 && context_->idle_timeout_ms <= 0) return;
  const uint64_t slow_before = context_->stats.slow_client_closes.get();
  const uint64_t idle_before = context_->stats.idle_closes.get();
  for (size_t fd = 0; fd < slots_.size(); ++fd) {
    Slot& slot = slots_[fd];
    if (slot.connection && slot.connection->timed_out(now_ms_)) {
      close_connection(static_cast<int>(fd));
    }
  }
  // One line per scan at most, so a flood of slow clients cannot flood the log.
  const uint64_t slow = context_->stats.slow_client_closes.get() - slow_before;
  const uint64_t idle = context_->stats.idle_closes.get() - idle_before;
  if (slow > 0) spdlog::warn("closed {} clients that did not deliver a value in time", slow);
  if (idle > 0) spdlog::info("closed {} idle connections", idle);
  const uint64_t rejected = context_->stats.rejected_connections.get();
  if (rejected != rejected_logged_) {
    spdlog::warn("refused {} connections over --max-connections or the descriptor limit",
                 rejected - rejected_logged_);
    rejected_logged_ = rejected;
  }
}

int EpollLoop::wait_timeout_ms() const {
  int64_t timeout = parked_.empty() ? -1 : kParkedRetryMs;
  if (!woken_.empty()) timeout = 0;
  if (open_here_ > 0) {
    int64_t until_scan = std::max<int64_t>(0, next_timeout_scan_ms_ - now_ms_);
    if (timeout < 0 || until_scan < timeout) timeout = until_scan;
  }
  if (hook_ != nullptr) {
    int64_t deadline = hook_->next_deadline_ms();
    if (deadline >= 0) {
      int64_t until = std::max<int64_t>(0, deadline - monotonic_ms() + 1);
      if (timeout < 0 || until < timeout) timeout = until;
    }
  }
  return static_cast<int>(timeout);
}

void EpollLoop::send_woken() {
  sending_.clear();
  sending_.swap(woken_);
  for (int fd : sending_) {
    if (static_cast<size_t>(fd) < slots_.size() && slots_[fd].connection) on_event(fd, 0);
  }
}

void EpollLoop::watch(int fd, IoHandler* handler, bool want_write) {
  if (static_cast<size_t>(fd) >= slots_.size()) slots_.resize(fd + 1);
  Slot& slot = slots_[fd];
  epoll_event event{};
  event.events = EPOLLIN | (want_write ? uint32_t{EPOLLOUT} : 0u);
  event.data.fd = fd;
  const int op = slot.handler == nullptr ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  slot.handler = handler;
  slot.events = event.events;
  epoll_ctl(epoll_fd_, op, fd, &event);
}

void EpollLoop::unwatch(int fd) {
  if (static_cast<size_t>(fd) >= slots_.size() || slots_[fd].handler == nullptr) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  slots_[fd].handler = nullptr;
  slots_[fd].events = 0;
}

void EpollLoop::accept_all() {
  for (;;) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_one(fd, &address);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
      // Out of descriptors: free the spare one to accept and close the
      // connection, so the backlog does not keep the listener readable forever.
      close(spare_fd_);
      int dropped = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (dropped >= 0) close(dropped);
      spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
      context_->stats.rejected_connections.add();
      continue;
    }
    return;  // EAGAIN, or an error the next readiness will report again
  }
}

void EpollLoop::accept_one(int fd, const void* address) {
  if (limits_.open_connections->fetch_add(1) >= limits_.max_connections) {
    limits_.open_connections->fetch_sub(1);
    context_->stats.rejected_connections.add();
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (static_cast<size_t>(fd) >= slots_.size()) slots_.resize(fd + 1);
  Slot& slot = slots_[fd];
  slot.connection = std::make_unique<Connection>(
      *context_, peer_name(*static_cast<const sockaddr_storage*>(address)), fd);
  slot.events = EPOLLIN | EPOLLRDHUP;
  slot.parked = false;
  epoll_event event{};
  event.events = slot.events;
  event.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  context_->stats.curr_connections.add();
  ++open_here_;
  context_->stats.total_connections.add();
}

void EpollLoop::on_event(int fd, uint32_t events) {
  if (static_cast<size_t>(fd) >= slots_.size() || !slots_[fd].connection) return;
  Slot& slot = slots_[fd];
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) read_from(fd, slot);
  if (!slot.connection->should_close() && slot.connection->wants_write()) write_to(fd, slot);
  if (slot.connection->should_close()) {
    close_connection(fd);
    return;
  }
  park_if_waiting(fd, slot);
  update_interest(fd, slot);
}

void EpollLoop::park_if_waiting(int fd, Slot& slot) {
  if (slot.connection->waiting_for_pool() && !slot.parked) {
    slot.parked = true;
    parked_.push_back(fd);
  }
}

void EpollLoop::read_from(int fd, Slot& slot) {
  Connection& connection = *slot.connection;
  for (int round = 0; round < kReadsPerEvent; ++round) {
    iovec targets[64];
    size_t count = connection.read_targets(targets, 64);
    if (count == 0) {
      if (connection.wants_read() && !connection.should_close() && !slot.parked) {
        // No pool buffer to read into: park until buffers come back.
        slot.parked = true;
        parked_.push_back(fd);
      }
      return;
    }
    size_t room = 0;
    for (size_t i = 0; i < count; ++i) room += targets[i].iov_len;
    ssize_t n = readv(fd, targets, static_cast<int>(count));
    if (n > 0) {
      connection.on_read(static_cast<size_t>(n));
      if (static_cast<size_t>(n) < room) return;  // drained the socket for now
      if (connection.should_close()) return;
      continue;
    }
    if (n == 0) {
      connection.on_read_idle();
      connection.on_peer_closed();
      return;
    }
    if (errno == EINTR) continue;
    connection.on_read_idle();
    if (errno != EAGAIN && errno != EWOULDBLOCK) connection.on_error();
    return;
  }
}

void EpollLoop::write_to(int fd, Slot& slot) {
  Connection& connection = *slot.connection;
  while (connection.wants_write() && !connection.should_close()) {
    iovec iov[IOV_MAX];
    size_t count = connection.write_iovecs(iov, IOV_MAX);
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = count;
    ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n >= 0) {
      connection.on_written(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    // The peer is gone: nothing more can be delivered.
    connection.on_error();
    return;
  }
}

void EpollLoop::update_interest(int fd, Slot& slot) {
  if (!slot.connection) return;
  uint32_t wanted = EPOLLRDHUP;
  if (slot.connection->wants_read() && !slot.parked) wanted |= EPOLLIN;
  if (slot.connection->wants_write()) wanted |= EPOLLOUT;
  if (wanted == slot.events) return;
  epoll_event event{};
  event.events = wanted;
  event.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
  slot.events = wanted;
}

void EpollLoop::close_connection(int fd) {
  Slot& slot = slots_[fd];
  if (!slot.connection) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  slot.connection.reset();
  slot.events = 0;
  slot.parked = false;
  limits_.open_connections->fetch_sub(1);
  context_->stats.curr_connections.sub();
  --open_here_;
}

void EpollLoop::retry_parked() {
  // Oldest first, so buffers coming back go to the connection that waited longest.
  retrying_.clear();
  retrying_.swap(parked_);
  for (int fd : retrying_) {
    if (static_cast<size_t>(fd) >= slots_.size() || !slots_[fd].connection) continue;
    Slot& slot = slots_[fd];
    slot.parked = false;
    if (slot.connection->waiting_for_pool()) {
      slot.connection->retry_pool_wait();
      on_event(fd, 0);
    } else if (context_->pool.available() > 0) {
      on_event(fd, EPOLLIN);
    } else {
      slot.parked = true;
      parked_.push_back(fd);
    }
  }
}

}  // namespace mcguard
