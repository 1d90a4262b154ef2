// UringLoop: the completion-based engine, one io_uring per worker.
//
// Clients: a multishot accept per listener (single-shot where the kernel
// lacks it; its completion is tagged with the listener's index), and per
// connection one receive into the worker's provided-buffer ring (multishot
// where available). A received buffer is copied into the connection's
// receive buffer or value chain and recycled at once; what the connection
// cannot take yet waits in its stash while its receive is cancelled, and is
// consumed first when it reads again. When the ring runs dry the receive ends
// with ENOBUFS and is re-armed as buffers come back; meanwhile the connection
// waits for its socket to be readable with a poll, which takes no buffer, and
// then receives straight into its own buffers. So it still sees its peer's
// bytes and close, and releases what it holds, even while every ring buffer
// waits in stashes of connections that wait for pool buffers. Replies go out
// as one sendmsg of all the connection's iovecs; a partial send resumes where
// it stopped.
//
// A send of at least the context's zerocopy_threshold bytes goes out as
// SENDMSG_ZC: the kernel reads the pool buffers (or store memory) in place, so
// the send is reported to its owner (Connection::on_written, IoHandler::on_sent)
// only at the kernel's notification. Until then the bytes stay queued and their
// buffers stay counted in the pool. A socket whose notification says the kernel
// copied anyway (loopback, AF_UNIX, some devices) sends plainly from then on.
//
// Upstream sockets use the same ring: a single-shot poll (re-armed after each
// event, so watch() keeps its level-triggered meaning) while connecting, then
// Reactor::submit_receive / submit_send completions.
//
// Everything prepared in a turn goes to the kernel in the next
// io_uring_submit_and_wait. msghdrs and iovecs live in per-turn arenas: the
// kernel copies them at submission (IORING_FEAT_SUBMIT_STABLE, checked by the
// probe). A closing connection cancels its operations and is destroyed only
// when the last of their completions has arrived, so no completion ever
// refers to freed state and no buffer the kernel may still read is reused.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "proxy/io/event_loop.h"
#include "proxy/io/recv_buffer_ring.h"

namespace mcguard {

class UringLoop final : public EventLoop {
 public:
  // Takes ownership of the listeners; `recv_buffers` is a power of two. Sets
  // up the ring disabled; run() enables it on the worker's thread. Throws
  // std::system_error at set-up only.
  UringLoop(std::vector<ListenerSocket> listeners, LoopLimits limits, uint32_t recv_buffers,
            uint32_t recv_buffer_size);
  ~UringLoop() override;

  void run() override;
  void close_all() override;
  const char* engine_name() const override { return "io_uring"; }
  // What this engine keeps per descriptor, once for the process (for the memory budget).
  static constexpr size_t slot_bytes();

  // Reactor
  void watch(int fd, IoHandler* handler, bool want_write) override;
  void unwatch(int fd) override;
  bool completes_io() const override { return true; }
  void submit_receive(int fd, IoHandler* handler, char* data, size_t length) override;
  void submit_send(int fd, IoHandler* handler, const iovec* iov, size_t count) override;
  void cancel_io(int fd) override;
  void close_socket(int fd) override;

 private:
  enum class Op : uint8_t {
    kAccept = 1,
    kRecv,
    kSend,
    kPollIn,
    kPollOut,
    kWake,
    kCancel,
    kValueRecv,  // straight into the connection's buffers (a value's chain; starved: any)
    kUserRecv,   // submit_receive
    kUserSend,   // submit_send
    kReadable,   // a starved connection's socket is readable
  };

  // One per descriptor, so its flags are bits: every open socket pays for it.
  // Process-wide: all-zero bytes are an empty slot.
  struct Slot {
    // Client connection state.
    RecvBufferRing::Stash stash;
    // Upstream socket state (Reactor).
    IoHandler* handler = nullptr;
    // Completion I/O for another component (Reactor::submit_*).
    IoHandler* io_handler = nullptr;
    uint32_t generation = 0;  // bumped by unwatch: older poll completions are stale
    // Client connection state.
    bool recv_armed : 1 = false;           // a receive into the buffer ring is in flight
    bool value_recv_inflight : 1 = false;  // a receive into the value's chain is in flight
    bool recv_cancelled : 1 = false;
    bool send_inflight : 1 = false;
    bool starved : 1 = false;              // its receive ended for want of buffers
    bool readable_poll_armed : 1 = false;  // starved: waiting for the socket to be readable
    bool readable : 1 = false;  // starved and readable: a receive into its own buffers won't wait
    bool peer_eof : 1 = false;  // the peer closed; delivered once the stash is consumed
    bool failed : 1 = false;    // the socket reported an error
    bool closing : 1 = false;   // waiting for its operations to finish (client or Reactor)
    // Upstream socket state (Reactor).
    bool want_write : 1 = false;
    bool poll_in_armed : 1 = false;
    bool poll_out_armed : 1 = false;
    // Completion I/O for another component (Reactor::submit_*).
    bool user_recv_inflight : 1 = false;
    bool user_send_inflight : 1 = false;
    // Zero-copy sends (client or Reactor; a socket is one or the other).
    bool zc_notif_pending : 1 = false;  // the send completed; its notification has not
    bool zc_off : 1 = false;            // the kernel copied, or refused: plain sends only
    // Polls (kPollIn, kPollOut) whose completion has not come, stale ones
    // included: the socket is closed only once it is 0.
    uint8_t polls_pending = 0;
    int32_t zc_result = 0;  // the send's result, reported at the notification
  };

  static uint64_t tag(Op op, int fd, uint32_t generation = 0) {
    return uint64_t{static_cast<uint8_t>(op)} << 56 | uint64_t{generation & 0xffffff} << 32 |
           static_cast<uint32_t>(fd);
  }

  // EventLoop
  void close_connection(int fd) override;
  void service(int fd) override;
  bool retry(int fd) override;
  void stop_accepting() override;
  bool drainable(int fd) const override;

  Slot& slot(int fd) { return slots_[fd]; }
  void reset_slot(int fd);
  // Takes `fd` (a socket another component made) into this loop's tables.
  void adopt(int fd);
  io_uring_sqe* next_sqe();
  void submitted();  // the arenas are free again
  void arm_accept(size_t listener);
  void arm_idle_accepts();  // every open listener without an armed accept
  void arm_wake();
  void arm_recv(int fd);
  // A receive straight into the connection's own buffers (its value's chain, or
  // its receive buffer while starved); false when it has no room for bytes now.
  bool arm_value_recv(int fd, Connection& connection);
  void arm_readable_poll(int fd);
  void on_readable(int fd, const io_uring_cqe& cqe);
  void on_value_recv(int fd, const io_uring_cqe& cqe);
  void arm_poll(int fd, Op op);
  void cancel(uint64_t target);
  void send_replies(int fd, Connection& connection);
  // Prepares one sendmsg of `count` iovecs (copied into this turn's arena), a
  // zero-copy one when it is large enough and the socket allows it.
  void prepare_sendmsg(int fd, Op op, const iovec* iov, size_t count);
  // Sorts a send's completions: false while a zero-copy send's notification is
  // awaited; true with `result` set when the send's owner may learn its result.
  bool send_finished(Slot& s, const io_uring_cqe& cqe, int* result);
  // An SQE and a msghdr over a copy of `iov`, both valid until submission.
  io_uring_sqe* stage_message(const iovec* iov, size_t count, msghdr** message);
  void on_user_io(int fd, Op op, const io_uring_cqe& cqe);
  void reap_completions();
  void handle(const io_uring_cqe& cqe);
  void on_accept(size_t listener, const io_uring_cqe& cqe);
  void on_recv(int fd, const io_uring_cqe& cqe);
  void on_send(int fd, const io_uring_cqe& cqe);
  void on_poll(int fd, Op op, uint32_t generation, const io_uring_cqe& cqe);
  // Copies stashed bytes into the connection while it reads; true when all were taken.
  bool consume_stash(int fd, Connection& connection);
  void finish_close_if_done(int fd);
  void rearm_starved();
  void wait_for_turn();
  void shut_down();

  io_uring ring_{};
  bool ring_open_ = false;
  bool running_ = false;  // the worker's thread owns the ring (run() is active)
  bool multishot_recv_ = true;
  bool multishot_accept_ = true;
  std::vector<uint8_t> accept_armed_;  // by listener index
  RecvBufferRing buffers_;
  Slot* slots_ = nullptr;  // process-wide, by file descriptor: each entry is its owner's
  std::vector<int> starved_;
  std::vector<int> starved_retry_;
  // Per-turn arenas for sendmsg arguments.
  std::vector<iovec> iovecs_;
  std::vector<msghdr> messages_;
  size_t iovecs_used_ = 0;
  size_t messages_used_ = 0;
};

constexpr size_t UringLoop::slot_bytes() { return sizeof(Slot); }

}  // namespace mcguard
