#include "proxy/io/epoll_loop.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <utility>

#include "proxy/io/descriptor_table.h"

namespace mcguard {
namespace {

constexpr int kMaxEvents = 256;
constexpr int kReadsPerEvent = 16;  // fairness: one busy client cannot hold the loop

}  // namespace

EpollLoop::EpollLoop(std::vector<ListenerSocket> listeners, LoopLimits limits)
    : EventLoop(std::move(listeners), limits) {
  size_t capacity = 0;
  slots_ = process_table<Slot>(&capacity);
  limit_table(capacity);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll set-up");
  epoll_event event{};
  for (const ListenerSocket& listener : listeners_) {
    // Every worker watches the shared unix: socket: wake one of them per
    // connection rather than all.
    event.events = EPOLLIN | (listener.unix_socket ? uint32_t{EPOLLEXCLUSIVE} : 0u);
    event.data.fd = listener.fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener.fd, &event);
  }
  event.events = EPOLLIN;
  event.data.fd = wake_fd();
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd(), &event);
}

EpollLoop::~EpollLoop() {
  close_all();
  close(epoll_fd_);
}

void EpollLoop::close_all() {
  for (size_t fd = 0; fd < descriptor_end(); ++fd) {
    if (owned_connection(static_cast<int>(fd))) close_connection(static_cast<int>(fd));
  }
}

void EpollLoop::adopt(int fd) {
  own(fd);
  slots_[fd] = Slot{};
}

void EpollLoop::forget_events(int fd) {
  if (batch_ == nullptr) return;
  for (int i = batch_next_; i < batch_count_; ++i) {
    if (batch_[i].data.fd == fd) batch_[i].data.fd = -1;
  }
}

void EpollLoop::run() {
  epoll_event events[kMaxEvents];
  while (!stopping()) {
    int count = epoll_wait(epoll_fd_, events, kMaxEvents, wait_timeout_ms());
    update_clock();
    if (count < 0) {
      if (errno == EINTR) continue;
      spdlog::error("epoll_wait: {}", std::strerror(errno));
      return;
    }
    batch_ = events;
    batch_count_ = count;
    for (int i = 0; i < count; ++i) {
      batch_next_ = i + 1;
      // -1: closed earlier in this batch, and the number perhaps another worker's now.
      const int fd = events[i].data.fd;
      if (fd < 0) continue;
      if (ListenerSocket* listener = listener_on(fd)) {
        accept_all(*listener);
      } else if (fd == wake_fd()) {
        clear_wake();
      } else if (slots_[fd].handler != nullptr) {
        IoHandler* handler = slots_[fd].handler;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) handler->on_readable();
        // The read may have closed it (it unwatches itself then), and the
        // number be another worker's now.
        if ((events[i].events & EPOLLOUT) && owns(fd) && slots_[fd].handler == handler)
          handler->on_writable();
      } else {
        on_event(fd, events[i].events);
      }
    }
    batch_ = nullptr;
    end_of_turn();
  }
}

void EpollLoop::watch(int fd, IoHandler* handler, bool want_write) {
  if (!owns(fd)) adopt(fd);
  Slot& s = slot(fd);
  epoll_event event{};
  event.events = EPOLLIN | (want_write ? uint32_t{EPOLLOUT} : 0u);
  event.data.fd = fd;
  const int op = s.handler == nullptr ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  s.handler = handler;
  s.events = event.events;
  epoll_ctl(epoll_fd_, op, fd, &event);
}

void EpollLoop::unwatch(int fd) {
  if (!in_table(fd) || !owns(fd) || slots_[fd].handler == nullptr) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  slots_[fd] = Slot{};
}

void EpollLoop::close_socket(int fd) {
  if (in_table(fd) && owns(fd)) {
    unwatch(fd);
    forget_events(fd);
    slots_[fd] = Slot{};
    disown(fd);
  }
  close(fd);
}

void EpollLoop::stop_accepting() {
  for (ListenerSocket& listener : listeners_) {
    if (listener.fd < 0) continue;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener.fd, nullptr);
    close_listener(listener);
  }
}

ListenerSocket* EpollLoop::listener_on(int fd) {
  // A handful of listeners at most: a scan is cheaper than a table.
  for (ListenerSocket& listener : listeners_) {
    if (listener.fd == fd) return &listener;
  }
  return nullptr;
}

void EpollLoop::accept_all(ListenerSocket& listener) {
  for (;;) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&address), &length,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (!admit(fd, address, listener)) continue;
      Slot& s = slot(fd);
      s = Slot{};
      s.events = EPOLLIN | EPOLLRDHUP;
      epoll_event event{};
      event.events = s.events;
      event.data.fd = fd;
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE) {
      shed_one_connection(listener.fd);
      continue;
    }
    return;  // EAGAIN, or an error the next readiness will report again
  }
}

void EpollLoop::on_event(int fd, uint32_t events) {
  Connection* connection = this->connection(fd);
  if (connection == nullptr) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) read_from(fd, *connection);
  if (!connection->should_close() && connection->wants_write()) write_to(fd, *connection);
  if (connection->should_close()) {
    close_connection(fd);
    return;
  }
  if (connection->waiting_for_pool()) park(fd);
  update_interest(fd, *connection);
}

void EpollLoop::read_from(int fd, Connection& connection) {
  for (int round = 0; round < kReadsPerEvent; ++round) {
    iovec targets[64];
    size_t count = connection.read_targets(targets, 64);
    if (count == 0) {
      // No pool buffer to read into: park until buffers come back.
      if (connection.wants_read() && !connection.should_close()) park(fd);
      return;
    }
    size_t room = 0;
    for (size_t i = 0; i < count; ++i) room += targets[i].iov_len;
    ssize_t n = readv(fd, targets, static_cast<int>(count));
    if (n > 0) {
      connection.on_read(static_cast<size_t>(n));
      if (static_cast<size_t>(n) < room) {  // drained the socket for now
        connection.on_read_idle();
        return;
      }
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

void EpollLoop::write_to(int fd, Connection& connection) {
  while (connection.wants_write() && !connection.should_close()) {
    iovec iov[IOV_MAX];
    size_t count = connection.write_iovecs(iov, IOV_MAX);
    if (count == 0) return;  // a transport with no output room yet (it waits for buffers)
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

void EpollLoop::update_interest(int fd, Connection& connection) {
  Slot& s = slot(fd);
  uint32_t wanted = EPOLLRDHUP;
  if (connection.wants_read() && !parked(fd)) wanted |= EPOLLIN;
  if (connection.wants_write()) wanted |= EPOLLOUT;
  if (wanted == s.events) return;
  epoll_event event{};
  event.events = wanted;
  event.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
  s.events = wanted;
}

void EpollLoop::close_connection(int fd) {
  if (!connection(fd)) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  forget_events(fd);
  // Everything of ours goes before the close: the number may be another worker's at once.
  slot(fd) = Slot{};
  release(fd);
  disown(fd);
  close(fd);
}

bool EpollLoop::retry(int fd) {
  Connection& c = *connection(fd);
  if (c.waiting_for_pool()) {
    c.retry_pool_wait();
    on_event(fd, 0);
    return true;  // on_event parks it again if it still waits
  }
  if (context_->pool.available() == 0) return false;
  on_event(fd, EPOLLIN);
  return true;
}

}  // namespace mcguard
