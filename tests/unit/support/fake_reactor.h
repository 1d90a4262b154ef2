// FakeReactor: a readiness Reactor (the epoll kind) that a test turns by hand. It polls
// the descriptors registered with watch() and calls their handlers, keeps a clock the
// test moves, and records which clients were woken. LoopbackServer plays the far end of
// a component's own socket: a listener on 127.0.0.1 and the connections it accepted,
// read and written without blocking. Every wait is on a condition with a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "proxy/core/reactor.h"

namespace mcguard::test {

inline constexpr std::chrono::milliseconds kWaitLimit{5000};

class FakeReactor final : public Reactor {
 public:
  void watch(int fd, IoHandler* handler, bool want_write) override;
  void unwatch(int fd) override;
  void wake_client(int client_fd) override { woken_.push_back(client_fd); }
  int64_t now_ms() const override { return now_ms_; }

  void set_now_ms(int64_t now) { now_ms_ = now; }
  void advance_ms(int64_t ms) { now_ms_ += ms; }

  // One loop turn: waits up to `wait_ms` for a watched descriptor to be ready and
  // calls its handlers (on_writable first, as the epoll loop does). Also returns
  // early when one of `extra_fds` is readable. Returns the handler calls made.
  int turn(int wait_ms, const std::vector<int>& extra_fds = {});

  bool watching(int fd) const { return watched_.count(fd) != 0; }
  bool wants_write(int fd) const;
  size_t watched_count() const { return watched_.size(); }
  const std::vector<int>& woken() const { return woken_; }
  void clear_woken() { woken_.clear(); }

 private:
  struct Watch {
    IoHandler* handler;
    bool want_write;
  };
  std::map<int, Watch> watched_;
  std::vector<int> woken_;
  int64_t now_ms_ = 1'000'000;
};

// A listening TCP socket on 127.0.0.1 (an ephemeral port) and the connections it accepts.
class LoopbackServer {
 public:
  LoopbackServer();
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  int listen_fd() const { return listen_fd_; }
  // Accepts one connection if one is waiting; its index, or -1.
  int try_accept();
  size_t accepted() const { return peers_.size(); }
  int peer_fd(size_t peer) const { return peers_[peer].fd; }
  // Reads what has arrived on `peer` into its buffer; false once the peer closed.
  bool read_available(size_t peer);
  // Bytes read from `peer` and not yet taken.
  std::string& received(size_t peer) { return peers_[peer].received; }
  // Writes all of `bytes` (loopback takes small writes whole).
  void send(size_t peer, std::string_view bytes);
  // Closes the server side of `peer` (the client then reads EOF).
  void close_peer(size_t peer);
  bool peer_closed(size_t peer) const { return peers_[peer].fd < 0 || peers_[peer].eof; }
  // Descriptors worth waking a FakeReactor turn for.
  std::vector<int> fds() const;

 private:
  struct Peer {
    int fd;
    std::string received;
    bool eof = false;
  };
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<Peer> peers_;
};

// Turns `reactor` (running `each_turn` first on every turn) until `done` holds; false
// when `limit` passes first.
bool run_until(FakeReactor& reactor, const std::function<bool()>& done,
               const std::function<void()>& each_turn = {}, const std::vector<int>& extra_fds = {},
               std::chrono::milliseconds limit = kWaitLimit);

}  // namespace mcguard::test
