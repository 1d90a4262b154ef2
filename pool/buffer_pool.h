// BufferPool: a fixed set of equal-size I/O buffers carved from one slab that is
// mapped once at start-up. acquire() and release() are O(1) (a free stack of
// indices) and never touch the heap, so the pool's size is a hard memory bound.
// Each buffer also has one link slot, so BufferChains can string buffers into
// lists without memory of their own, and an account slot (BufferAccounts), so
// a holder can tell what its buffers still pin after handing them on.
// Not thread-safe: one pool per worker.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "pool/buffer_accounts.h"

namespace mcguard {

// A value with one writer (the pool's worker) that `stats` may read from
// another thread: relaxed loads and stores, which cost what plain ones do.
template <typename T>
class RelaxedValue {
 public:
  RelaxedValue(T value = 0) : value_(value) {}  // NOLINT: used like a plain T
  operator T() const { return value_.load(std::memory_order_relaxed); }
  RelaxedValue& operator=(T value) {
    value_.store(value, std::memory_order_relaxed);
    return *this;
  }
  T operator++() { return set(static_cast<T>(*this) + 1); }
  T operator--() { return set(static_cast<T>(*this) - 1); }
  T operator++(int) {
    const T old = *this;
    set(old + 1);
    return old;
  }

 private:
  T set(T value) {
    value_.store(value, std::memory_order_relaxed);
    return value;
  }
  std::atomic<T> value_;
};

class BufferPool {
 public:
  static constexpr uint32_t kNoBuffer = UINT32_MAX;

  // Maps buffer_count * buffer_size bytes. Throws std::system_error when the
  // mapping fails; this only happens at start-up.
  BufferPool(uint32_t buffer_count, uint32_t buffer_size);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // One buffer, or kNoBuffer when none is free (counted in failed_acquires).
  uint32_t acquire();
  // A reservation: `count` buffers written to `out`, or none at all (false,
  // counted once in failed_acquires). Whole-or-nothing keeps half-filled
  // reservations from holding the pool while they wait for each other.
  bool acquire_many(uint32_t count, uint32_t* out);
  // The same reservation, handed out as a list linked through next(): *head
  // and *tail are its ends, next(*tail) is kNoBuffer. count 0 succeeds with
  // both set to kNoBuffer.
  bool acquire_list(uint32_t count, uint32_t* head, uint32_t* tail);
  // Also takes the buffer off the account it was charged to, if any.
  void release(uint32_t index);

  // The link array BufferChain keeps its lists in: one slot per buffer,
  // allocated with the pool, meaningful only while the buffer is held and only
  // to its holder. acquire() sets a buffer's slot to kNoBuffer.
  uint32_t next(uint32_t index) const { return next_[index]; }
  void set_next(uint32_t index, uint32_t next) { next_[index] = next; }

  char* data(uint32_t index) { return slab_ + size_t{index} * buffer_size_; }
  const char* data(uint32_t index) const { return slab_ + size_t{index} * buffer_size_; }

  // Who holds which buffers (see BufferAccounts); charge only buffers held.
  BufferAccounts& accounts() { return accounts_; }
  const BufferAccounts& accounts() const { return accounts_; }

  uint32_t buffer_size() const { return buffer_size_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t available() const { return free_top_; }
  uint32_t in_use() const { return capacity_ - free_top_; }
  uint32_t high_water() const { return high_water_; }
  uint64_t failed_acquires() const { return failed_acquires_; }

 private:
  void note_in_use();

  char* slab_ = nullptr;
  size_t slab_bytes_ = 0;
  uint32_t buffer_size_;
  uint32_t capacity_;
  std::unique_ptr<uint32_t[]> free_stack_;
  std::unique_ptr<uint32_t[]> next_;  // per buffer: BufferChain's list links
  std::unique_ptr<bool[]> held_;      // per buffer, debug builds only: catches double release
  BufferAccounts accounts_;
  RelaxedValue<uint32_t> free_top_ = 0;  // number of free indices on the stack
  RelaxedValue<uint32_t> high_water_ = 0;
  RelaxedValue<uint64_t> failed_acquires_ = 0;
};

}  // namespace mcguard
