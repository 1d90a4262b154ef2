#include "proxy/io/event_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "protocol/response.h"
#include "proxy/io/descriptor_table.h"

namespace mcguard {
namespace {

constexpr int kParkedRetryMs = 5;
// Timeouts are seconds long, and a scan of even 10,000 connections costs
// microseconds: a few scans a second are enough.
constexpr int64_t kScanIntervalMs = 250;

int64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

std::string peer_name(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  char name[INET6_ADDRSTRLEN + 16];
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    snprintf(name, sizeof name, "%s:%u", host, unsigned{ntohs(in->sin_port)});
    return name;
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    snprintf(name, sizeof name, "[%s]:%u", host, unsigned{ntohs(in6->sin6_port)});
    return name;
  }
  return "unix";
}

}  // namespace

EventLoop::EventLoop(std::vector<ListenerSocket> listeners, LoopLimits limits)
    : listeners_(std::move(listeners)),
      now_ms_(monotonic_ms()),
      limits_(limits),
      owner_id_(acquire_owner_id()) {
  // Both tables have the same capacity: every descriptor the process can have.
  clients_ = process_table<std::unique_ptr<Connection>>(&table_capacity_);
  owners_ = process_table<std::atomic<uint16_t>>(&table_capacity_);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (wake_fd_ < 0) {
    const int error = errno;
    release_owner_id(owner_id_);
    throw std::system_error(error, std::generic_category(), "eventfd");
  }
}

EventLoop::~EventLoop() {
  for (const ListenerSocket& listener : listeners_) {
    if (listener.fd >= 0) close(listener.fd);
  }
  for (int fd : {wake_fd_, spare_fd_}) {
    if (fd >= 0) close(fd);
  }
  release_owner_id(owner_id_);
}

void EventLoop::own(int fd) {
  // The previous owner's last writes happened before its close(), which the
  // kernel ordered before this descriptor was handed to us.
  descriptor_acquired(&owners_[fd]);
  std::construct_at(&clients_[fd]);
  owners_[fd].store(owner_id_, std::memory_order_relaxed);
  descriptor_end_ = std::max(descriptor_end_, static_cast<size_t>(fd) + 1);
}

void EventLoop::disown(int fd) {
  std::destroy_at(&clients_[fd]);
  owners_[fd].store(0, std::memory_order_relaxed);
  descriptor_released(&owners_[fd]);
}

void EventLoop::close_listener(ListenerSocket& listener) {
  if (listener.fd < 0) return;
  shutdown(listener.fd, SHUT_RDWR);
  close(listener.fd);
  listener.fd = -1;
}

void EventLoop::stop() {
  stopping_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = write(wake_fd_, &one, sizeof one);
}

void EventLoop::begin_drain() {
  drain_requested_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = write(wake_fd_, &one, sizeof one);
}

void EventLoop::clear_wake() {
  uint64_t value = 0;
  [[maybe_unused]] ssize_t ignored = read(wake_fd_, &value, sizeof value);
}

void EventLoop::update_clock() {
  now_ms_ = monotonic_ms();
  context_->now_ms = now_ms_;
}

bool EventLoop::admit(int fd, const sockaddr_storage& address, const ListenerSocket& listener) {
  if (drain_started_ || !in_table(fd) ||
      limits_.open_connections->fetch_add(1) >= limits_.max_connections) {
    if (!drain_started_ && in_table(fd)) {
      limits_.open_connections->fetch_sub(1);
      // memcached's line before it closes, so the client knows why. One try that
      // cannot block: a fresh socket's send buffer always has room for it.
      const std::string_view line = reply::kTooManyConnections;
      [[maybe_unused]] ssize_t sent =
          send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    context_->stats.rejected_connections.add();
    close(fd);
    return false;
  }
  if (!listener.unix_socket) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  own(fd);
  // A unix: client has no address of its own: it is named by the socket it came through.
  clients_[fd] = std::make_unique<Connection>(
      *context_, listener.unix_socket ? listener.name : peer_name(address), fd);
  context_->stats.curr_connections.add();
  context_->stats.total_connections.add();
  ++open_here_;
  if (listener.tls) {
    std::unique_ptr<Transport> transport;
    if (context_->make_tls_transport) transport = context_->make_tls_transport();
    if (!transport) {
      // No usable TLS context: refusing beats serving plaintext on a TLS port.
      context_->stats.tls_failures.add();
      release(fd);
      disown(fd);
      close(fd);
      return false;
    }
    clients_[fd]->set_transport(std::move(transport));
  }
  return true;
}

void EventLoop::shed_one_connection(int listen_fd) {
  if (spare_fd_ < 0 || listen_fd < 0) return;
  close(spare_fd_);
  int dropped = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (dropped >= 0) close(dropped);
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  context_->stats.rejected_connections.add();
}

void EventLoop::release(int fd) {
  if (!connection(fd)) return;
  clients_[fd].reset();
  owners_[fd].store(owner_id_, std::memory_order_relaxed);  // not parked
  limits_.open_connections->fetch_sub(1);
  context_->stats.curr_connections.sub();
  --open_here_;
}

void EventLoop::park(int fd) {
  if (parked(fd)) return;
  owners_[fd].store(owner_id_ | kParkedBit, std::memory_order_relaxed);
  parked_.push_back(fd);
}

void EventLoop::end_of_turn() {
  if (!parked_.empty()) retry_parked();
  if (hook_ != nullptr) hook_->end_of_turn(now_ms_);
  if (!woken_.empty()) send_woken();
  if (now_ms_ >= next_timeout_scan_ms_) close_timed_out();
  if (drain_requested_.load(std::memory_order_relaxed)) close_drained();
}

void EventLoop::retry_parked() {
  // Oldest first, so buffers coming back go to the connection that waited longest.
  retrying_.clear();
  retrying_.swap(parked_);
  for (int fd : retrying_) {
    // Closed meanwhile, and perhaps another worker's now.
    if (!owned_connection(fd)) continue;
    owners_[fd].store(owner_id_, std::memory_order_relaxed);
    if (!retry(fd)) park(fd);
  }
}

void EventLoop::send_woken() {
  sending_.clear();
  sending_.swap(woken_);
  for (int fd : sending_) {
    // The reply's client may have gone, and its descriptor be another worker's now.
    if (owned_connection(fd)) service(fd);
  }
}

void EventLoop::close_timed_out() {
  next_timeout_scan_ms_ = now_ms_ + kScanIntervalMs;
  if (context_->slow_client_timeout_ms <= 0 && context_->idle_timeout_ms <= 0) return;
  const uint64_t slow_before = context_->stats.slow_client_closes.get();
  const uint64_t idle_before = context_->stats.idle_closes.get();
  for (size_t fd = 0; fd < descriptor_end_; ++fd) {
    Connection* c = owned_connection(static_cast<int>(fd));
    if (c != nullptr && c->timed_out(now_ms_)) close_connection(static_cast<int>(fd));
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

bool EventLoop::drainable(int fd) const {
  const Connection* c = connection(fd);
  if (c == nullptr || !c->idle() || c->waiting_for_pool()) return false;
  // A request the client sent before the drain may still sit in the socket.
  int unread = 0;
  return ioctl(fd, FIONREAD, &unread) == 0 && unread == 0;
}

void EventLoop::close_drained() {
  if (!drain_started_) {
    drain_started_ = true;
    stop_accepting();
  }
  for (size_t fd = 0; fd < descriptor_end_; ++fd) {
    if (owned_connection(static_cast<int>(fd)) && drainable(static_cast<int>(fd)))
      close_connection(static_cast<int>(fd));
  }
}

int EventLoop::wait_timeout_ms() const {
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

}  // namespace mcguard
