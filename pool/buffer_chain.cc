#include "pool/buffer_chain.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace mcguard {

namespace {

constexpr uint32_t kNone = BufferPool::kNoBuffer;

size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

// Fewest whole buffers that, after `free` bytes already available, cover `wanted`.
size_t buffers_to_cover(size_t wanted, size_t free, size_t size) {
  return wanted > free ? div_up(wanted - free, size) : 0;
}

}  // namespace

BufferChain::BufferChain(BufferChain&& other) noexcept
    : pool_(other.pool_),
      max_buffers_(other.max_buffers_),
      head_offset_(std::exchange(other.head_offset_, 0)),
      head_(std::exchange(other.head_, kNone)),
      last_(std::exchange(other.last_, kNone)),
      length_(std::exchange(other.length_, 0)),
      reserved_(std::exchange(other.reserved_, 0)) {}

BufferChain& BufferChain::operator=(BufferChain&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = other.pool_;
    max_buffers_ = other.max_buffers_;
    head_offset_ = std::exchange(other.head_offset_, 0);
    head_ = std::exchange(other.head_, kNone);
    last_ = std::exchange(other.last_, kNone);
    length_ = std::exchange(other.length_, 0);
    reserved_ = std::exchange(other.reserved_, 0);
  }
  return *this;
}

void BufferChain::swap(BufferChain& other) noexcept {
  std::swap(pool_, other.pool_);
  std::swap(max_buffers_, other.max_buffers_);
  std::swap(head_offset_, other.head_offset_);
  std::swap(head_, other.head_);
  std::swap(last_, other.last_);
  std::swap(length_, other.length_);
  std::swap(reserved_, other.reserved_);
}

uint32_t BufferChain::content_buffers() const {
  if (length_ == 0) return 0;
  return static_cast<uint32_t>(div_up(head_offset_ + length_, pool_->buffer_size()));
}

size_t BufferChain::tail_used() const {
  assert(length_ > 0);
  return (head_offset_ + length_ - 1) % pool_->buffer_size() + 1;
}

uint32_t BufferChain::spare_buffers() const {
  const size_t size = pool_->buffer_size();
  const size_t free_in_last = length_ == 0 ? 0 : size - tail_used();
  return static_cast<uint32_t>(buffers_to_cover(reserved_, free_in_last, size));
}

size_t BufferChain::spare() const {
  return size_t{buffer_count()} * pool_->buffer_size() - head_offset_ - length_;
}

BufferChain::Cursor BufferChain::write_cursor() const {
  if (length_ == 0) return {head_, 0};
  const size_t used = tail_used();
  if (used < pool_->buffer_size()) return {last_, used};
  return {pool_->next(last_), 0};
}

bool BufferChain::reserve(size_t bytes) {
  const size_t have = spare();
  if (bytes > have) {
    const size_t needed = div_up(bytes - have, pool_->buffer_size());
    if (needed > max_buffers_ - buffer_count()) return false;
    uint32_t first, tail;
    if (!pool_->acquire_list(static_cast<uint32_t>(needed), &first, &tail)) return false;
    // Every buffer after the content is empty, so the new ones can go right
    // after it without a pointer to the far end of the list.
    if (length_ == 0) {
      pool_->set_next(tail, head_);
      head_ = first;
    } else {
      pool_->set_next(tail, pool_->next(last_));
      pool_->set_next(last_, first);
    }
  }
  reserved_ = std::max(reserved_, bytes);
  return true;
}

size_t BufferChain::append(std::span<const char> bytes) {
  const size_t size = pool_->buffer_size();
  Cursor at = write_cursor();
  size_t copied = 0;
  while (copied < bytes.size()) {
    if (at.buffer == kNone) {
      // No spare buffer left, so the chain holds only its content's buffers.
      if (content_buffers() >= max_buffers_) break;
      const uint32_t index = pool_->acquire();
      if (index == kNone) break;
      if (length_ == 0) {
        head_ = index;
      } else {
        pool_->set_next(last_, index);
      }
      at = {index, 0};
    }
    const size_t n = std::min(bytes.size() - copied, size - at.offset);
    std::memcpy(pool_->data(at.buffer) + at.offset, bytes.data() + copied, n);
    last_ = at.buffer;
    length_ += n;
    reserved_ -= std::min(reserved_, n);
    copied += n;
    at.offset += n;
    if (at.offset == size) at = {pool_->next(at.buffer), 0};
  }
  return copied;
}

size_t BufferChain::writable_iovecs(iovec* out, size_t max_iov, size_t limit) {
  const size_t size = pool_->buffer_size();
  Cursor at = write_cursor();
  size_t left = std::min(limit, spare());
  size_t n = 0;
  while (left > 0 && n < max_iov) {
    const size_t len = std::min(left, size - at.offset);
    out[n].iov_base = pool_->data(at.buffer) + at.offset;
    out[n].iov_len = len;
    ++n;
    left -= len;
    at = {pool_->next(at.buffer), 0};
  }
  return n;
}

void BufferChain::advance(size_t n) {
  const size_t size = pool_->buffer_size();
  Cursor at = write_cursor();
  while (n > 0) {
    assert(at.buffer != kNone);
    const size_t len = std::min(n, size - at.offset);
    last_ = at.buffer;
    length_ += len;
    reserved_ -= std::min(reserved_, len);
    n -= len;
    at = {pool_->next(at.buffer), 0};
  }
}

void BufferChain::commit(size_t n) {
  assert(n <= spare());
  advance(n);
}

size_t BufferChain::iovecs(size_t offset, size_t limit, iovec* out, size_t max_iov) const {
  if (offset >= length_) return 0;
  const size_t size = pool_->buffer_size();
  size_t pos = head_offset_ + offset;
  uint32_t buffer = head_;
  for (; pos >= size; pos -= size) buffer = pool_->next(buffer);
  size_t left = std::min(limit, length_ - offset);
  size_t n = 0;
  while (left > 0 && n < max_iov) {
    const size_t len = std::min(left, size - pos);
    out[n].iov_base = pool_->data(buffer) + pos;
    out[n].iov_len = len;
    ++n;
    left -= len;
    buffer = pool_->next(buffer);
    pos = 0;
  }
  return n;
}

void BufferChain::copy_out(size_t offset, std::span<char> dst) const {
  assert(offset + dst.size() <= length_);
  if (dst.empty()) return;
  const size_t size = pool_->buffer_size();
  size_t pos = head_offset_ + offset;
  uint32_t buffer = head_;
  for (; pos >= size; pos -= size) buffer = pool_->next(buffer);
  size_t copied = 0;
  while (copied < dst.size()) {
    const size_t len = std::min(dst.size() - copied, size - pos);
    std::memcpy(dst.data() + copied, pool_->data(buffer) + pos, len);
    copied += len;
    buffer = pool_->next(buffer);
    pos = 0;
  }
}

void BufferChain::consume(size_t n) {
  assert(n <= length_);
  n = std::min(n, length_);
  const size_t size = pool_->buffer_size();
  if (n == length_) {
    // Content gone: start over at the front of the held space, keeping just
    // the buffers a pending reservation still needs.
    const uint32_t keep = static_cast<uint32_t>(div_up(reserved_, size));
    for (uint32_t held = buffer_count(); held > keep; --held) {
      const uint32_t next = pool_->next(head_);
      pool_->release(head_);
      head_ = next;
    }
    head_offset_ = 0;
    length_ = 0;
    last_ = kNone;
    return;
  }
  size_t pos = head_offset_ + n;
  for (; pos >= size; pos -= size) {
    const uint32_t next = pool_->next(head_);
    pool_->release(head_);
    head_ = next;
  }
  head_offset_ = static_cast<uint32_t>(pos);
  length_ -= n;
}

void BufferChain::release_list(uint32_t list) {
  while (list != kNone) {
    const uint32_t next = pool_->next(list);
    pool_->release(list);
    list = next;
  }
}

void BufferChain::release() {
  release_list(head_);
  head_ = kNone;
  last_ = kNone;
  head_offset_ = 0;
  length_ = 0;
  reserved_ = 0;
}

uint32_t BufferChain::charge(BufferAccounts::Handle& handle) {
  BufferAccounts& accounts = pool_->accounts();
  for (uint32_t buffer = head_; buffer != kNone; buffer = pool_->next(buffer)) {
    if (!accounts.charged(buffer)) accounts.charge(handle, buffer);
  }
  return accounts.held(handle);
}

uint32_t BufferChain::detach_spare() {
  if (length_ == 0) return std::exchange(head_, kNone);
  const uint32_t spare_list = pool_->next(last_);
  pool_->set_next(last_, kNone);
  return spare_list;
}

uint32_t BufferChain::push_all(uint32_t stack, uint32_t list) {
  while (list != kNone) {
    const uint32_t next = pool_->next(list);
    pool_->set_next(list, stack);
    stack = list;
    list = next;
  }
  return stack;
}

bool BufferChain::split_front(size_t n, BufferChain& front) {
  const size_t size = pool_->buffer_size();
  if (front.pool_ != pool_ || front.buffer_count() != 0 || &front == this || n == 0 ||
      n >= length_ || (head_offset_ + n) % size != 0) {
    return false;
  }
  const auto buffers = static_cast<uint32_t>((head_offset_ + n) / size);
  if (buffers > front.max_buffers_) return false;
  uint32_t last = head_;
  for (uint32_t i = 1; i < buffers; ++i) last = pool_->next(last);
  front.head_ = head_;
  front.head_offset_ = head_offset_;
  front.last_ = last;
  front.length_ = n;
  front.reserved_ = 0;
  head_ = pool_->next(last);
  pool_->set_next(last, kNone);
  head_offset_ = 0;
  length_ -= n;
  return true;
}

bool BufferChain::splice_from(BufferChain& other) {
  assert(&other != this && pool_ == other.pool_);
  if (&other == this || pool_ != other.pool_) return false;
  if (other.length_ == 0) {
    other.release();
    return true;
  }
  const size_t size = pool_->buffer_size();
  const bool relink = length_ == 0 || (tail_used() == size && other.head_offset_ == 0);

  // The result is fully determined up front, so every check happens before
  // anything moves.
  const size_t start = length_ == 0 ? other.head_offset_ : head_offset_;
  const size_t end = start + length_ + other.length_;
  const size_t content = div_up(end, size);
  const size_t spare_needed = buffers_to_cover(reserved_, content * size - end, size);
  if (content + spare_needed > max_buffers_) return false;
  // Never more buffers than the two chains hold now: linking keeps the
  // content's buffers and our spare ones, which already cover the
  // reservation. Packing either frees none of the content's buffers and then
  // leaves at least as much room in the new last buffer as ours had, or frees
  // one, which makes up for any room lost (less than one buffer).
  assert(content + spare_needed <= size_t{buffer_count()} + other.buffer_count());
  // Unused buffers, linked through the pool; what the result does not need
  // goes back at the end.
  uint32_t stock = kNone;
  stock = push_all(stock, detach_spare());
  stock = push_all(stock, other.detach_spare());

  if (relink) {
    if (length_ == 0) {
      head_ = other.head_;
      head_offset_ = other.head_offset_;
    } else {
      pool_->set_next(last_, other.head_);
    }
    last_ = other.last_;
  } else {
    // Pack other's bytes right after ours, moving them towards the front
    // within other's own buffers: in the sequence [last_, other's buffers...]
    // the write position always trails the read position, so nothing is
    // overwritten before it is read (memmove covers a shared buffer).
    uint32_t dst = last_;
    size_t dst_offset = tail_used();
    uint32_t next_dst = other.head_;
    uint32_t src = other.head_;
    size_t src_offset = other.head_offset_;
    for (size_t left = other.length_; left > 0;) {
      if (dst_offset == size) {
        dst = next_dst;
        next_dst = pool_->next(dst);
        dst_offset = 0;
      }
      if (src_offset == size) {
        src = pool_->next(src);
        src_offset = 0;
      }
      const size_t n = std::min({left, size - dst_offset, size - src_offset});
      std::memmove(pool_->data(dst) + dst_offset, pool_->data(src) + src_offset, n);
      dst_offset += n;
      src_offset += n;
      left -= n;
    }
    if (dst == last_) {
      stock = push_all(stock, other.head_);  // all of it fitted in our last buffer
    } else {
      pool_->set_next(last_, other.head_);
      stock = push_all(stock, pool_->next(dst));
      pool_->set_next(dst, kNone);
      last_ = dst;
    }
  }
  length_ += other.length_;
  other.head_ = kNone;
  other.last_ = kNone;
  other.head_offset_ = 0;
  other.length_ = 0;
  other.reserved_ = 0;

  // Empty buffers for our reservation go after the new content; the rest back.
  uint32_t at = last_;
  for (size_t i = 0; i < spare_needed; ++i) {
    assert(stock != kNone);
    const uint32_t buffer = stock;
    stock = pool_->next(buffer);
    pool_->set_next(at, buffer);
    at = buffer;
  }
  pool_->set_next(at, kNone);
  release_list(stock);
  assert(buffer_count() == content + spare_needed);
  return true;
}

}  // namespace mcguard
