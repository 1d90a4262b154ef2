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
#include "proxy/io/reactor.h"

namespace mcguard {

// Limits shared by every worker's loop.
struct LoopLimits {
  std::atomic<uint32_t>* open_connections;  // across all workers
  uint32_t max_connections;
};

// Work the loop does once per turn besides sockets (the upstream tier's
// batched writes and timeouts).
class TurnHook {
 public:
  virtual ~TurnHook() = default;
  virtual void end_of_turn(int64_t now_ms) = 0;
  // The next time end_of_turn must run even if no socket is ready (-1: none).
  virtual int64_t next_deadline_ms() const = 0;
};

class EpollLoop final : public Reactor {
 public:
  // Takes ownership of listen_fd. Throws std::system_error at set-up only.
  EpollLoop(int listen_fd, LoopLimits limits);
  ~EpollLoop() override;
  // Must be called before run().
  void set_context(ConnectionContext* context) { context_ = context; }
  void set_turn_hook(TurnHook* hook) { hook_ = hook; }

  // Reactor
  void watch(int fd, IoHandler* handler, bool want_write) override;
  void unwatch(int fd) override;
  void wake_client(int client_fd) override { woken_.push_back(client_fd); }
  int64_t now_ms() const override { return now_ms_; }
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  // Runs until stop() is called from any thread.
  void run();
  // Closes every client connection (after run() returned).
  void close_all();
  void stop();

 private:
  struct Slot {
    std::unique_ptr<Connection> connection;
    IoHandler* handler = nullptr;  // a socket another component owns
    uint32_t events = 0;           // what epoll watches now
    bool parked = false;           // waiting for pool buffers (to read into, or for a chain)
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
  void send_woken();
  void close_timed_out();
  int wait_timeout_ms() const;

  int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-close when out of descriptors
  ConnectionContext* context_ = nullptr;
  TurnHook* hook_ = nullptr;
  LoopLimits limits_;
  int64_t now_ms_ = 0;
  int64_t next_timeout_scan_ms_ = 0;
  uint32_t open_here_ = 0;  // client connections of this loop
  uint64_t rejected_logged_ = 0;
  std::vector<int> woken_;
  std::vector<int> sending_;
  std::vector<Slot> slots_;  // by file descriptor
  std::vector<int> parked_;  // in the order they started waiting
  std::vector<int> retrying_;
  std::atomic<bool> stopping_{false};
};

}  // namespace mcguard
