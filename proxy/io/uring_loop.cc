#include "proxy/io/uring_loop.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <utility>

#include "proxy/io/descriptor_table.h"

namespace mcguard {
namespace {

constexpr unsigned kSubmissionEntries = 1024;
constexpr unsigned kCompletionEntries = 16384;
constexpr uint16_t kBufferGroup = 0;
constexpr size_t kIovecArena = 16384;
constexpr size_t kMessageArena = 1024;
// How long shutting down waits for the kernel to hand back cancelled operations.
constexpr int64_t kShutdownWaitMs = 2000;
// Zero-copy send flags from the kernel's uapi (6.2), which liburing 2.3's
// header predates: ask the notification to say whether the kernel copied.
constexpr uint16_t kSendZcReportUsage = 1U << 3;
constexpr uint32_t kNotifUsageCopied = 1U << 31;

// Drops what the socket still holds for its peer (a TCP reset; the descriptor
// stays open), so the kernel frees those bytes and a zero-copy send's
// notification comes now, not whenever a peer that stopped reading resumes.
void abandon_sends(int fd) {
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  ::connect(fd, &unspecified, sizeof unspecified);
}

// True when the iovecs carry at least `threshold` bytes.
bool at_least(const iovec* iov, size_t count, size_t threshold) {
  size_t total = 0;
  for (size_t i = 0; i < count && total < threshold; ++i) total += iov[i].iov_len;
  return total >= threshold;
}

int init_ring(io_uring* ring) {
  // One thread submits, and completions are reaped only when it waits: the
  // cheapest mode. Older kernels refuse those flags; plain mode works there.
  const unsigned attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
      IORING_SETUP_R_DISABLED};
  int rc = -EINVAL;
  for (unsigned flags : attempts) {
    io_uring_params params{};
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = kCompletionEntries;
    rc = io_uring_queue_init_params(kSubmissionEntries, ring, &params);
    if (rc == 0) return 0;
  }
  return rc;
}

}  // namespace

UringLoop::UringLoop(std::vector<ListenerSocket> listeners, LoopLimits limits,
                     uint32_t recv_buffers, uint32_t recv_buffer_size)
    : EventLoop(std::move(listeners), limits),
      accept_armed_(listeners_.size(), 0),
      buffers_(recv_buffers, recv_buffer_size),
      iovecs_(kIovecArena),
      messages_(kMessageArena) {
  size_t capacity = 0;
  slots_ = process_table<Slot>(&capacity);
  limit_table(capacity);
  int rc = init_ring(&ring_);
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring set-up");
  ring_open_ = true;
  std::string error;
  if (!buffers_.attach(&ring_, kBufferGroup, &error)) {
    io_uring_queue_exit(&ring_);
    ring_open_ = false;
    throw std::system_error(EOPNOTSUPP, std::generic_category(), error);
  }
}

UringLoop::~UringLoop() {
  close_all();
  if (ring_open_) {
    buffers_.detach();
    io_uring_queue_exit(&ring_);
  }
}

io_uring_sqe* UringLoop::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    // The submission queue is full mid-turn: hand it to the kernel now.
    io_uring_submit(&ring_);
    submitted();
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void UringLoop::submitted() {
  iovecs_used_ = 0;
  messages_used_ = 0;
}

void UringLoop::run() {
  // liburing 2.3 declares io_uring_enable_rings but does not export it.
  if (syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
      0) {
    spdlog::error("io_uring: cannot enable the ring on the worker thread");
    return;
  }
  running_ = true;
  arm_wake();
  arm_idle_accepts();
  // Sockets watched before the loop ran (none today) get their polls now.
  for (size_t fd = 0; fd < descriptor_end(); ++fd) {
    if (owns(static_cast<int>(fd)) && slots_[fd].handler != nullptr)
      watch(static_cast<int>(fd), slots_[fd].handler, slots_[fd].want_write);
  }
  while (!stopping()) {
    wait_for_turn();
    end_of_turn();
    rearm_starved();
    if (!draining()) arm_idle_accepts();
  }
  shut_down();
  running_ = false;
}

void UringLoop::wait_for_turn() {
  const int timeout = wait_timeout_ms();
  __kernel_timespec wait{};
  wait.tv_sec = timeout / 1000;
  wait.tv_nsec = (timeout % 1000) * 1000000LL;
  io_uring_cqe* first = nullptr;
  // One system call per turn: submits everything prepared and waits.
  int rc =
      io_uring_submit_and_wait_timeout(&ring_, &first, 1, timeout >= 0 ? &wait : nullptr, nullptr);
  submitted();
  update_clock();
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    spdlog::error("io_uring_submit_and_wait: {}", std::strerror(-rc));
  }
  reap_completions();
}

void UringLoop::reap_completions() {
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    handle(*cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
}

void UringLoop::handle(const io_uring_cqe& cqe) {
  const uint64_t data = cqe.user_data;
  const auto op = static_cast<Op>(data >> 56);
  const auto generation = static_cast<uint32_t>(data >> 32) & 0xffffff;
  const auto fd = static_cast<int>(static_cast<uint32_t>(data));
  switch (op) {
    case Op::kAccept:
      on_accept(static_cast<size_t>(fd), cqe);
      break;
    case Op::kRecv:
      on_recv(fd, cqe);
      break;
    case Op::kSend:
      on_send(fd, cqe);
      break;
    case Op::kPollIn:
    case Op::kPollOut:
      on_poll(fd, op, generation, cqe);
      break;
    case Op::kValueRecv:
      on_value_recv(fd, cqe);
      break;
    case Op::kUserRecv:
    case Op::kUserSend:
      on_user_io(fd, op, cqe);
      break;
    case Op::kReadable:
      on_readable(fd, cqe);
      break;
    case Op::kWake:
      clear_wake();
      if (!stopping()) arm_wake();
      break;
    case Op::kCancel:
      break;
  }
}

void UringLoop::arm_wake() {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_poll_add(sqe, wake_fd(), POLLIN);
  io_uring_sqe_set_data64(sqe, tag(Op::kWake, wake_fd()));
}

void UringLoop::arm_accept(size_t listener) {
  const int listen_fd = listeners_[listener].fd;
  if (listen_fd < 0) return;
  io_uring_sqe* sqe = next_sqe();
  if (multishot_accept_) {
    io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } else {
    io_uring_prep_accept(sqe, listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }
  // Tagged with the listener's index: its completions say where they came from.
  io_uring_sqe_set_data64(sqe, tag(Op::kAccept, static_cast<int>(listener)));
  accept_armed_[listener] = 1;
}

void UringLoop::arm_idle_accepts() {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (!accept_armed_[i] && listeners_[i].fd >= 0) arm_accept(i);
  }
}

void UringLoop::on_accept(size_t listener, const io_uring_cqe& cqe) {
  if (listener >= listeners_.size()) return;
  if (!(cqe.flags & IORING_CQE_F_MORE)) accept_armed_[listener] = 0;
  if (cqe.res >= 0) {
    const int fd = cqe.res;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length);
    if (!admit(fd, address, listeners_[listener])) return;
    reset_slot(fd);
    service(fd);
    return;
  }
  if (cqe.res == -EINVAL && multishot_accept_) {
    multishot_accept_ = false;  // a kernel without multishot accept
  } else if (cqe.res == -EMFILE || cqe.res == -ENFILE) {
    shed_one_connection(listeners_[listener].fd);
  }
}

void UringLoop::arm_recv(int fd) {
  Slot& s = slot(fd);
  io_uring_sqe* sqe = next_sqe();
  if (multishot_recv_) {
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  } else {
    io_uring_prep_recv(sqe, fd, nullptr, buffers_.buffer_size(), 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, tag(Op::kRecv, fd));
  s.recv_armed = true;
  s.recv_cancelled = false;
  s.readable = false;
}

void UringLoop::cancel(uint64_t target) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel64(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, tag(Op::kCancel, 0));
}

void UringLoop::on_recv(int fd, const io_uring_cqe& cqe) {
  Slot& s = slot(fd);
  const bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) s.recv_armed = false;
  Connection* c = connection(fd);
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    buffers_.taken(id, cqe.res > 0 ? static_cast<uint32_t>(cqe.res) : 0);
    if (cqe.res <= 0 || c == nullptr || s.closing) {
      buffers_.recycle(id);
    } else {
      // Older bytes first: a stash means the connection is not reading.
      buffers_.push(s.stash, id);
    }
  }
  if (cqe.res == 0) {
    s.peer_eof = true;
  } else if (cqe.res == -ENOBUFS) {
    if (!s.starved) {
      s.starved = true;
      starved_.push_back(fd);
    }
  } else if (cqe.res == -EINVAL && multishot_recv_ && !more) {
    multishot_recv_ = false;  // a kernel without multishot receive: single shots from now on
  } else if (cqe.res < 0 && cqe.res != -ECANCELED) {
    s.failed = true;
  }
  if (s.closing) {
    finish_close_if_done(fd);
  } else if (c != nullptr) {
    service(fd);
  }
}

bool UringLoop::consume_stash(int fd, Connection& connection) {
  Slot& s = slot(fd);
  while (!s.stash.empty()) {
    const uint16_t id = buffers_.front(s.stash);
    const uint32_t length = buffers_.length(id);
    const size_t taken = connection.feed(buffers_.bytes(id), length);
    buffers_.consume(id, static_cast<uint32_t>(taken));
    if (taken < length) return false;
    buffers_.pop(s.stash);
  }
  return true;
}

void UringLoop::service(int fd) {
  Connection* c = connection(fd);
  if (c == nullptr) return;
  Slot& s = slot(fd);
  if (s.closing) return;
  const bool stash_done = consume_stash(fd, *c);
  // Not while a receive into the connection's own buffers is in flight: idle
  // lets go of an empty receive buffer, which the kernel may be filling.
  if (stash_done && !s.value_recv_inflight) c->on_read_idle();
  if (stash_done && s.peer_eof && !s.recv_armed) c->on_peer_closed();
  if (s.failed) c->on_error();
  if (!c->should_close() && c->wants_write() && !s.send_inflight) send_replies(fd, *c);
  if (c->should_close()) {
    close_connection(fd);
    return;
  }
  // Bytes the connection could not take: the pool had no buffer for them.
  if (c->waiting_for_pool() || (!stash_done && c->wants_read())) park(fd);
  const bool want_recv = c->wants_read() && stash_done && !s.peer_eof && !s.failed;
  // A large value goes straight into the chain reserved for it, without a
  // copy from the buffer ring; the ring's receive ends first, so bytes keep
  // their order. So do the bytes of a starved connection whose socket is
  // readable: waiting for ring buffers could wait forever when they all sit in
  // stashes of connections that wait for the pool buffers this one holds.
  const bool into_chain = want_recv && c->receiving_value();
  const bool direct = into_chain || (want_recv && s.starved && s.readable);
  if (want_recv && !direct && !s.recv_armed && !s.value_recv_inflight) {
    if (!s.starved) {
      arm_recv(fd);
    } else if (!s.readable_poll_armed) {
      arm_readable_poll(fd);
    }
  }
  // No room without a pool buffer: retried when the pool has one.
  if (direct && !s.recv_armed && !s.value_recv_inflight && !arm_value_recv(fd, *c)) park(fd);
  if ((!want_recv || into_chain) && s.recv_armed && !s.recv_cancelled) {
    // Stop receiving into the ring: bytes already on their way land in the stash.
    cancel(tag(Op::kRecv, fd));
    s.recv_cancelled = true;
  }
}

bool UringLoop::arm_value_recv(int fd, Connection& connection) {
  iovec targets[64];
  const size_t count = connection.read_targets(targets, 64);
  if (count == 0) return false;
  msghdr* message = nullptr;
  io_uring_sqe* sqe = stage_message(targets, count, &message);
  io_uring_prep_recvmsg(sqe, fd, message, 0);
  io_uring_sqe_set_data64(sqe, tag(Op::kValueRecv, fd));
  slot(fd).value_recv_inflight = true;
  return true;
}

void UringLoop::arm_readable_poll(int fd) {
  // Readable covers the peer's close and a reset too; the receive that
  // follows tells which.
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_poll_add(sqe, fd, POLLIN | POLLRDHUP);
  io_uring_sqe_set_data64(sqe, tag(Op::kReadable, fd));
  slot(fd).readable_poll_armed = true;
}

void UringLoop::on_readable(int fd, const io_uring_cqe& cqe) {
  Slot& s = slot(fd);
  s.readable_poll_armed = false;
  if (s.closing) {
    finish_close_if_done(fd);
    return;
  }
  if (connection(fd) == nullptr) return;
  if (cqe.res != -ECANCELED) s.readable = true;
  service(fd);
}

void UringLoop::on_value_recv(int fd, const io_uring_cqe& cqe) {
  Slot& s = slot(fd);
  s.value_recv_inflight = false;
  s.readable = false;  // what the poll saw is taken; a starved connection polls again
  Connection* c = connection(fd);
  if (s.closing) {
    finish_close_if_done(fd);
    return;
  }
  if (c == nullptr) return;
  if (cqe.res > 0) {
    c->on_read(static_cast<size_t>(cqe.res));
  } else if (cqe.res == 0) {
    s.peer_eof = true;
  } else if (cqe.res != -ECANCELED && cqe.res != -EINTR && cqe.res != -EAGAIN) {
    s.failed = true;
  }
  service(fd);
}

void UringLoop::send_replies(int fd, Connection& connection) {
  iovec iov[IOV_MAX];
  const size_t count = connection.write_iovecs(iov, IOV_MAX);
  if (count == 0) return;
  prepare_sendmsg(fd, Op::kSend, iov, count);
  slot(fd).send_inflight = true;
}

void UringLoop::prepare_sendmsg(int fd, Op op, const iovec* iov, size_t count) {
  msghdr* message = nullptr;
  io_uring_sqe* sqe = stage_message(iov, count, &message);
  const size_t threshold = context_ != nullptr ? context_->zerocopy_threshold : 0;
  if (threshold > 0 && !slot(fd).zc_off && at_least(iov, count, threshold)) {
    io_uring_prep_sendmsg_zc(sqe, fd, message, MSG_NOSIGNAL);
    sqe->ioprio |= kSendZcReportUsage;
  } else {
    io_uring_prep_sendmsg(sqe, fd, message, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data64(sqe, tag(op, fd));
}

bool UringLoop::send_finished(Slot& s, const io_uring_cqe& cqe, int* result) {
  WorkerStats& stats = context_->stats;
  // A socket (AF_UNIX) or kernel without zero-copy sends refuses the first
  // one: nothing was sent, and the socket sends plainly from now on.
  const auto refused = [&](int res) {
    return (res == -EOPNOTSUPP || res == -EINVAL) && context_->zerocopy_threshold > 0;
  };
  int res = cqe.res;
  if (cqe.flags & IORING_CQE_F_NOTIF) {
    // The kernel is done with the bytes: now they may be consumed and their
    // buffers released.
    s.zc_notif_pending = false;
    stats.zerocopy_pending.sub();
    res = s.zc_result;
    if (refused(res)) {
      s.zc_off = true;
      res = 0;
    } else if (static_cast<uint32_t>(cqe.res) & kNotifUsageCopied) {
      // Zero-copy bought nothing here and costs pinning and a notification.
      s.zc_off = true;
      stats.zerocopy_copied.add();
    }
  } else if (cqe.flags & IORING_CQE_F_MORE) {
    s.zc_notif_pending = true;
    s.zc_result = res;
    if (res >= 0) stats.zerocopy_sends.add();
    stats.zerocopy_pending.add();
    return false;
  } else if (refused(res) && !s.zc_off) {
    s.zc_off = true;
    res = 0;
  }
  *result = res;
  return true;
}

io_uring_sqe* UringLoop::stage_message(const iovec* iov, size_t count, msghdr** message) {
  // The kernel copies the msghdr and iovecs at submission: they live in this
  // turn's arena, which is handed over early when full.
  if (iovecs_used_ + count > iovecs_.size() || messages_used_ == messages_.size()) {
    io_uring_submit(&ring_);
    submitted();
  }
  io_uring_sqe* sqe = next_sqe();  // may submit too, freeing the arenas
  iovec* arena = &iovecs_[iovecs_used_];
  std::copy(iov, iov + count, arena);
  iovecs_used_ += count;
  *message = &messages_[messages_used_++];
  **message = msghdr{};
  (*message)->msg_iov = arena;
  (*message)->msg_iovlen = count;
  return sqe;
}

void UringLoop::submit_receive(int fd, IoHandler* handler, char* data, size_t length) {
  if (!owns(fd)) adopt(fd);
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv(sqe, fd, data, length, 0);
  io_uring_sqe_set_data64(sqe, tag(Op::kUserRecv, fd));
  Slot& s = slot(fd);
  s.io_handler = handler;
  s.user_recv_inflight = true;
}

void UringLoop::submit_send(int fd, IoHandler* handler, const iovec* iov, size_t count) {
  if (!owns(fd)) adopt(fd);
  prepare_sendmsg(fd, Op::kUserSend, iov, count);
  Slot& s = slot(fd);
  s.io_handler = handler;
  s.user_send_inflight = true;
}

void UringLoop::cancel_io(int fd) {
  if (!in_table(fd) || !owns(fd)) return;
  Slot& s = slot(fd);
  if (s.user_recv_inflight) cancel(tag(Op::kUserRecv, fd));
  if (s.user_send_inflight) cancel(tag(Op::kUserSend, fd));
  if (s.user_send_inflight && s.zc_notif_pending) abandon_sends(fd);
}

void UringLoop::on_user_io(int fd, Op op, const io_uring_cqe& cqe) {
  Slot& s = slot(fd);
  // A closing socket's owner has let go: it hears nothing more.
  IoHandler* handler = s.closing ? nullptr : s.io_handler;
  int result = cqe.res;
  if (op == Op::kUserRecv) {
    s.user_recv_inflight = false;
  } else {
    if (!send_finished(s, cqe, &result)) return;
    s.user_send_inflight = false;
  }
  if (s.closing) {
    finish_close_if_done(fd);
    return;
  }
  // The handler may close the socket: the slot is not touched after it.
  if (handler == nullptr) return;
  if (op == Op::kUserRecv) {
    handler->on_received(fd, result);
  } else {
    handler->on_sent(fd, result);
  }
}

void UringLoop::on_send(int fd, const io_uring_cqe& cqe) {
  Slot& s = slot(fd);
  int result = 0;
  // A zero-copy send stays in flight until its notification: its bytes (and
  // their buffers) must outlive the kernel's use of them, closing or not.
  if (!send_finished(s, cqe, &result)) return;
  s.send_inflight = false;
  if (s.closing) {
    finish_close_if_done(fd);
    return;
  }
  Connection* c = connection(fd);
  if (c == nullptr) return;
  if (result >= 0) {
    c->on_written(static_cast<size_t>(result));
  } else if (result != -EINTR && result != -EAGAIN) {
    // The peer is gone: nothing more can be delivered.
    s.failed = true;
  }
  service(fd);
}

void UringLoop::close_connection(int fd) {
  if (connection(fd) == nullptr) return;
  Slot& s = slot(fd);
  if (s.closing) return;
  s.closing = true;
  if (running_) {
    if (s.recv_armed && !s.recv_cancelled) cancel(tag(Op::kRecv, fd));
    if (s.value_recv_inflight) cancel(tag(Op::kValueRecv, fd));
    if (s.send_inflight) cancel(tag(Op::kSend, fd));
    if (s.zc_notif_pending) abandon_sends(fd);
    if (s.readable_poll_armed) cancel(tag(Op::kReadable, fd));
  } else {
    // The ring is not running: nothing more will complete here.
    s.recv_armed = s.send_inflight = s.value_recv_inflight = s.readable_poll_armed = false;
  }
  finish_close_if_done(fd);
}

void UringLoop::finish_close_if_done(int fd) {
  Slot& s = slot(fd);
  if (s.recv_armed || s.send_inflight || s.value_recv_inflight || s.readable_poll_armed ||
      s.polls_pending > 0 || s.user_recv_inflight || s.user_send_inflight) {
    return;
  }
  buffers_.recycle_all(s.stash);
  // No completion for `fd` is still to come: everything of ours goes before
  // the close, after which the number may be another worker's at once.
  reset_slot(fd);
  release(fd);  // a client's Connection (an upstream socket has none)
  disown(fd);
  close(fd);
}

void UringLoop::close_socket(int fd) {
  if (!in_table(fd) || !owns(fd)) {
    close(fd);  // never watched nor used through the ring
    return;
  }
  unwatch(fd);  // cancels its polls
  if (running_) {
    cancel_io(fd);
    slot(fd).closing = true;
    finish_close_if_done(fd);
    return;
  }
  // The ring is not running: nothing more will complete here.
  reset_slot(fd);
  disown(fd);
  close(fd);
}

void UringLoop::close_all() {
  for (size_t fd = 0; fd < descriptor_end(); ++fd) {
    if (owned_connection(static_cast<int>(fd))) close_connection(static_cast<int>(fd));
  }
}

void UringLoop::shut_down() {
  // Cancel everything and wait (bounded) for the kernel to hand it all back,
  // so no operation still refers to a connection's buffers.
  close_all();
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (accept_armed_[i]) cancel(tag(Op::kAccept, static_cast<int>(i)));
  }
  for (size_t fd = 0; fd < descriptor_end(); ++fd) cancel_io(static_cast<int>(fd));
  const int64_t deadline = now_ms_ + kShutdownWaitMs;
  for (;;) {
    bool busy = false;
    for (size_t fd = 0; fd < descriptor_end() && !busy; ++fd) {
      if (!owns(static_cast<int>(fd))) continue;
      const Slot& s = slots_[fd];
      busy = connection(static_cast<int>(fd)) != nullptr || s.user_recv_inflight ||
             s.user_send_inflight || s.closing;
    }
    if (!busy || now_ms_ >= deadline) break;
    __kernel_timespec wait{0, 50 * 1000000LL};
    io_uring_cqe* first = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &first, 1, &wait, nullptr);
    submitted();
    update_clock();
    reap_completions();
  }
  running_ = false;
  close_all();  // anything left: the ring is torn down with the loop
  for (size_t fd = 0; fd < descriptor_end(); ++fd) {
    // Sockets whose close waited on completions that did not come in time.
    if (owns(static_cast<int>(fd)) && slots_[fd].closing) close_socket(static_cast<int>(fd));
  }
}

bool UringLoop::retry(int fd) {
  Connection& c = *connection(fd);
  if (c.waiting_for_pool()) {
    c.retry_pool_wait();
    service(fd);
    return true;  // service parks it again if it still waits
  }
  if (context_->pool.available() == 0) return false;
  service(fd);
  return true;
}

void UringLoop::rearm_starved() {
  if (starved_.empty() || buffers_.available() == 0) return;
  starved_retry_.clear();
  starved_retry_.swap(starved_);
  for (int fd : starved_retry_) {
    // Closed meanwhile, and perhaps another worker's now.
    if (owned_connection(fd) == nullptr) continue;
    Slot& s = slot(fd);
    s.starved = false;
    if (!s.closing) service(fd);
  }
}

void UringLoop::stop_accepting() {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i].fd < 0) continue;
    // close_listener shuts the socket down first: the armed accept would hold it open.
    if (accept_armed_[i]) cancel(tag(Op::kAccept, static_cast<int>(i)));
    accept_armed_[i] = 0;
    close_listener(listeners_[i]);
  }
}

bool UringLoop::drainable(int fd) const {
  if (!EventLoop::drainable(fd)) return false;
  const Slot& s = slots_[fd];
  return s.stash.empty() && !s.send_inflight && !s.value_recv_inflight;
}

void UringLoop::watch(int fd, IoHandler* handler, bool want_write) {
  if (!owns(fd)) adopt(fd);
  Slot& s = slot(fd);
  if (s.handler != handler) {
    if (s.handler != nullptr) unwatch(fd);
    s.handler = handler;
  }
  s.want_write = want_write;
  if (!running_) return;
  if (!s.poll_in_armed) arm_poll(fd, Op::kPollIn);
  if (want_write && !s.poll_out_armed) arm_poll(fd, Op::kPollOut);
}

void UringLoop::unwatch(int fd) {
  if (!in_table(fd) || !owns(fd) || slots_[fd].handler == nullptr) return;
  Slot& s = slots_[fd];
  if (running_) {
    if (s.poll_in_armed) cancel(tag(Op::kPollIn, fd, s.generation));
    if (s.poll_out_armed) cancel(tag(Op::kPollOut, fd, s.generation));
  }
  // Only the readiness half: the owner's completion I/O may still be in flight.
  ++s.generation;
  s.handler = nullptr;
  s.want_write = s.poll_in_armed = s.poll_out_armed = false;
}

void UringLoop::reset_slot(int fd) {
  // The generation outlives the slot's uses (a descriptor's earlier polls
  // have all completed before it is closed; this is belt and braces).
  Slot& s = slot(fd);
  const uint32_t generation = s.generation;
  s = Slot{};
  s.generation = generation;
}

void UringLoop::adopt(int fd) {
  own(fd);
  reset_slot(fd);
}

void UringLoop::arm_poll(int fd, Op op) {
  Slot& s = slot(fd);
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_poll_add(sqe, fd, op == Op::kPollIn ? POLLIN : POLLOUT);
  io_uring_sqe_set_data64(sqe, tag(op, fd, s.generation));
  ++s.polls_pending;
  // (Bit-fields: clang cannot assign through a conditional of them.)
  if (op == Op::kPollIn) {
    s.poll_in_armed = true;
  } else {
    s.poll_out_armed = true;
  }
}

void UringLoop::on_poll(int fd, Op op, uint32_t generation, const io_uring_cqe& cqe) {
  Slot& s = slot(fd);
  --s.polls_pending;
  if (s.closing) {
    finish_close_if_done(fd);
    return;
  }
  if (s.handler == nullptr || (s.generation & 0xffffff) != generation) return;  // stale
  if (op == Op::kPollIn) {
    s.poll_in_armed = false;
  } else {
    s.poll_out_armed = false;
  }
  if (cqe.res < 0) return;
  IoHandler* handler = s.handler;
  if (op == Op::kPollIn) {
    handler->on_readable();
  } else if (s.want_write) {
    handler->on_writable();
  }
  // The handler may have unwatched or closed it (and the number be another
  // worker's now): re-arm only what is still ours.
  if (!owns(fd)) return;
  Slot& now = slot(fd);
  if (now.handler != handler || (now.generation & 0xffffff) != generation) return;
  if (!now.poll_in_armed) arm_poll(fd, Op::kPollIn);
  if (now.want_write && !now.poll_out_armed) arm_poll(fd, Op::kPollOut);
}

}  // namespace mcguard
