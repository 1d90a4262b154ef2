#include "pool/buffer_chain.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "chain_support.h"

namespace mcguard {
namespace {

using test::append;
using test::contents;
using test::join;
using test::pattern;

constexpr uint32_t kSize = 8;  // small buffers make every boundary easy to reach

std::vector<size_t> lengths(const iovec* iov, size_t n) {
  std::vector<size_t> out;
  for (size_t i = 0; i < n; ++i) out.push_back(iov[i].iov_len);
  return out;
}

using Sizes = std::vector<size_t>;

TEST(BufferChainTest, NewChainHoldsNothing) {
  BufferPool pool(4, kSize);
  BufferChain chain(pool, 3);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.length(), 0u);
  EXPECT_EQ(chain.buffer_count(), 0u);
  EXPECT_EQ(chain.max_buffers(), 3u);
  EXPECT_EQ(chain.spare(), 0u);
  EXPECT_EQ(chain.reserved(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferChainTest, AppendWithinOneBuffer) {
  BufferPool pool(4, kSize);
  BufferChain chain(pool, 4);
  EXPECT_EQ(append(chain, "abc"), 3u);
  EXPECT_EQ(chain.length(), 3u);
  EXPECT_EQ(chain.buffer_count(), 1u);
  EXPECT_EQ(chain.spare(), kSize - 3);
  EXPECT_EQ(append(chain, "de"), 2u);
  EXPECT_EQ(chain.buffer_count(), 1u);
  EXPECT_EQ(contents(chain), "abcde");
  EXPECT_EQ(pool.in_use(), 1u);
}

TEST(BufferChainTest, AppendEmptyAcquiresNothing) {
  BufferPool pool(4, kSize);
  BufferChain chain(pool, 4);
  EXPECT_EQ(append(chain, ""), 0u);
  EXPECT_EQ(chain.buffer_count(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferChainTest, AppendExactlyOneBufferThenOneMoreByte) {
  BufferPool pool(4, kSize);
  BufferChain chain(pool, 4);
  EXPECT_EQ(append(chain, pattern(kSize)), kSize);
  EXPECT_EQ(chain.buffer_count(), 1u);
  EXPECT_EQ(chain.spare(), 0u);
  EXPECT_EQ(append(chain, "Z"), 1u);
  EXPECT_EQ(chain.buffer_count(), 2u);
  EXPECT_EQ(chain.spare(), kSize - 1);
  EXPECT_EQ(contents(chain), pattern(kSize) + "Z");
}

TEST(BufferChainTest, AppendAcrossManyBuffers) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(5 * kSize + 3);
  EXPECT_EQ(append(chain, data.substr(0, 5)), 5u);
  EXPECT_EQ(append(chain, data.substr(5)), data.size() - 5);
  EXPECT_EQ(chain.buffer_count(), 6u);
  EXPECT_EQ(contents(chain), data);
}

TEST(BufferChainTest, AppendStopsAtMaxBuffers) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 2);
  const std::string data = pattern(3 * kSize);
  EXPECT_EQ(append(chain, data), 2 * kSize);
  EXPECT_EQ(chain.buffer_count(), 2u);
  EXPECT_EQ(contents(chain), data.substr(0, 2 * kSize));
  EXPECT_EQ(append(chain, "x"), 0u);
  EXPECT_EQ(pool.in_use(), 2u);
  // Hitting the chain's own cap is not a pool failure.
  EXPECT_EQ(pool.failed_acquires(), 0u);
}

TEST(BufferChainTest, AppendStopsWhenPoolRunsDry) {
  BufferPool pool(2, kSize);
  BufferChain chain(pool, 8);
  const std::string data = pattern(3 * kSize);
  EXPECT_EQ(append(chain, data), 2 * kSize);
  EXPECT_EQ(contents(chain), data.substr(0, 2 * kSize));
  EXPECT_EQ(pool.available(), 0u);
  EXPECT_EQ(pool.failed_acquires(), 1u);
}

TEST(BufferChainTest, ZeroMaxBuffersChainCanHoldNothing) {
  BufferPool pool(2, kSize);
  BufferChain chain(pool, 0);
  EXPECT_EQ(append(chain, "abc"), 0u);
  EXPECT_FALSE(chain.reserve(1));
  EXPECT_TRUE(chain.reserve(0));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferChainTest, ReserveAcquiresExactlyWhatIsMissing) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  ASSERT_TRUE(chain.reserve(0));
  EXPECT_EQ(chain.buffer_count(), 0u);
  ASSERT_TRUE(chain.reserve(kSize));
  EXPECT_EQ(chain.buffer_count(), 1u);
  EXPECT_EQ(chain.spare(), kSize);
  EXPECT_EQ(chain.reserved(), kSize);
  ASSERT_TRUE(chain.reserve(kSize + 1));
  EXPECT_EQ(chain.buffer_count(), 2u);
  // Smaller than what is already held: nothing new.
  ASSERT_TRUE(chain.reserve(3));
  EXPECT_EQ(chain.buffer_count(), 2u);
  EXPECT_EQ(chain.reserved(), kSize + 1);
  EXPECT_EQ(pool.in_use(), 2u);
}

TEST(BufferChainTest, ReserveUsesSpareOfPartlyFilledBuffer) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, "abc");  // spare 5
  ASSERT_TRUE(chain.reserve(5));
  EXPECT_EQ(chain.buffer_count(), 1u);
  ASSERT_TRUE(chain.reserve(6));
  EXPECT_EQ(chain.buffer_count(), 2u);
  ASSERT_TRUE(chain.reserve(5 + 3 * kSize));
  EXPECT_EQ(chain.buffer_count(), 4u);
  EXPECT_EQ(chain.spare(), 5 + 3 * kSize);
  // A reserved append acquires nothing more.
  const uint32_t before = pool.in_use();
  EXPECT_EQ(append(chain, pattern(5 + 3 * kSize)), 5 + 3 * kSize);
  EXPECT_EQ(pool.in_use(), before);
  EXPECT_EQ(chain.spare(), 0u);
  EXPECT_EQ(chain.reserved(), 0u);
  EXPECT_EQ(contents(chain), "abc" + pattern(5 + 3 * kSize));
}

TEST(BufferChainTest, ReserveFailureForPoolLeavesEverythingUntouched) {
  BufferPool pool(4, kSize);
  BufferChain other(pool, 4);
  append(other, "x");  // one buffer taken elsewhere
  BufferChain chain(pool, 16);
  append(chain, "ab");
  const uint32_t in_use = pool.in_use();
  EXPECT_FALSE(chain.reserve(6 + 3 * kSize));  // needs 3 more, pool has 2
  EXPECT_EQ(pool.in_use(), in_use);
  EXPECT_EQ(pool.failed_acquires(), 1u);
  EXPECT_EQ(chain.buffer_count(), 1u);
  EXPECT_EQ(chain.length(), 2u);
  EXPECT_EQ(chain.reserved(), 0u);
  EXPECT_EQ(contents(chain), "ab");
  // What fits still works afterwards.
  EXPECT_TRUE(chain.reserve(6 + 2 * kSize));
  EXPECT_EQ(pool.available(), 0u);
}

TEST(BufferChainTest, ReserveFailureForMaxBuffersLeavesPoolUntouched) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 3);
  append(chain, "a");
  EXPECT_FALSE(chain.reserve(7 + 2 * kSize + 1));
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.failed_acquires(), 0u);
  EXPECT_EQ(chain.buffer_count(), 1u);
  EXPECT_TRUE(chain.reserve(7 + 2 * kSize));
  EXPECT_EQ(chain.buffer_count(), 3u);
}

TEST(BufferChainTest, WritableIovecsCoverSpareAfterContent) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, "abc");
  ASSERT_TRUE(chain.reserve(5 + 2 * kSize));
  iovec iov[8];
  size_t n = chain.writable_iovecs(iov, 8, SIZE_MAX);
  EXPECT_EQ(lengths(iov, n), (Sizes{5, kSize, kSize}));
  // The first writable byte sits right after the content in the same buffer.
  iovec content[1];
  ASSERT_EQ(chain.iovecs(0, 3, content, 1), 1u);
  EXPECT_EQ(static_cast<char*>(iov[0].iov_base), static_cast<char*>(content[0].iov_base) + 3);

  n = chain.writable_iovecs(iov, 8, 5 + kSize + 2);
  EXPECT_EQ(lengths(iov, n), (Sizes{5, kSize, 2}));
  n = chain.writable_iovecs(iov, 2, SIZE_MAX);
  EXPECT_EQ(lengths(iov, n), (Sizes{5, kSize}));
  n = chain.writable_iovecs(iov, 8, 0);
  EXPECT_EQ(n, 0u);
  n = chain.writable_iovecs(iov, 0, SIZE_MAX);
  EXPECT_EQ(n, 0u);
}

TEST(BufferChainTest, WritableIovecsWithoutSpareIsEmpty) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  iovec iov[4];
  EXPECT_EQ(chain.writable_iovecs(iov, 4, SIZE_MAX), 0u);
  append(chain, pattern(kSize));
  EXPECT_EQ(chain.writable_iovecs(iov, 4, SIZE_MAX), 0u);
}

TEST(BufferChainTest, CommitAfterWritingIntoWritableIovecs) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, "abc");
  const std::string incoming = pattern(20, 'A');
  ASSERT_TRUE(chain.reserve(incoming.size()));
  EXPECT_EQ(chain.reserved(), incoming.size());
  // Simulate two short readv calls.
  size_t written = 0;
  for (size_t chunk : {7u, 13u}) {
    iovec iov[8];
    const size_t n = chain.writable_iovecs(iov, 8, chunk);
    size_t left = chunk;
    for (size_t i = 0; i < n; ++i) {
      const size_t len = std::min(left, iov[i].iov_len);
      incoming.copy(static_cast<char*>(iov[i].iov_base), len, written + chunk - left);
      left -= len;
    }
    ASSERT_EQ(left, 0u);
    chain.commit(chunk);
    written += chunk;
    EXPECT_EQ(chain.reserved(), incoming.size() - written);
  }
  EXPECT_EQ(contents(chain), "abc" + incoming);
  EXPECT_EQ(chain.buffer_count(), 3u);
  EXPECT_EQ(chain.spare(), 3 * kSize - 23);
}

TEST(BufferChainTest, IovecsOverWholeContent) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(2 * kSize + 3);
  append(chain, data);
  iovec iov[8];
  const size_t n = chain.iovecs(0, SIZE_MAX, iov, 8);
  EXPECT_EQ(lengths(iov, n), (Sizes{kSize, kSize, 3}));
  EXPECT_EQ(join(iov, n), data);
}

TEST(BufferChainTest, IovecsFromOffsetAtBufferBoundary) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(3 * kSize);
  append(chain, data);
  iovec iov[8];
  size_t n = chain.iovecs(kSize, SIZE_MAX, iov, 8);
  EXPECT_EQ(lengths(iov, n), (Sizes{kSize, kSize}));
  EXPECT_EQ(join(iov, n), data.substr(kSize));
  n = chain.iovecs(2 * kSize, kSize, iov, 8);
  EXPECT_EQ(lengths(iov, n), (Sizes{kSize}));
  EXPECT_EQ(join(iov, n), data.substr(2 * kSize));
  // Range ending exactly on a boundary.
  n = chain.iovecs(3, kSize - 3, iov, 8);
  EXPECT_EQ(lengths(iov, n), (Sizes{kSize - 3}));
  EXPECT_EQ(join(iov, n), data.substr(3, kSize - 3));
}

TEST(BufferChainTest, IovecsFromOffsetInsideBuffer) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(3 * kSize);
  append(chain, data);
  iovec iov[8];
  const size_t n = chain.iovecs(5, 2 * kSize, iov, 8);
  EXPECT_EQ(lengths(iov, n), (Sizes{kSize - 5, kSize, 5}));
  EXPECT_EQ(join(iov, n), data.substr(5, 2 * kSize));
}

TEST(BufferChainTest, IovecsEmptyRanges) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  iovec iov[4];
  EXPECT_EQ(chain.iovecs(0, SIZE_MAX, iov, 4), 0u);
  append(chain, "abcdef");
  EXPECT_EQ(chain.iovecs(0, 0, iov, 4), 0u);
  EXPECT_EQ(chain.iovecs(6, SIZE_MAX, iov, 4), 0u);
  EXPECT_EQ(chain.iovecs(100, 5, iov, 4), 0u);
  EXPECT_EQ(chain.iovecs(0, SIZE_MAX, iov, 0), 0u);
  // A limit past the end is clamped to the content.
  const size_t n = chain.iovecs(4, 100, iov, 4);
  EXPECT_EQ(join(iov, n), "ef");
}

TEST(BufferChainTest, IovecsStopAtMaxIov) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(4 * kSize);
  append(chain, data);
  iovec iov[2];
  const size_t n = chain.iovecs(3, SIZE_MAX, iov, 2);
  ASSERT_EQ(n, 2u);
  // A prefix of the range: the caller resumes from where it stopped.
  EXPECT_EQ(join(iov, n), data.substr(3, 2 * kSize - 3));
}

TEST(BufferChainTest, IovecsDoNotCoverSpare) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, "abc");
  ASSERT_TRUE(chain.reserve(3 * kSize));
  iovec iov[8];
  const size_t n = chain.iovecs(0, SIZE_MAX, iov, 8);
  EXPECT_EQ(join(iov, n), "abc");
}

TEST(BufferChainTest, CopyOutFromOffsets) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(3 * kSize + 1);
  append(chain, data);
  for (size_t offset = 0; offset <= data.size(); ++offset) {
    for (size_t len = 0; offset + len <= data.size(); ++len) {
      std::string out(len, '?');
      chain.copy_out(offset, std::span<char>(out.data(), out.size()));
      ASSERT_EQ(out, data.substr(offset, len)) << offset << "+" << len;
    }
  }
}

TEST(BufferChainTest, ConsumeWithinFirstBufferKeepsIt) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, pattern(kSize + 2));
  chain.consume(3);
  EXPECT_EQ(chain.length(), kSize - 1);
  EXPECT_EQ(chain.buffer_count(), 2u);
  EXPECT_EQ(contents(chain), pattern(kSize + 2).substr(3));
  iovec iov[4];
  const size_t n = chain.iovecs(0, SIZE_MAX, iov, 4);
  EXPECT_EQ(lengths(iov, n), (Sizes{kSize - 3, 2}));
}

TEST(BufferChainTest, ConsumeToExactBufferBoundaryReleasesThatBuffer) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(2 * kSize + 2);
  append(chain, data);
  chain.consume(3);
  chain.consume(kSize - 3);
  EXPECT_EQ(chain.buffer_count(), 2u);
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_EQ(contents(chain), data.substr(kSize));
  iovec iov[4];
  const size_t n = chain.iovecs(0, SIZE_MAX, iov, 4);
  EXPECT_EQ(lengths(iov, n), (Sizes{kSize, 2}));
  EXPECT_EQ(chain.spare(), kSize - 2);
}

TEST(BufferChainTest, ConsumeAcrossSeveralBuffers) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string data = pattern(5 * kSize);
  append(chain, data);
  chain.consume(3 * kSize + 1);
  EXPECT_EQ(chain.buffer_count(), 2u);
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_EQ(contents(chain), data.substr(3 * kSize + 1));
  // The chain keeps working: appends land after the remaining content.
  append(chain, "XYZ");
  EXPECT_EQ(contents(chain), data.substr(3 * kSize + 1) + "XYZ");
  EXPECT_EQ(chain.buffer_count(), 3u);
}

TEST(BufferChainTest, ConsumeEverythingReleasesEveryBuffer) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, pattern(2 * kSize + 5));  // leaves spare in the last buffer
  chain.consume(2 * kSize + 5);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.buffer_count(), 0u);
  EXPECT_EQ(chain.spare(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  append(chain, "abc");
  EXPECT_EQ(contents(chain), "abc");
  EXPECT_EQ(chain.buffer_count(), 1u);
}

TEST(BufferChainTest, ConsumeZeroChangesNothing) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, "abc");
  chain.consume(0);
  EXPECT_EQ(contents(chain), "abc");
  EXPECT_EQ(chain.buffer_count(), 1u);
}

TEST(BufferChainTest, ReservedButEmptyChainKeepsItsReservation) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  ASSERT_TRUE(chain.reserve(2 * kSize + 1));
  EXPECT_EQ(chain.buffer_count(), 3u);
  chain.consume(0);
  EXPECT_EQ(chain.buffer_count(), 3u);
  EXPECT_EQ(chain.spare(), 3 * kSize);
  EXPECT_EQ(pool.in_use(), 3u);
}

TEST(BufferChainTest, ConsumingFilledPartKeepsBuffersTheReservationStillNeeds) {
  // A value streamed through the chain: reserved whole, forwarded as it arrives.
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  const std::string value = pattern(4 * kSize);
  ASSERT_TRUE(chain.reserve(value.size()));
  EXPECT_EQ(chain.buffer_count(), 4u);
  EXPECT_EQ(append(chain, value.substr(0, kSize + 3)), kSize + 3);
  chain.consume(kSize + 3);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.reserved(), 3 * kSize - 3);
  // 3 * kSize - 3 unfilled bytes still need three buffers; the rest went back.
  EXPECT_EQ(chain.buffer_count(), 3u);
  EXPECT_EQ(pool.in_use(), 3u);
  EXPECT_GE(chain.spare(), chain.reserved());
  // The rest of the value arrives without acquiring anything.
  EXPECT_EQ(append(chain, value.substr(kSize + 3)), value.size() - kSize - 3);
  EXPECT_EQ(pool.in_use(), 3u);
  EXPECT_EQ(pool.failed_acquires(), 0u);
  EXPECT_EQ(contents(chain), value.substr(kSize + 3));
  chain.consume(chain.length());
  EXPECT_EQ(chain.buffer_count(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferChainTest, ReleaseReturnsEverythingIncludingReservation) {
  BufferPool pool(16, kSize);
  BufferChain chain(pool, 16);
  append(chain, pattern(kSize + 1));
  chain.consume(2);
  ASSERT_TRUE(chain.reserve(3 * kSize));
  chain.release();
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.buffer_count(), 0u);
  EXPECT_EQ(chain.spare(), 0u);
  EXPECT_EQ(chain.reserved(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  append(chain, "ok");
  EXPECT_EQ(contents(chain), "ok");
}

TEST(BufferChainTest, DestructorReleasesBuffers) {
  BufferPool pool(16, kSize);
  {
    BufferChain chain(pool, 16);
    append(chain, pattern(3 * kSize));
    ASSERT_TRUE(chain.reserve(2 * kSize));
    EXPECT_EQ(pool.in_use(), 5u);
  }
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.high_water(), 5u);
}

TEST(BufferChainTest, ChainsSharingAPoolDoNotInterfere) {
  BufferPool pool(8, kSize);
  BufferChain a(pool, 8), b(pool, 8);
  for (int round = 0; round < 3; ++round) {
    append(a, pattern(kSize + 1, 'a'));
    append(b, pattern(kSize + 1, 'A'));
  }
  EXPECT_EQ(pool.in_use(), 8u);
  std::string expect_a, expect_b;
  for (int round = 0; round < 3; ++round) {
    expect_a += pattern(kSize + 1, 'a');
    expect_b += pattern(kSize + 1, 'A');
  }
  EXPECT_EQ(contents(a), expect_a);
  EXPECT_EQ(contents(b), expect_b);
  a.consume(a.length());
  EXPECT_EQ(pool.in_use(), 4u);
  EXPECT_EQ(contents(b), expect_b);
}

// Checks everything observable about `chain` against the model string.
void check_against_model(const BufferChain& chain, const BufferPool& pool, const std::string& model,
                         std::mt19937& rng) {
  ASSERT_EQ(chain.length(), model.size());
  ASSERT_EQ(chain.empty(), model.empty());
  ASSERT_EQ(pool.in_use(), chain.buffer_count());  // the only user of the pool
  ASSERT_LE(chain.buffer_count(), chain.max_buffers());
  // Never more than a buffer of slack beyond what the content and the
  // reservation need, and nothing at all when both are empty.
  ASSERT_LE(chain.reserved(), chain.spare());
  ASSERT_LT(chain.spare(), chain.reserved() + kSize);
  if (model.empty() && chain.reserved() == 0) {
    ASSERT_EQ(chain.buffer_count(), 0u);
  }
  ASSERT_GE(size_t{chain.buffer_count()} * kSize, model.size() + chain.spare());
  ASSERT_LT(size_t{chain.buffer_count()} * kSize, model.size() + chain.spare() + kSize);

  ASSERT_EQ(contents(chain), model);
  const size_t offset = model.empty() ? 0 : rng() % (model.size() + 1);
  const size_t limit = rng() % (model.size() + 3);
  const size_t max_iov = rng() % 6;
  iovec iov[8];
  const size_t n = chain.iovecs(offset, limit, iov, max_iov);
  ASSERT_LE(n, max_iov);
  const std::string got = join(iov, n);
  const std::string want = model.substr(offset, limit);
  for (size_t i = 0; i < n; ++i) ASSERT_GT(iov[i].iov_len, 0u);
  if (n < max_iov) {
    ASSERT_EQ(got, want);
  } else {
    ASSERT_EQ(got, want.substr(0, got.size()));  // a prefix when max_iov ran out
  }
}

TEST(BufferChainTest, RandomOperationsMatchStringModel) {
  constexpr uint32_t kPoolBuffers = 24;
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    BufferPool pool(kPoolBuffers, kSize);
    BufferChain chain(pool, 20);
    std::string model;
    size_t model_reserved = 0;
    char next = 'a';
    auto bytes = [&](size_t n) {
      std::string s(n, '\0');
      for (char& c : s) c = next = static_cast<char>(next == 'z' ? 'a' : next + 1);
      return s;
    };
    for (int step = 0; step < 4000; ++step) {
      switch (rng() % 7) {
        case 0:
        case 1: {  // append
          const std::string s = bytes(rng() % (3 * kSize + 1));
          const size_t copied = append(chain, s);
          ASSERT_LE(copied, s.size());
          // Short only when the chain hit its cap (the pool is big enough).
          if (copied < s.size()) {
            ASSERT_EQ(chain.buffer_count(), chain.max_buffers());
            ASSERT_EQ(chain.spare(), 0u);
          }
          model += s.substr(0, copied);
          model_reserved -= std::min(model_reserved, copied);
          break;
        }
        case 2: {  // reserve, then fill part of it through writable iovecs
          const size_t want = rng() % (4 * kSize + 1);
          const uint32_t before_count = chain.buffer_count();
          const size_t before_spare = chain.spare();
          const bool ok = chain.reserve(want);
          if (!ok) {
            ASSERT_GT(want, before_spare);
            ASSERT_EQ(chain.buffer_count(), before_count);
            ASSERT_EQ(chain.spare(), before_spare);
            break;
          }
          model_reserved = std::max(model_reserved, want);
          ASSERT_GE(chain.spare(), want);
          const size_t fill = want == 0 ? 0 : rng() % (want + 1);
          iovec iov[8];
          const size_t n = chain.writable_iovecs(iov, 1 + rng() % 8, fill);
          const std::string s = bytes(fill);
          size_t written = 0;
          for (size_t i = 0; i < n; ++i) {
            s.copy(static_cast<char*>(iov[i].iov_base), iov[i].iov_len, written);
            written += iov[i].iov_len;
          }
          ASSERT_LE(written, fill);
          chain.commit(written);
          model += s.substr(0, written);
          model_reserved -= std::min(model_reserved, written);
          break;
        }
        case 3:
        case 4: {  // consume
          const size_t n = model.empty() ? 0 : rng() % (model.size() + 1);
          chain.consume(n);
          model.erase(0, n);
          break;
        }
        case 5: {  // consume everything
          chain.consume(model.size());
          model.clear();
          break;
        }
        case 6:
          if (rng() % 8 == 0) {
            chain.release();
            model.clear();
            model_reserved = 0;
          }
          break;
      }
      ASSERT_EQ(chain.reserved(), model_reserved);
      check_against_model(chain, pool, model, rng);
    }
    chain.release();
    EXPECT_EQ(pool.in_use(), 0u);
  }
}

}  // namespace
}  // namespace mcguard
