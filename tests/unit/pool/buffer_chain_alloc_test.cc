// BufferChain never touches the heap: not to be constructed, not to grow,
// shrink, splice or move. Counted by replacing the global operator new in
// this test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "pool/buffer_chain.h"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace mcguard {
namespace {

constexpr uint32_t kSize = 8;

TEST(BufferChainAllocationTest, TheCounterSeesHeapAllocations) {
  const size_t before = g_allocations.load();
  auto p = std::make_unique<int>(7);
  EXPECT_GT(g_allocations.load(), before);
}

TEST(BufferChainAllocationTest, ChainsNeverAllocate) {
  BufferPool pool(64, kSize);
  std::vector<BufferChain> chains;
  chains.reserve(8);
  const std::string data(5 * kSize + 3, 'v');
  const std::span<const char> bytes(data.data(), data.size());
  iovec iov[16];
  char out[64];

  const size_t before = g_allocations.load();
  for (int i = 0; i < 8; ++i) chains.emplace_back(pool, 16);
  BufferChain& a = chains[0];
  BufferChain& b = chains[1];
  BufferChain& c = chains[2];
  a.append(bytes);
  a.reserve(3 * kSize);
  a.writable_iovecs(iov, 16, kSize + 1);
  a.commit(kSize + 1);
  a.iovecs(3, SIZE_MAX, iov, 16);
  a.copy_out(1, std::span<char>(out, 10));
  a.consume(kSize + 2);
  b.append(bytes);
  a.splice_from(b);  // copies: a ends inside a buffer
  c.append(bytes.subspan(0, 2 * kSize));
  b.append(bytes);
  c.splice_from(b);  // relinks
  {
    BufferChain moved(std::move(c));
    moved.swap(chains[3]);
    chains[4] = std::move(chains[3]);
  }
  a.consume(a.length());
  for (BufferChain& chain : chains) chain.release();
  const size_t allocations = g_allocations.load() - before;

  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace mcguard
