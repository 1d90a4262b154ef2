#include "pool/buffer_chain.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace mcguard {

BufferChain::BufferChain(BufferPool& pool, uint32_t max_buffers)
    : pool_(pool), max_buffers_(max_buffers), buffers_(std::make_unique<uint32_t[]>(max_buffers)) {}

size_t BufferChain::spare() const {
  return size_t{count_} * pool_.buffer_size() - head_offset_ - length_;
}

bool BufferChain::reserve(size_t bytes) {
  const size_t have = spare();
  if (bytes > have) {
    const size_t size = pool_.buffer_size();
    const size_t needed = (bytes - have + size - 1) / size;
    if (needed > max_buffers_ - count_) return false;
    if (!pool_.acquire_many(static_cast<uint32_t>(needed), buffers_.get() + count_)) return false;
    count_ += static_cast<uint32_t>(needed);
  }
  reserved_ = std::max(reserved_, bytes);
  return true;
}

size_t BufferChain::append(std::span<const char> bytes) {
  const size_t size = pool_.buffer_size();
  size_t copied = 0;
  while (copied < bytes.size()) {
    const size_t end = head_offset_ + length_;
    if (end == size_t{count_} * size) {
      if (count_ == max_buffers_) break;
      const uint32_t index = pool_.acquire();
      if (index == BufferPool::kNoBuffer) break;
      buffers_[count_++] = index;
    }
    const size_t in_buffer = end % size;
    const size_t n = std::min(bytes.size() - copied, size - in_buffer);
    std::memcpy(pool_.data(buffers_[end / size]) + in_buffer, bytes.data() + copied, n);
    copied += n;
    length_ += n;
  }
  reserved_ -= std::min(reserved_, copied);
  return copied;
}

size_t BufferChain::writable_iovecs(iovec* out, size_t max_iov, size_t limit) {
  const size_t size = pool_.buffer_size();
  size_t pos = head_offset_ + length_;
  size_t left = std::min(limit, spare());
  size_t n = 0;
  while (left > 0 && n < max_iov) {
    const size_t in_buffer = pos % size;
    const size_t len = std::min(left, size - in_buffer);
    out[n].iov_base = pool_.data(buffers_[pos / size]) + in_buffer;
    out[n].iov_len = len;
    ++n;
    pos += len;
    left -= len;
  }
  return n;
}

void BufferChain::commit(size_t n) {
  assert(n <= spare());
  length_ += n;
  reserved_ -= std::min(reserved_, n);
}

size_t BufferChain::iovecs(size_t offset, size_t limit, iovec* out, size_t max_iov) const {
  if (offset >= length_) return 0;
  const size_t size = pool_.buffer_size();
  size_t pos = head_offset_ + offset;
  size_t left = std::min(limit, length_ - offset);
  size_t n = 0;
  while (left > 0 && n < max_iov) {
    const size_t in_buffer = pos % size;
    const size_t len = std::min(left, size - in_buffer);
    out[n].iov_base = pool_.data(buffers_[pos / size]) + in_buffer;
    out[n].iov_len = len;
    ++n;
    pos += len;
    left -= len;
  }
  return n;
}

void BufferChain::copy_out(size_t offset, std::span<char> dst) const {
  assert(offset + dst.size() <= length_);
  const size_t size = pool_.buffer_size();
  size_t pos = head_offset_ + offset;
  size_t copied = 0;
  while (copied < dst.size()) {
    const size_t in_buffer = pos % size;
    const size_t len = std::min(dst.size() - copied, size - in_buffer);
    std::memcpy(dst.data() + copied, pool_.data(buffers_[pos / size]) + in_buffer, len);
    copied += len;
    pos += len;
  }
}

void BufferChain::consume(size_t n) {
  assert(n <= length_);
  n = std::min(n, length_);
  if (n == length_) {
    // Content gone: start over at the front of the held space, keeping just
    // the buffers a pending reservation still needs.
    const size_t size = pool_.buffer_size();
    const auto keep = static_cast<uint32_t>((reserved_ + size - 1) / size);
    while (count_ > keep) pool_.release(buffers_[--count_]);
    head_offset_ = 0;
    length_ = 0;
    return;
  }
  const size_t size = pool_.buffer_size();
  const size_t pos = head_offset_ + n;
  const auto drop = static_cast<uint32_t>(pos / size);
  for (uint32_t i = 0; i < drop; ++i) pool_.release(buffers_[i]);
  if (drop > 0) {
    std::memmove(buffers_.get(), buffers_.get() + drop, sizeof(uint32_t) * (count_ - drop));
    count_ -= drop;
  }
  head_offset_ = static_cast<uint32_t>(pos % size);
  length_ -= n;
}

void BufferChain::release() {
  while (count_ > 0) pool_.release(buffers_[--count_]);
  head_offset_ = 0;
  length_ = 0;
  reserved_ = 0;
}

}  // namespace mcguard
