// BufferChain: a byte sequence held in pool buffers, for values larger than one
// buffer. The buffers are linked through the pool's own link array, so a chain
// is a small value with no memory of its own and no operation allocates. Bytes
// are appended at the back and consumed from the front; iovecs expose them for
// writev/readv without copying. A chain never holds more than `max_buffers`.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "pool/buffer_pool.h"

namespace mcguard {

class BufferChain {
 public:
  // Takes nothing from the pool and allocates nothing.
  BufferChain(BufferPool& pool, uint32_t max_buffers) : pool_(&pool), max_buffers_(max_buffers) {}
  ~BufferChain() { release(); }
  BufferChain(const BufferChain&) = delete;
  BufferChain& operator=(const BufferChain&) = delete;
  // The buffers, content and reservation move; `other` is left empty, holding
  // no buffer, still tied to its pool with its own max_buffers.
  BufferChain(BufferChain&& other) noexcept;
  // Releases what this chain held, then takes over `other` whole (its pool and
  // max_buffers included); `other` is left as after the move constructor.
  BufferChain& operator=(BufferChain&& other) noexcept;
  // Exchanges everything, pools and max_buffers included.
  void swap(BufferChain& other) noexcept;

  // Makes room for `bytes` more bytes after the current content by acquiring
  // all buffers needed at once, or none (false: pool short or max_buffers hit).
  bool reserve(size_t bytes);
  // Copies bytes to the back, using held free space first and acquiring more
  // buffers one at a time. Returns how many bytes were copied (short when the
  // pool is dry or the chain is full).
  size_t append(std::span<const char> bytes);
  // iovecs over the free space after the content in buffers already held, at
  // most `limit` bytes; for a readv straight into the chain. Returns the count.
  size_t writable_iovecs(iovec* out, size_t max_iov, size_t limit);
  // Declares that `n` bytes were written into the writable iovecs.
  void commit(size_t n);

  // Moves all of `other`'s content to the back of this chain. When this
  // chain's content is empty, or ends exactly at a buffer boundary while
  // `other`'s starts at offset 0 of its first buffer, the buffers themselves
  // are relinked and no byte is copied. Otherwise `other`'s bytes are copied
  // once, packed right after ours inside `other`'s own buffers, and the
  // emptied ones go back to the pool. Either way no buffer is acquired, so it
  // cannot fail for want of one. This chain's unfilled reservation stays
  // promised after the new content; `other`'s is given up, and `other` ends
  // empty holding no buffer. Both chains must share a pool. Returns false and
  // changes nothing when the result would hold more than max_buffers. O(1)
  // when relinking and neither chain holds reserved buffers; else O(bytes
  // copied + buffers given back).
  bool splice_from(BufferChain& other);

  // Moves the first n content bytes to `front`, which must be empty, hold no
  // buffer and share the pool, by relinking whole buffers: n must be less than
  // length() and end exactly at a buffer boundary. Returns false and changes
  // nothing otherwise (or when front's max_buffers is too small). No byte is
  // copied and nothing is acquired.
  bool split_front(size_t n, BufferChain& front);

  // iovecs over content bytes [offset, offset + limit). Returns the count
  // (stops early when max_iov is reached). Walks the buffers from the front.
  size_t iovecs(size_t offset, size_t limit, iovec* out, size_t max_iov) const;
  // Copies content bytes [offset, offset + dst.size()) out.
  void copy_out(size_t offset, std::span<char> dst) const;
  // Drops n bytes from the front, releasing buffers that become empty. When the
  // content becomes empty the chain keeps only the buffers an unfilled
  // reservation still needs, so an idle chain holds no buffer.
  void consume(size_t n);
  // Returns every buffer to the pool; the chain is empty afterwards.
  void release();
  // Charges every buffer the chain holds (content and reservation) that is
  // charged to no account yet to the account `handle` names (BufferAccounts):
  // they stay counted there wherever they move until they go back to the
  // pool. Returns what that account holds then. O(buffers held).
  uint32_t charge(BufferAccounts::Handle& handle);

  size_t length() const { return length_; }
  bool empty() const { return length_ == 0; }
  uint32_t buffer_count() const { return content_buffers() + spare_buffers(); }
  uint32_t max_buffers() const { return max_buffers_; }
  BufferPool& pool() const { return *pool_; }
  // Free bytes in buffers already held, after the content.
  size_t spare() const;
  // Bytes promised by reserve() and not yet filled by append() or commit().
  size_t reserved() const { return reserved_; }

 private:
  // Where the next content byte goes; buffer is kNoBuffer when no held buffer
  // has room left.
  struct Cursor {
    uint32_t buffer;
    size_t offset;
  };

  // The chain holds exactly the buffers its content spans plus the fewest
  // empty ones that cover the rest of its reservation: reserve() takes no
  // more, append() and commit() fill them in order, consume() and
  // splice_from() give back the surplus. So the count is derived, not stored.
  uint32_t content_buffers() const;
  uint32_t spare_buffers() const;
  // Content bytes in last_ (1..buffer size); only when the content is not empty.
  size_t tail_used() const;
  Cursor write_cursor() const;
  // Fills n bytes of held spare space (after the caller wrote them there).
  void advance(size_t n);
  // Unlinks the empty buffers after the content and returns their list.
  uint32_t detach_spare();
  // Pushes every buffer of the list starting at `list` onto `stack`.
  uint32_t push_all(uint32_t stack, uint32_t list);
  void release_list(uint32_t list);

  BufferPool* pool_;
  uint32_t max_buffers_;
  uint32_t head_offset_ = 0;               // first content byte inside head_
  uint32_t head_ = BufferPool::kNoBuffer;  // first held buffer
  uint32_t last_ = BufferPool::kNoBuffer;  // last buffer with content; kNoBuffer when empty
  size_t length_ = 0;                      // content bytes
  size_t reserved_ = 0;                    // unfilled part of the last reservation (<= spare())
};

}  // namespace mcguard
