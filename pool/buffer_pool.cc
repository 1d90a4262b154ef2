#include "pool/buffer_pool.h"

#include <sys/mman.h>

#include <cassert>
#include <cerrno>
#include <system_error>

namespace mcguard {

BufferPool::BufferPool(uint32_t buffer_count, uint32_t buffer_size)
    : buffer_size_(buffer_size), capacity_(buffer_count), accounts_(0) {
  if (buffer_size == 0) {
    throw std::system_error(EINVAL, std::generic_category(), "buffer pool: buffer size is 0");
  }
  slab_bytes_ = size_t{buffer_count} * buffer_size;
  if (slab_bytes_ > 0) {
    // MAP_NORESERVE: buffers never acquired cost neither RSS nor commit charge.
    void* slab = mmap(nullptr, slab_bytes_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (slab == MAP_FAILED) {
      throw std::system_error(errno, std::generic_category(), "buffer pool: mmap");
    }
    slab_ = static_cast<char*>(slab);
  }
  free_stack_ = std::make_unique<uint32_t[]>(buffer_count);
  // Lowest index on top, so a lightly used pool keeps touching the same pages.
  for (uint32_t i = 0; i < buffer_count; ++i) free_stack_[i] = buffer_count - 1 - i;
  free_top_ = buffer_count;
  next_ = std::make_unique<uint32_t[]>(buffer_count);
  accounts_ = BufferAccounts(buffer_count);  // after the mapping, which may throw
#ifndef NDEBUG
  held_ = std::make_unique<bool[]>(buffer_count);
#endif
}

BufferPool::~BufferPool() {
  if (slab_ != nullptr) munmap(slab_, slab_bytes_);
}

void BufferPool::note_in_use() {
  const uint32_t used = in_use();
  if (used > high_water_) high_water_ = used;
}

uint32_t BufferPool::acquire() {
  if (free_top_ == 0) {
    ++failed_acquires_;
    return kNoBuffer;
  }
  const uint32_t index = free_stack_[--free_top_];
#ifndef NDEBUG
  assert(!held_[index]);
  held_[index] = true;
#endif
  next_[index] = kNoBuffer;
  note_in_use();
  return index;
}

bool BufferPool::acquire_many(uint32_t count, uint32_t* out) {
  if (count > free_top_) {
    ++failed_acquires_;
    return false;
  }
  for (uint32_t i = 0; i < count; ++i) {
    out[i] = free_stack_[--free_top_];
#ifndef NDEBUG
    assert(!held_[out[i]]);
    held_[out[i]] = true;
#endif
  }
  note_in_use();
  return true;
}

bool BufferPool::acquire_list(uint32_t count, uint32_t* head, uint32_t* tail) {
  *head = kNoBuffer;
  *tail = kNoBuffer;
  if (count > free_top_) {
    ++failed_acquires_;
    return false;
  }
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t index = free_stack_[--free_top_];
#ifndef NDEBUG
    assert(!held_[index]);
    held_[index] = true;
#endif
    next_[index] = kNoBuffer;
    if (*tail == kNoBuffer) {
      *head = index;
    } else {
      next_[*tail] = index;
    }
    *tail = index;
  }
  note_in_use();
  return true;
}

void BufferPool::release(uint32_t index) {
  assert(index < capacity_);
  assert(free_top_ < capacity_);
#ifndef NDEBUG
  assert(held_[index] && "buffer released twice or never acquired");
  held_[index] = false;
#endif
  accounts_.released(index);
  free_stack_[free_top_++] = index;
}

}  // namespace mcguard
