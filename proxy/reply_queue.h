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

#include "pool/buffer_chain.h"
#include "proxy/tier/item_ref.h"

namespace mcguard {

class ReplyQueue {
 public:
  ReplyQueue(BufferPool& pool, uint32_t max_text_buffers);

  // Appends reply text. Returns false (and appends nothing) when the pool
  // cannot hold it; the caller then treats the connection as failed.
  bool append_text(std::string_view text);
  // Queues an item's whole value by reference.
  void append_value(ItemRef item);
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
  bool empty() const { return pending_bytes_ == 0; }
  size_t pending_bytes() const { return pending_bytes_; }

 private:
  struct Segment {
    size_t text_bytes = 0;  // text from the chain before the value
    ItemRef value;          // may be empty
    size_t value_sent = 0;  // value bytes already written
  };

  // Appends an empty segment, first sliding the live ones to the front when
  // the vector is full, so a queue that never drains does not keep growing.
  void push_segment();

  BufferChain text_;
  std::vector<Segment> segments_;  // front at segments_head_; capacity is kept
  size_t segments_head_ = 0;
  size_t pending_bytes_ = 0;
  bool overflowed_ = false;
};

}  // namespace mcguard
