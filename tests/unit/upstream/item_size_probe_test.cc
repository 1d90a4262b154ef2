// The split threshold (proxy/upstream/item_size_probe.h): `stats settings` replies
// scanned byte by byte, the threshold computed from what the upstreams reported or
// from the option, the start-up line, and the probe itself against loopback
// servers that answer, stay silent, refuse or send junk.
#include "proxy/upstream/item_size_probe.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fake_reactor.h"

namespace mcguard {
namespace {

using Scan = StatsSettingsScan;

// memcached 1.6.18 -I 2m answering `stats settings`, byte for byte.
constexpr std::string_view kRecordedReply =
    "STAT maxbytes 67108864\r\n"
    "STAT maxconns 1024\r\n"
    "STAT tcpport 21999\r\n"
    "STAT udpport 0\r\n"
    "STAT inter 127.0.0.1\r\n"
    "STAT verbosity 0\r\n"
    "STAT oldest 0\r\n"
    "STAT evictions on\r\n"
    "STAT domain_socket NULL\r\n"
    "STAT umask 700\r\n"
    "STAT shutdown_command no\r\n"
    "STAT growth_factor 1.25\r\n"
    "STAT chunk_size 48\r\n"
    "STAT num_threads 4\r\n"
    "STAT num_threads_per_udp 4\r\n"
    "STAT stat_key_prefix :\r\n"
    "STAT detail_enabled no\r\n"
    "STAT reqs_per_event 20\r\n"
    "STAT cas_enabled yes\r\n"
    "STAT tcp_backlog 1024\r\n"
    "STAT binding_protocol auto-negotiate\r\n"
    "STAT auth_enabled_sasl no\r\n"
    "STAT auth_enabled_ascii no\r\n"
    "STAT item_size_max 2097152\r\n"
    "STAT maxconns_fast yes\r\n"
    "STAT hashpower_init 0\r\n"
    "STAT slab_reassign yes\r\n"
    "STAT slab_automove 1\r\n"
    "STAT slab_automove_ratio 0.80\r\n"
    "STAT slab_automove_window 30\r\n"
    "STAT slab_chunk_max 524288\r\n"
    "STAT lru_crawler yes\r\n"
    "STAT lru_crawler_sleep 100\r\n"
    "STAT lru_crawler_tocrawl 0\r\n"
    "STAT tail_repair_time 0\r\n"
    "STAT flush_enabled yes\r\n"
    "STAT dump_enabled yes\r\n"
    "STAT hash_algorithm murmur3\r\n"
    "STAT lru_maintainer_thread yes\r\n"
    "STAT lru_segmented yes\r\n"
    "STAT hot_lru_pct 20\r\n"
    "STAT warm_lru_pct 40\r\n"
    "STAT hot_max_factor 0.20\r\n"
    "STAT warm_max_factor 2.00\r\n"
    "STAT temp_lru no\r\n"
    "STAT temporary_ttl 61\r\n"
    "STAT idle_timeout 0\r\n"
    "STAT watcher_logbuf_size 262144\r\n"
    "STAT worker_logbuf_size 65536\r\n"
    "STAT read_buf_mem_limit 0\r\n"
    "STAT track_sizes no\r\n"
    "STAT inline_ascii_response no\r\n"
    "STAT ext_item_size 512\r\n"
    "STAT ext_item_age 4294967295\r\n"
    "STAT ext_low_ttl 0\r\n"
    "STAT ext_recache_rate 2000\r\n"
    "STAT ext_wbuf_size 4194304\r\n"
    "STAT ext_compact_under 0\r\n"
    "STAT ext_drop_under 0\r\n"
    "STAT ext_max_sleep 1000000\r\n"
    "STAT ext_max_frag 0.80\r\n"
    "STAT slab_automove_freeratio 0.010\r\n"
    "STAT ext_drop_unread no\r\n"
    "STAT ssl_enabled no\r\n"
    "STAT ssl_chain_cert (null)\r\n"
    "STAT ssl_key (null)\r\n"
    "STAT ssl_verify_mode 0\r\n"
    "STAT ssl_keyformat 1\r\n"
    "STAT ssl_ciphers NULL\r\n"
    "STAT ssl_ca_cert NULL\r\n"
    "STAT ssl_wbuf_size 16384\r\n"
    "STAT ssl_session_cache no\r\n"
    "STAT ssl_kernel_tls no\r\n"
    "STAT ssl_min_version tlsv1.2\r\n"
    "STAT num_napi_ids (null)\r\n"
    "STAT memory_file (null)\r\n"
    "END\r\n";

TEST(StatsSettingsScan, RecordedMemcachedReplyGivesItsItemSizeMax) {
  const Scan scan = scan_stats_settings(kRecordedReply);
  EXPECT_EQ(scan.status, Scan::kDone);
  EXPECT_EQ(scan.item_size_max, 2097152u);
}

TEST(StatsSettingsScan, EveryShorterPrefixNeedsMore) {
  for (size_t length = 0; length < kRecordedReply.size(); ++length) {
    const Scan scan = scan_stats_settings(kRecordedReply.substr(0, length));
    ASSERT_EQ(scan.status, Scan::kNeedMore) << "after " << length << " bytes";
  }
}

TEST(StatsSettingsScan, ReplyWithoutTheStatIsDoneWithoutAFigure) {
  const Scan scan = scan_stats_settings("STAT maxbytes 67108864\r\nSTAT tcpport 1\r\nEND\r\n");
  EXPECT_EQ(scan.status, Scan::kDone);
  EXPECT_FALSE(scan.item_size_max);
}

TEST(StatsSettingsScan, UnreadableFigureIsNoFigure) {
  for (const char* value : {"lots", "1m", "-1", "12 34", "99999999999999999999999"}) {
    const Scan scan =
        scan_stats_settings(std::string("STAT item_size_max ") + value + "\r\nEND\r\n");
    EXPECT_EQ(scan.status, Scan::kDone) << value;
    EXPECT_FALSE(scan.item_size_max) << value;
  }
}

TEST(StatsSettingsScan, ErrorLinesEndTheReply) {
  for (const char* reply : {"ERROR\r\n", "CLIENT_ERROR bad command line format\r\n",
                            "SERVER_ERROR out of memory\r\n"}) {
    const Scan scan = scan_stats_settings(reply);
    EXPECT_EQ(scan.status, Scan::kDone) << reply;
    EXPECT_FALSE(scan.item_size_max) << reply;
  }
}

TEST(StatsSettingsScan, WhatIsNotAStatsReplyIsBroken) {
  for (const char* reply : {"HTTP/1.1 400 Bad Request\r\n", "VALUE k 0 1\r\nx\r\nEND\r\n",
                            "STORED\r\n", "STAT item_size_max 1024\r\nHD\r\n", "\r\n"}) {
    EXPECT_EQ(scan_stats_settings(reply).status, Scan::kBroken) << reply;
  }
}

TEST(SplitLimit, AutoTakesTheSmallestReportedFigure) {
  const std::vector<std::optional<uint64_t>> reported = {4u << 20, std::nullopt, 2u << 20,
                                                         8u << 20};
  const SplitLimit limit = split_limit(0, reported);
  EXPECT_EQ(limit.source, ItemSizeSource::kStatsSettings);
  EXPECT_EQ(limit.item_size_max, 2u << 20);
  EXPECT_EQ(limit.threshold, (2u << 20) - 512);
}

TEST(SplitLimit, AutoWithNoFigureFallsBackToOneMebibyte) {
  for (const std::vector<std::optional<uint64_t>>& reported :
       {std::vector<std::optional<uint64_t>>{},
        std::vector<std::optional<uint64_t>>{std::nullopt, std::nullopt},
        std::vector<std::optional<uint64_t>>{1023, 0}}) {
    const SplitLimit limit = split_limit(0, reported);
    EXPECT_EQ(limit.source, ItemSizeSource::kFallback);
    EXPECT_EQ(limit.item_size_max, 1u << 20);
    EXPECT_EQ(limit.threshold, 1048064u);
  }
}

TEST(SplitLimit, FiguresBelowMemcachedsMinimumAreNotBelieved) {
  const std::vector<std::optional<uint64_t>> reported = {512, 1024, 1u << 20};
  const SplitLimit limit = split_limit(0, reported);
  EXPECT_EQ(limit.item_size_max, 1024u);
  EXPECT_EQ(limit.threshold, 512u);
}

TEST(SplitLimit, TheOptionWinsOverWhatUpstreamsReport) {
  const std::vector<std::optional<uint64_t>> reported = {1u << 20};
  const SplitLimit limit = split_limit(4u << 20, reported);
  EXPECT_EQ(limit.source, ItemSizeSource::kOption);
  EXPECT_EQ(limit.item_size_max, 4u << 20);
  EXPECT_EQ(limit.threshold, (4u << 20) - 512);
}

TEST(SplitLimit, StartUpLineNamesModeThresholdAndSource) {
  const std::vector<std::optional<uint64_t>> one_mib = {1u << 20};
  EXPECT_EQ(describe_split(split_limit(0, one_mib), SplitMode::kOn),
            "split: values over 1048064 bytes are stored in chunks (upstream item_size_max "
            "1048576, from stats settings)");
  EXPECT_EQ(describe_split(split_limit(2u << 20, {}), SplitMode::kOn),
            "split: values over 2096640 bytes are stored in chunks (upstream item_size_max "
            "2097152, --upstream-item-size-max)");
  EXPECT_EQ(describe_split(split_limit(0, {}), SplitMode::kReadOnly),
            "split: read-only: split values are read back, every value is stored as one item "
            "(upstream item_size_max 1048576, fallback: no upstream reported item_size_max)");
  EXPECT_EQ(describe_split(split_limit(0, one_mib), SplitMode::kOff),
            "split: off: every value is stored as one item (upstream item_size_max 1048576, "
            "from stats settings)");
  EXPECT_EQ(split_mode_name(SplitMode::kOn), "on");
  EXPECT_EQ(split_mode_name(SplitMode::kReadOnly), "read-only");
  EXPECT_EQ(split_mode_name(SplitMode::kOff), "off");
}

UpstreamAddress loopback(uint16_t port) { return UpstreamAddress{"127.0.0.1", port, 1}; }

// Accepts one connection on `server`, waits for the request, then sends `reply` in two
// pieces (so the probe must join them); false when the request never came.
bool answer_once(test::LoopbackServer& server, std::string_view reply) {
  const auto deadline = std::chrono::steady_clock::now() + test::kWaitLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (server.accepted() == 0) server.try_accept();
    if (server.accepted() == 1) {
      server.read_available(0);
      if (server.received(0) == "stats settings\r\n") {
        server.send(0, reply.substr(0, reply.size() / 2));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        server.send(0, reply.substr(reply.size() / 2));
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(ItemSizeProbe, AnswersAreReadWhileSilenceRefusalAndJunkAreLeftOut) {
  test::LoopbackServer answering, silent, junk;
  uint16_t refused_port = 0;
  {
    test::LoopbackServer closed;  // its port refuses once it is gone
    refused_port = closed.port();
  }
  const std::vector<UpstreamAddress> upstreams = {loopback(answering.port()),
                                                  loopback(silent.port()), loopback(refused_port),
                                                  loopback(junk.port())};
  const auto started = std::chrono::steady_clock::now();
  auto probing =
      std::async(std::launch::async, [&] { return probe_item_size_max(upstreams, 300); });
  EXPECT_TRUE(answer_once(answering, kRecordedReply));
  EXPECT_TRUE(answer_once(junk, "HTTP/1.1 400 Bad Request\r\n\r\n"));
  const std::vector<std::optional<uint64_t>> found = probing.get();
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(found.size(), upstreams.size());
  EXPECT_EQ(found[0], 2097152u);
  EXPECT_FALSE(found[1]) << "silent";
  EXPECT_FALSE(found[2]) << "refused";
  EXPECT_FALSE(found[3]) << "junk";
  // One wait for all of them, not one per upstream.
  EXPECT_GE(took, std::chrono::milliseconds(300)) << "the silent upstream was waited for";
  EXPECT_LT(took, std::chrono::milliseconds(1500));
}

TEST(ItemSizeProbe, AllAnsweringFinishesWithoutWaitingForTheTimeout) {
  test::LoopbackServer first, second;
  const std::vector<UpstreamAddress> upstreams = {loopback(first.port()), loopback(second.port())};
  const auto started = std::chrono::steady_clock::now();
  auto probing =
      std::async(std::launch::async, [&] { return probe_item_size_max(upstreams, 10000); });
  EXPECT_TRUE(answer_once(first, "STAT item_size_max 1048576\r\nEND\r\n"));
  EXPECT_TRUE(answer_once(second, kRecordedReply));
  const std::vector<std::optional<uint64_t>> found = probing.get();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(found, (std::vector<std::optional<uint64_t>>{1048576u, 2097152u}));
  EXPECT_EQ(split_limit(0, found).item_size_max, 1048576u);
}

}  // namespace
}  // namespace mcguard
