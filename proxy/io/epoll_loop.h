// EpollLoop: one worker's readiness-based event loop. It accepts on the
// worker's own listening socket, reads into the buffers each Connection
// names (readv straight into a value's chain), and drains replies with one
// sendmsg per batch of iovecs. All protocol work happens in Connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/connection.h"

namespace mcguard {

// Limits shared by every worker's loop.
struct LoopLimits {
  std::atomic<uint32_t>* open_connections;  // across all workers
  uint32_t max_connections;
};

class EpollLoop {
 public:
  // Takes ownership of listen_fd. Throws std::system_error at set-up only.
  EpollLoop(int listen_fd, ConnectionContext& context, LoopLimits limits);
  ~EpollLoop();
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  // Runs until stop() is called from any thread.
  void run();
  void stop();

 private:
  struct Slot {
    std::unique_ptr<Connection> connection;
    uint32_t events = 0;  // what epoll watches now
    bool parked = false;  // waiting for pool buffers (to read into, or for a chain)
  };

  void accept_all();
  void accept_one(int fd, const void* address);
  void on_event(int fd, uint32_t events);
  void read_from(int fd, Slot& slot);
  void write_to(int fd, Slot& slot);
  void update_interest(int fd, Slot& slot);
  void close_connection(int fd);
  void park_if_waiting(int fd, Slot& slot);
  void retry_parked();

  int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-close when out of descriptors
  ConnectionContext& context_;
  LoopLimits limits_;
  std::vector<Slot> slots_;  // by file descriptor
  std::vector<int> parked_;  // in the order they started waiting
  std::vector<int> retrying_;
  std::atomic<bool> stopping_{false};
};

}  // namespace mcguard
