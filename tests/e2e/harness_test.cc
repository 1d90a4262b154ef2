// The harness itself: a started server counts as ready only when the child the
// harness started listens on the port, never because another process (another
// test's server under ctest -j2) answers there; the readiness probe never
// connects to such a process.
#include "harness.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "port_owner.h"

namespace mcguard::e2e {
namespace {

// A listening loopback socket of this process on a free port.
class ForeignListener {
 public:
  ForeignListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~ForeignListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  uint16_t port() const { return port_; }
  // True when a connection is waiting to be accepted (it is accepted and closed).
  bool was_connected() {
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return false;
    ::close(c);
    return true;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(Harness, HoldsListenerTellsWhoseSocketListensOnAPort) {
  ForeignListener listener;
  ASSERT_NE(listener.port(), 0);
  EXPECT_TRUE(holds_listener(::getpid(), listener.port()));
  std::string error;
  auto memcached = start_memcached(&error);
  ASSERT_NE(memcached, nullptr) << error;
  EXPECT_FALSE(holds_listener(memcached->pid(), listener.port()));
  EXPECT_TRUE(holds_listener(memcached->pid(), memcached->port()));
  EXPECT_FALSE(holds_listener(::getpid(), memcached->port()));
}

TEST(Harness, AnotherProcessAnsweringOnThePortIsNotOurServer) {
  // The race of ctest -j2, made certain: the port is taken before the child binds
  // it. The child cannot listen there and exits; the harness must not call it
  // ready because this process's socket accepts connections on that port.
  ForeignListener listener;
  ASSERT_NE(listener.port(), 0);
  std::string error;
  auto server = start_memcached(&error, kReferenceItemSizeMax, 4096, listener.port());
  EXPECT_EQ(server, nullptr) << "the harness took another process's socket for its server's";
  EXPECT_NE(error.find("exited before accepting"), std::string::npos) << error;
  EXPECT_FALSE(listener.was_connected()) << "the readiness probe connected to a foreign server";
}

}  // namespace
}  // namespace mcguard::e2e
