// Reactor: what an event loop offers the components that own sockets of their
// own (upstream connections). Two ways to move bytes, and the engine says
// which it offers:
// - readiness (epoll): watch() a descriptor, and read or write it yourself
//   when on_readable / on_writable are called;
// - completion (io_uring): submit_receive / submit_send hand the engine a
//   buffer, and on_received / on_sent report how much moved. The memory given
//   must stay untouched until that report; cancel_io ends the operations early
//   (they then report a negative errno), and the descriptor may be closed only
//   once both have reported.
// A socket the engine has seen (watch, submit_*) is closed through
// close_socket(), never close(): the engine's entry for it is process-wide
// and must be handed back before the number can be reused.
// Either engine also wakes clients whose replies are ready.
#pragma once

#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace mcguard {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_readable() = 0;
  virtual void on_writable() = 0;
  // Completion engines: `result` bytes moved on `fd`, or a negative errno.
  virtual void on_received(int /*fd*/, int /*result*/) {}
  virtual void on_sent(int /*fd*/, int /*result*/) {}
};

class Reactor {
 public:
  virtual ~Reactor() = default;
  // Starts or changes watching `fd` (reads always; writes when asked).
  virtual void watch(int fd, IoHandler* handler, bool want_write) = 0;
  virtual void unwatch(int fd) = 0;

  // True when the engine moves bytes for its users (submit_* below);
  // otherwise they read and write on readiness.
  virtual bool completes_io() const { return false; }
  // At most one receive and one send in flight per descriptor.
  virtual void submit_receive(int /*fd*/, IoHandler* /*handler*/, char* /*data*/,
                              size_t /*length*/) {}
  virtual void submit_send(int /*fd*/, IoHandler* /*handler*/, const iovec* /*iov*/,
                           size_t /*count*/) {}
  virtual void cancel_io(int /*fd*/) {}
  // Stops watching `fd` and closes it: at once, or once the engine's
  // operations on it have finished. No completion or callback for `fd`
  // reaches its handler afterwards.
  virtual void close_socket(int fd) {
    unwatch(fd);
    ::close(fd);
  }

  // The client connection on `client_fd` has a reply ready to send.
  virtual void wake_client(int client_fd) = 0;
  // Monotonic milliseconds as of this loop turn.
  virtual int64_t now_ms() const = 0;
};

}  // namespace mcguard
