#include "proxy/io/descriptor_table.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <system_error>
#include <vector>

namespace mcguard {
namespace {

// Without a hard limit, the kernel's own ceiling on descriptors per process.
constexpr size_t kDefaultNrOpen = 1u << 20;
// Past this, the reservation alone would be unreasonable; no kernel default comes close.
constexpr size_t kMaxCapacity = size_t{1} << 26;

size_t nr_open() {
  size_t value = kDefaultNrOpen;
  if (FILE* file = std::fopen("/proc/sys/fs/nr_open", "r")) {
    unsigned long read = 0;
    if (std::fscanf(file, "%lu", &read) == 1 && read > 0) value = read;
    std::fclose(file);
  }
  return value;
}

// Every descriptor number the process can ever have: the soft limit may be
// raised up to the hard one at any time (Server does), never past it.
size_t descriptor_capacity() {
  rlimit limit{};
  size_t capacity = kDefaultNrOpen;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    capacity = limit.rlim_max == RLIM_INFINITY ? nr_open() : static_cast<size_t>(limit.rlim_max);
  }
  return std::clamp<size_t>(capacity, 1024, kMaxCapacity);
}

std::mutex owner_ids_mutex;
std::vector<bool> owner_ids_used(kMaxOwnerId + 1);

}  // namespace

DescriptorTable::DescriptorTable(size_t entry_bytes) : capacity_(descriptor_capacity()) {
  bytes_ = capacity_ * entry_bytes;
  // Zero pages on first touch; MAP_NORESERVE: no swap is reserved for pages never written.
  base_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
               -1, 0);
  if (base_ == MAP_FAILED) {
    base_ = nullptr;
    throw std::system_error(errno, std::generic_category(), "descriptor table reservation");
  }
  // Page by page: a transparent huge page would make 2 MiB of entries resident for one.
  madvise(base_, bytes_, MADV_NOHUGEPAGE);
}

DescriptorTable::~DescriptorTable() {
  if (base_ != nullptr) munmap(base_, bytes_);
}

uint16_t acquire_owner_id() {
  std::lock_guard lock(owner_ids_mutex);
  for (uint16_t id = 1; id <= kMaxOwnerId; ++id) {
    if (!owner_ids_used[id]) {
      owner_ids_used[id] = true;
      return id;
    }
  }
  throw std::system_error(EMFILE, std::generic_category(), "too many event loops");
}

void release_owner_id(uint16_t id) {
  std::lock_guard lock(owner_ids_mutex);
  owner_ids_used[id] = false;
}

}  // namespace mcguard
