// BufferChain: a byte sequence held in pool buffers, for values larger than one
// buffer. Buffer indices live in a fixed array sized once (from max-value-size /
// buffer-size), so no operation allocates. Bytes are appended at the back and
// consumed from the front; iovecs expose them for writev/readv without copying.
// A chain never holds more than `max_buffers` buffers.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "pool/buffer_pool.h"

namespace mcguard {

class BufferChain {
 public:
  BufferChain(BufferPool& pool, uint32_t max_buffers);
  ~BufferChain() { release(); }
  BufferChain(const BufferChain&) = delete;
  BufferChain& operator=(const BufferChain&) = delete;

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

  // iovecs over content bytes [offset, offset + limit). Returns the count
  // (stops early when max_iov is reached).
  size_t iovecs(size_t offset, size_t limit, iovec* out, size_t max_iov) const;
  // Copies content bytes [offset, offset + dst.size()) out.
  void copy_out(size_t offset, std::span<char> dst) const;
  // Drops n bytes from the front, releasing buffers that become empty. When the
  // content becomes empty the chain keeps only the buffers an unfilled
  // reservation still needs, so an idle chain holds no buffer.
  void consume(size_t n);
  // Returns every buffer to the pool; the chain is empty afterwards.
  void release();

  size_t length() const { return length_; }
  bool empty() const { return length_ == 0; }
  uint32_t buffer_count() const { return count_; }
  uint32_t max_buffers() const { return max_buffers_; }
  // Free bytes in buffers already held, after the content.
  size_t spare() const;
  // Bytes promised by reserve() and not yet filled by append() or commit().
  size_t reserved() const { return reserved_; }

 private:
  BufferPool& pool_;
  uint32_t max_buffers_;
  std::unique_ptr<uint32_t[]> buffers_;
  uint32_t count_ = 0;        // buffers held
  uint32_t head_offset_ = 0;  // first content byte inside buffers_[0]
  size_t length_ = 0;         // content bytes
  size_t reserved_ = 0;       // unfilled part of the last reservation (<= spare())
};

}  // namespace mcguard
