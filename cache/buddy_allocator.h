// BuddyAllocator: power-of-two blocks of 64 B .. 1 MiB carved from one region of
// `capacity` bytes mapped once, never more. Freed blocks coalesce with their free
// buddies, so memory never calcifies into size classes. Metadata (one byte per
// 64 B) is mapped at start-up; free-list links live inside the free blocks.
// Thread-safe (one mutex); allocation never evicts: the store does that.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>

#include "cache/mapping.h"

namespace mcguard {

class BuddyAllocator {
 public:
  static constexpr size_t kMinBlock = 64;
  static constexpr unsigned kMaxOrder = 14;
  static constexpr size_t kMaxBlock = kMinBlock << kMaxOrder;  // 1 MiB
  static constexpr unsigned kNoOrder = 0xff;

  // Maps `capacity` bytes (rounded down to 64). Throws std::system_error when the
  // mapping fails.
  explicit BuddyAllocator(size_t capacity);
  ~BuddyAllocator();
  BuddyAllocator(const BuddyAllocator&) = delete;
  BuddyAllocator& operator=(const BuddyAllocator&) = delete;

  static constexpr size_t block_size(unsigned order) { return kMinBlock << order; }
  // Smallest order whose block holds `bytes`; kNoOrder above kMaxBlock.
  static unsigned order_for(size_t bytes);

  // A block of block_size(order) bytes, or nullptr when none can be formed now.
  void* allocate(unsigned order);
  // Returns blocks from allocate(), in one critical section.
  void free(std::span<void* const> blocks);
  void free(void* block) { free(std::span<void* const>(&block, 1)); }

  // The allocator whose region holds `p` (every live allocator registers itself),
  // or nullptr.
  static BuddyAllocator* owner_of(const void* p);
  bool contains(const void* p) const {
    const char* c = static_cast<const char*>(p);
    return c >= base_ && c < base_ + capacity_;
  }

  size_t capacity() const { return capacity_; }
  // Allocation fails once in_use() would pass the limit (capacity() until set; a
  // larger value is taken as capacity()). Lowering it frees nothing: the caller evicts.
  void set_limit(size_t bytes);
  size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  // Bytes in allocated blocks (block sizes, so rounding counts).
  size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  // The largest order this region can ever form (regions under 1 MiB form less);
  // kNoOrder when the region is smaller than one block.
  unsigned largest_order() const { return largest_order_; }
  // Order of an allocated block; kNoOrder for anything else. For tests and asserts.
  unsigned allocated_order(const void* block) const;
  // Free blocks of each order (blocks never handed out are not counted). For tests
  // and `stats slabs`.
  size_t free_blocks(unsigned order) const;
  // Blocks of `order` handed out and not yet freed (`stats slabs`).
  size_t allocated_blocks(unsigned order) const;

 private:
  struct FreeNode {
    FreeNode* prev;
    FreeNode* next;
  };
  // meta_ byte of a block's first 64 B unit: kFree|order, kAllocated|order, or 0.
  static constexpr uint8_t kFree = 0x80;
  static constexpr uint8_t kAllocated = 0x40;
  static constexpr uint8_t kOrderMask = 0x0f;

  size_t unit(size_t offset) const { return offset / kMinBlock; }
  void push_free(size_t offset, unsigned order);
  void remove_free(size_t offset, unsigned order);
  void free_locked(void* block);

  Mapping region_;
  Mapping meta_map_;
  char* base_ = nullptr;
  size_t capacity_ = 0;
  uint8_t* meta_ = nullptr;
  unsigned largest_order_ = kNoOrder;

  mutable std::mutex mutex_;
  FreeNode* free_heads_[kMaxOrder + 1] = {};
  size_t free_counts_[kMaxOrder + 1] = {};
  size_t allocated_counts_[kMaxOrder + 1] = {};
  // Whole 1 MiB blocks in [fresh_, fresh_end_) were never handed out: taking them
  // lazily keeps their pages untouched (and out of RSS) until needed.
  size_t fresh_ = 0;
  size_t fresh_end_ = 0;
  std::atomic<size_t> in_use_{0};
  std::atomic<size_t> limit_{0};  // read and compared under mutex_ by allocate()
  int registry_slot_ = -1;
};

}  // namespace mcguard
