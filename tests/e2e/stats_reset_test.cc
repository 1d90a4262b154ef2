// `stats reset` zeroes what `stats` shows of the counters, and never moves a
// /metrics counter backwards: Prometheus takes a decrease for a restart. Also
// `stats conns` from another worker's connection, and the per-prefix detail
// counts, through mcguard with its admin listener.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "ops_support.h"

namespace mcguard::e2e {
namespace {

// The value of the sample whose line starts with `series` ("name{labels}").
long long sample(const std::string& page, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t at = page.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(page.substr(at + key.size()));
}

class StatsReset : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's admin listener only";
    if (subject_upstreams_from_env() > 0) GTEST_SKIP() << "the embedded tier's counters";
    std::string error;
    server_ = start_with_admin({}, &admin_port_, &error);
    ASSERT_NE(server_, nullptr) << error;
  }

  std::string metrics() {
    HttpReply reply = http_get(admin_port_, "/metrics");
    EXPECT_EQ(reply.status, 200) << reply.head;
    return "\n" + reply.body;
  }

  std::unique_ptr<ServerProcess> server_;
  uint16_t admin_port_ = 0;
};

TEST_F(StatsReset, ResetZeroesStatsAndKeepsMetricsMonotonic) {
  auto client = Client::connect(server_->port());
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(set_value(*client, "k", 10), "STORED\r\n");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->send("get k missing\r\n"));
    ASSERT_FALSE(client
                     ->read_until(
                         [](std::string_view got) {
                           const size_t at = got.find("END\r\n");
                           return at == std::string_view::npos ? 0 : at + 5;
                         },
                         milliseconds(5000))
                     .timed_out);
  }
  const char* kSeries[] = {
      "mcguard_commands_total{command=\"get\"}",
      "mcguard_cache_lookups_total{command=\"get\",result=\"hit\"}",
      "mcguard_connections_accepted_total",
      "mcguard_received_bytes_total",
      "mcguard_requests_total",
  };
  const std::string before = metrics();
  for (const char* series : kSeries) EXPECT_GT(sample(before, series), 0) << series;
  EXPECT_EQ(stat_number(*client, "cmd_get"), 6);
  EXPECT_EQ(stat_number(*client, "get_hits"), 3);

  ASSERT_TRUE(client->send("stats reset\r\n"));
  EXPECT_EQ(client->read_line().bytes, "RESET\r\n");
  std::map<std::string, std::string> after = stats_of(*client);
  EXPECT_EQ(after["cmd_get"], "0");
  EXPECT_EQ(after["get_hits"], "0");
  EXPECT_EQ(after["get_misses"], "0");
  EXPECT_EQ(after["cmd_set"], "0");
  EXPECT_EQ(after["total_items"], "0");
  EXPECT_EQ(after["total_connections"], "0");
  EXPECT_EQ(after["curr_items"], "1");  // a gauge
  EXPECT_NE(after["curr_connections"], "0");
  EXPECT_NE(after["bytes"], "0");
  // The reset itself and the `stats` after it were read since: a little.
  EXPECT_LT(std::stoll(after["bytes_read"]), 64);

  const std::string reset = metrics();
  for (const char* series : kSeries) {
    EXPECT_GE(sample(reset, series), sample(before, series)) << series << " went backwards";
  }
  // Counting goes on from the reset.
  ASSERT_TRUE(client->send("get k\r\n"));
  ASSERT_FALSE(client->read_line().bytes.empty());
  ASSERT_FALSE(client->read_line().bytes.empty());
  ASSERT_EQ(client->read_line().bytes, "END\r\n");
  EXPECT_EQ(stat_number(*client, "get_hits"), 1);
  EXPECT_EQ(sample(metrics(), "mcguard_cache_lookups_total{command=\"get\",result=\"hit\"}"),
            sample(before, "mcguard_cache_lookups_total{command=\"get\",result=\"hit\"}") + 1);
}

TEST_F(StatsReset, ConnsSeesClientsOfEveryWorker) {
  // Several clients land on different workers (SO_REUSEPORT): each is listed,
  // with its own address, whichever worker answers the `stats conns`.
  std::vector<Client> clients;
  for (int i = 0; i < 6; ++i) {
    auto c = Client::connect(server_->port());
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(c->send("version\r\n"));
    ASSERT_FALSE(c->read_line().bytes.empty());
    clients.push_back(std::move(*c));
  }
  std::map<std::string, std::string> conns = stats_of(clients[0], "conns");
  int listed = 0;
  for (const auto& [name, value] : conns) {
    if (name.ends_with(":listen_addr")) ++listed;
  }
  EXPECT_EQ(listed, 6);
  clients.pop_back();
  EXPECT_TRUE(poll_until(
      [&] {
        int now = 0;
        for (const auto& [name, value] : stats_of(clients[0], "conns")) {
          if (name.ends_with(":listen_addr")) ++now;
        }
        return now == 5;
      },
      milliseconds(5000)))
      << "a closed connection stays listed";
}

}  // namespace
}  // namespace mcguard::e2e
