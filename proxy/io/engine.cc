#include "proxy/io/engine.h"

#include <liburing.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "proxy/io/epoll_loop.h"
#include "proxy/io/recv_buffer_ring.h"
#include "proxy/io/uring_loop.h"

namespace mcguard {
namespace {

std::string missing_opcodes(io_uring* ring) {
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  if (probe == nullptr) return "opcode probe";
  std::string missing;
  const std::pair<int, const char*> needed[] = {{IORING_OP_ACCEPT, "accept"},
                                                {IORING_OP_RECV, "recv"},
                                                {IORING_OP_SENDMSG, "sendmsg"},
                                                {IORING_OP_POLL_ADD, "poll"},
                                                {IORING_OP_ASYNC_CANCEL, "cancel"}};
  for (auto [opcode, name] : needed) {
    if (!io_uring_opcode_supported(probe, opcode))
      missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  io_uring_free_probe(probe);
  return missing;
}

std::string probe_ring(io_uring* ring, const io_uring_params& params) {
  if (!(params.features & IORING_FEAT_SUBMIT_STABLE)) return "kernel without stable submissions";
  if (std::string missing = missing_opcodes(ring); !missing.empty()) {
    return "kernel lacks io_uring " + missing;
  }
  std::string error;
  RecvBufferRing buffers(8, 4096);
  if (!buffers.attach(ring, 0, &error)) return error;
  buffers.detach();
  // Some sandboxes allow ring set-up but refuse io_uring_enter.
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_nop(sqe);
  io_uring_cqe* cqe = nullptr;
  int rc = io_uring_submit_and_wait(ring, 1);
  if (rc >= 0) rc = io_uring_peek_cqe(ring, &cqe);
  if (rc < 0) return std::string("io_uring_enter: ") + std::strerror(-rc);
  io_uring_cqe_seen(ring, cqe);
  return "";
}

}  // namespace

std::string io_uring_unavailable_reason() {
  if (const char* forced = std::getenv("MCGUARD_IO_URING_PROBE");
      forced != nullptr && std::string_view(forced) == "fail") {
    return "disabled by MCGUARD_IO_URING_PROBE=fail";
  }
  io_uring ring;
  io_uring_params params{};
  int rc = io_uring_queue_init_params(8, &ring, &params);
  if (rc < 0) return std::string("io_uring_setup: ") + std::strerror(-rc);
  std::string reason;
  try {
    reason = probe_ring(&ring, params);
  } catch (const std::exception& error) {
    reason = error.what();
  }
  io_uring_queue_exit(&ring);
  return reason;
}

EngineChoice choose_io_engine(IoEngine wanted) {
  if (wanted == IoEngine::kEpoll) return {false, "epoll (--io-engine epoll)"};
  const std::string reason = io_uring_unavailable_reason();
  if (reason.empty()) {
    return {true, wanted == IoEngine::kAuto ? "io_uring (auto)" : "io_uring"};
  }
  if (wanted == IoEngine::kUring) {
    throw std::runtime_error("--io-engine uring: io_uring is unavailable here: " + reason);
  }
  return {false, "epoll (auto: io_uring unavailable: " + reason + ")"};
}

std::unique_ptr<EventLoop> make_event_loop(const EngineChoice& engine,
                                           std::vector<ListenerSocket> listeners, LoopLimits limits,
                                           UringRingSize ring) {
  if (!engine.uring) return std::make_unique<EpollLoop>(std::move(listeners), limits);
  return std::make_unique<UringLoop>(std::move(listeners), limits, ring.buffers, ring.buffer_size);
}

}  // namespace mcguard
