// RecvBufferRing: stashed buffers come back in arrival order, partial
// consumption is remembered, and every buffer handed out is counted until it
// is recycled.
#include "proxy/io/recv_buffer_ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace mcguard {
namespace {

// Pretends the kernel filled buffer `id` with `text`.
void fill(RecvBufferRing& ring, uint16_t id, const std::string& text) {
  ring.taken(id, static_cast<uint32_t>(text.size()));
  std::memcpy(const_cast<char*>(ring.bytes(id)), text.data(), text.size());
}

TEST(RecvBufferRing, StashIsFirstInFirstOutAndRemembersPartialConsumption) {
  RecvBufferRing ring(8, 64);
  EXPECT_EQ(ring.available(), 8u);
  RecvBufferRing::Stash stash;
  EXPECT_TRUE(stash.empty());
  fill(ring, 5, "first");
  fill(ring, 2, "second");
  fill(ring, 7, "third");
  ring.push(stash, 5);
  ring.push(stash, 2);
  ring.push(stash, 7);
  EXPECT_EQ(ring.available(), 5u);

  EXPECT_EQ(ring.front(stash), 5);
  ring.consume(5, 2);
  EXPECT_EQ(std::string(ring.bytes(5), ring.length(5)), "rst");
  ring.pop(stash);
  EXPECT_EQ(ring.available(), 6u);
  EXPECT_EQ(ring.front(stash), 2);
  EXPECT_EQ(std::string(ring.bytes(2), ring.length(2)), "second");
  ring.pop(stash);
  EXPECT_EQ(ring.front(stash), 7);
  ring.pop(stash);
  EXPECT_TRUE(stash.empty());
  EXPECT_EQ(ring.available(), 8u);
}

TEST(RecvBufferRing, RecycleAllEmptiesAStashAndReturnsEveryBuffer) {
  RecvBufferRing ring(4, 32);
  RecvBufferRing::Stash a, b;
  fill(ring, 0, "a0");
  fill(ring, 1, "b0");
  fill(ring, 2, "a1");
  ring.push(a, 0);
  ring.push(b, 1);
  ring.push(a, 2);
  EXPECT_EQ(ring.available(), 1u);
  ring.recycle_all(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(ring.available(), 3u);
  // The other connection's stash is untouched.
  EXPECT_EQ(ring.front(b), 1);
  EXPECT_EQ(std::string(ring.bytes(1), ring.length(1)), "b0");
  ring.recycle_all(b);
  EXPECT_EQ(ring.available(), 4u);
}

TEST(RecvBufferRing, AttachesToARealRingWhereTheKernelAllowsIt) {
  io_uring uring;
  if (io_uring_queue_init(8, &uring, 0) != 0) GTEST_SKIP() << "io_uring refused here";
  RecvBufferRing ring(16, 1024);
  std::string error;
  EXPECT_TRUE(ring.attach(&uring, 3, &error)) << error;
  EXPECT_EQ(ring.available(), 16u);
  ring.detach();
  io_uring_queue_exit(&uring);
}

}  // namespace
}  // namespace mcguard
