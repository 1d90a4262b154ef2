// Connection against --max-connection-chain (ChainBudget): a connection's
// values stay charged to it while a tier holds their buffers, a value past the
// budget waits for the connection's own earlier ones while others go on, and
// the embedded tier, which lets a value's chain go at once, never waits.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "proxy/core/connection.h"
#include "proxy/embedded/embedded_tier.h"
#include "test_support.h"

namespace mcguard {
namespace {

constexpr uint32_t kBufferSize = 4096;
constexpr uint64_t kMaxValue = 100000;
constexpr size_t kValueSize = 3 * kBufferSize;  // a chain of 4 buffers with its "\r\n"
constexpr uint32_t kValueBuffers = 4;

// A tier that keeps each value's buffers in one send queue, as the upstream
// tier does until the upstream reads them, and answers STORED at once.
class HoldingTier final : public Tier {
 public:
  explicit HoldingTier(BufferPool& pool) : queue_(pool, pool.capacity()) {}
  bool can_accept(const Request&, const ReplyQueue&) override { return true; }
  void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
               BufferChain* value_chain) override {
    if (value_chain != nullptr) {
      EXPECT_TRUE(queue_.splice_from(*value_chain));
    } else {
      for (const iovec& part : value) {
        queue_.append({static_cast<const char*>(part.iov_base), part.iov_len});
      }
      queue_.append({"\r\n", 2});
    }
    ++stored_;
    if (!request.noreply) reply.append_text("STORED\r\n");
  }
  void remove_stale(std::string_view, const ReplyQueue&) override {}

  // The upstream reads `n` bytes (all when larger): they go back to the pool.
  std::string send(size_t n) {
    n = std::min(n, queue_.length());
    std::string out(n, '\0');
    queue_.copy_out(0, {out.data(), n});
    queue_.consume(n);
    sent_ += out;
    return out;
  }
  const std::string& sent() const { return sent_; }
  size_t queued() const { return queue_.length(); }
  int stored() const { return stored_; }

 private:
  BufferChain queue_;
  std::string sent_;
  int stored_ = 0;
};

std::string value_of(char fill) {
  std::string value(kValueSize, fill);
  value[0] = '<';
  value.back() = '>';
  return value;
}

std::string set_request(const std::string& key, const std::string& value) {
  return "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n";
}

class ConnectionChainBudget : public ::testing::Test {
 protected:
  ConnectionChainBudget()
      : pool_(256, kBufferSize), tier_(pool_), context_{pool_,   tier_,     stats_,   nullptr,
                                                        nullptr, kMaxValue, 1u << 20, 2000,
                                                        0,       nullptr} {
    context_.connection_chain_limit = 2 * kValueBuffers;
  }

  // Feeds what `connection` takes of input[at...]; returns the new position.
  static size_t feed_from(Connection& connection, const std::string& input, size_t at) {
    return at + connection.feed(input.data() + at, input.size() - at);
  }
  uint32_t high_water_buffers() const {
    return static_cast<uint32_t>(stats_.connection_chain_high_water.get() / kBufferSize);
  }

  BufferPool pool_;
  HoldingTier tier_;
  WorkerStats stats_;
  ConnectionContext context_;
};

TEST_F(ConnectionChainBudget, AGreedyClientWaitsForItsOwnValuesWhileOthersGoOn) {
  std::string greedy_input;
  for (char fill : {'a', 'b', 'c', 'd', 'e'}) {
    greedy_input += set_request(std::string("greedy-") + fill, value_of(fill));
  }
  Connection greedy(context_, "greedy");
  size_t at = feed_from(greedy, greedy_input, 0);
  // Two values fill the budget while the tier holds them; the third waits.
  EXPECT_LT(at, greedy_input.size());
  EXPECT_EQ(tier_.stored(), 2);
  EXPECT_TRUE(greedy.waiting_for_pool()) << "the loop must park it";
  EXPECT_FALSE(greedy.wants_read());
  EXPECT_EQ(stats_.connection_chain_waits.get(), 1u);
  EXPECT_EQ(high_water_buffers(), 2 * kValueBuffers);
  // Retries while nothing was sent change nothing and count no new wait.
  greedy.retry_pool_wait();
  greedy.retry_pool_wait();
  EXPECT_TRUE(greedy.waiting_for_pool());
  EXPECT_EQ(stats_.connection_chain_waits.get(), 1u);
  EXPECT_LE(pool_.in_use(), 2 * kValueBuffers + 1) << "two values and the receive buffer";

  // Another client's large value and small requests go through meanwhile.
  Connection other(context_, "other");
  const std::string other_input = set_request("other", value_of('o')) + "set s 0 0 1\r\nx\r\n";
  EXPECT_EQ(feed_from(other, other_input, 0), other_input.size());
  std::string other_output;
  test::drain_connection(other, other_output);
  EXPECT_EQ(other_output, "STORED\r\nSTORED\r\n");
  EXPECT_EQ(tier_.stored(), 4);

  // The upstream reads part of the first value: its buffers come back one by
  // one, but the third value waits until a whole chain's worth is free.
  tier_.send(kBufferSize);
  greedy.retry_pool_wait();
  EXPECT_TRUE(greedy.waiting_for_pool());
  tier_.send(SIZE_MAX);
  greedy.retry_pool_wait();
  EXPECT_FALSE(greedy.waiting_for_pool());
  EXPECT_TRUE(greedy.wants_read());
  // The rest of the pipeline, sending whenever the client has to wait.
  for (int round = 0; at < greedy_input.size() && round < 100; ++round) {
    at = feed_from(greedy, greedy_input, at);
    if (greedy.waiting_for_pool()) {
      tier_.send(SIZE_MAX);
      greedy.retry_pool_wait();
    }
  }
  ASSERT_EQ(at, greedy_input.size());
  tier_.send(SIZE_MAX);
  std::string output;
  test::drain_connection(greedy, output);
  EXPECT_EQ(output, "STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n");
  // Every byte reached the tier once, in order, whatever waited.
  std::string expected_values;
  for (char fill : {'a', 'b', 'c', 'd', 'e'}) expected_values += value_of(fill) + "\r\n";
  std::string greedy_sent = tier_.sent();
  const std::string others = value_of('o') + "\r\nx\r\n";
  const size_t others_at = greedy_sent.find(others);
  ASSERT_NE(others_at, std::string::npos);
  greedy_sent.erase(others_at, others.size());
  EXPECT_EQ(greedy_sent, expected_values);
  EXPECT_LE(high_water_buffers(), context_.connection_chain_limit);
  EXPECT_EQ(pool_.accounts().open_accounts(), 0u);
}

TEST_F(ConnectionChainBudget, AConnectionThatLeavesIsChargedUntilTheTierLetsGo) {
  {
    Connection gone(context_, "gone");
    const std::string input = set_request("k", value_of('g'));
    ASSERT_EQ(feed_from(gone, input, 0), input.size());
    EXPECT_EQ(pool_.accounts().open_accounts(), 1u);
  }
  // The tier still holds the value: its buffers stay charged, to nobody now.
  EXPECT_EQ(pool_.accounts().open_accounts(), 1u);
  tier_.send(SIZE_MAX);
  EXPECT_EQ(pool_.accounts().open_accounts(), 0u);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ConnectionChainBudget, AValueIsAdmittedWhenTheConnectionHoldsNothing) {
  // A budget below one value (start-up validation refuses it) must still
  // never stall a connection that holds nothing.
  context_.connection_chain_limit = 1;
  Connection connection(context_, "test");
  const std::string input = set_request("a", value_of('a')) + set_request("b", value_of('b'));
  size_t at = feed_from(connection, input, 0);
  EXPECT_TRUE(connection.waiting_for_pool());
  tier_.send(SIZE_MAX);
  connection.retry_pool_wait();
  at = feed_from(connection, input, at);
  EXPECT_EQ(at, input.size());
  EXPECT_EQ(tier_.stored(), 2);
}

TEST(ConnectionChainBudgetEmbedded, TheEmbeddedTierLetsEachChainGoAtOnce) {
  EmbeddedConfig config;
  config.memory_limit = 16u << 20;
  config.max_value_size = kMaxValue;
  EmbeddedTier tier(config);
  BufferPool pool(256, kBufferSize);
  WorkerStats stats;
  ConnectionContext context{pool,      tier,     stats, nullptr, nullptr,
                            kMaxValue, 1u << 20, 2000,  0,       nullptr};
  context.connection_chain_limit = kValueBuffers;  // one value, as small as allowed
  Connection connection(context, "test");
  std::string input, expected;
  for (int i = 0; i < 20; ++i) {
    input += set_request("k" + std::to_string(i), value_of(static_cast<char>('a' + i)));
    expected += "STORED\r\n";
  }
  input += "get k7\r\n";
  const std::string seven = value_of(static_cast<char>('a' + 7));
  expected += "VALUE k7 0 " + std::to_string(seven.size()) + "\r\n" + seven + "\r\nEND\r\n";
  ASSERT_EQ(connection.feed(input.data(), input.size()), input.size());
  std::string output;
  test::drain_connection(connection, output);
  EXPECT_EQ(output, expected);
  EXPECT_EQ(stats.connection_chain_waits.get(), 0u);
  EXPECT_EQ(stats.connection_chain_high_water.get(), uint64_t{kValueBuffers} * kBufferSize);
  EXPECT_EQ(pool.accounts().open_accounts(), 0u);
}

}  // namespace
}  // namespace mcguard
