// PendingReply: a place in a client's reply stream that an upstream fills
// later. One client request owns a group of them (one per key of a multi-get,
// one per upstream of a flush_all, otherwise one); the group's first slot is
// its leader and counts the slots still open. Nothing of a group is sent until
// the whole group is complete, so a failure can still replace it with a single
// SERVER_ERROR line. Slots come from a per-worker PendingReplyPool: no heap per
// request, and a fixed bound on replies in flight.
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

  PendingReply* leader = nullptr;         // first slot of the group (itself for the leader)
  PendingReply* next_in_group = nullptr;  // group order = reply order
  PendingReply* next_in_batch = nullptr;  // multi-get keys sent to the same upstream
  PendingReply* next_free = nullptr;
  uint64_t key_hash = 0;    // multi-get: which key this slot answers
  bool complete = false;    // this slot's bytes are final
  bool group_done = false;  // every slot of the group is final: the group may be sent

  // Leader only.
  PendingReply* last = nullptr;
  uint32_t remaining = 0;         // slots not yet complete
  const char* failure = nullptr;  // first failure, e.g. "upstream timeout"
  bool silent = false;            // classic noreply: the client gets nothing
  bool end_with_end = false;      // get family: "END\r\n" after the last slot
  bool collapse = false;          // flush_all: only the leader's reply is kept
  ReplyQueue* owner = nullptr;    // null once the client is gone

  size_t size() const { return chain.length() + inline_length; }
  bool ready() const { return group_done; }
  // Appends reply bytes in order; false when the pool cannot hold them.
  bool append(std::string_view bytes);
  // Makes room for `bytes` more (inline when they fit, else in the chain) to
  // be appended piecewise with append_reserved; false when the pool cannot.
  bool reserve(size_t bytes);
  void append_reserved(std::span<const char> bytes);
  void clear();
  // iovecs over bytes [offset, size()); returns the count.
  size_t iovecs(size_t offset, iovec* out, size_t max_iov) const;
};

class PendingReplyPool {
 public:
  PendingReplyPool(BufferPool& pool, uint32_t count, uint32_t max_chain_buffers);
  PendingReply* acquire();  // null when none is free
  void release(PendingReply* slot);
  uint32_t available() const { return available_; }
  uint32_t capacity() const { return static_cast<uint32_t>(slots_.size()); }

 private:
  std::deque<PendingReply> slots_;  // stable addresses, allocated at start-up
  PendingReply* free_ = nullptr;
  uint32_t available_ = 0;
};

}  // namespace mcguard
