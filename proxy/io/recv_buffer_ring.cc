#include "proxy/io/recv_buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace mcguard {
namespace {

void* map_or_throw(size_t bytes, const char* what) {
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw std::system_error(errno, std::generic_category(), what);
  return memory;
}

}  // namespace

RecvBufferRing::RecvBufferRing(uint32_t count, uint32_t size)
    : count_(count), size_(size), offset_(count), length_(count), next_(count, kNone) {
  data_bytes_ = size_t{count} * size;
  data_ = static_cast<char*>(map_or_throw(data_bytes_, "io_uring receive buffers"));
  ring_bytes_ = sizeof(io_uring_buf) * count;
  ring_ = static_cast<io_uring_buf_ring*>(map_or_throw(ring_bytes_, "io_uring buffer ring"));
}

RecvBufferRing::~RecvBufferRing() {
  detach();
  munmap(data_, data_bytes_);
  munmap(ring_, ring_bytes_);
}

bool RecvBufferRing::attach(io_uring* ring, uint16_t group, std::string* error) {
  io_uring_buf_ring_init(ring_);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<uint64_t>(ring_);
  registration.ring_entries = count_;
  registration.bgid = group;
  int rc = io_uring_register_buf_ring(ring, &registration, 0);
  if (rc != 0) {
    *error = std::string("provided-buffer ring: ") + std::strerror(-rc);
    return false;
  }
  uring_ = ring;
  group_ = group;
  const int mask = io_uring_buf_ring_mask(count_);
  for (uint32_t id = 0; id < count_; ++id) {
    io_uring_buf_ring_add(ring_, data_ + size_t{id} * size_, size_, static_cast<uint16_t>(id), mask,
                          static_cast<int>(id));
  }
  io_uring_buf_ring_advance(ring_, static_cast<int>(count_));
  held_ = 0;
  return true;
}

void RecvBufferRing::detach() {
  if (uring_ == nullptr) return;
  io_uring_unregister_buf_ring(uring_, group_);
  uring_ = nullptr;
}

void RecvBufferRing::taken(uint16_t id, uint32_t length) {
  ++held_;
  offset_[id] = 0;
  length_[id] = length;
  next_[id] = kNone;
}

void RecvBufferRing::recycle(uint16_t id) {
  --held_;
  io_uring_buf_ring_add(ring_, data_ + size_t{id} * size_, size_, id,
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(ring_, 1);
}

void RecvBufferRing::push(Stash& stash, uint16_t id) {
  next_[id] = kNone;
  if (stash.empty()) {
    stash.head = stash.tail = id;
  } else {
    next_[stash.tail] = id;
    stash.tail = id;
  }
}

void RecvBufferRing::pop(Stash& stash) {
  const uint32_t id = stash.head;
  stash.head = next_[id];
  if (stash.head == kNone) stash.tail = kNone;
  recycle(static_cast<uint16_t>(id));
}

void RecvBufferRing::recycle_all(Stash& stash) {
  while (!stash.empty()) pop(stash);
}

}  // namespace mcguard
