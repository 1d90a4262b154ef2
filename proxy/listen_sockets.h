// ListenSockets: every listening socket of the process, opened at start-up
// from Settings::listeners. TCP and tls: addresses get one SO_REUSEPORT socket
// per worker; a unix: path gets one socket that every worker accepts from
// through its own dup(). The constructor throws std::system_error naming the
// address; the destructor removes the UNIX socket files it created, if they
// are still the ones it created (call it once the workers have stopped).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/io/event_loop.h"

namespace mcguard {

class ListenSockets {
 public:
  // One listener as opened: its name with the port actually bound.
  struct Listener {
    ListenAddress::Kind kind = ListenAddress::Kind::kTcp;
    std::string name;         // as --listen spells it: 127.0.0.1:11211, tls:[::1]:5, unix:/run/x
    std::string address;      // host:port ([v6]:port) for TCP and tls:; the path for unix:
    std::vector<int> fds;     // by worker (one fd, shared, for unix:)
    std::vector<bool> given;  // by fd: handed to a worker, which closes it
    std::vector<int> worker_fds;  // what each worker accepts on (`stats conns`)
    dev_t device = 0;             // unix: the socket file created, to remove only that one
    ino_t inode = 0;
    bool file_created = false;
  };

  ListenSockets(const Settings& settings, uint32_t workers);
  ~ListenSockets();
  ListenSockets(const ListenSockets&) = delete;
  ListenSockets& operator=(const ListenSockets&) = delete;

  // Worker `worker`'s sockets, which it then owns (a unix: socket as a dup()).
  // Once per worker.
  std::vector<ListenerSocket> take_for_worker(uint32_t worker);
  const std::vector<Listener>& listeners() const { return listeners_; }

 private:
  // Closes what no worker took and removes the socket files created.
  void close_all();

  std::vector<Listener> listeners_;
};

// Opens `count` listening TCP sockets on one address (HOST may be IPv6, with
// or without brackets), each with SO_REUSEPORT so the kernel spreads
// connections over the workers. Unless `reuse_port`, fails first when another
// process holds the address (EADDRINUSE), as memcached does, instead of
// silently sharing its traffic; with it, joins another process's sockets when
// they allow it (another mcguard's always do: a hand-over restart). Throws
// std::system_error naming the address.
std::vector<int> open_listeners(const std::string& host, uint16_t port, uint32_t count,
                                bool reuse_port);

// Opens a listening UNIX socket at `path` whose file has mode `mode`. A stale
// socket file (nobody accepts on it) is replaced; a live one, or a file that
// is not a socket, is an error naming the path. Fills the created file's
// identity. Throws std::system_error.
int open_unix_listener(const std::string& path, uint32_t mode, dev_t* device, ino_t* inode);

// "host:port" of a bound socket ("[v6]:port" for IPv6); empty when unknown.
std::string bound_address(int fd);

}  // namespace mcguard
