// EventLoop: what every I/O engine's per-worker loop shares. It owns the
// client Connections (by socket), admits new ones within --max-connections,
// parks connections waiting for pool buffers and retries them oldest first,
// sends replies that other components completed (wake_client), closes timed
// out connections, and drains: once begin_drain() is called it stops
// accepting and closes each connection as soon as it has nothing in progress.
// Engines (epoll, io_uring) supply how bytes move and how the loop waits.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/core/connection.h"
#include "proxy/core/reactor.h"

namespace mcguard {

// Limits shared by every worker's loop.
struct LoopLimits {
  std::atomic<uint32_t>* open_connections;  // across all workers
  uint32_t max_connections;
};

// One listening socket of a worker. TCP and tls: sockets are the worker's own
// (SO_REUSEPORT); a unix: socket is shared by every worker, each holding its
// own dup() of it.
struct ListenerSocket {
  int fd = -1;
  bool tls = false;          // connections accepted here get a TLS transport
  bool unix_socket = false;  // AF_UNIX: shared with the other workers
  std::string name;          // as --listen spells it; a unix: client's peer name too
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

class EventLoop : public Reactor {
 public:
  // Takes ownership of the listeners' descriptors. Throws std::system_error at
  // set-up only.
  EventLoop(std::vector<ListenerSocket> listeners, LoopLimits limits);
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Must be called before run().
  void set_context(ConnectionContext* context) { context_ = context; }
  void set_turn_hook(TurnHook* hook) { hook_ = hook; }

  // Runs on the worker's thread until stop() is called from any thread.
  virtual void run() = 0;
  // Closes every client connection (after run() returned).
  virtual void close_all() = 0;
  // Any thread: run() returns soon.
  void stop();
  // Any thread: stop accepting, close connections as they fall idle.
  void begin_drain();
  // Short name of the engine, for logs and stats.
  virtual const char* engine_name() const = 0;
  // What every engine keeps per descriptor besides its own slot and the
  // Connection, once for the process (for the memory budget).
  static constexpr size_t kDescriptorBytes =
      sizeof(std::unique_ptr<Connection>) + sizeof(std::atomic<uint16_t>);  // clients_, owners_

  // Reactor
  void wake_client(int client_fd) override { woken_.push_back(client_fd); }
  int64_t now_ms() const override { return now_ms_; }

 protected:
  // Closes the connection on `fd` (at once, or once the engine's operations on
  // it have finished) and calls release() when it is gone.
  virtual void close_connection(int fd) = 0;
  // Sends what the connection on `fd` has ready, closes it if it should close,
  // and updates what the engine waits for on it.
  virtual void service(int fd) = 0;
  // A parked connection's turn to retry: returns false to stay parked.
  virtual bool retry(int fd) = 0;
  // Stops accepting new connections (drain).
  virtual void stop_accepting() = 0;
  // True when the connection on `fd` may be closed by a drain: no request in
  // progress, nothing unsent, and nothing of the engine's in flight.
  virtual bool drainable(int fd) const;

  // Creates the Connection for a socket accepted on `listener`, within
  // --max-connections, with a TLS transport when the listener is tls:.
  // Returns false (and closes fd) when over the limit or without TLS.
  bool admit(int fd, const sockaddr_storage& address, const ListenerSocket& listener);
  // Accepts and closes one pending connection on `listen_fd` when out of
  // descriptors, so the backlog cannot keep the listener ready forever.
  void shed_one_connection(int listen_fd);
  // Closes a listener (drain). A TCP socket is shut down first: an armed
  // io_uring accept holds it open until the ring lets it go, which can be
  // after this process has exited, and meanwhile a process sharing the port
  // (--reuse-port) would lose new connections to it, reset; shutdown() takes
  // it out of the listening table at once. The shared unix: socket is shut
  // down too: every worker drains at the same time, and a client connecting
  // meanwhile is refused at once instead of waiting in a backlog nobody reads.
  void close_listener(ListenerSocket& listener);
  // Destroys the connection on `fd` and its bookkeeping (not the socket).
  void release(int fd);
  // The kernel gave this loop `fd` (accept, socket()): its entries in the
  // process-wide tables are this loop's from now on. The engine resets its
  // own entry after this.
  void own(int fd);
  // Before `fd` is closed, after the engine's last use of its own entry: the
  // entries go back, and another worker may get the number once it is closed.
  void disown(int fd);
  bool owns(int fd) const {
    return (owners_[fd].load(std::memory_order_relaxed) & kOwnerMask) == owner_id_;
  }
  // An engine's own table may hold fewer entries (the hard limit was lowered meanwhile).
  void limit_table(size_t capacity) { table_capacity_ = std::min(table_capacity_, capacity); }
  // Descriptors at or past this were never this loop's.
  size_t descriptor_end() const { return descriptor_end_; }
  // False when `fd` has no entry: the process may not use it.
  bool in_table(int fd) const { return static_cast<size_t>(fd) < table_capacity_; }
  // The connection on `fd`, which must be this loop's (owns(fd) or a
  // completion or event of its own).
  Connection* connection(int fd) const { return clients_[fd].get(); }
  // The connection on `fd` when `fd` is this loop's: for descriptors that may
  // have been closed since they were noted (parked, woken, scanned).
  Connection* owned_connection(int fd) const {
    return in_table(fd) && owns(fd) ? clients_[fd].get() : nullptr;
  }
  // Remembers a connection waiting for pool buffers (at most once).
  void park(int fd);
  bool parked(int fd) const {
    return (owners_[fd].load(std::memory_order_relaxed) & kParkedBit) != 0;
  }
  // Everything the loop does after handling a batch of events.
  void end_of_turn();
  // How long the engine may wait for events now (-1: until one comes).
  int wait_timeout_ms() const;
  void update_clock();
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  bool draining() const { return drain_started_; }
  // The descriptor that wakes the loop from another thread (readable when set).
  int wake_fd() const { return wake_fd_; }
  void clear_wake();

  std::vector<ListenerSocket> listeners_;  // fd -1 once closed
  ConnectionContext* context_ = nullptr;
  TurnHook* hook_ = nullptr;
  int64_t now_ms_ = 0;

 private:
  void retry_parked();
  void send_woken();
  void close_timed_out();
  void close_drained();

  LoopLimits limits_;
  int wake_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-close when out of descriptors
  int64_t next_timeout_scan_ms_ = 0;
  uint32_t open_here_ = 0;  // client connections of this loop
  uint64_t rejected_logged_ = 0;
  bool drain_started_ = false;
  static constexpr uint16_t kOwnerMask = 0x7fff;  // the owning loop's id; 0: nobody's
  static constexpr uint16_t kParkedBit = 0x8000;  // the owner's: parked_ holds it
  // Process-wide, by file descriptor: each entry is only its owner's.
  std::unique_ptr<Connection>* clients_ = nullptr;
  std::atomic<uint16_t>* owners_ = nullptr;  // read by every loop, written by the owner
  size_t table_capacity_ = 0;
  size_t descriptor_end_ = 0;  // one past the highest descriptor this loop has owned
  uint16_t owner_id_ = 0;
  std::vector<int> woken_;
  std::vector<int> sending_;
  std::vector<int> parked_;  // in the order they started waiting
  std::vector<int> retrying_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> drain_requested_{false};
};

}  // namespace mcguard
