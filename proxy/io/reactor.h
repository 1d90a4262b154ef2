// Reactor: what an event loop offers the components that own sockets of their
// own (upstream connections): readiness callbacks for a descriptor, and a way
// to tell the loop that a client has replies ready to send.
#pragma once

#include <cstdint>

namespace mcguard {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_readable() = 0;
  virtual void on_writable() = 0;
};

class Reactor {
 public:
  virtual ~Reactor() = default;
  // Starts or changes watching `fd` (reads always; writes when asked).
  virtual void watch(int fd, IoHandler* handler, bool want_write) = 0;
  virtual void unwatch(int fd) = 0;
  // The client connection on `client_fd` has a reply ready to send.
  virtual void wake_client(int client_fd) = 0;
  // Monotonic milliseconds as of this loop turn.
  virtual int64_t now_ms() const = 0;
};

}  // namespace mcguard
