// kernel_tls_available: probes the kernel's TLS upper-layer protocol on a throwaway loopback TCP
// connection, so the start-up line can say whether offload could ever be used.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/tls/tls_context.h"

namespace mcguard::tls {
namespace {

// Closes a descriptor when it goes out of scope.
struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) close(fd);
  }
};

void say(std::string* why, const std::string& text) {
  if (why != nullptr) *why = text;
}

}  // namespace

bool kernel_tls_available(std::string* why) {
  Descriptor listener{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  Descriptor client{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (listener.fd < 0 || client.fd < 0) {
    say(why, std::string("socket: ") + std::strerror(errno));
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listener.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener.fd, 1) != 0 ||
      getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      connect(client.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    say(why, std::string("loopback probe: ") + std::strerror(errno));
    return false;
  }
  // The ULP can be attached only to an established connection.
  if (setsockopt(client.fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) != 0) {
    say(why, std::string("TCP_ULP \"tls\": ") + std::strerror(errno) +
                 (errno == ENOENT ? " (the tls kernel module is not loaded)" : ""));
    return false;
  }
  say(why, "");
  return true;
}

}  // namespace mcguard::tls
