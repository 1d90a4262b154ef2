// Choosing the I/O engine at start-up. `auto` probes io_uring (ring set-up,
// the operations the engine needs, a provided-buffer ring, one round trip
// through the kernel) and falls back to epoll when anything is refused, as
// container seccomp profiles commonly refuse io_uring. Setting the
// environment variable MCGUARD_IO_URING_PROBE=fail makes the probe fail, to
// exercise the fallback.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "proxy/io/event_loop.h"

namespace mcguard {

// What --io-engine asks for.
enum class IoEngine { kAuto, kUring, kEpoll };

// The io_uring engine's receive ring: buffers per worker (a power of two) and their size.
struct UringRingSize {
  uint32_t buffers;
  uint32_t buffer_size;
};

struct EngineChoice {
  bool uring = false;
  std::string description;  // for the start-up log: which engine and why
};

// Throws std::runtime_error when io_uring was asked for and is unavailable.
EngineChoice choose_io_engine(IoEngine wanted);

// Why io_uring cannot serve here, or "" when it can.
std::string io_uring_unavailable_reason();

// The engine's loop for one worker, accepting on `listeners` (it owns their descriptors).
std::unique_ptr<EventLoop> make_event_loop(const EngineChoice& engine,
                                           std::vector<ListenerSocket> listeners, LoopLimits limits,
                                           UringRingSize ring);

}  // namespace mcguard
