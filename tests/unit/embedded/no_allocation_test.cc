// The embedded tier's request path must not touch the heap in steady state: items
// come from the store's region, replies from the pool. Counted, not assumed: this
// binary's operator new counts calls while a test asks it to.
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "pool/buffer_pool.h"
#include "protocol/parser.h"
#include "proxy/core/reply_queue.h"
#include "proxy/embedded/embedded_tier.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size != 0 ? size : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that this operator new is the malloc these frees pair with.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace mcguard {
namespace {

struct Prepared {
  Request request;
  iovec value{};
};

TEST(NoAllocation, SteadyStateRequestsDoNotAllocate) {
  EmbeddedConfig config;
  config.memory_limit = 1 << 20;  // small: the loop evicts all the time
  EmbeddedTier tier(config);
  BufferPool pool(256, 4096);
  ReplyQueue queue(pool, 256);

  // Every request parsed up front (the test's own strings must not count).
  const std::string big(100000, 'b');
  std::vector<std::string> lines;
  for (int i = 0; i < 64; ++i) {
    const std::string k = "key" + std::to_string(i);
    lines.push_back("set " + k + " 1 0 10\r\n0123456789\r\n");
    lines.push_back("get " + k + " nope " + k + "\r\n");
    lines.push_back("mg " + k + " v c t f k O1\r\n");
    lines.push_back("ms " + k + " 10 T100 c\r\n0123456789\r\n");
    lines.push_back("append " + k + " 0 0 3\r\nabc\r\n");
    lines.push_back("gats 10 " + k + "\r\n");
    lines.push_back("incr ctr 7\r\n");
    lines.push_back("ma ctr N0 v\r\n");
    lines.push_back("me " + k + "\r\n");
    lines.push_back("delete " + k + "\r\n");
    lines.push_back("mn\r\n");
    if (i % 8 == 0) {
      const std::string b = "big" + std::to_string(i / 8);
      lines.push_back("set " + b + " 0 0 100000\r\n" + big + "\r\n");
      lines.push_back("get " + b + " big0\r\n");
      lines.push_back("touch " + b + " 100\r\n");
    }
  }
  std::vector<Prepared> prepared(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const ParseResult r = parse_header(lines[i], prepared[i].request);
    ASSERT_EQ(r.status, ParseResult::Status::kRequest) << lines[i];
    if (prepared[i].request.has_value()) {
      prepared[i].value = {lines[i].data() + r.consumed, prepared[i].request.value_length};
    }
  }

  uint64_t sent = 0;
  auto run_all = [&] {
    iovec iov[64];
    for (const Prepared& p : prepared) {
      tier.execute(p.request, {&p.value, p.request.has_value() ? 1u : 0u}, queue);
      while (!queue.empty()) {
        const size_t n = queue.gather(iov, 64);
        size_t bytes = 0;
        for (size_t j = 0; j < n; ++j) bytes += iov[j].iov_len;
        queue.consume(bytes);
        sent += bytes;
      }
    }
  };
  for (int round = 0; round < 3; ++round) run_all();  // warm up: queue capacity, pages

  g_allocations = 0;
  g_counting = true;
  for (int round = 0; round < 20; ++round) run_all();
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0u);
  EXPECT_GT(sent, 20u * 8 * 100000) << "the loop really sent the big values";
  EXPECT_GT(tier.stats().evictions, 0u) << "and evicted on the way";
}

}  // namespace
}  // namespace mcguard
