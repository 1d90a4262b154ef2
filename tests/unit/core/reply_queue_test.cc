// ReplyQueue against a real pool and, for values, real items: from the
// embedded tier (a `get` queues the item by reference into the queue under
// test) and straight from the store (to watch reference counts and chunked
// values). Every test checks the exact byte stream gather() produces.
#include "proxy/core/reply_queue.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cache/item.h"
#include "cache/store.h"
#include "proxy/embedded/embedded_tier.h"
#include "proxy/embedded/reply_writer.h"
#include "test_support.h"

namespace mcguard {
namespace {

using test::join;
using test::pattern;

constexpr uint32_t kSize = 16;  // small buffers make every boundary easy to reach
// The tier copies small values into the reply text; values this large are
// queued by reference.
constexpr size_t kLarge = 3000;
static_assert(kLarge > ReplyWriter::kCopyLimit);

// Everything gather() offers right now, without consuming it.
std::string peek(const ReplyQueue& queue) {
  static iovec iov[8192];
  const size_t n = queue.gather(iov, 8192);
  return join(iov, n);
}

// Sends everything as a kernel would: `write` bytes at most per call, over at
// most `max_iov` iovecs; returns the bytes in order.
std::string drain(ReplyQueue& queue, size_t write, size_t max_iov) {
  std::string out = test::drain_queue(queue, write, max_iov);
  EXPECT_TRUE(queue.empty()) << "a reply is still awaited";
  return out;
}

bool in_pool(const BufferPool& pool, const void* p) {
  const char* c = static_cast<const char*>(p);
  return c >= pool.data(0) && c < pool.data(0) + size_t{pool.capacity()} * pool.buffer_size();
}

class ReplyQueueTest : public ::testing::Test {
 protected:
  ReplyQueueTest() : pool_(8192, kSize), tier_(config()), sink_(pool_, 8) {}

  static EmbeddedConfig config() {
    EmbeddedConfig config;
    config.memory_limit = 8u << 20;
    config.max_value_size = 1u << 20;
    return config;
  }

  void set(std::string_view key, std::string_view value, uint32_t flags = 0) {
    Request request;
    request.command = Command::kSet;
    request.key = key;
    request.client_flags = flags;
    request.value_length = value.size();
    iovec iov{const_cast<char*>(value.data()), value.size()};
    tier_.execute(request, std::span<const iovec>(&iov, 1), sink_);
    ASSERT_EQ(drain(sink_, SIZE_MAX, 64), "STORED\r\n");
  }

  // Queues the reply to `get key` into `queue`: header text, the value by
  // reference, then "\r\nEND\r\n".
  void get(std::string_view key, ReplyQueue& queue) {
    Request request;
    request.command = Command::kGet;
    request.key = key;
    request.keys = key;
    request.key_count = 1;
    tier_.execute(request, {}, queue);
  }

  static std::string get_reply(std::string_view key, std::string_view value, uint32_t flags = 0) {
    return "VALUE " + std::string(key) + " " + std::to_string(flags) + " " +
           std::to_string(value.size()) + "\r\n" + std::string(value) + "\r\nEND\r\n";
  }

  BufferPool pool_;
  EmbeddedTier tier_;
  ReplyQueue sink_;  // swallows the replies of `set`
};

TEST_F(ReplyQueueTest, NewQueueIsEmpty) {
  ReplyQueue queue(pool_, 4);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.pending_bytes(), 0u);
  EXPECT_FALSE(queue.overflowed());
  EXPECT_EQ(queue.text_spare(), 0u);
  iovec iov[4];
  EXPECT_EQ(queue.gather(iov, 4), 0u);
  queue.consume(0);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueTest, TextIsQueuedAndSent) {
  ReplyQueue queue(pool_, 4);
  ASSERT_TRUE(queue.append_text("STORED\r\n"));
  EXPECT_FALSE(queue.empty());
  EXPECT_EQ(queue.pending_bytes(), 8u);
  EXPECT_EQ(queue.text_spare(), kSize - 8);
  EXPECT_EQ(pool_.in_use(), 1u);
  iovec iov[4];
  ASSERT_EQ(queue.gather(iov, 4), 1u);
  EXPECT_EQ(join(iov, 1), "STORED\r\n");
  EXPECT_TRUE(in_pool(pool_, iov[0].iov_base));
  queue.consume(8);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.gather(iov, 4), 0u);
  // An empty queue holds no buffer.
  EXPECT_EQ(pool_.in_use(), 0u);
  EXPECT_EQ(queue.text_spare(), 0u);
}

TEST_F(ReplyQueueTest, EmptyTextIsANoOp) {
  ReplyQueue queue(pool_, 4);
  EXPECT_TRUE(queue.append_text(""));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(pool_.in_use(), 0u);
  iovec iov[2];
  EXPECT_EQ(queue.gather(iov, 2), 0u);
}

TEST_F(ReplyQueueTest, ConsecutiveTextsShareBuffers) {
  ReplyQueue queue(pool_, 4);
  ASSERT_TRUE(queue.append_text("DELETED\r\n"));
  ASSERT_TRUE(queue.append_text("NOT_FOUND\r\n"));  // crosses into a second buffer
  ASSERT_TRUE(queue.append_text("END\r\n"));
  EXPECT_EQ(pool_.in_use(), 2u);
  EXPECT_EQ(queue.pending_bytes(), 25u);
  iovec iov[8];
  const size_t n = queue.gather(iov, 8);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(join(iov, n), "DELETED\r\nNOT_FOUND\r\nEND\r\n");
}

TEST_F(ReplyQueueTest, PartialConsumeOfTextReleasesSentBuffers) {
  ReplyQueue queue(pool_, 8);
  const std::string text = pattern(3 * kSize + 5);
  ASSERT_TRUE(queue.append_text(text));
  EXPECT_EQ(pool_.in_use(), 4u);
  queue.consume(kSize - 1);
  EXPECT_EQ(pool_.in_use(), 4u);
  EXPECT_EQ(peek(queue), text.substr(kSize - 1));
  queue.consume(1);  // exactly the first buffer
  EXPECT_EQ(pool_.in_use(), 3u);
  EXPECT_EQ(peek(queue), text.substr(kSize));
  queue.consume(kSize + 3);
  EXPECT_EQ(pool_.in_use(), 2u);
  EXPECT_EQ(queue.pending_bytes(), kSize + 2);
  EXPECT_EQ(peek(queue), text.substr(2 * kSize + 3));
  queue.consume(queue.pending_bytes());
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueTest, GatherStopsAtMaxIov) {
  ReplyQueue queue(pool_, 8);
  const std::string text = pattern(3 * kSize);
  ASSERT_TRUE(queue.append_text(text));
  iovec iov[4];
  EXPECT_EQ(queue.gather(iov, 0), 0u);
  ASSERT_EQ(queue.gather(iov, 1), 1u);
  EXPECT_EQ(join(iov, 1), text.substr(0, kSize));
  ASSERT_EQ(queue.gather(iov, 2), 2u);
  EXPECT_EQ(join(iov, 2), text.substr(0, 2 * kSize));
}

TEST_F(ReplyQueueTest, TextThatDoesNotFitIsRefusedWhole) {
  BufferPool small(3, kSize);
  ReplyQueue queue(small, 8);
  ASSERT_TRUE(queue.append_text("first\r\n"));
  const uint64_t failed_before = small.failed_acquires();
  // Needs three more buffers beyond the spare; the pool has two.
  EXPECT_FALSE(queue.append_text(pattern(kSize - 7 + 2 * kSize + 1)));
  EXPECT_TRUE(queue.overflowed());
  EXPECT_EQ(small.in_use(), 1u);
  EXPECT_EQ(small.failed_acquires(), failed_before + 1);
  EXPECT_EQ(queue.pending_bytes(), 7u);
  EXPECT_EQ(peek(queue), "first\r\n");
  // Later replies would answer out of step: refused even when they fit.
  EXPECT_FALSE(queue.append_text("x"));
  EXPECT_EQ(queue.pending_bytes(), 7u);
  // What was queued before the failure still drains, and clear() starts over.
  EXPECT_EQ(drain(queue, SIZE_MAX, 8), "first\r\n");
  EXPECT_EQ(small.in_use(), 0u);
  queue.clear();
  EXPECT_FALSE(queue.overflowed());
  EXPECT_TRUE(queue.append_text("again\r\n"));
  EXPECT_EQ(peek(queue), "again\r\n");
}

TEST_F(ReplyQueueTest, TextBeyondMaxTextBuffersIsRefused) {
  ReplyQueue queue(pool_, 2);
  EXPECT_FALSE(queue.append_text(pattern(2 * kSize + 1)));
  EXPECT_TRUE(queue.overflowed());
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(pool_.in_use(), 0u);
  EXPECT_EQ(pool_.failed_acquires(), 0u);  // the queue's cap, not the pool's

  ReplyQueue exact(pool_, 2);
  EXPECT_TRUE(exact.append_text(pattern(2 * kSize)));
  EXPECT_FALSE(exact.overflowed());
  EXPECT_EQ(exact.text_spare(), 0u);
}

TEST_F(ReplyQueueTest, TextSpareTracksTheLastBuffer) {
  ReplyQueue queue(pool_, 4);
  ASSERT_TRUE(queue.append_text("abc"));
  EXPECT_EQ(queue.text_spare(), kSize - 3);
  ASSERT_TRUE(queue.append_text(pattern(kSize - 3)));
  EXPECT_EQ(queue.text_spare(), 0u);
  EXPECT_EQ(pool_.in_use(), 1u);
}

TEST_F(ReplyQueueTest, ClearDropsEverythingAndReturnsBuffers) {
  set("k", "value");
  ReplyQueue queue(pool_, 8);
  ASSERT_TRUE(queue.append_text(pattern(2 * kSize)));
  get("k", queue);
  queue.consume(3);
  EXPECT_GT(pool_.in_use(), 0u);
  queue.clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.pending_bytes(), 0u);
  EXPECT_EQ(pool_.in_use(), 0u);
  iovec iov[4];
  EXPECT_EQ(queue.gather(iov, 4), 0u);
  // Usable afterwards.
  ASSERT_TRUE(queue.append_text("END\r\n"));
  EXPECT_EQ(drain(queue, SIZE_MAX, 4), "END\r\n");
}

TEST_F(ReplyQueueTest, DestructorReturnsBuffers) {
  {
    ReplyQueue queue(pool_, 8);
    ASSERT_TRUE(queue.append_text(pattern(3 * kSize)));
    EXPECT_EQ(pool_.in_use(), 3u);
  }
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueTest, ValueIsSentFromStoreMemoryBetweenItsText) {
  const std::string value = pattern(kLarge);
  set("key", value, 42);
  ReplyQueue queue(pool_, 8);
  get("key", queue);
  const std::string expected = get_reply("key", value, 42);
  EXPECT_EQ(queue.pending_bytes(), expected.size());
  iovec iov[16];
  const size_t n = queue.gather(iov, 16);
  EXPECT_EQ(join(iov, n), expected);
  // The value's bytes are not copied into pool buffers.
  bool value_outside_pool = false;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view bytes(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    if (!in_pool(pool_, iov[i].iov_base)) {
      value_outside_pool = true;
      EXPECT_NE(value.find(bytes), std::string::npos);
    }
  }
  EXPECT_TRUE(value_outside_pool);
  EXPECT_EQ(drain(queue, SIZE_MAX, 16), expected);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueTest, TextAndValuesInterleaveInOrder) {
  const std::string big = pattern(kLarge + 3, 'A');
  set("a", "1");
  set("big", big);
  ReplyQueue queue(pool_, 16);
  ASSERT_TRUE(queue.append_text("STORED\r\n"));
  get("a", queue);
  get("big", queue);
  ASSERT_TRUE(queue.append_text("DELETED\r\n"));
  get("a", queue);
  const std::string expected = "STORED\r\n" + get_reply("a", "1") + get_reply("big", big) +
                               "DELETED\r\n" + get_reply("a", "1");
  EXPECT_EQ(queue.pending_bytes(), expected.size());
  EXPECT_EQ(peek(queue), expected);
  EXPECT_EQ(drain(queue, SIZE_MAX, 64), expected);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueTest, PartialConsumeResumesInsideAValue) {
  const std::string value = pattern(kLarge);
  set("k", value);
  ReplyQueue queue(pool_, 8);
  get("k", queue);
  const std::string expected = get_reply("k", value);
  const size_t header = expected.find(value);
  // Stop at the end of the header text, then inside the value, then at its end.
  for (size_t stop :
       {header, header + 1, header + 17, header + value.size(), header + value.size() + 2}) {
    SCOPED_TRACE(stop);
    ReplyQueue q(pool_, 8);
    get("k", q);
    q.consume(stop);
    EXPECT_EQ(q.pending_bytes(), expected.size() - stop);
    EXPECT_EQ(peek(q), expected.substr(stop));
    EXPECT_EQ(drain(q, 5, 3), expected.substr(stop));
  }
  EXPECT_EQ(drain(queue, 1, 1), expected);
}

TEST_F(ReplyQueueTest, GatherNeverOffersAValueAfterCutText) {
  const std::string value(kLarge, 'v');
  set("k", value);
  ReplyQueue queue(pool_, 8);
  ASSERT_TRUE(queue.append_text(pattern(kSize + 2)));  // two iovecs of text
  get("k", queue);
  const std::string expected = pattern(kSize + 2) + get_reply("k", value);
  // Whatever max_iov, the iovecs are a prefix of the stream.
  for (size_t max_iov = 1; max_iov <= 8; ++max_iov) {
    iovec iov[8];
    const size_t n = queue.gather(iov, max_iov);
    ASSERT_LE(n, max_iov);
    ASSERT_GT(n, 0u);
    const std::string got = join(iov, n);
    EXPECT_EQ(got, expected.substr(0, got.size())) << max_iov;
  }
}

TEST_F(ReplyQueueTest, EmptyValueSendsOnlyItsText) {
  set("empty", "");
  ReplyQueue queue(pool_, 8);
  get("empty", queue);
  EXPECT_EQ(drain(queue, 3, 2), get_reply("empty", ""));
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueTest, QueuedValueSurvivesOverwriteAndDelete) {
  const std::string old_value = pattern(kLarge, 'a');
  set("k", old_value);
  ReplyQueue queue(pool_, 8);
  get("k", queue);
  set("k", pattern(kLarge, 'n'));
  Request del;
  del.command = Command::kDelete;
  del.key = "k";
  tier_.execute(del, {}, sink_);
  ASSERT_EQ(drain(sink_, SIZE_MAX, 8), "DELETED\r\n");
  EXPECT_EQ(drain(queue, 7, 4), get_reply("k", old_value));
}

TEST_F(ReplyQueueTest, RandomDrainsMatchTheQueuedStream) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < 6; ++i) {
    // Both sides of the size where the tier stops copying values into text.
    const size_t size = i % 2 == 0 ? rng() % (4 * kSize) : kLarge + rng() % kLarge;
    items.emplace_back("key" + std::to_string(i), pattern(size, 'a' + i));
    set(items.back().first, items.back().second);
  }
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    ReplyQueue queue(pool_, 8192);
    std::string expected, sent;
    for (int step = 0; step < 60; ++step) {
      const unsigned op = rng() % 4;
      if (op == 0) {
        const std::string text = pattern(rng() % (2 * kSize), 'A');
        ASSERT_TRUE(queue.append_text(text));
        expected += text;
      } else if (op == 1) {
        const auto& [key, value] = items[rng() % items.size()];
        get(key, queue);
        expected += get_reply(key, value);
      } else {
        iovec iov[64];
        const size_t max_iov = 1 + rng() % 6;
        const size_t n = queue.gather(iov, max_iov);
        ASSERT_LE(n, max_iov);
        const std::string offered = join(iov, n);
        ASSERT_EQ(offered, expected.substr(sent.size(), offered.size()));
        const size_t taken = offered.empty() ? 0 : rng() % (offered.size() + 1);
        sent += offered.substr(0, taken);
        queue.consume(taken);
      }
      ASSERT_EQ(queue.pending_bytes(), expected.size() - sent.size());
      ASSERT_EQ(queue.empty(), expected.size() == sent.size());
      if (queue.empty()) {
        ASSERT_EQ(pool_.in_use(), 0u);
      }
    }
    ASSERT_FALSE(queue.overflowed());
    sent += drain(queue, 1 + rng() % 50, 1 + rng() % 8);
    ASSERT_EQ(sent, expected);
    ASSERT_EQ(pool_.in_use(), 0u);
  }
}

size_t heap_bytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

TEST_F(ReplyQueueTest, QueueThatNeverDrainsDoesNotGrow) {
  set("k", pattern(kLarge));
  ReplyQueue queue(pool_, 8);
  // Always a few replies in flight, never empty: the segment vector must
  // recycle its front instead of growing.
  auto step = [&] {
    ASSERT_TRUE(queue.append_text("a"));
    get("k", queue);
    queue.consume(queue.pending_bytes() / 2 + 1);
    ASSERT_FALSE(queue.empty());
  };
  {
    // Sanitizers replace malloc and report no statistics; nothing to measure then.
    const size_t empty = heap_bytes();
    std::vector<char> probe(1u << 16, 'x');
    if (heap_bytes() == empty) GTEST_SKIP() << "mallinfo2() does not see this heap";
  }
  for (int i = 0; i < 1000; ++i) step();  // warm-up: the vector reaches its working size
  const size_t before = heap_bytes();
  for (int i = 0; i < 20000; ++i) step();
  EXPECT_EQ(heap_bytes(), before);
  EXPECT_LE(pool_.in_use(), 8u);
}

TEST_F(ReplyQueueTest, EmptiedQueuesLendTheirSegmentStorageToTheNext) {
  // An idle queue keeps no segment storage; a busy one takes what an emptied
  // one gave back instead of allocating its own.
  ReplyQueue::SegmentSpares spares;
  ReplyQueue first(pool_, 8);
  ReplyQueue second(pool_, 8);
  first.set_segment_spares(&spares);
  second.set_segment_spares(&spares);
  ASSERT_TRUE(first.append_text("one\r\n"));
  EXPECT_EQ(spares.spare(), 0u);
  EXPECT_EQ(drain(first, SIZE_MAX, 8), "one\r\n");
  EXPECT_EQ(spares.spare(), 1u) << "the emptied queue gave its storage back";
  ASSERT_TRUE(second.append_text("two\r\n"));
  EXPECT_EQ(spares.spare(), 0u) << "the next queue took it";
  ASSERT_TRUE(first.append_text("three\r\n"));
  EXPECT_EQ(drain(second, SIZE_MAX, 8), "two\r\n");
  EXPECT_EQ(spares.spare(), 1u);
  first.clear();
  EXPECT_EQ(spares.spare(), 2u) << "clear() gives it back too";
  ASSERT_TRUE(first.append_text("four\r\n"));
  EXPECT_EQ(drain(first, SIZE_MAX, 8), "four\r\n");
  EXPECT_EQ(spares.spare(), 2u) << "only as many as were ever busy at once";
}

// Items made directly in the store: the test keeps its own reference, so the
// queue's references show in Item::refs.
class ReplyQueueStoreTest : public ::testing::Test {
 protected:
  ReplyQueueStoreTest() : pool_(64, kSize), store_(config()) {}

  static StoreConfig config() {
    StoreConfig config;
    config.memory_limit = 32u << 20;
    config.max_value_size = 8u << 20;
    return config;
  }

  ItemRef make(std::string_view key, const std::string& value) {
    Store::AllocStatus status;
    ItemRef item = store_.allocate(key, 0, 0, value.size(), status);
    EXPECT_EQ(status, Store::AllocStatus::kOk);
    if (item) item_write_value(item.get(), 0, std::span<const char>(value.data(), value.size()));
    return item;
  }

  static uint32_t refs(const ItemRef& item) { return item.get()->refs.load(); }

  BufferPool pool_;
  Store store_;
};

TEST_F(ReplyQueueStoreTest, HoldsOneReferenceUntilTheValueIsSent) {
  const std::string value = pattern(100);
  ItemRef item = make("k", value);
  ASSERT_TRUE(item);
  ASSERT_EQ(refs(item), 1u);
  ReplyQueue queue(pool_, 8);
  ASSERT_TRUE(queue.append_text("head"));
  queue.append_value(item_share(item.get()));
  ASSERT_TRUE(queue.append_text("tail"));
  EXPECT_EQ(refs(item), 2u);
  EXPECT_EQ(queue.pending_bytes(), 108u);
  queue.consume(4 + 99);
  EXPECT_EQ(refs(item), 2u);
  EXPECT_EQ(peek(queue), value.substr(99) + "tail");
  queue.consume(1);
  // Released as soon as its last byte went, before the queue drains.
  EXPECT_EQ(refs(item), 1u);
  EXPECT_EQ(drain(queue, SIZE_MAX, 4), "tail");
}

TEST_F(ReplyQueueStoreTest, ClearDropsEveryReference) {
  ItemRef a = make("a", pattern(10));
  ItemRef b = make("b", pattern(20));
  ReplyQueue queue(pool_, 8);
  queue.append_value(item_share(a.get()));
  ASSERT_TRUE(queue.append_text("\r\n"));
  queue.append_value(item_share(b.get()));
  queue.append_value(item_share(a.get()));  // the same item twice, back to back
  EXPECT_EQ(refs(a), 3u);
  EXPECT_EQ(refs(b), 2u);
  EXPECT_EQ(peek(queue), pattern(10) + "\r\n" + pattern(20) + pattern(10));
  queue.consume(5);
  queue.clear();
  EXPECT_EQ(refs(a), 1u);
  EXPECT_EQ(refs(b), 1u);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueStoreTest, DestructorDropsEveryReference) {
  ItemRef a = make("a", pattern(10));
  {
    ReplyQueue queue(pool_, 8);
    ASSERT_TRUE(queue.append_text("x"));
    queue.append_value(item_share(a.get()));
    EXPECT_EQ(refs(a), 2u);
  }
  EXPECT_EQ(refs(a), 1u);
}

TEST_F(ReplyQueueStoreTest, EmptyValuesAndEmptyRefsAreNotKept) {
  ItemRef empty = make("e", "");
  ReplyQueue queue(pool_, 8);
  queue.append_value(item_share(empty.get()));
  queue.append_value(ItemRef());
  EXPECT_EQ(refs(empty), 1u);
  EXPECT_TRUE(queue.empty());
  iovec iov[4];
  EXPECT_EQ(queue.gather(iov, 4), 0u);
}

TEST_F(ReplyQueueStoreTest, ValueAfterOverflowIsDropped) {
  ItemRef item = make("k", pattern(10));
  BufferPool tiny(1, kSize);
  ReplyQueue queue(tiny, 8);
  EXPECT_FALSE(queue.append_text(pattern(kSize + 1)));
  queue.append_value(item_share(item.get()));
  EXPECT_EQ(refs(item), 1u);
  EXPECT_TRUE(queue.empty());
}

TEST_F(ReplyQueueStoreTest, ChunkedValueSpansSeveralIovecs) {
  // Larger than one 1 MiB chunk: the store hands out several iovecs.
  const std::string value = pattern((3u << 20) + 12345, 'A');
  ItemRef item = make("big", value);
  ASSERT_TRUE(item);
  ReplyQueue queue(pool_, 8);
  ASSERT_TRUE(queue.append_text("VALUE big 0 " + std::to_string(value.size()) + "\r\n"));
  queue.append_value(item_share(item.get()));
  ASSERT_TRUE(queue.append_text("\r\nEND\r\n"));
  const std::string expected =
      "VALUE big 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n";
  iovec iov[64];
  const size_t n = queue.gather(iov, 64);
  size_t value_iovecs = 0;
  for (size_t i = 0; i < n; ++i) value_iovecs += in_pool(pool_, iov[i].iov_base) ? 0 : 1;
  EXPECT_GT(value_iovecs, 1u);
  EXPECT_EQ(join(iov, n), expected);
  // Prefixes for every max_iov, then a drain in odd-sized writes.
  for (size_t max_iov = 1; max_iov <= n; ++max_iov) {
    const size_t m = queue.gather(iov, max_iov);
    ASSERT_EQ(m, max_iov);
    const std::string got = join(iov, m);
    ASSERT_EQ(got, expected.substr(0, got.size()));
  }
  EXPECT_EQ(drain(queue, 333333, 3), expected);
  EXPECT_EQ(refs(item), 1u);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ReplyQueueStoreTest, ResumesAtEveryChunkBoundary) {
  const std::string value = pattern((2u << 20) + 7, 'a');
  ItemRef item = make("big", value);
  ASSERT_TRUE(item);
  iovec iov[64];
  std::vector<size_t> boundaries;
  {
    const size_t n = item.value_iovecs(0, iov, 64);
    size_t at = 0;
    for (size_t i = 0; i < n; ++i) boundaries.push_back(at += iov[i].iov_len);
  }
  ASSERT_GT(boundaries.size(), 1u);
  for (size_t boundary : boundaries) {
    for (size_t stop : {boundary - 1, boundary, boundary + 1}) {
      if (stop > value.size()) continue;
      ReplyQueue queue(pool_, 8);
      ASSERT_TRUE(queue.append_text("<"));
      queue.append_value(item_share(item.get()));
      ASSERT_TRUE(queue.append_text(">"));
      queue.consume(1 + stop);
      const std::string want = value.substr(stop) + ">";
      ASSERT_EQ(queue.pending_bytes(), want.size());
      ASSERT_EQ(peek(queue), want) << stop;
    }
  }
  EXPECT_EQ(refs(item), 1u);
}

}  // namespace
}  // namespace mcguard
