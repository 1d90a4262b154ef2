// SocketAddress: an upstream's HOST:PORT resolved to what connect() takes, and a
// non-blocking TCP connect started to it. For code that talks to upstreams
// outside a worker's event loop (the start-up item-size probe, the admin
// listener's reachability probe); names are resolved once, when that code is
// built, never per connection.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>

#include "proxy/upstream/ketama.h"

namespace mcguard {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

// getaddrinfo's first answer for the upstream; nullopt (and, if given, `error`
// set to the resolver's reason) when there is none.
std::optional<SocketAddress> resolve_upstream(const UpstreamAddress& upstream,
                                              std::string* error = nullptr);

// A non-blocking, close-on-exec TCP socket whose connect to `address` has
// started: its fd, or -1 with errno set. `*connected` says whether the connect
// finished at once; otherwise poll for POLLOUT and ask connect_error().
int start_connect(const SocketAddress& address, bool* connected);

// The outcome of a non-blocking connect that poll reported: 0 when connected,
// else the errno value it failed with.
int connect_error(int fd);

}  // namespace mcguard
