#include "cache/buddy_allocator.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <new>
#include <stdexcept>

namespace mcguard {
namespace {

// Live allocators, so an item can be freed knowing only its address (ItemRef's
// release carries no store pointer). A handful at most: one per tier, a few in tests.
constexpr int kRegistrySlots = 64;
std::atomic<BuddyAllocator*> g_registry[kRegistrySlots];
std::atomic<int> g_registry_used{0};  // slots [0, used) may be occupied

int register_allocator(BuddyAllocator* allocator) {
  for (int i = 0; i < kRegistrySlots; ++i) {
    BuddyAllocator* expected = nullptr;
    if (g_registry[i].compare_exchange_strong(expected, allocator)) {
      int used = g_registry_used.load();
      while (used < i + 1 && !g_registry_used.compare_exchange_weak(used, i + 1)) {
      }
      return i;
    }
  }
  throw std::runtime_error("too many embedded stores in one process");
}

}  // namespace

unsigned BuddyAllocator::order_for(size_t bytes) {
  if (bytes > kMaxBlock) return kNoOrder;
  if (bytes <= kMinBlock) return 0;
  return static_cast<unsigned>(std::bit_width((bytes - 1) / kMinBlock));
}

BuddyAllocator::BuddyAllocator(size_t capacity)
    : region_(capacity / kMinBlock * kMinBlock),
      meta_map_(capacity / kMinBlock),
      base_(region_.data()),
      capacity_(region_.size()),
      meta_(meta_map_.as<uint8_t>()) {
  limit_.store(capacity_, std::memory_order_relaxed);
  fresh_end_ = capacity_ / kMaxBlock * kMaxBlock;
  if (fresh_end_ > 0) largest_order_ = kMaxOrder;
  // The tail below 1 MiB becomes free blocks at once, largest first, each aligned
  // to its own size because the tail starts 1 MiB-aligned.
  size_t offset = fresh_end_;
  for (unsigned order = kMaxOrder; order-- > 0;) {
    if (offset + block_size(order) <= capacity_) {
      if (largest_order_ == kNoOrder) largest_order_ = order;
      push_free(offset, order);
      offset += block_size(order);
    }
  }
  registry_slot_ = register_allocator(this);
}

BuddyAllocator::~BuddyAllocator() { g_registry[registry_slot_].store(nullptr); }

BuddyAllocator* BuddyAllocator::owner_of(const void* p) {
  const int used = g_registry_used.load(std::memory_order_acquire);
  for (int i = 0; i < used; ++i) {
    BuddyAllocator* a = g_registry[i].load(std::memory_order_acquire);
    if (a != nullptr && a->contains(p)) return a;
  }
  return nullptr;
}

void BuddyAllocator::push_free(size_t offset, unsigned order) {
  auto* node = new (base_ + offset) FreeNode{nullptr, free_heads_[order]};
  if (node->next != nullptr) node->next->prev = node;
  free_heads_[order] = node;
  ++free_counts_[order];
  meta_[unit(offset)] = static_cast<uint8_t>(kFree | order);
}

void BuddyAllocator::remove_free(size_t offset, unsigned order) {
  auto* node = reinterpret_cast<FreeNode*>(base_ + offset);
  if (node->prev != nullptr) {
    node->prev->next = node->next;
  } else {
    free_heads_[order] = node->next;
  }
  if (node->next != nullptr) node->next->prev = node->prev;
  --free_counts_[order];
  meta_[unit(offset)] = 0;
}

void BuddyAllocator::set_limit(size_t bytes) {
  std::lock_guard lock(mutex_);
  limit_.store(std::min(bytes, capacity_), std::memory_order_relaxed);
}

void* BuddyAllocator::allocate(unsigned order) {
  if (order > kMaxOrder) return nullptr;
  std::lock_guard lock(mutex_);
  if (in_use_.load(std::memory_order_relaxed) + block_size(order) >
      limit_.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  unsigned k = order;
  while (k <= kMaxOrder && free_heads_[k] == nullptr) ++k;
  size_t offset;
  if (k <= kMaxOrder) {
    offset = static_cast<size_t>(reinterpret_cast<char*>(free_heads_[k]) - base_);
    remove_free(offset, k);
  } else if (fresh_ < fresh_end_) {
    // Recycled blocks first; untouched memory only when nothing else fits.
    offset = fresh_;
    fresh_ += kMaxBlock;
    k = kMaxOrder;
  } else {
    return nullptr;
  }
  while (k > order) {
    --k;
    push_free(offset + block_size(k), k);
  }
  meta_[unit(offset)] = static_cast<uint8_t>(kAllocated | order);
  ++allocated_counts_[order];
  in_use_.fetch_add(block_size(order), std::memory_order_relaxed);
  return base_ + offset;
}

void BuddyAllocator::free(std::span<void* const> blocks) {
  std::lock_guard lock(mutex_);
  for (void* block : blocks) free_locked(block);
}

void BuddyAllocator::free_locked(void* block) {
  size_t offset = static_cast<size_t>(static_cast<char*>(block) - base_);
  assert(contains(block) && offset % kMinBlock == 0);
  const uint8_t meta = meta_[unit(offset)];
  assert((meta & kAllocated) != 0 && "freeing a block that is not allocated");
  unsigned order = meta & kOrderMask;
  meta_[unit(offset)] = 0;
  --allocated_counts_[order];
  in_use_.fetch_sub(block_size(order), std::memory_order_relaxed);
  while (order < kMaxOrder) {
    const size_t buddy = offset ^ block_size(order);
    // A buddy past the end of the region does not exist; one that is allocated,
    // split, or never handed out (fresh) has a different meta byte.
    if (buddy + block_size(order) > capacity_) break;
    if (meta_[unit(buddy)] != (kFree | order)) break;
    remove_free(buddy, order);
    offset = std::min(offset, buddy);
    ++order;
  }
  push_free(offset, order);
}

unsigned BuddyAllocator::allocated_order(const void* block) const {
  if (!contains(block)) return kNoOrder;
  const size_t offset = static_cast<size_t>(static_cast<const char*>(block) - base_);
  if (offset % kMinBlock != 0) return kNoOrder;
  std::lock_guard lock(mutex_);
  const uint8_t meta = meta_[unit(offset)];
  return (meta & kAllocated) != 0 ? (meta & kOrderMask) : kNoOrder;
}

size_t BuddyAllocator::free_blocks(unsigned order) const {
  std::lock_guard lock(mutex_);
  return order <= kMaxOrder ? free_counts_[order] : 0;
}

size_t BuddyAllocator::allocated_blocks(unsigned order) const {
  std::lock_guard lock(mutex_);
  return order <= kMaxOrder ? allocated_counts_[order] : 0;
}

}  // namespace mcguard
