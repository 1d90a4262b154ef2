#include "proxy/admin/admin_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

namespace mcguard::admin {
namespace {

int64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

// epoll data: the wake eventfd, the listener, or a client slot index.
constexpr uint64_t kWakeTag = UINT64_MAX;
constexpr uint64_t kListenTag = UINT64_MAX - 1;

// Like the data listener but without SO_REUSEPORT: a second process on the
// same admin port must fail to start, not share the port.
int open_admin_listener(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "cannot resolve admin address " + host + ": " + gai_strerror(rc));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, 128) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    freeaddrinfo(found);
    throw std::system_error(error, std::generic_category(),
                            "cannot listen for admin requests on " + host + ":" + service);
  }
  freeaddrinfo(found);
  return fd;
}

}  // namespace

AdminServer::AdminServer(const std::string& host, uint16_t port, Handler handler, Tick tick,
                         int64_t tick_ms)
    : handler_(std::move(handler)),
      tick_(std::move(tick)),
      tick_ms_(tick_ms),
      clients_(kMaxClients) {
  listen_fd_ = open_admin_listener(host, port);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    const int error = errno;
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    close(listen_fd_);
    throw std::system_error(error, std::generic_category(), "admin listener set-up");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  event.data.u64 = kListenTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event);
}

AdminServer::~AdminServer() {
  stop();
  for (Client& client : clients_) {
    if (client.fd >= 0) close(client.fd);
  }
  close(listen_fd_);
  close(epoll_fd_);
  close(wake_fd_);
}

void AdminServer::start() {
  thread_ = std::thread([this] { run(); });
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void AdminServer::run() {
  epoll_event events[64];
  int64_t next_tick_ms = 0;
  for (;;) {
    int64_t now_ms = monotonic_ms();
    if (tick_ && now_ms >= next_tick_ms) {
      tick_(now_ms);
      next_tick_ms = now_ms + tick_ms_;
    }
    const int n = epoll_wait(epoll_fd_, events, 64, static_cast<int>(tick_ms_));
    now_ms = monotonic_ms();
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) return;
      if (tag == kListenTag) {
        accept_all(now_ms);
        continue;
      }
      Client& client = clients_[tag];
      if (client.fd < 0) continue;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        close_client(client);
      } else if (client.response.empty()) {
        on_readable(client);
      } else {
        on_writable(client);
      }
    }
    close_expired(now_ms);
  }
}

void AdminServer::accept_all(int64_t now_ms) {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        spdlog::warn("admin listener: accept failed: {}", std::strerror(errno));
      }
      return;
    }
    size_t slot = 0;
    while (slot < clients_.size() && clients_[slot].fd >= 0) ++slot;
    if (slot == clients_.size()) {
      close(fd);  // full: the probe retries, the data path never waits
      continue;
    }
    Client& client = clients_[slot];
    client.fd = fd;
    client.received.clear();
    client.response.clear();
    client.sent = 0;
    client.deadline_ms = now_ms + kClientTimeoutMs;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = slot;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) close_client(client);
  }
}

void AdminServer::on_readable(Client& client) {
  char buffer[kMaxRequestBytes];
  for (;;) {
    const size_t room = kMaxRequestBytes - client.received.size();
    const ssize_t n = recv(client.fd, buffer, room == 0 ? 1 : room, 0);
    if (n == 0) {
      // Some probes half-close after their request: answer it if it is whole.
      const HttpRequest request = parse_http_request(client.received);
      if (request.status == HttpRequest::Status::kComplete) {
        respond(client, handler_(request.method, request.path), request.method == "HEAD");
      } else {
        close_client(client);
      }
      return;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      close_client(client);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (room == 0) {
      respond(client, {431, "text/plain; charset=utf-8", "request too large\n"}, false);
      return;
    }
    client.received.append(buffer, static_cast<size_t>(n));
  }
  const HttpRequest request = parse_http_request(client.received);
  switch (request.status) {
    case HttpRequest::Status::kIncomplete:
      if (client.received.size() >= kMaxRequestBytes) {
        respond(client, {431, "text/plain; charset=utf-8", "request too large\n"}, false);
      }
      return;
    case HttpRequest::Status::kBad:
      respond(client, {400, "text/plain; charset=utf-8", "bad request\n"}, false);
      return;
    case HttpRequest::Status::kComplete:
      respond(client, handler_(request.method, request.path), request.method == "HEAD");
      return;
  }
}

void AdminServer::respond(Client& client, const HttpResponse& response, bool head_only) {
  client.response = serialize(response, head_only);
  client.sent = 0;
  epoll_event event{};
  event.events = EPOLLOUT;
  event.data.u64 = static_cast<uint64_t>(&client - clients_.data());
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, client.fd, &event);
  on_writable(client);
}

void AdminServer::on_writable(Client& client) {
  while (client.sent < client.response.size()) {
    const ssize_t n = send(client.fd, client.response.data() + client.sent,
                           client.response.size() - client.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      break;
    }
    client.sent += static_cast<size_t>(n);
  }
  close_client(client);
}

void AdminServer::close_client(Client& client) {
  if (client.fd < 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, client.fd, nullptr);
  close(client.fd);
  client.fd = -1;
  client.received.clear();
  client.received.shrink_to_fit();
  client.response.clear();
  client.response.shrink_to_fit();
}

void AdminServer::close_expired(int64_t now_ms) {
  for (Client& client : clients_) {
    if (client.fd >= 0 && now_ms >= client.deadline_ms) close_client(client);
  }
}

}  // namespace mcguard::admin
