// Value-size limit enforcement. Each side gets a value one byte over its OWN
// limit (memcached: its -I; the subject: --max-value-size), and the replies
// must match: the line memcached sends, the data swallowed, the connection
// still usable, and the old value under the key gone as memcached does on a
// failed set.
#include <cstdio>
#include <thread>
#include <vector>

#include "differential.h"

namespace mcguard::e2e {
namespace {

class Limits : public DifferentialTest {
 protected:
  // One byte more than the side accepts. memcached counts its item header
  // against -I, so -I + 1 is over its limit with room to spare.
  static size_t over_limit(Side side) {
    if (side == Side::kReference || subject_is_memcached()) return kReferenceItemSizeMax + 1;
    return kMaxValueSize + 1;
  }
  // A per-side request: `before` + "<over_limit bytes>" + `after`.
  static std::function<std::string(Side)> oversized(const std::string& command,
                                                    const std::string& after) {
    return [=](Side side) {
      const size_t n = over_limit(side);
      return command + " " + std::to_string(n) + (after.empty() ? "" : " ") + after + "\r\n" +
             std::string(n, 'v') + "\r\n";
    };
  }
};

constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";

TEST_F(Limits, OverMaxValueSizeIsRejectedAndOldValueDropped) {
  expect_same("set k 0 0 3\r\nold\r\n");
  Replies r = expect_same([](Side side) { return oversized("set k 0 0", "")(side) + "get k\r\n"; },
                          milliseconds(30000));
  // The exact line comes from memcached itself.
  ASSERT_EQ(r.reference.bytes.substr(0, kTooLarge.size()), kTooLarge);
  EXPECT_EQ(r.subject.bytes, std::string(kTooLarge) + "END\r\nMN\r\n");
  // The connection is still in step.
  expect_same("set k 0 0 3\r\nnew\r\nget k\r\n");
}

TEST_F(Limits, OverMaxValueSizeNoreply) {
  expect_same("set k 0 0 3\r\nold\r\n");
  expect_same([](Side side) { return oversized("set k 0 0", "noreply")(side) + "get k\r\n"; },
              milliseconds(30000));
}

TEST_F(Limits, OverMaxValueSizeWithMetaSet) {
  expect_same("set k 0 0 3\r\nold\r\n");
  expect_same([](Side side) { return oversized("ms k", "T0")(side) + "mg k v\r\n"; },
              milliseconds(30000));
  expect_same("set k 0 0 3\r\nold\r\n");
  expect_same([](Side side) { return oversized("ms k", "q")(side) + "mg k v\r\n"; },
              milliseconds(30000));
}

TEST_F(Limits, OverMaxValueSizeAddAndAppendKeepTheOldValue) {
  expect_same("set k 0 0 3\r\nold\r\n");
  expect_same([](Side side) { return oversized("add k 0 0", "")(side) + "get k\r\n"; },
              milliseconds(30000));
  expect_same([](Side side) { return oversized("append k 0 0", "")(side) + "get k\r\n"; },
              milliseconds(30000));
}

TEST_F(Limits, OverMaxValueSizeStreamedInPiecesIsSwallowed) {
  // The oversized value arrives in 12 writes, 20 ms apart: the data must be
  // swallowed as it streams, never parsed as commands (the value is full of
  // "get k\r\n" lines to make that visible).
  expect_same("set k 0 0 3\r\nold\r\n");
  std::string request[2];
  for (Side side : {Side::kReference, Side::kSubject}) {
    const size_t n = over_limit(side);
    std::string data;
    while (data.size() < n) data += "get k\r\n";
    data.resize(n);
    request[side == Side::kReference ? 0 : 1] =
        "set k 0 0 " + std::to_string(n) + "\r\n" + data + "\r\n";
  }
  constexpr size_t kPieces = 12;
  for (size_t i = 0; i < kPieces; ++i) {
    for (Side side : {Side::kReference, Side::kSubject}) {
      const std::string& r = request[side == Side::kReference ? 0 : 1];
      const size_t piece = r.size() / kPieces + 1;
      if (i * piece < r.size()) {
        ASSERT_TRUE(client(side).send(std::string_view(r).substr(i * piece, piece)));
      }
    }
    std::this_thread::sleep_for(milliseconds(20));  // shapes the input; not a wait
  }
  Replies r = expect_same("get k\r\nset k 0 0 3\r\nnew\r\nget k\r\n", milliseconds(30000));
  EXPECT_EQ(r.subject.bytes,
            std::string(kTooLarge) + "END\r\nSTORED\r\nVALUE k 0 3\r\nnew\r\nEND\r\nMN\r\n");
}

TEST_F(Limits, OversizedHeaderAloneGetsNoSpuriousReply) {
  // Only the header of an oversized set: whatever the server says now, it
  // must not treat anything yet to come as commands, and the rest of the data
  // completes the request.
  const size_t n = over_limit(Side::kSubject);
  Client& c = client(Side::kSubject);
  ASSERT_TRUE(c.send("set k 0 0 " + std::to_string(n) + "\r\n"));
  std::string early;
  ReadResult line = c.read_line(milliseconds(300));
  if (!line.timed_out) early = line.bytes;  // rejecting at once is allowed
  EXPECT_TRUE(early.empty() || early == kTooLarge) << escape(early);
  ASSERT_TRUE(c.send(std::string(n, 'x') + "\r\nmn\r\n", milliseconds(20000)));
  ReadResult rest =
      c.read_until([](std::string_view got) { return reply_length_through_markers(got, 1); },
                   milliseconds(20000));
  EXPECT_EQ(early + rest.bytes, std::string(kTooLarge) + "MN\r\n");
}

TEST_F(Limits, MaxValueSizeFitsAndOneMoreDoesNot) {
  // Exactly at the subject's limit is stored; one byte more is refused.
  if (subject_is_memcached()) GTEST_SKIP() << "memcached's limit includes its item header";
  Client& c = client(Side::kSubject);
  const std::string at_limit(kMaxValueSize, 'a');
  ASSERT_TRUE(c.send("set k 0 0 " + std::to_string(kMaxValueSize) + "\r\n" + at_limit +
                         "\r\nset k 0 0 " + std::to_string(kMaxValueSize + 1) + "\r\n" + at_limit +
                         "b\r\nmg k s\r\nmn\r\n",
                     milliseconds(20000)));
  ReadResult r =
      c.read_until([](std::string_view got) { return reply_length_through_markers(got, 1); },
                   milliseconds(20000));
  EXPECT_EQ(r.bytes, "STORED\r\n" + std::string(kTooLarge) + "EN\r\nMN\r\n");
}

TEST_F(Limits, MemoryStaysWithinConfiguredBudget) {
  // 160 MiB of values through a 16 MiB store: every set succeeds (the cache
  // evicts), the newest values read back intact, and the process stays within
  // store + pool plus a fixed allowance for code, stacks and connections.
  if (subject_is_memcached()) GTEST_SKIP() << "mcguard's memory model only";
  McguardOptions options;
  options.memory_limit = "16m";
  options.pool_size = "20m";  // the least that holds one 8 MiB value per worker
  std::string error;
  subject_.reset();
  subject_ = start_subject(&error, options);
  ASSERT_NE(subject_, nullptr) << error;
  std::vector<Client> writers;
  for (int i = 0; i < 2; ++i) {
    auto c = Client::connect(subject_->port());
    ASSERT_TRUE(c.has_value());
    writers.push_back(std::move(*c));
  }
  constexpr int kValues = 160;
  const std::string value = make_value(1u << 20, 3);
  for (int batch = 0; batch < kValues / 8; ++batch) {
    for (int w = 0; w < 2; ++w) {
      std::string request;
      for (int i = 0; i < 4; ++i) {
        const int n = batch * 8 + w * 4 + i;
        request += "set v" + std::to_string(n) + " 0 0 " + std::to_string(value.size()) + "\r\n" +
                   value + "\r\n";
      }
      ASSERT_TRUE(writers[w].send(request, milliseconds(20000)));
    }
    for (int w = 0; w < 2; ++w) {
      ReadResult r = writers[w].read_exactly(4 * 8, milliseconds(20000));
      ASSERT_EQ(r.bytes, "STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n") << "batch " << batch;
    }
  }
  const std::string last = "v" + std::to_string(kValues - 1);
  ASSERT_TRUE(writers[0].send("get " + last + "\r\n"));
  const std::string expected =
      "VALUE " + last + " 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n";
  EXPECT_TRUE(writers[0].read_exactly(expected.size()).bytes == expected)
      << "the newest value did not read back intact";
  const long rss = subject_->rss_kib().value_or(-1);
  constexpr long kAllowanceKib = 24 * 1024;
  const long budget_kib = (16 + 20) * 1024 + kAllowanceKib;
  std::printf(
      "[ INFO     ] mcguard VmRSS after %d MiB through a 16 MiB store: %ld KiB (budget %ld)\n",
      kValues, rss, budget_kib);
  EXPECT_GT(rss, 0);
  EXPECT_LE(rss, budget_kib) << "store 16 MiB + pool 20 MiB + 24 MiB allowance";
}

}  // namespace
}  // namespace mcguard::e2e
