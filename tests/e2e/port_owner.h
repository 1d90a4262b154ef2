// Which process listens on a loopback TCP port. A port picked free and handed to
// a child can be bound first by another test's server (ctest -j2): a connect
// to it then succeeds although our child is not the one answering. The harness
// asks holds_listener() before it calls a child ready.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace mcguard::e2e {

// True when process `pid` holds a TCP socket (IPv4 or IPv6) listening on
// `port`, per /proc/net/tcp{,6} and /proc/<pid>/fd. False when it does not, or
// when /proc cannot tell.
bool holds_listener(pid_t pid, uint16_t port);

}  // namespace mcguard::e2e
