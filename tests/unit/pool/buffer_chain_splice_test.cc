// BufferChain::splice_from, moves and swap: content and buffers change hands
// without copying where the layout allows it, and the pool's count stays exact.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "chain_support.h"
#include "pool/buffer_chain.h"

namespace mcguard {
namespace {

using test::append;
using test::contents;
using test::pattern;

constexpr uint32_t kSize = 8;

// Where each content buffer's bytes start, front to back.
std::vector<const char*> bases(const BufferChain& chain) {
  iovec iov[64];
  const size_t n = chain.iovecs(0, SIZE_MAX, iov, 64);
  std::vector<const char*> out;
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<const char*>(iov[i].iov_base));
  return out;
}

TEST(BufferChainSpliceTest, ChainIsASmallValueThatMovesWithoutThrowing) {
  EXPECT_LE(sizeof(BufferChain), 40u);
  static_assert(std::is_nothrow_move_constructible_v<BufferChain>);
  static_assert(std::is_nothrow_move_assignable_v<BufferChain>);
  static_assert(!std::is_copy_constructible_v<BufferChain>);
}

TEST(BufferChainSpliceTest, RelinksWhenOurContentEndsAtABufferBoundary) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, pattern(2 * kSize, 'a'));
  append(b, pattern(kSize + 3, 'A'));
  const std::vector<const char*> before_a = bases(a), before_b = bases(b);
  ASSERT_EQ(pool.in_use(), 4u);

  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(contents(a), pattern(2 * kSize, 'a') + pattern(kSize + 3, 'A'));
  EXPECT_EQ(a.buffer_count(), 4u);
  EXPECT_EQ(a.spare(), kSize - 3);
  // Same bytes in the same places: nothing was copied.
  std::vector<const char*> expect = before_a;
  expect.insert(expect.end(), before_b.begin(), before_b.end());
  EXPECT_EQ(bases(a), expect);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.buffer_count(), 0u);
  EXPECT_EQ(pool.in_use(), 4u);
  EXPECT_EQ(pool.failed_acquires(), 0u);

  // Both keep working: a appends into b's old last buffer, b starts over.
  append(a, "xyz");
  EXPECT_EQ(a.buffer_count(), 4u);
  EXPECT_EQ(contents(a), pattern(2 * kSize, 'a') + pattern(kSize + 3, 'A') + "xyz");
  append(b, "new");
  EXPECT_EQ(contents(b), "new");
  EXPECT_EQ(pool.in_use(), 5u);
}

TEST(BufferChainSpliceTest, IntoAnEmptyChainRelinksEvenFromInsideABuffer) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  const std::string data = pattern(3 * kSize);
  append(b, data);
  b.consume(5);  // b's content now starts 5 bytes into its first buffer
  const std::vector<const char*> before = bases(b);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(bases(a), before);
  EXPECT_EQ(contents(a), data.substr(5));
  EXPECT_EQ(a.buffer_count(), 3u);
  EXPECT_EQ(pool.in_use(), 3u);
  // Consuming through the adopted head offset releases at the right boundary.
  a.consume(kSize - 5);
  EXPECT_EQ(a.buffer_count(), 2u);
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_EQ(contents(a), data.substr(kSize));
}

TEST(BufferChainSpliceTest, CopiesWhenOurContentEndsInsideABuffer) {
  // A dry pool: packing must make do with the buffers the chains hold.
  BufferPool pool(5, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, "abc");
  const std::string tail = pattern(3 * kSize + 2, 'A');
  append(b, tail);
  ASSERT_EQ(pool.available(), 0u);
  const char* a_first = bases(a)[0];

  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(contents(a), "abc" + tail);
  // 3 + 26 bytes need 4 buffers; b's fifth went back to the pool.
  EXPECT_EQ(a.buffer_count(), 4u);
  EXPECT_EQ(a.spare(), 4 * kSize - 29);
  EXPECT_EQ(pool.in_use(), 4u);
  EXPECT_EQ(pool.failed_acquires(), 0u);
  EXPECT_EQ(bases(a)[0], a_first);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.buffer_count(), 0u);
  // Every content buffer but the first starts at offset 0 and is full.
  iovec iov[8];
  const size_t n = a.iovecs(0, SIZE_MAX, iov, 8);
  ASSERT_EQ(n, 4u);
  for (size_t i = 0; i + 1 < n; ++i) EXPECT_EQ(iov[i].iov_len, kSize);
  EXPECT_EQ(iov[3].iov_len, 29 - 3 * kSize);
  a.consume(kSize + 1);
  EXPECT_EQ(contents(a), ("abc" + tail).substr(kSize + 1));
  EXPECT_EQ(pool.in_use(), 3u);
}

TEST(BufferChainSpliceTest, CopiesWhenOtherStartsInsideABuffer) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, pattern(kSize, 'a'));  // ends at a boundary
  const std::string data = pattern(2 * kSize + 4, 'A');
  append(b, data);
  b.consume(3);  // but b does not start at one
  ASSERT_EQ(pool.in_use(), 4u);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(contents(a), pattern(kSize, 'a') + data.substr(3));
  // kSize + 2 * kSize + 1 bytes: 4 buffers, all of them a's and b's old ones.
  EXPECT_EQ(a.buffer_count(), 4u);
  EXPECT_EQ(pool.in_use(), 4u);
  iovec iov[8];
  const size_t n = a.iovecs(0, SIZE_MAX, iov, 8);
  ASSERT_EQ(n, 4u);
  EXPECT_EQ(iov[1].iov_len, kSize);
  EXPECT_EQ(iov[2].iov_len, kSize);
  EXPECT_EQ(iov[3].iov_len, 1u);
}

TEST(BufferChainSpliceTest, CopyThatFitsOurLastBufferGivesBackAllOfOthers) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, "abc");
  append(b, pattern(kSize + 2, 'A'));
  b.consume(kSize - 1);  // 3 bytes left, across b's two buffers
  ASSERT_EQ(contents(b), pattern(kSize + 2, 'A').substr(kSize - 1));
  ASSERT_EQ(pool.in_use(), 3u);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(contents(a), "abc" + pattern(kSize + 2, 'A').substr(kSize - 1));
  EXPECT_EQ(a.buffer_count(), 1u);
  EXPECT_EQ(pool.in_use(), 1u);
}

TEST(BufferChainSpliceTest, EmptyOtherOnlyGivesUpItsReservation) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, "abc");
  ASSERT_TRUE(b.reserve(2 * kSize));
  ASSERT_EQ(pool.in_use(), 3u);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(contents(a), "abc");
  EXPECT_EQ(a.buffer_count(), 1u);
  EXPECT_EQ(b.reserved(), 0u);
  EXPECT_EQ(b.buffer_count(), 0u);
  EXPECT_EQ(pool.in_use(), 1u);
}

TEST(BufferChainSpliceTest, OthersReservationIsGivenUp) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, pattern(kSize));
  append(b, "xy");
  ASSERT_TRUE(b.reserve(2 * kSize));  // 6 bytes left in its buffer, 2 more buffers
  ASSERT_EQ(b.buffer_count(), 3u);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(contents(a), pattern(kSize) + "xy");
  EXPECT_EQ(a.buffer_count(), 2u);
  EXPECT_EQ(a.reserved(), 0u);
  EXPECT_EQ(b.reserved(), 0u);
  EXPECT_EQ(b.buffer_count(), 0u);
  EXPECT_EQ(pool.in_use(), 2u);
}

// Our unfilled reservation must stay usable after the new content, in both
// layouts, without touching a pool that has nothing left.
TEST(BufferChainSpliceTest, OurReservationStaysPromisedWhenRelinking) {
  BufferPool pool(6, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, pattern(kSize, 'a'));
  ASSERT_TRUE(a.reserve(kSize + 1));  // two empty buffers after a's content
  append(b, "XYZ");
  ASSERT_EQ(pool.in_use(), 4u);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(a.reserved(), kSize + 1);
  EXPECT_GE(a.spare(), a.reserved());
  // 5 bytes free in b's old buffer plus one empty buffer cover 9: one went back.
  EXPECT_EQ(a.buffer_count(), 3u);
  EXPECT_EQ(pool.in_use(), 3u);
  // Fill the reservation with a pool that cannot give anything.
  BufferChain hog(pool, 8);
  ASSERT_TRUE(hog.reserve(pool.available() * size_t{kSize}));
  ASSERT_EQ(pool.available(), 0u);
  const std::string rest = pattern(kSize + 1, 'A');
  EXPECT_EQ(append(a, rest), rest.size());
  EXPECT_EQ(contents(a), pattern(kSize, 'a') + "XYZ" + rest);
  EXPECT_EQ(a.reserved(), 0u);
  EXPECT_EQ(pool.failed_acquires(), 0u);
}

TEST(BufferChainSpliceTest, OurReservationStaysPromisedWhenCopying) {
  BufferPool pool(4, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  append(a, "abc");
  ASSERT_TRUE(a.reserve(5));  // exactly the room left in a's buffer
  ASSERT_EQ(a.buffer_count(), 1u);
  append(b, pattern(kSize + 5, 'A'));  // packing fills a's room
  ASSERT_EQ(pool.in_use(), 3u);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(contents(a), "abc" + pattern(kSize + 5, 'A'));
  EXPECT_EQ(a.reserved(), 5u);
  EXPECT_GE(a.spare(), 5u);
  EXPECT_LT(a.spare(), 5u + kSize);
  // 16 bytes of content in 2 buffers and one empty one for the reservation,
  // all three from the chains: no new buffer.
  EXPECT_EQ(a.buffer_count(), 3u);
  EXPECT_EQ(pool.in_use(), 3u);
  EXPECT_EQ(pool.failed_acquires(), 0u);
  iovec iov[4];
  const size_t n = a.writable_iovecs(iov, 4, a.reserved());
  size_t room = 0;
  for (size_t i = 0; i < n; ++i) room += iov[i].iov_len;
  EXPECT_EQ(room, 5u);
}

TEST(BufferChainSpliceTest, RefusedPastMaxBuffersChangesNothing) {
  BufferPool pool(16, kSize);
  BufferChain a(pool, 3), b(pool, 8);
  append(a, pattern(2 * kSize));
  append(b, pattern(kSize + 1, 'A'));
  const std::vector<const char*> before_a = bases(a), before_b = bases(b);
  EXPECT_FALSE(a.splice_from(b));
  EXPECT_EQ(contents(a), pattern(2 * kSize));
  EXPECT_EQ(contents(b), pattern(kSize + 1, 'A'));
  EXPECT_EQ(bases(a), before_a);
  EXPECT_EQ(bases(b), before_b);
  EXPECT_EQ(pool.in_use(), 4u);
  // With room for it the same splice goes through.
  a.consume(kSize);
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(a.buffer_count(), 3u);
  EXPECT_EQ(contents(a), pattern(2 * kSize).substr(kSize) + pattern(kSize + 1, 'A'));
}

TEST(BufferChainSpliceTest, PackingCanFitWhereTheBuffersHeldWouldNot) {
  BufferPool pool(16, kSize);
  BufferChain a(pool, 3), b(pool, 8);
  append(a, "abc");
  append(b, pattern(2 * kSize + 1, 'A'));  // 1 + 3 buffers held, 20 bytes
  ASSERT_TRUE(a.splice_from(b));
  EXPECT_EQ(a.buffer_count(), 3u);
  EXPECT_EQ(contents(a), "abc" + pattern(2 * kSize + 1, 'A'));
  EXPECT_EQ(pool.in_use(), 3u);
}

TEST(BufferChainSpliceTest, SplicesCompose) {
  BufferPool pool(16, kSize);
  BufferChain queue(pool, 16);
  std::string expect;
  for (int i = 0; i < 6; ++i) {
    BufferChain reply(pool, 4);
    const std::string text = pattern(3 + 5 * i, static_cast<char>('a' + i));
    append(reply, text);
    ASSERT_TRUE(queue.splice_from(reply));
    expect += text;
    ASSERT_EQ(contents(queue), expect);
    ASSERT_EQ(pool.in_use(), queue.buffer_count());
  }
  queue.consume(queue.length());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferChainMoveTest, MoveConstructorTakesEverything) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 6);
  append(a, pattern(kSize + 2));
  ASSERT_TRUE(a.reserve(kSize));
  const std::vector<const char*> before = bases(a);
  BufferChain b(std::move(a));
  EXPECT_EQ(contents(b), pattern(kSize + 2));
  EXPECT_EQ(bases(b), before);
  EXPECT_EQ(b.reserved(), kSize);
  EXPECT_EQ(b.buffer_count(), 3u);
  EXPECT_EQ(b.max_buffers(), 6u);
  // The source is empty, holds nothing, and is still a working chain.
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.buffer_count(), 0u);
  EXPECT_EQ(a.reserved(), 0u);
  EXPECT_EQ(a.max_buffers(), 6u);
  EXPECT_EQ(pool.in_use(), 3u);
  append(a, "again");
  EXPECT_EQ(contents(a), "again");
  EXPECT_EQ(pool.in_use(), 4u);
}

TEST(BufferChainMoveTest, MoveAssignmentReleasesWhatTheTargetHeld) {
  BufferPool pool(8, kSize);
  BufferPool other_pool(8, 2 * kSize);
  BufferChain a(pool, 6), b(other_pool, 2);
  append(a, pattern(2 * kSize));
  append(b, "old");
  ASSERT_TRUE(b.reserve(2 * kSize));
  ASSERT_EQ(other_pool.in_use(), 2u);
  b = std::move(a);
  EXPECT_EQ(other_pool.in_use(), 0u);
  EXPECT_EQ(contents(b), pattern(2 * kSize));
  EXPECT_EQ(b.max_buffers(), 6u);
  EXPECT_EQ(pool.in_use(), 2u);
  // b now lives on a's pool: its buffers go back there.
  append(b, "z");
  EXPECT_EQ(pool.in_use(), 3u);
  b.release();
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  // Assigning a chain to itself changes nothing.
  append(a, "self");
  BufferChain& alias = a;
  a = std::move(alias);
  EXPECT_EQ(contents(a), "self");
  EXPECT_EQ(pool.in_use(), 1u);
}

TEST(BufferChainMoveTest, SwapExchangesContentPoolsAndCaps) {
  BufferPool pool(8, kSize);
  BufferPool other_pool(8, 2 * kSize);
  BufferChain a(pool, 5), b(other_pool, 7);
  append(a, pattern(kSize + 1));
  a.consume(2);
  ASSERT_TRUE(a.reserve(kSize));
  append(b, "bee");
  a.swap(b);
  EXPECT_EQ(contents(a), "bee");
  EXPECT_EQ(a.max_buffers(), 7u);
  EXPECT_EQ(a.reserved(), 0u);
  EXPECT_EQ(contents(b), pattern(kSize + 1).substr(2));
  EXPECT_EQ(b.max_buffers(), 5u);
  EXPECT_EQ(b.reserved(), kSize);
  EXPECT_EQ(b.buffer_count(), 3u);  // 7 bytes from offset 2, then room for 8
  // Each keeps growing from its own new pool.
  append(a, pattern(2 * kSize));
  EXPECT_EQ(other_pool.in_use(), 2u);
  EXPECT_EQ(append(b, pattern(kSize)), kSize);
  EXPECT_EQ(pool.in_use(), 3u);
  a.release();
  b.release();
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(other_pool.in_use(), 0u);
}

TEST(BufferChainMoveTest, ChainsInAGrowingVectorKeepTheirContent) {
  BufferPool pool(64, kSize);
  std::vector<BufferChain> chains;
  uint32_t held = 0;
  for (int i = 0; i < 20; ++i) {
    chains.emplace_back(pool, 4);  // reallocations move the earlier chains
    append(chains.back(), pattern(i + 1, static_cast<char>('a' + i)));
    held += (i + kSize) / kSize;
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(contents(chains[i]), pattern(i + 1, static_cast<char>('a' + i)));
  }
  EXPECT_EQ(pool.in_use(), held);
  chains.clear();
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace mcguard

namespace mcguard {
namespace {

TEST(BufferChainSplitTest, SplitsAtABufferBoundaryByRelinking) {
  BufferPool pool(8, kSize);
  BufferChain chain(pool, 8);
  const std::string data = test::pattern(3 * kSize + 5);
  test::append(chain, data);
  const std::vector<const char*> before = bases(chain);
  BufferChain front(pool, 8);
  ASSERT_TRUE(chain.split_front(2 * kSize, front));
  EXPECT_EQ(test::contents(front), data.substr(0, 2 * kSize));
  EXPECT_EQ(test::contents(chain), data.substr(2 * kSize));
  // The same buffers, not copies.
  EXPECT_EQ(bases(front), std::vector<const char*>(before.begin(), before.begin() + 2));
  EXPECT_EQ(bases(chain), std::vector<const char*>(before.begin() + 2, before.end()));
  EXPECT_EQ(pool.available(), 8u - 4u);
  front.release();
  chain.release();
  EXPECT_EQ(pool.available(), 8u);
}

TEST(BufferChainSplitTest, RefusesWhatWouldNeedACopyAndChangesNothing) {
  BufferPool pool(8, kSize);
  BufferChain chain(pool, 8);
  const std::string data = test::pattern(2 * kSize + 3);
  test::append(chain, data);
  BufferChain front(pool, 8);
  EXPECT_FALSE(chain.split_front(kSize + 1, front));  // inside a buffer
  EXPECT_FALSE(chain.split_front(0, front));
  EXPECT_FALSE(chain.split_front(data.size(), front));  // nothing would be left
  BufferChain small(pool, 1);
  EXPECT_FALSE(chain.split_front(2 * kSize, small));  // front may hold one buffer only
  EXPECT_EQ(test::contents(chain), data);
  EXPECT_TRUE(front.empty());
  EXPECT_EQ(pool.available(), 8u - 3u);
}

}  // namespace
}  // namespace mcguard
