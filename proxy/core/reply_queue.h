// ReplyQueue: the ordered bytes a connection owes its client. Reply text is
// copied into pool buffers (held only while unsent); item values are queued by
// reference (ItemRef) and sent from store memory. gather() yields iovecs for
// one writev/sendmsg; consume() drops what the kernel took. Not thread-safe.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cache/item_ref.h"
#include "pool/buffer_chain.h"
#include "proxy/core/pending_reply.h"

namespace mcguard {

class ReplyQueue {
 private:
  struct Segment {
    size_t text_bytes = 0;            // text from the chain before the value
    ItemRef value;                    // may be empty
    size_t value_sent = 0;            // value (or pending reply) bytes already written
    PendingReply* pending = nullptr;  // instead of a value
  };

 public:
  // Segment storage shared by one worker's queues: a queue that empties gives
  // its storage back here and one that needs some takes it, so an idle queue
  // holds none and steady traffic allocates nothing. What is kept is bounded
  // by the most queues ever busy at once.
  class SegmentSpares {
   public:
    size_t spare() const { return spare_.size(); }

   private:
    friend class ReplyQueue;
    std::vector<std::vector<Segment>> spare_;
  };

  ReplyQueue(BufferPool& pool, uint32_t max_text_buffers);

  // Appends reply text. Returns false (and appends nothing) when the pool
  // cannot hold it; the caller then treats the connection as failed.
  bool append_text(std::string_view text);
  // Queues an item's whole value by reference.
  void append_value(ItemRef item);
  // Queues a reply an upstream fills later (a slot of a PendingReply group).
  // Nothing after it is sent before its group is complete.
  void append_pending(PendingReply* slot);
  // A group this queue holds became complete with `bytes` bytes to send.
  void pending_completed(size_t bytes);
  // Where sent or abandoned pending slots go back to (the worker's pool).
  void set_pending_pool(PendingReplyPool* pool) { pending_pool_ = pool; }
  // Where this queue takes segment storage from and gives it back to when it
  // empties (null: it keeps its own).
  void set_segment_spares(SegmentSpares* spares) { spares_ = spares; }
  // Identifies the client (its socket) to whoever completes a pending reply.
  void set_owner_id(int id) { owner_id_ = id; }
  int owner_id() const { return owner_id_; }
  // True when the next bytes owed can be sent now (not waiting on an upstream).
  bool sendable() const;

  // Bytes of text that can be appended without acquiring a new buffer.
  size_t text_spare() const { return text_.spare(); }

  // iovecs for the next write, at most max_iov; returns the count.
  size_t gather(iovec* out, size_t max_iov) const;
  // The kernel accepted n bytes from the front.
  void consume(size_t n);
  // Drops everything queued (the client went away).
  void clear();

  // True once an append_text failed: the reply stream is incomplete and the
  // connection must be closed rather than answer out of step. From then on
  // appends are refused (bytes queued before stay sendable) until clear().
  bool overflowed() const { return overflowed_; }
  // True when the reply at the front is a stream that cannot finish: the
  // connection must be closed, as its client may already have part of it.
  bool broken() const;
  // Nothing is owed: no bytes queued and no reply awaited.
  bool empty() const { return segments_head_ == segments_.size(); }
  // Bytes known and not yet sent (awaited replies count once complete).
  size_t pending_bytes() const { return pending_bytes_; }

 private:
  // Appends an empty segment, first sliding the live ones to the front when
  // the vector is full, so a queue that never drains does not keep growing.
  void push_segment();
  // Pops finished segments at the front (sent, or complete replies with no bytes).
  void drop_finished_front();
  // Nothing is queued: the segment storage goes back to spares_ (if any).
  void reset_segments();

  BufferChain text_;
  // Front at segments_head_. Its capacity is kept, or lent to spares_ while empty.
  std::vector<Segment> segments_;
  SegmentSpares* spares_ = nullptr;
  PendingReplyPool* pending_pool_ = nullptr;
  size_t pending_bytes_ = 0;
  uint32_t segments_head_ = 0;
  int owner_id_ = -1;
  bool overflowed_ = false;
};

}  // namespace mcguard
