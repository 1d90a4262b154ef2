#include "proxy/listen_sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace mcguard {
namespace {

// Large, so a burst of connects waits in the kernel rather than in SYN retries
// (the kernel clamps it to net.core.somaxconn).
constexpr int kListenBacklog = 65535;

[[noreturn]] void fail(int error, const std::string& why) {
  throw std::system_error(error, std::generic_category(), why);
}

// A socket bound to `address` (SO_REUSEADDR, and SO_REUSEPORT when asked), or -errno.
int bound_socket(const sockaddr_storage& address, socklen_t length, bool reuse_port) {
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
      bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    return -error;
  }
  return fd;
}

// Port 0 binds an ephemeral port: every later socket must take the same one.
void adopt_bound_port(int fd, sockaddr_storage& address) {
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) return;
  if (address.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in&>(address).sin_port =
        reinterpret_cast<sockaddr_in&>(bound).sin_port;
  } else if (address.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6&>(address).sin6_port =
        reinterpret_cast<sockaddr_in6&>(bound).sin6_port;
  }
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    fail(ENAMETOOLONG, "cannot listen on unix:" + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// Removes a socket file nobody accepts on any more (its process died without
// removing it); refuses one that still answers, or a file that is no socket.
void clear_stale_socket_file(const std::string& path, const sockaddr_un& address) {
  const std::string where = "cannot listen on unix:" + path;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail(errno, where);
  }
  if (!S_ISSOCK(st.st_mode)) fail(EEXIST, where + ": the file exists and is not a socket");
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) fail(errno, where);
  const int rc = connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int error = errno;
  close(probe);
  // EAGAIN: a live listener whose backlog is full.
  if (rc == 0 || error == EAGAIN) {
    fail(EADDRINUSE, where + ": another process is listening on it");
  }
  if (error != ECONNREFUSED) fail(error, where + " (probing the existing socket file)");
  if (unlink(path.c_str()) != 0 && errno != ENOENT) fail(errno, where + " (removing a stale one)");
  spdlog::info("replaced the stale socket file {} (nothing listened on it)", path);
}

// Strips the brackets of "[v6]" (getaddrinfo wants the bare address).
std::string bare_host(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

std::string bound_address(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  char host[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return {};
}

std::vector<int> open_listeners(const std::string& host_text, uint16_t port, uint32_t count,
                                bool reuse_port) {
  const std::string host = bare_host(host_text);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    fail(EINVAL, "cannot resolve listen address " + shown + ": " + gai_strerror(rc));
  }
  sockaddr_storage address{};
  const socklen_t length = found->ai_addrlen;
  std::memcpy(&address, found->ai_addr, length);
  freeaddrinfo(found);

  const std::string where = "cannot listen on " + shown + ":" + service;
  std::vector<int> fds;
  auto give_up = [&](int error, const std::string& why) {
    for (int fd : fds) close(fd);
    fail(error, why);
  };
  // The probe: bound without SO_REUSEPORT, it fails while any other socket holds the
  // address, listening with SO_REUSEPORT or not. Held (not listening) while the
  // workers' sockets bind, which SO_REUSEADDR on both allows, so no other process's
  // probe can pass in between; then closed.
  int probe = -1;
  if (!reuse_port) {
    probe = bound_socket(address, length, false);
    if (probe == -EADDRINUSE) {
      give_up(EADDRINUSE, where + " (another process holds it; --reuse-port shares it)");
    }
    if (probe < 0) give_up(-probe, where);
    adopt_bound_port(probe, address);
  }
  for (uint32_t i = 0; i < count; ++i) {
    const int fd = bound_socket(address, length, true);
    if (fd < 0 || listen(fd, kListenBacklog) != 0) {
      const int error = fd < 0 ? -fd : errno;
      if (fd >= 0) close(fd);
      if (probe >= 0) close(probe);
      give_up(error, where);
    }
    fds.push_back(fd);
    if (i == 0) adopt_bound_port(fd, address);
  }
  if (probe >= 0) close(probe);
  return fds;
}

int open_unix_listener(const std::string& path, uint32_t mode, dev_t* device, ino_t* inode) {
  const std::string where = "cannot listen on unix:" + path;
  const sockaddr_un address = unix_address(path);
  clear_stale_socket_file(path, address);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(errno, where);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    close(fd);
    fail(error, where);
  }
  // The mode is set before listen(), so no client connects through a file
  // whose mode is still the umask's; the umask itself is the whole process's
  // (every thread's) and is left alone.
  struct stat st {};
  if (chmod(path.c_str(), mode) != 0 || stat(path.c_str(), &st) != 0 ||
      listen(fd, kListenBacklog) != 0) {
    const int error = errno;
    close(fd);
    unlink(path.c_str());
    fail(error, where);
  }
  *device = st.st_dev;
  *inode = st.st_ino;
  return fd;
}

ListenSockets::ListenSockets(const Settings& settings, uint32_t workers) {
  try {
    for (const ListenAddress& wanted : settings.listeners) {
      Listener listener;
      listener.kind = wanted.kind;
      if (wanted.kind == ListenAddress::Kind::kUnix) {
        listener.fds.push_back(
            open_unix_listener(wanted.path, settings.unix_mask, &listener.device, &listener.inode));
        listener.file_created = true;
        listener.address = wanted.path;
        listener.name = "unix:" + wanted.path;
      } else {
        listener.fds = open_listeners(wanted.host, wanted.port, workers, settings.reuse_port);
        listener.address = bound_address(listener.fds.front());
        listener.name = (wanted.kind == ListenAddress::Kind::kTls ? "tls:" : "") + listener.address;
      }
      listener.given.assign(listener.fds.size(), false);
      listeners_.push_back(std::move(listener));
    }
  } catch (...) {
    close_all();  // what was opened before the failure
    throw;
  }
}

ListenSockets::~ListenSockets() { close_all(); }

void ListenSockets::close_all() {
  for (Listener& listener : listeners_) {
    for (size_t i = 0; i < listener.fds.size(); ++i) {
      if (!listener.given[i]) close(listener.fds[i]);
      listener.given[i] = true;
    }
    if (!listener.file_created) continue;
    listener.file_created = false;
    // Only the file this process made: another process may have replaced it
    // since (and then it is that process's).
    struct stat st {};
    if (lstat(listener.address.c_str(), &st) == 0 && st.st_dev == listener.device &&
        st.st_ino == listener.inode) {
      unlink(listener.address.c_str());
    }
  }
}

std::vector<ListenerSocket> ListenSockets::take_for_worker(uint32_t worker) {
  std::vector<ListenerSocket> out;
  for (Listener& listener : listeners_) {
    ListenerSocket socket;
    socket.tls = listener.kind == ListenAddress::Kind::kTls;
    socket.unix_socket = listener.kind == ListenAddress::Kind::kUnix;
    socket.name = listener.name;
    if (socket.unix_socket) {
      // One socket for the process: each worker accepts from its own duplicate.
      socket.fd = fcntl(listener.fds.front(), F_DUPFD_CLOEXEC, 0);
      if (socket.fd < 0) {
        const int error = errno;
        for (const ListenerSocket& taken : out) close(taken.fd);
        fail(error, "cannot share " + listener.name + " with worker " + std::to_string(worker));
      }
    } else {
      socket.fd = listener.fds.at(worker);
      listener.given[worker] = true;
    }
    listener.worker_fds.push_back(socket.fd);
    out.push_back(std::move(socket));
  }
  return out;
}

}  // namespace mcguard
