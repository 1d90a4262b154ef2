// The `stats` subcommand renderers with made-up inputs: argument splitting,
// `stats conns`, `stats detail` (PrefixStats), the reset baseline, and plain
// `stats` in the upstream tier's part (without the gathered lines and END).
#include "proxy/admin/stats_subcommands.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/admin/stats_baseline.h"
#include "proxy/admin/stats_text.h"
#include "proxy/core/version.h"

namespace mcguard::admin {
namespace {

Request get_request(std::string_view keys) {
  Request r;
  r.command = Command::kGet;
  r.keys = keys;
  return r;
}

Request keyed(Command command, std::string_view key) {
  Request r;
  r.command = command;
  r.key = key;
  return r;
}

TEST(StatsArgs, SplitsOnSpaces) {
  StatsArgs a = split_stats_args("");
  EXPECT_TRUE(a.subcommand.empty());
  EXPECT_TRUE(a.rest.empty());
  a = split_stats_args("cachedump  3 10 ");
  EXPECT_EQ(a.subcommand, "cachedump");
  EXPECT_EQ(a.rest, (std::vector<std::string_view>{"3", "10"}));
}

TEST(StatsConns, RowsByDescriptorInMemcachedsShape) {
  std::vector<ConnsRow> rows = {
      {12, tcp_address("127.0.0.1:40000"), tcp_address("127.0.0.1:11211"), "conn_waiting", 3},
      {5, tcp_address("127.0.0.1:11211"), "", "conn_listening", 60},
      {9, tcp_address("[::1]:40001"), tcp_address("127.0.0.1:11211"), "conn_parse_cmd", -1},
  };
  EXPECT_EQ(conns_text(rows),
            "STAT 5:addr tcp:127.0.0.1:11211\r\n"
            "STAT 5:state conn_listening\r\n"
            "STAT 5:secs_since_last_cmd 60\r\n"
            "STAT 9:addr tcp6:[::1]:40001\r\n"
            "STAT 9:listen_addr tcp:127.0.0.1:11211\r\n"
            "STAT 9:state conn_parse_cmd\r\n"
            "STAT 9:secs_since_last_cmd 0\r\n"
            "STAT 12:addr tcp:127.0.0.1:40000\r\n"
            "STAT 12:listen_addr tcp:127.0.0.1:11211\r\n"
            "STAT 12:state conn_waiting\r\n"
            "STAT 12:secs_since_last_cmd 3\r\n"
            "END\r\n");
  EXPECT_EQ(conns_text({}), "END\r\n");
}

TEST(StatsDetail, CountsPerPrefixOnlyWhileOn) {
  PrefixStats detail;
  detail.record_request(get_request("a:1"));  // off: not counted
  EXPECT_EQ(detail_reply("dump", detail), "END\r\n");
  EXPECT_EQ(detail_reply("on", detail), "OK\r\n");
  detail.record_request(get_request("a:1 b:2 plain a:3"));
  detail.record_hit("a:1");
  detail.record_hit("plain");
  detail.record_request(keyed(Command::kSet, "b:x"));
  detail.record_request(keyed(Command::kCas, "b:x"));
  detail.record_request(keyed(Command::kDelete, "a:z"));
  detail.record_request(keyed(Command::kIncr, "a:z"));     // not counted by memcached
  detail.record_request(keyed(Command::kMetaGet, "a:z"));  // nor meta commands
  EXPECT_EQ(detail_reply("off", detail), "OK\r\n");
  detail.record_request(get_request("a:1"));
  EXPECT_EQ(detail_reply("dump", detail),
            "PREFIX a get 2 hit 1 set 0 del 1\r\n"
            "PREFIX b get 1 hit 0 set 2 del 0\r\n"
            "END\r\n");
  detail.clear();
  EXPECT_EQ(detail_reply("dump", detail), "END\r\n");
  EXPECT_EQ(detail_reply("", detail), "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
  EXPECT_EQ(detail_reply("yes", detail), "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
}

TEST(StatsDetail, MemoryIsBoundedToItsPrefixTable) {
  PrefixStats detail;
  detail.set_enabled(true);
  for (size_t i = 0; i < PrefixStats::kMaxPrefixes + 50; ++i) {
    detail.record_request(keyed(Command::kSet, "p" + std::to_string(i) + ":k"));
  }
  const std::string dump = detail.dump();
  size_t lines = 0;
  for (size_t at = dump.find("PREFIX "); at != std::string::npos;
       at = dump.find("PREFIX ", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, PrefixStats::kMaxPrefixes);
  EXPECT_NE(dump.find("PREFIX p0 get 0 hit 0 set 1 del 0\r\n"), std::string::npos);
}

TEST(StatsDetail, CountsFromManyThreads) {
  PrefixStats detail;
  detail.set_enabled(true);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&detail] {
      for (int i = 0; i < 1000; ++i) detail.record_request(get_request("shared:k"));
    });
  }
  std::thread reader([&detail] {
    for (int i = 0; i < 100; ++i) (void)detail.dump();
  });
  for (auto& t : threads) t.join();
  reader.join();
  EXPECT_EQ(detail.dump(), "PREFIX shared get 4000 hit 0 set 0 del 0\r\nEND\r\n");
}

StatsSnapshot snapshot_with(uint64_t gets, uint64_t items, uint64_t connections) {
  StatsSnapshot s;
  auto worker = std::make_unique<WorkerStats>();  // large: not on the stack
  worker->total_connections.add(connections);
  worker->curr_connections.add(connections);
  worker->bytes_read.add(gets * 10);
  s.workers.add(*worker);
  s.cache.cmd_get = gets;
  s.cache.get_hits = gets / 2;
  s.cache.curr_items = items;
  s.cache.total_items = items;
  s.cache.bytes = items * 100;
  s.cache.limit_maxbytes = 1000;
  s.value_sizes.resize(1);
  s.limits = std::make_shared<LimitPolicy>(LimitMode::kEnforce, 1024, 4096,
                                           std::vector<LimitPolicy::Rule>{});
  return s;
}

TEST(StatsBaseline, ResetSubtractsCountersAndKeepsGauges) {
  StatsBaseline baseline;
  StatsSnapshot untouched = snapshot_with(10, 4, 2);
  baseline.apply(untouched);  // no reset yet: nothing changes
  EXPECT_EQ(untouched.cache.cmd_get, 10u);

  baseline.reset_to(snapshot_with(10, 4, 2));
  StatsSnapshot later = snapshot_with(16, 5, 3);
  baseline.apply(later);
  EXPECT_EQ(later.cache.cmd_get, 6u);
  EXPECT_EQ(later.cache.get_hits, 3u);
  EXPECT_EQ(later.cache.total_items, 1u);
  EXPECT_EQ(later.cache.curr_items, 5u);  // gauges as they are
  EXPECT_EQ(later.cache.bytes, 500u);
  EXPECT_EQ(later.cache.limit_maxbytes, 1000u);
  EXPECT_EQ(later.workers.get(&WorkerStats::total_connections), 1u);
  EXPECT_EQ(later.workers.get(&WorkerStats::curr_connections), 3u);
  EXPECT_EQ(later.workers.get(&WorkerStats::bytes_read), 60u);
  const std::string text = stats_text(later);
  EXPECT_NE(text.find("STAT cmd_get 6\r\n"), std::string::npos);
  EXPECT_NE(text.find("STAT total_connections 1\r\n"), std::string::npos);
  EXPECT_NE(text.find("STAT curr_items 5\r\n"), std::string::npos);
}

TEST(StatsText, UpstreamPartLeavesGatheredLinesAndEndToTheTier) {
  StatsSnapshot s = snapshot_with(1, 1, 1);
  const std::string whole = stats_text(s);
  const std::string part = stats_text(s, StatsTextPart::kWithoutGathered);
  EXPECT_TRUE(whole.ends_with("END\r\n"));
  EXPECT_FALSE(part.ends_with("END\r\n"));
  for (const char* gathered :
       {"limit_maxbytes", "bytes", "curr_items", "total_items", "evictions"}) {
    const std::string line = std::string("\nSTAT ") + gathered + " ";
    EXPECT_NE(whole.find(line), std::string::npos) << gathered;
    EXPECT_EQ(part.find(line), std::string::npos) << gathered;
  }
  EXPECT_NE(part.find("STAT mcguard_version " MCGUARD_VERSION "\r\n"), std::string::npos);
  EXPECT_NE(part.find("STAT cmd_get 1\r\n"), std::string::npos);
}

TEST(StatsText, MemcachedFieldsComeInMemcachedsOrder) {
  const std::string text = stats_text(snapshot_with(1, 1, 1));
  // A few neighbours whose order memcached 1.6.18 fixes.
  const char* kOrder[] = {"pid",
                          "rusage_system",
                          "max_connections",
                          "curr_connections",
                          "connection_structures",
                          "response_obj_oom",
                          "reserved_fds",
                          "cmd_get",
                          "cmd_touch",
                          "cmd_meta",
                          "get_hits",
                          "touch_misses",
                          "store_too_large",
                          "auth_errors",
                          "bytes_read",
                          "limit_maxbytes",
                          "accepting_conns",
                          "threads",
                          "conn_yields",
                          "hash_power_level",
                          "slab_reassign_rescues",
                          "round_robin_fallback",
                          "bytes",
                          "curr_items",
                          "total_items",
                          "slab_global_page_pool",
                          "evictions",
                          "reclaimed",
                          "lru_bumps_dropped",
                          "mcguard_version"};
  size_t last = 0;
  for (const char* name : kOrder) {
    const size_t at = text.find(std::string("STAT ") + name + " ");
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GT(at + 1, last) << name << " is out of order";
    last = at + 1;
  }
}

}  // namespace
}  // namespace mcguard::admin
