#include "proxy/upstream/socket_address.h"

#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcguard {

std::optional<SocketAddress> resolve_upstream(const UpstreamAddress& upstream, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(upstream.port);
  const int rc = getaddrinfo(upstream.host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    if (error != nullptr) *error = rc != 0 ? gai_strerror(rc) : "no address";
    return std::nullopt;
  }
  SocketAddress address;
  std::memcpy(&address.storage, found->ai_addr, found->ai_addrlen);
  address.length = found->ai_addrlen;
  freeaddrinfo(found);
  return address;
}

int start_connect(const SocketAddress& address, bool* connected) {
  *connected = false;
  const int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) == 0) {
    *connected = true;
  } else if (errno != EINPROGRESS) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

int connect_error(int fd) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

}  // namespace mcguard
