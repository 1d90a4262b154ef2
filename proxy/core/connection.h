// Connection: one client's protocol state machine, independent of how bytes
// move. The event loop asks where the next bytes should land (read_targets),
// reports how many arrived (on_read), and drains replies with write_iovecs /
// on_written; the connection never makes a system call. It holds pool buffers
// only while bytes are in flight: an idle connection owns none. What a request
// needs only while under way (the parsed request, a parked partial line, reply
// bookkeeping) is the worker's, lent meanwhile, so an idle connection is small.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pool/buffer_chain.h"
#include "pool/buffer_pool.h"
#include "protocol/request.h"
#include "proxy/core/chain_budget.h"
#include "proxy/core/connection_registry.h"
#include "proxy/core/limits.h"
#include "proxy/core/pending_reply.h"
#include "proxy/core/prefix_stats.h"
#include "proxy/core/reply_queue.h"
#include "proxy/core/spare_blocks.h"
#include "proxy/core/tier.h"
#include "proxy/core/transport.h"
#include "proxy/core/worker_stats.h"

namespace mcguard {

class RejectionLog;

// An unfinished request line of at most this many bytes leaves its pool
// buffer and waits in a block of this size while the client is quiet.
inline constexpr uint32_t kParkedHeaderBytes = 256;

// What every connection of one worker shares.
struct ConnectionContext {
  BufferPool& pool;
  Tier& tier;
  WorkerStats& stats;
  RejectionLog* rejection_log = nullptr;        // may be null (tests)
  PendingReplyPool* pending_replies = nullptr;  // upstream tier only
  uint64_t max_value_size = 8u << 20;
  size_t max_reply_backlog = 4u << 20;  // stop parsing while more than this is unsent
  int64_t pool_wait_timeout_ms = 2000;  // a chain reservation waits this long for buffers
  int64_t now_ms = 0;                   // monotonic time, set by the loop each turn
  // Appends mcguard's part of the `stats` reply for `args` (owned by the server:
  // it sees every worker). True when that is the whole reply; false when the
  // tier adds the rest and the END (the upstream tier's storage figures), as
  // the request then goes on to Tier::execute.
  std::function<bool(std::string_view args, ReplyQueue& reply)> render_stats;
  uint32_t chain_buffer_limit = UINT32_MAX;  // buffers value chains may hold (--chain-share)
  int64_t slow_client_timeout_ms = 30000;    // 0: off
  int64_t idle_timeout_ms = 0;               // 0: off
  uint32_t max_pool_waiters = UINT32_MAX;    // connections that may wait for a chain at once
  // Sends of at least this many bytes go zero-copy where the engine can (0: never).
  size_t zerocopy_threshold = 0;
  // Buffers one connection's value chains may hold, those the tier still holds
  // included (--max-connection-chain).
  uint32_t connection_chain_limit = UINT32_MAX;
  // The value-size limit policy (per prefix, enforce or observe); when not
  // attached, max_value_size is the limit. max_value_size stays the ceiling.
  LimitView limits{};
  // The worker's open connections, listed by `stats conns` (null: not listed).
  ConnectionRegistry* registry = nullptr;
  // `stats detail`: per-prefix counts, shared by every worker (null: none).
  PrefixStats* detail = nullptr;
  // Makes the TLS transport of a connection accepted on a tls: listener (null:
  // this worker has no TLS listener). Null result: no TLS context is usable.
  std::function<std::unique_ptr<Transport>()> make_tls_transport{};
  // What a connection needs only while a request is under way, kept here
  // once per worker so that an idle connection carries none of it:
  // the request being handled (one connection is handled at a time; see
  // Connection::request_),
  Request request{};
  // the blocks unfinished request lines wait in (kParkedHeaderBytes each),
  SpareBlocks parked_lines{kParkedHeaderBytes};
  // and the reply segment storage of queues that emptied.
  ReplyQueue::SegmentSpares reply_segments{};
};

class Connection {
 public:
  // `id` names the connection to whoever completes its pending replies (the loop
  // uses its socket).
  Connection(ConnectionContext& context, std::string peer, int id = -1);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Puts `transport` (TLS) between the socket and the protocol: everything the
  // loop reads and writes then passes through it. Called before any byte moves.
  void set_transport(std::unique_ptr<Transport> transport);

  // Where the next received bytes should go: up to `max_iov` iovecs. Returns 0
  // when the connection cannot take bytes now (closing, reply backlog, or the
  // pool has no buffer); the loop then stops reading until wants_read().
  size_t read_targets(iovec* out, size_t max_iov) {
    return transport_ ? wire_read_targets(out, max_iov) : plain_read_targets(out, max_iov);
  }
  // `n` bytes were written into the last read_targets; handles every complete
  // request they finish.
  void on_read(size_t n) {
    if (transport_) {
      on_wire_read(n);
    } else {
      plain_on_read(n);
    }
  }
  // The loop read nothing more for now (EAGAIN): lets go of an empty buffer,
  // and moves a short unfinished request line out of its pool buffer.
  void on_read_idle();
  // The client closed its sending side; pending replies still go out.
  void on_peer_closed();
  // The socket failed: close without sending anything more.
  void on_error() { close_now_ = true; }
  // Copies bytes in (for loops that receive into their own buffers).
  // Returns how many were taken (short when the connection cannot read now).
  size_t feed(const char* bytes, size_t n);

  // What to send next (with a transport: its output, once the replies are
  // encrypted into it). Returns 0 when nothing can go now.
  size_t write_iovecs(iovec* out, size_t max_iov) {
    return transport_ ? wire_write_iovecs(out, max_iov) : replies_.gather(out, max_iov);
  }
  void on_written(size_t n) {
    if (transport_) {
      on_wire_written(n);
    } else {
      plain_on_written(n);
    }
  }

  bool wants_read() const;
  // A value's chain could not be reserved: the connection stopped reading and
  // waits for buffers. The loop calls retry_pool_wait() as buffers come back;
  // past pool_wait_timeout_ms the request fails with SERVER_ERROR out of memory.
  // Waiting on the tier (no room to track another reply) parks it the same way,
  // and so does waiting for its own earlier values' buffers (ChainBudget).
  bool waiting_for_pool() const {
    return waiting_for_pool_ || waiting_for_tier_ || waiting_for_reply_room_ ||
           chain_budget_.waiting() || (transport_ && transport_stalled());
  }
  void retry_pool_wait();
  bool wants_write() const {
    return transport_
               ? transport_->has_wire_output() || (replies_.sendable() && !transport_stalled())
               : replies_.sendable();
  }
  // True once the connection should be closed (after its replies, if any, are sent
  // when close_after_flush; at once otherwise).
  bool should_close() const {
    return close_now_ || replies_.broken() || (close_after_flush_ && replies_.empty());
  }
  bool idle() const;
  // True while a value larger than the receive buffer streams into its chain:
  // read_targets then names the chain's reserved space, so an engine can
  // receive straight into it.
  // Never with a transport: its bytes must be decrypted first.
  bool receiving_value() const { return state_ == InputState::kValue && !transport_; }
  // True (and counted) when the connection must be closed for a timeout at
  // `now_ms`: a value not delivered within the slow-client timeout, or no
  // traffic within the idle timeout.
  bool timed_out(int64_t now_ms);
  const std::string& peer() const { return peer_; }
  // Pool buffers held right now for input: the receive buffer and the value
  // chain (reply text buffers are the reply queue's).
  uint32_t buffers_held() const;

 private:
  // kGetLine: a retrieval line too long for the receive buffer, taken in
  // batches of keys as they arrive; kSkipLine: the rest of a line in error is
  // discarded up to its newline.
  enum class InputState : uint8_t { kHeader, kValue, kSwallow, kGetLine, kSkipLine };

  size_t plain_read_targets(iovec* out, size_t max_iov);
  void plain_on_read(size_t n);
  void plain_on_written(size_t n);
  // The transport's half (connection_transport.cc): received bytes go in on
  // the wire side and come out decrypted into plain_read_targets; replies are
  // encrypted from the reply queue into the transport's output.
  size_t wire_read_targets(iovec* out, size_t max_iov);
  void on_wire_read(size_t n);
  size_t feed_wire(const char* bytes, size_t n);
  size_t wire_write_iovecs(iovec* out, size_t max_iov);
  void on_wire_written(size_t n);
  // Decrypts what the transport holds into the protocol while it can take it.
  void pump_plain_input();
  // Encrypts sendable replies into the transport's output while it has room.
  void encrypt_replies();
  // Closes on a failed session, and ends input on the peer's close_notify.
  void check_transport();
  // Replies wait to be encrypted but the transport has no output room (its
  // pool buffer could not be taken): waits for buffers like a chain does.
  bool transport_stalled() const { return transport_input_stalled_ || transport_output_stalled_; }
  bool transport_idle() const {
    return !transport_ || (!transport_->has_wire_output() && !transport_->has_plain_input());
  }

  void process();
  bool process_one();
  bool begin_storage(size_t header_bytes);
  uint64_t value_limit_for_request();
  bool admit_storage(size_t header_bytes, uint64_t limit);
  bool finish_value_from_chain();
  // Hands the arriving value to the tier when it takes values as they arrive.
  void offer_value_stream();
  bool tier_ready();
  void execute(std::span<const iovec> value, BufferChain* value_chain = nullptr);
  // Counts a request handed to the tier: cmd_meta and, while on, `stats detail`.
  void count_for_stats();
  // What `stats conns` shows for this connection after a turn of processing.
  void publish_state();
  void reply_text(std::string_view text);
  void unlink_rejected_key();
  void release_value_chain();
  void stop_waiting_for_pool();
  void start_swallow(uint64_t bytes);
  // A retrieval line fills the receive buffer: reads its head and goes on
  // key by key. False when the line is not one that may be that long.
  bool begin_get_line();
  // Takes the next batch of a long retrieval line's keys to the tier; false
  // when it must wait for bytes, the tier or reply room.
  bool take_key_batch();
  bool skip_line();
  uint32_t key_batch_limit() const;
  void handle_local_command();
  void discard(size_t n);
  void release_receive_buffer_if_empty();
  // True when the next reply has somewhere to go; otherwise the connection
  // waits (as for a chain), and past the pool wait timeout it is closed.
  bool reply_room();
  void park_partial_header();
  // Makes request_ this connection's again after other connections used it.
  void reparse_value_header();
  void rebuild_get_line_request();
  // A retrieval line goes on in batches of keys (kGetLine) from here.
  void begin_key_batches();
  // The input stopped mid-request: starts the slow-client clock (once).
  void mark_incomplete();
  void compact_receive_buffer();

  // Laid out to keep an idle connection small (see memory_budget.cc): what a
  // request needs only while under way is the worker's (ConnectionContext),
  // and the flags are bits.
  ConnectionContext& context_;
  std::unique_ptr<Transport> transport_;  // TLS; null: the socket carries plain bytes
  std::string peer_;
  ConnectionRecord record_;  // after peer_, which it points to
  ReplyQueue replies_;
  BufferChain value_;  // a value too large for the receive buffer
  // kValue: the tier's stream taking value_ as it arrives (null: the request
  // goes to the tier once the value is complete).
  ValueStream* value_stream_ = nullptr;
  // The request being handled: the worker's (context_.request), so it is this
  // connection's only within one call into it. It borrows the receive buffer;
  // a request that outlives the call is parsed again from there (kValue: the
  // header stays in the buffer) or rebuilt (kGetLine: from get_line_*).
  Request& request_;
  // An unfinished request line waits here (a block from context_.parked_lines,
  // held only meanwhile) instead of in a pool buffer while the client is quiet
  // (see on_read_idle).
  std::unique_ptr<char[]> parked_header_;

  uint64_t value_remaining_ = 0;  // kValue: bytes still to arrive; kSwallow: to discard
  int64_t reply_wait_started_ms_ = 0;
  int64_t last_active_ms_ = 0;
  int64_t value_started_ms_ = 0;  // kValue / kSwallow: when the value's header came
  // Since when the input has held an unfinished request (-1: it does not).
  int64_t incomplete_since_ms_ = -1;
  int64_t wait_started_ms_ = 0;
  int64_t created_ms_ = 0;  // a TLS handshake must finish within the slow-client timeout
  // begin_storage runs again while a request waits for bytes, buffers or the
  // tier: its limit is decided (and counted) once.
  uint64_t decided_limit_ = 0;

  uint32_t receive_buffer_ = BufferPool::kNoBuffer;
  uint32_t receive_start_ = 0;    // first unparsed byte
  uint32_t receive_end_ = 0;      // one past the last received byte
  uint32_t header_bytes_ = 0;     // kValue: header length at receive_start_
  uint32_t get_line_keys_ = 0;    // kGetLine: keys taken so far
  int32_t get_line_exptime_ = 0;  // kGetLine: the line's exptime (gat, gats)
  uint32_t chain_charged_ = 0;    // buffers counted against chain_buffer_limit
  ChainBudget chain_budget_;      // against connection_chain_limit
  uint16_t parked_header_length_ = 0;
  InputState state_ = InputState::kHeader;
  Command get_line_command_ = Command::kNone;  // kGetLine: the line's command

  bool took_command_ : 1 = false;
  bool close_after_flush_ : 1 = false;
  bool close_now_ : 1 = false;
  bool peer_closed_ : 1 = false;
  bool waiting_for_pool_ : 1 = false;
  bool waiting_for_tier_ : 1 = false;
  bool waiting_for_reply_room_ : 1 = false;  // no pool buffer for the next reply yet
  bool input_incomplete_ : 1 = false;        // the last parse stopped for want of bytes
  // The transport holds input the protocol could not take for want of a pool
  // buffer, or replies could not be encrypted for want of one.
  bool transport_input_stalled_ : 1 = false;
  bool transport_output_stalled_ : 1 = false;
  bool handshake_counted_ : 1 = false;
  bool limit_decided_ : 1 = false;  // decided_limit_ holds this request's limit
};

}  // namespace mcguard
