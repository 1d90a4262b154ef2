// EpollLoop: the readiness-based engine. It accepts on the worker's
// listening sockets, reads into the buffers each Connection names (readv
// straight into a value's chain), and drains replies with one sendmsg per
// batch of iovecs. All protocol work happens in Connection; what every engine
// shares (admission, parking, timeouts, drain) is EventLoop's.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <vector>

#include "proxy/io/event_loop.h"

namespace mcguard {

class EpollLoop final : public EventLoop {
 public:
  // Takes ownership of the listeners. Throws std::system_error at set-up only.
  EpollLoop(std::vector<ListenerSocket> listeners, LoopLimits limits);
  ~EpollLoop() override;

  void run() override;
  void close_all() override;
  const char* engine_name() const override { return "epoll"; }
  // What this engine keeps per descriptor, once for the process (for the memory budget).
  static constexpr size_t slot_bytes();

  // Reactor
  void watch(int fd, IoHandler* handler, bool want_write) override;
  void unwatch(int fd) override;
  void close_socket(int fd) override;

 private:
  struct Slot {
    IoHandler* handler = nullptr;  // a socket another component owns
    uint32_t events = 0;           // what epoll watches now
  };

  void close_connection(int fd) override;
  void service(int fd) override { on_event(fd, 0); }
  bool retry(int fd) override;
  void stop_accepting() override;

  Slot& slot(int fd) { return slots_[fd]; }
  // Takes `fd` (a socket another component made) into this loop's tables.
  void adopt(int fd);
  // `fd` is about to be closed: no event of this turn's batch reaches it now.
  void forget_events(int fd);
  // The listener on `fd`, or null when `fd` is no listener.
  ListenerSocket* listener_on(int fd);
  void accept_all(ListenerSocket& listener);
  void on_event(int fd, uint32_t events);
  void read_from(int fd, Connection& connection);
  void write_to(int fd, Connection& connection);
  void update_interest(int fd, Connection& connection);

  int epoll_fd_ = -1;
  Slot* slots_ = nullptr;  // process-wide, by file descriptor: each entry is its owner's
  // The batch run() is dispatching: events past `batch_next_` are still to come.
  epoll_event* batch_ = nullptr;
  int batch_next_ = 0;
  int batch_count_ = 0;
};

constexpr size_t EpollLoop::slot_bytes() { return sizeof(Slot); }

}  // namespace mcguard
