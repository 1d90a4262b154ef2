// PendingReply: a place in a client's reply stream that an upstream fills
// later. One client request owns a group of them (one per key of a multi-get,
// one per upstream of a flush_all, otherwise one); the group's first slot is
// its leader and counts the slots still open. Nothing of a group is sent until
// the whole group is complete, so a failure can still replace it with a single
// SERVER_ERROR line. Slots come from a per-worker PendingReplyPool: no heap per
// request, and a fixed bound on replies in flight.
//
// Two extensions serve values too large to hold whole. A slot may carry a
// ReplyStream: bytes that arrive over time and are sent as they arrive, ahead
// of the slot's own bytes. And a group may belong to no client at all: its
// ReplyObserver is told when it completes and takes its slots.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>

#include "pool/buffer_chain.h"

namespace mcguard {

class ReplyQueue;
struct PendingReply;

// Receives an internal group (one no client waits on) once every slot is
// complete; it then owns the slots and releases them to the pool.
class ReplyObserver {
 public:
  virtual void group_done(PendingReply* leader) = 0;

 protected:
  ~ReplyObserver() = default;
};

// Bytes of one reply slot that are produced over time and sent as they come.
// The client's queue consumes them from the front; what is consumed may be
// let go of at once, so a stream holds only what is not yet sent.
class ReplyStream {
 public:
  // iovecs over the bytes produced and not yet consumed (at most max_iov).
  virtual size_t iovecs(iovec* out, size_t max_iov) const = 0;
  // Bytes produced and not yet consumed.
  virtual size_t available() const = 0;
  // The client sent n bytes from the front.
  virtual void consume(size_t n) = 0;
  // The stream cannot finish and some of it may have been sent: the client
  // must be closed, since no later byte can make its reply right.
  virtual bool broken() const = 0;
  // The slot is going back to the pool (sent, failed or abandoned): the stream
  // must forget it.
  virtual void detach() = 0;

 protected:
  ~ReplyStream() = default;
};

struct PendingReply {
  // Small replies (status lines, small values) stay inline, so thousands of
  // pipelined small requests do not each hold a pool buffer.
  static constexpr size_t kInlineBytes = 1024;

  PendingReply(BufferPool& pool, uint32_t max_chain_buffers) : chain(pool, max_chain_buffers) {}

  // Reply bytes: the chain first, then the inline tail (short status lines
  // need no pool buffer, so a reply can always be ended or replaced by an error).
  BufferChain chain;
  char inline_bytes[kInlineBytes];
  uint16_t inline_length = 0;
  bool reserved_inline = false;  // where append_reserved puts bytes
  // Produced over time and sent before the chain and inline bytes; its length
  // is final once the slot is complete.
  ReplyStream* stream = nullptr;
  size_t stream_length = 0;

  PendingReply* leader = nullptr;         // first slot of the group (itself for the leader)
  PendingReply* next_in_group = nullptr;  // group order = reply order
  PendingReply* next_in_batch = nullptr;  // multi-get keys sent to the same upstream
  PendingReply* next_free = nullptr;
  uint64_t key_hash = 0;    // multi-get: which key this slot answers
  bool complete = false;    // this slot's bytes are final
  bool group_done = false;  // every slot of the group is final: the group may be sent
  // Gathered groups (one slot per upstream, merged when complete): this slot's
  // upstream failed and is left out, rather than failing the whole group.
  bool failed = false;

  // Leader only.
  PendingReply* last = nullptr;
  uint32_t remaining = 0;             // slots not yet complete
  const char* failure = nullptr;      // first failure, e.g. "upstream timeout"
  bool silent = false;                // classic noreply: the client gets nothing
  bool end_with_end = false;          // get family: "END\r\n" after the last slot
  bool collapse = false;              // flush_all: only the leader's reply is kept
  ReplyQueue* owner = nullptr;        // null once the client is gone
  ReplyObserver* observer = nullptr;  // internal groups: told instead of a client
  int64_t touch_exptime = 0;          // gat family, mg with T: the exptime the client gave
  bool touch = false;                 // the request sets the exptime (gat, gats, mg with T)
  bool strip_key_token = false;       // mg: a "k" was added to learn the key; drop it again
  uint8_t tag = 0;  // the tier's own note of what to do with the reply when complete (0: none)

  size_t size() const { return stream_length + chain.length() + inline_length; }
  bool ready() const { return group_done; }
  // Bytes from the start that can be sent now, given `sent` are already out
  // (all of size() unless a stream is still producing).
  size_t sendable_end(size_t sent) const;
  // Appends reply bytes in order; false when the pool cannot hold them.
  bool append(std::string_view bytes);
  // Makes room for `bytes` more (inline when they fit, else in the chain) to
  // be appended piecewise with append_reserved; false when the pool cannot.
  bool reserve(size_t bytes);
  void append_reserved(std::span<const char> bytes);
  // Drops every byte, the stream included (it is detached).
  void clear();
  // iovecs over bytes [offset, sendable_end(offset)); returns the count. Within
  // the stream, `offset` must be what the stream has had consumed.
  size_t iovecs(size_t offset, iovec* out, size_t max_iov) const;
};

class PendingReplyPool {
 public:
  PendingReplyPool(BufferPool& pool, uint32_t count, uint32_t max_chain_buffers);
  PendingReply* acquire();  // null when none is free
  void release(PendingReply* slot);
  uint32_t available() const { return available_; }
  uint32_t capacity() const { return static_cast<uint32_t>(slots_.size()); }
  // Where the slots' reply bytes are held.
  BufferPool& buffer_pool() const { return *buffer_pool_; }

 private:
  BufferPool* buffer_pool_;
  std::deque<PendingReply> slots_;  // stable addresses, allocated at start-up
  PendingReply* free_ = nullptr;
  uint32_t available_ = 0;
};

}  // namespace mcguard
