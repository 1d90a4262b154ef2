// DescriptorTable: process-wide storage indexed by descriptor number, one
// entry per descriptor for the whole process however many workers there are.
// Descriptor numbers are process-wide and the workers' interleave, so a
// table per worker would grow in every worker to cover every descriptor.
// An entry belongs to the worker that holds the descriptor: it is written
// only after the kernel gave that worker the descriptor, and handed back
// (descriptor_released) before the worker closes it. The kernel orders that
// close before the next accept() or socket() returning the same number, and
// the hand-over annotations tell ThreadSanitizer so.
//
// The table is reserved up front, as virtual memory, for every descriptor the
// process can have (the hard RLIMIT_NOFILE): untouched pages cost nothing, a
// lookup is one indexed load, and an entry never moves. All-zero bytes are an
// empty entry.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_THREAD__)
#define MCGUARD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MCGUARD_TSAN 1
#endif
#endif

#ifdef MCGUARD_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace mcguard {

class DescriptorTable {
 public:
  // Reserves `entry_bytes` for each possible descriptor. Throws
  // std::system_error when the address space cannot be reserved.
  explicit DescriptorTable(size_t entry_bytes);
  ~DescriptorTable();
  DescriptorTable(const DescriptorTable&) = delete;
  DescriptorTable& operator=(const DescriptorTable&) = delete;

  void* base() const { return base_; }
  // Descriptors below this have an entry.
  size_t capacity() const { return capacity_; }

 private:
  void* base_ = nullptr;
  size_t bytes_ = 0;
  size_t capacity_ = 0;
};

// The process's table of `T` entries (one per type, created at first use and
// never freed or moved).
template <typename T>
T* process_table(size_t* capacity) {
  static DescriptorTable table(sizeof(T));
  *capacity = table.capacity();
  return static_cast<T*>(table.base());
}

// Hand-over points of a descriptor's entries between workers: `released`
// after the last write of its entries and before close(); `acquired` after
// the kernel gave the descriptor and before the first write. `sync` is the
// same address for both (one per descriptor).
inline void descriptor_released([[maybe_unused]] void* sync) {
#ifdef MCGUARD_TSAN
  __tsan_release(sync);
#endif
}
inline void descriptor_acquired([[maybe_unused]] void* sync) {
#ifdef MCGUARD_TSAN
  __tsan_acquire(sync);
#endif
}

// A small number naming one event loop as an entry's owner (1..kMaxOwnerId),
// reused once the loop is gone.
constexpr uint16_t kMaxOwnerId = 0x7fff;
uint16_t acquire_owner_id();
void release_owner_id(uint16_t id);

}  // namespace mcguard
