// Connection driven without sockets: bytes in through feed(), replies out
// through write_iovecs()/on_written(), against a real pool and embedded tier.
#include "proxy/core/connection.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/embedded/embedded_tier.h"
#include "test_support.h"

namespace mcguard {
namespace {

constexpr uint32_t kBufferSize = 4096;

EmbeddedConfig tier_config() {
  EmbeddedConfig config;
  config.memory_limit = 16u << 20;
  config.max_value_size = 100000;
  return config;
}

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest()
      : pool_(256, kBufferSize), tier_(tier_config()), context_{pool_,   tier_,  stats_,   nullptr,
                                                                nullptr, 100000, 1u << 20, 2000,
                                                                0,       nullptr} {}

  // Feeds `input` in pieces of `step` bytes and returns every reply byte.
  std::string exchange(Connection& connection, const std::string& input, size_t step) {
    std::string output;
    for (size_t at = 0; at < input.size(); at += step) {
      size_t n = std::min(step, input.size() - at);
      EXPECT_EQ(connection.feed(input.data() + at, n), n);
      test::drain_connection(connection, output);
    }
    connection.on_read_idle();
    return output;
  }

  BufferPool pool_;
  EmbeddedTier tier_;
  WorkerStats stats_;
  ConnectionContext context_;
};

TEST_F(ConnectionTest, PipelineAnsweredInOrderWhateverTheSplit) {
  const std::string value(kBufferSize * 3 + 17, 'v');  // needs a chain
  const std::string input = "set a 5 0 3\r\nabc\r\nget a\r\nset big 0 0 " +
                            std::to_string(value.size()) + "\r\n" + value +
                            "\r\nget big a missing\r\ndelete a\r\nget a\r\n";
  const std::string expected = "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\nSTORED\r\nVALUE big 0 " +
                               std::to_string(value.size()) + "\r\n" + value +
                               "\r\nVALUE a 5 3\r\nabc\r\nEND\r\nDELETED\r\nEND\r\n";
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}, input.size()}) {
    Connection connection(context_, "test");
    EXPECT_EQ(exchange(connection, input, step), expected) << "step " << step;
    EXPECT_TRUE(connection.idle());
    EXPECT_EQ(connection.buffers_held(), 0u) << "an idle connection holds no buffer";
  }
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ConnectionTest, RequestsCountOnceHoweverTheyArriveInPieces) {
  // A small set waits in the receive buffer for its value and is parsed again
  // as each byte arrives; a large one streams into a chain.
  const std::string big(kBufferSize * 2, 'b');
  const std::string input = "set a 0 0 100\r\n" + std::string(100, 'a') +
                            "\r\nget a\r\nset big 0 0 " + std::to_string(big.size()) + "\r\n" +
                            big + "\r\nversion\r\n";
  Connection connection(context_, "test");
  exchange(connection, input, 1);
  EXPECT_EQ(stats_.requests.get(), 4u);
}

TEST_F(ConnectionTest, UnfinishedRequestLinesDoNotPinPoolBuffers) {
  // More connections than the pool has buffers each send part of a line and
  // go quiet: none keeps a buffer, and each line completes later intact.
  std::vector<std::unique_ptr<Connection>> slow;
  for (uint32_t i = 0; i < pool_.capacity() + 10; ++i) {
    slow.push_back(std::make_unique<Connection>(context_, "slow"));
    ASSERT_EQ(slow.back()->feed("get flo", 7), 7u) << "connection " << i;
    slow.back()->on_read_idle();
    EXPECT_EQ(slow.back()->buffers_held(), 0u);
    EXPECT_FALSE(slow.back()->idle()) << "it holds part of a request";
  }
  EXPECT_EQ(pool_.in_use(), 0u);
  Connection fine(context_, "fine");
  EXPECT_EQ(exchange(fine, "set flower 0 0 2\r\nok\r\n", 100), "STORED\r\n");
  std::string output;
  ASSERT_EQ(slow[3]->feed("wer\r\n", 5), 5u);
  test::drain_connection(*slow[3], output);
  EXPECT_EQ(output, "VALUE flower 0 2\r\nok\r\nEND\r\n");
}

TEST_F(ConnectionTest, ConnectionsInTheMiddleOfARequestKeepItWhileOthersAreServed) {
  // The request being handled is the worker's, not the connection's: a value
  // still arriving and a long retrieval line taken in batches must come out
  // as their own requests after other connections were served in between.
  Connection other(context_, "other");
  ASSERT_EQ(exchange(other, "set k1 7 0 2\r\nv1\r\nset late 0 0 1\r\nl\r\n", 100),
            "STORED\r\nSTORED\r\n");
  const std::string big(kBufferSize * 2 + 5, 'b');
  const std::string set_big = "set big 3 0 " + std::to_string(big.size()) + "\r\n" + big + "\r\n";
  std::string gats = "gats 100";
  while (gats.size() < kBufferSize * 2) gats += " k1 missing";
  gats += " late\r\n";  // only in the last batch: touched with the line's exptime
  Connection setter(context_, "setter");
  Connection getter(context_, "getter");
  // Each gets its request going, then the other connection is served.
  ASSERT_EQ(setter.feed(set_big.data(), kBufferSize), kBufferSize);
  ASSERT_EQ(getter.feed(gats.data(), kBufferSize), kBufferSize);
  EXPECT_EQ(exchange(other, "mg k1 v f\r\nset big 0 0 1\r\nx\r\nget nothing\r\n", 100),
            "VA 2 f7\r\nv1\r\nSTORED\r\nEND\r\n");
  const size_t rest = set_big.size() - kBufferSize;
  ASSERT_EQ(setter.feed(set_big.data() + kBufferSize, rest), rest);
  ASSERT_EQ(getter.feed(gats.data() + kBufferSize, gats.size() - kBufferSize),
            gats.size() - kBufferSize);
  std::string setter_out, getter_out;
  test::drain_connection(setter, setter_out);
  test::drain_connection(getter, getter_out);
  EXPECT_EQ(setter_out, "STORED\r\n");
  EXPECT_EQ(exchange(other, "get big\r\n", 100),
            "VALUE big 3 " + std::to_string(big.size()) + "\r\n" + big + "\r\nEND\r\n");
  // gats all along: every value with its CAS, and the last key touched too.
  EXPECT_EQ(getter_out.find("VALUE k1 7 2 "), 0u) << getter_out.substr(0, 200);
  EXPECT_EQ(getter_out.find("VALUE k1 7 2\r\n"), std::string::npos) << "answered as a get";
  EXPECT_NE(getter_out.find("VALUE late 0 1 "), std::string::npos);
  EXPECT_TRUE(getter_out.ends_with("END\r\n"));
  const std::string ttl = exchange(other, "mg late t\r\n", 100);
  EXPECT_TRUE(ttl == "HD t100\r\n" || ttl == "HD t99\r\n") << ttl;
}

TEST_F(ConnectionTest, IdleConnectionsGiveBackWhatARequestBorrowed) {
  // A parked line's block and the reply segments go back to the worker when
  // the connection is idle again, and the next connection reuses them.
  for (int i = 0; i < 3; ++i) {
    Connection connection(context_, "c");
    ASSERT_EQ(connection.feed("get fl", 6), 6u);
    connection.on_read_idle();
    EXPECT_EQ(context_.parked_lines.spare(), 0u) << "the line waits in a block";
    EXPECT_EQ(exchange(connection, "ower\r\n", 100), "END\r\n");
    EXPECT_TRUE(connection.idle());
    EXPECT_EQ(context_.parked_lines.spare(), 1u);
    EXPECT_EQ(context_.reply_segments.spare(), 1u);
  }
}

TEST_F(ConnectionTest, ARequestLineThatNeverEndsTimesOutAsASlowClient) {
  context_.slow_client_timeout_ms = 1000;
  context_.now_ms = 5000;
  Connection connection(context_, "slow");
  ASSERT_EQ(connection.feed("get a", 5), 5u);
  connection.on_read_idle();
  EXPECT_FALSE(connection.timed_out(5999));
  EXPECT_TRUE(connection.timed_out(6000));
  // A client that keeps completing requests is not slow, whatever it leaves pending.
  Connection busy(context_, "busy");
  ASSERT_EQ(busy.feed("get a", 5), 5u);
  context_.now_ms = 5900;
  ASSERT_EQ(busy.feed("\r\nget b", 7), 7u);
  EXPECT_FALSE(busy.timed_out(6500));
  EXPECT_TRUE(busy.timed_out(6900));
}

TEST_F(ConnectionTest, AReplyWithNowhereToGoWaitsForABufferInsteadOfClosing) {
  context_.now_ms = 1000;
  Connection connection(context_, "test");
  ASSERT_EQ(connection.feed("get a", 5), 5u);  // holds its receive buffer
  std::vector<uint32_t> taken;
  for (uint32_t b = pool_.acquire(); b != BufferPool::kNoBuffer; b = pool_.acquire()) {
    taken.push_back(b);
  }
  ASSERT_EQ(connection.feed("\r\n", 2), 2u);
  EXPECT_TRUE(connection.waiting_for_pool());
  EXPECT_FALSE(connection.wants_write());
  EXPECT_FALSE(connection.should_close());
  pool_.release(taken.back());
  taken.pop_back();
  connection.retry_pool_wait();
  EXPECT_FALSE(connection.waiting_for_pool());
  std::string output;
  test::drain_connection(connection, output);
  EXPECT_EQ(output, "END\r\n");
  // Past the pool wait timeout with the pool still full, the client is let go.
  Connection starved(context_, "starved");
  ASSERT_EQ(starved.feed("get b", 5), 5u);
  taken.push_back(pool_.acquire());
  ASSERT_EQ(starved.feed("\r\n", 2), 2u);
  EXPECT_TRUE(starved.waiting_for_pool());
  context_.now_ms += context_.pool_wait_timeout_ms;
  starved.retry_pool_wait();
  EXPECT_TRUE(starved.should_close());
  EXPECT_EQ(stats_.closed_for_pool.get(), 1u);
  for (uint32_t b : taken) pool_.release(b);
}

TEST_F(ConnectionTest, OversizedValueIsRejectedSwallowedAndOldValueRemoved) {
  Connection connection(context_, "test");
  EXPECT_EQ(exchange(connection, "set k 0 0 2\r\nok\r\n", 64), "STORED\r\n");
  const std::string big(100001, 'x');
  const std::string input = "set k 0 0 100001\r\n" + big + "\r\nget k\r\n";
  const uint32_t in_use_before = pool_.in_use();
  std::string output;
  for (size_t at = 0; at < input.size(); at += 1000) {
    size_t n = std::min<size_t>(1000, input.size() - at);
    ASSERT_EQ(connection.feed(input.data() + at, n), n);
    // Swallowing never holds more than the one receive buffer.
    EXPECT_LE(pool_.in_use(), in_use_before + 2);
    test::drain_connection(connection, output);
  }
  EXPECT_EQ(output, "SERVER_ERROR object too large for cache\r\nEND\r\n");
  EXPECT_EQ(stats_.rejected_too_large.get(), 1u);
}

TEST_F(ConnectionTest, NoreplyStorageSendsNothing) {
  Connection connection(context_, "test");
  EXPECT_EQ(exchange(connection, "set k 0 0 1 noreply\r\na\r\nget k\r\n", 3),
            "VALUE k 0 1\r\na\r\nEND\r\n");
}

TEST_F(ConnectionTest, BadDataChunk) {
  Connection connection(context_, "test");
  EXPECT_EQ(exchange(connection, "set k 0 0 1\r\nabc\r\n", 100).substr(0, 29),
            "CLIENT_ERROR bad data chunk\r\n");
}

TEST_F(ConnectionTest, QuitClosesAfterEarlierReplies) {
  Connection connection(context_, "test");
  std::string output = exchange(connection, "version\r\nquit\r\nversion\r\n", 100);
  EXPECT_EQ(output.rfind("VERSION ", 0), 0u);
  EXPECT_EQ(output.find("VERSION ", 1), std::string::npos) << "nothing after quit is answered";
  EXPECT_TRUE(connection.should_close());
}

TEST_F(ConnectionTest, ReplyBacklogStopsReading) {
  context_.max_reply_backlog = 8192;
  Connection connection(context_, "test");
  const std::string value(6000, 'z');
  exchange(connection, "set k 0 0 6000\r\n" + value + "\r\n", 100000);
  std::string gets;
  for (int i = 0; i < 10; ++i) gets += "get k\r\n";
  connection.feed(gets.data(), gets.size());
  EXPECT_FALSE(connection.wants_read()) << "over the backlog, the connection stops reading";
  std::string output;
  test::drain_connection(connection, output);
  EXPECT_EQ(output.size(), 10 * (std::string("VALUE k 0 6000\r\n\r\nEND\r\n").size() + 6000));
  EXPECT_TRUE(connection.wants_read());
}

}  // namespace
}  // namespace mcguard
