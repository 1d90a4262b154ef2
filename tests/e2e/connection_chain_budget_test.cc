// --max-connection-chain end to end: a greedy client pipelining large sets to
// an upstream that has stopped reading holds at most its budget of the pool,
// counting the values mcguard still has queued for that upstream, while another
// client's sets and gets complete; once the upstream reads again every greedy
// set completes with its value intact. The embedded tier works with it set,
// and a budget that cannot hold one max-size value is refused at start-up.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include "fault_support.h"
#include "harness.h"
#include "ops_support.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

constexpr size_t kBudget = 4u << 20;       // --max-connection-chain
constexpr size_t kGreedyValue = 1u << 20;  // 17 buffers of 64k with its "\r\n"
constexpr int kGreedySets = 32;            // 32 MiB: far more than the kernel buffers
constexpr size_t kOtherValue = 300000;     // large enough to need a chain too
constexpr long long kBudgetBuffers = kBudget / kBufferSize;

std::string greedy_value(int i) {
  std::string value(kGreedyValue, static_cast<char>('a' + i % 26));
  const std::string tag = "greedy value " + std::to_string(i) + ":";
  value.replace(0, tag.size(), tag);
  value.replace(value.size() - tag.size(), tag.size(), tag);
  return value;
}

McguardOptions one_worker() {
  McguardOptions o;
  o.threads = 1;  // one pool: the greedy client and the other share it
  o.max_value_size = "2m";
  return o;
}

// One sample of /metrics on the admin listener at `port`; -1 when missing.
// (`stats` would wait for the frozen upstream's part of the reply.)
long long metric(uint16_t port, std::string_view sample) {
  const HttpReply reply = http_get(port, "/metrics");
  const std::string line_start = "\n" + std::string(sample) + " ";
  const size_t at = reply.body.find(line_start);
  if (reply.status != 200 || at == std::string::npos) return -1;
  return std::atoll(reply.body.c_str() + at + line_start.size());
}

class ConnectionChainBudgetTest : public UpstreamTest {};

TEST_F(ConnectionChainBudgetTest, AGreedyClientWaitsWithinItsBudgetWhileAnotherProceeds) {
  ASSERT_NO_FATAL_FAILURE(start_upstreams(2));
  // A long reply timeout: the frozen upstream's requests wait instead of failing.
  McguardOptions options = one_worker();
  const uint16_t admin_port = pick_free_port();
  options.admin = "127.0.0.1:" + std::to_string(admin_port);
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--max-connection-chain", std::to_string(kBudget),
                                       "--upstream-timeout", "60s", "--upstream-connections", "1"},
                                      options));
  const auto keys = keys_by_server("budget", kGreedySets);
  ASSERT_EQ(keys.size(), 2u);
  const long long in_use_idle = metric(admin_port, "mcguard_pool_buffers_in_use");
  ASSERT_GE(in_use_idle, 0);

  // Upstream 0 stops reading; the greedy client pipelines its sets, all for it.
  ASSERT_TRUE(freeze(*upstreams_[0])) << "the upstream did not stop";
  Client greedy = connect_proxy();
  std::string pipeline;
  for (int i = 0; i < kGreedySets; ++i) pipeline += set_command(keys[0][i], greedy_value(i));
  bool sent = false;
  std::thread sender([&] { sent = greedy.send(pipeline, milliseconds(60000)); });

  const bool waited =
      wait_until([&] { return metric(admin_port, "mcguard_connection_chain_waits_total") >= 1; },
                 milliseconds(15000), milliseconds(20));
  EXPECT_TRUE(waited) << "the greedy client never waited for its budget";
  // While it waits, what it holds stays within the budget: by mcguard's own
  // count, and by the pool's, which knows nothing of budgets.
  long long most_in_use = 0;
  for (int sample = 0; sample < 50; ++sample) {
    most_in_use =
        std::max(most_in_use, metric(admin_port, "mcguard_pool_buffers_in_use") - in_use_idle);
  }
  // Beside its values: its receive buffer and the upstream connections' own.
  EXPECT_LE(most_in_use, kBudgetBuffers + 4) << "buffers in use beyond the idle ones";
  const long long high_water = metric(admin_port, "mcguard_connection_chain_high_water_bytes");
  EXPECT_GT(high_water, 0);
  EXPECT_LE(high_water, static_cast<long long>(kBudget));

  // Another client, on the other upstream, is served meanwhile.
  Client other = connect_proxy();
  for (int i = 0; i < 4; ++i) {
    const std::string key = keys[1][i];
    const std::string value(kOtherValue, static_cast<char>('0' + i));
    EXPECT_EQ(ask(other, set_command(key, value)).bytes, "STORED\r\nMN\r\n") << key;
    EXPECT_EQ(ask(other, "get " + key + "\r\n").bytes, value_block(key, value) + "END\r\nMN\r\n")
        << key;
  }
  EXPECT_EQ(metric(admin_port, "mcguard_rejections_total{reason=\"out_of_memory\"}"), 0);

  // The upstream reads again: every greedy set completes, values intact.
  ASSERT_TRUE(upstreams_[0]->signal(SIGCONT));
  sender.join();
  ASSERT_TRUE(sent) << "the greedy pipeline was not taken within 60 s";
  std::string replies;
  for (int i = 0; i < kGreedySets; ++i) replies += "STORED\r\n";
  EXPECT_EQ(greedy.read_exactly(replies.size(), milliseconds(30000)).bytes, replies);
  for (int i = 0; i < kGreedySets; ++i) {
    const auto stored = direct_get(0, keys[0][i]);
    ASSERT_TRUE(stored.has_value()) << keys[0][i];
    EXPECT_TRUE(*stored == greedy_value(i)) << keys[0][i] << " holds the wrong bytes";
  }
  EXPECT_LE(metric(admin_port, "mcguard_connection_chain_high_water_bytes"),
            static_cast<long long>(kBudget));
  EXPECT_TRUE(proxy_->running());
}

TEST(ConnectionChainBudget, TheEmbeddedTierServesWithTheBudgetSet) {
  if (subject_is_memcached()) GTEST_SKIP() << "an mcguard option";
  McguardOptions options = one_worker();
  // As small as allowed: one max-size value (33 buffers of 64k).
  options.extra_args = {"--max-connection-chain", std::to_string(33 * kBufferSize)};
  std::string error;
  auto server = start_subject(&error, options);
  ASSERT_NE(server, nullptr) << error;
  auto c = Client::connect(server->port());
  ASSERT_TRUE(c.has_value());
  std::string pipeline, expected;
  for (int i = 0; i < 8; ++i) {
    pipeline += set_command("k" + std::to_string(i), greedy_value(i));
    expected += "STORED\r\n";
  }
  for (int i = 0; i < 8; ++i) {
    pipeline += "get k" + std::to_string(i) + "\r\n";
    expected += value_block("k" + std::to_string(i), greedy_value(i)) + "END\r\n";
  }
  ASSERT_TRUE(c->send(pipeline, milliseconds(30000)));
  EXPECT_TRUE(c->read_exactly(expected.size(), milliseconds(30000)).bytes == expected);
  Client admin = *Client::connect(server->port());
  // The embedded tier lets each value's chain go at once: nothing ever waits.
  EXPECT_EQ(mcguard_stat(admin, "mcguard_connection_chain_waits"), 0);
  EXPECT_EQ(mcguard_stat(admin, "mcguard_connection_chain_high_water"),
            static_cast<long long>(17 * kBufferSize));
}

TEST(ConnectionChainBudget, ABudgetBelowOneMaxSizeValueIsRefusedAtStartUp) {
  if (subject_is_memcached()) GTEST_SKIP() << "an mcguard option";
  const ProgramRun run = run_program({MCGUARD_BINARY, "--config", "/dev/null", "--admin", "off",
                                      "--max-value-size", "2m", "--max-connection-chain", "1m"},
                                     {}, {}, milliseconds(10000));
  EXPECT_TRUE(run.status.exited);
  EXPECT_EQ(run.status.code, 2);
  EXPECT_NE(run.output.find("--max-connection-chain 1048576 is less than one max-size value's "
                            "chain: 33 buffers of 65536 bytes"),
            std::string::npos)
      << run.output;
}

}  // namespace
}  // namespace mcguard::e2e
