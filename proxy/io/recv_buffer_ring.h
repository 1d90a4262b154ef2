// RecvBufferRing: the buffers an io_uring worker receives into, handed to the
// kernel as one provided-buffer ring. The kernel picks a free buffer when data
// arrives, so an idle connection holds none. A buffer the application could
// not consume at once (its connection was not reading) waits in that
// connection's Stash, a FIFO linked through this ring, and goes back to the
// kernel as soon as it is consumed: bytes are never lost or reordered.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mcguard {

class RecvBufferRing {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  // Received buffers one connection has not consumed yet, oldest first.
  struct Stash {
    uint32_t head = kNone;
    uint32_t tail = kNone;
    bool empty() const { return head == kNone; }
  };

  // `count` must be a power of two. Allocates all memory now; throws
  // std::system_error when it cannot.
  RecvBufferRing(uint32_t count, uint32_t size);
  ~RecvBufferRing();
  RecvBufferRing(const RecvBufferRing&) = delete;
  RecvBufferRing& operator=(const RecvBufferRing&) = delete;

  // Registers the ring as buffer group `group` and gives the kernel every
  // buffer. False (with the reason) when the kernel refuses.
  bool attach(io_uring* ring, uint16_t group, std::string* error);
  void detach();

  // The kernel filled buffer `id` with `length` bytes; it is the application's now.
  void taken(uint16_t id, uint32_t length);
  // Gives buffer `id` back to the kernel.
  void recycle(uint16_t id);
  const char* bytes(uint16_t id) const { return data_ + size_t{id} * size_ + offset_[id]; }
  uint32_t length(uint16_t id) const { return length_[id] - offset_[id]; }
  // The first `n` unconsumed bytes of buffer `id` were consumed.
  void consume(uint16_t id, uint32_t n) { offset_[id] += n; }

  void push(Stash& stash, uint16_t id);
  uint16_t front(const Stash& stash) const { return static_cast<uint16_t>(stash.head); }
  // Removes the front buffer and gives it back to the kernel.
  void pop(Stash& stash);
  void recycle_all(Stash& stash);

  uint32_t count() const { return count_; }
  uint32_t buffer_size() const { return size_; }
  // Buffers the kernel can receive into right now.
  uint32_t available() const { return count_ - held_; }

 private:
  uint32_t count_;
  uint32_t size_;
  char* data_ = nullptr;
  size_t data_bytes_ = 0;
  io_uring_buf_ring* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  io_uring* uring_ = nullptr;
  uint16_t group_ = 0;
  uint32_t held_ = 0;
  std::vector<uint32_t> offset_;
  std::vector<uint32_t> length_;
  std::vector<uint32_t> next_;  // stash links
};

}  // namespace mcguard
