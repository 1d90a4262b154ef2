// parse_header's answers to memcached's admin commands (protocol/admin.h), to
// cache_memlimit, and to a binary-protocol request. The replies of a memcached with the
// admin features off are pinned byte for byte by memcached_reference_test.cc and the
// e2e differential tests; this file checks the ParseResult flags and Request fields
// the Connection and the tiers act on.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "protocol/admin.h"
#include "protocol/parser.h"
#include "protocol/response.h"
#include "test_util.h"

namespace mcguard {
namespace {

using testing::error_of;
using testing::parse;
using testing::request_of;

TEST(ParseCacheMemlimit, CarriesTheMegabytes) {
  Request r = request_of("cache_memlimit 100\r\n");
  EXPECT_EQ(r.command, Command::kCacheMemlimit);
  EXPECT_EQ(r.memlimit_mb, 100u);
  EXPECT_FALSE(r.noreply);
  r = request_of("cache_memlimit 8 noreply\r\n");
  EXPECT_EQ(r.memlimit_mb, kMinMemlimitMegabytes);
  EXPECT_TRUE(r.noreply);
  r = request_of("cache_memlimit 1000000000 whatever\r\n");  // a third token is ignored
  EXPECT_EQ(r.memlimit_mb, kMaxMemlimitMegabytes);
  EXPECT_FALSE(r.noreply);
}

TEST(ParseCacheMemlimit, ResetsBetweenRequests) {
  Request r;
  ASSERT_EQ(parse("cache_memlimit 100\r\n", r).status, ParseResult::Status::kRequest);
  ASSERT_EQ(parse("version\r\n", r).status, ParseResult::Status::kRequest);
  EXPECT_EQ(r.memlimit_mb, 0u);
}

TEST(ParseCacheMemlimit, RefusalsAreMemcachedsAndNoreplySilencesThem) {
  EXPECT_EQ(error_of("cache_memlimit 7\r\n").reply, reply::kMemlimitTooSmall);
  EXPECT_EQ(error_of("cache_memlimit 4294967296\r\n").reply, reply::kMemlimitTooSmall);
  EXPECT_EQ(error_of("cache_memlimit 1000000001\r\n").reply, reply::kMemlimitNotMegabytes);
  EXPECT_EQ(error_of("cache_memlimit abc\r\n").reply, reply::kError);
  EXPECT_EQ(error_of("cache_memlimit -1\r\n").reply, reply::kError);
  EXPECT_EQ(error_of("cache_memlimit 7 noreply\r\n").reply, "");
  EXPECT_EQ(error_of("cache_memlimit abc noreply\r\n").reply, "");
  // Token counts are checked before noreply is seen: these are answered.
  EXPECT_EQ(error_of("cache_memlimit\r\n").reply, reply::kError);
  EXPECT_EQ(error_of("cache_memlimit 1 2 noreply\r\n").reply, reply::kError);
  EXPECT_FALSE(error_of("cache_memlimit 7\r\n").accepted);
}

TEST(ParseAdmin, SettingsTakenAnswerOkAndAreNotErrors) {
  for (std::string_view line :
       {"slabs automove 1\r\n", "slabs automove ratio 0.5\r\n", "lru tune 10 20 0.1 2.0\r\n",
        "lru_crawler tocrawl 5\r\n", "lru_crawler sleep 1000000\r\n", "lru_crawler disable\r\n",
        "extstore item_size 10\r\n", "extstore max_frag 0.5\r\n",
        "extstore free_memchunks 63 1\r\n"}) {
    const ParseResult r = error_of(line);
    EXPECT_EQ(r.reply, reply::kOk) << line;
    EXPECT_TRUE(r.accepted) << line;
    EXPECT_FALSE(r.close) << line;
    EXPECT_EQ(r.consumed, line.size()) << line;
  }
  const ParseResult quiet = error_of("lru tune 10 20 0.1 2.0 noreply\r\n");
  EXPECT_EQ(quiet.reply, "");
  EXPECT_TRUE(quiet.accepted);
}

TEST(ParseAdmin, DisabledFeaturesAnswerTheirOwnLine) {
  EXPECT_EQ(error_of("watch\r\n").reply, reply::kWatchDisabled);
  EXPECT_EQ(error_of("watch fetchers mutations\r\n").reply, reply::kWatchDisabled);
  EXPECT_EQ(error_of("watch noreply\r\n").reply, "");
  EXPECT_EQ(error_of("lru_crawler crawl all\r\n").reply, reply::kLruCrawlerDisabled);
  EXPECT_EQ(error_of("lru_crawler metadump 1\r\n").reply, reply::kLruCrawlerDisabled);
  EXPECT_EQ(error_of("slabs reassign 1 2\r\n").reply, reply::kSlabReassignDisabled);
  EXPECT_EQ(error_of("shutdown graceful\r\n").reply, reply::kShutdownDisabled);
  // mcguard has no crawler to start: memcached's line for a crawler that cannot start.
  EXPECT_EQ(error_of("lru_crawler enable\r\n").reply, reply::kLruCrawlerCannotStart);
  for (std::string_view line :
       {"watch\r\n", "lru_crawler crawl all\r\n", "lru_crawler enable\r\n"}) {
    EXPECT_FALSE(error_of(line).accepted) << line;
  }
}

TEST(ParseAdmin, BadArgumentsGetMemcachedsSpecificLines) {
  EXPECT_EQ(error_of("slabs automove x\r\n").reply, reply::kBadCommandLineFormat);
  EXPECT_EQ(error_of("lru_crawler tocrawl x\r\n").reply, reply::kBadCommandLineFormat);
  EXPECT_EQ(error_of("lru_crawler sleep 1000001\r\n").reply, reply::kLruCrawlerSleepTooLong);
  EXPECT_EQ(error_of("lru tune 50 50 0.1 2.0\r\n").reply, reply::kLruPercentsTooHigh);
  EXPECT_EQ(error_of("lru tune 10 20 0.1 0\r\n").reply, reply::kLruFactorsNotPositive);
  // 32-bit wrap-around, as memcached sums the percentages.
  EXPECT_EQ(error_of("lru tune 4294967295 2 0.1 0.1\r\n").reply, reply::kOk);
  // Where memcached itself answers a bare ERROR, so does mcguard.
  for (std::string_view line :
       {"slabs\r\n", "slabs automove 3\r\n", "slabs automove ratio x\r\n", "lru\r\n",
        "lru mode flat\r\n", "lru tune 10 20 1e999 1\r\n", "lru_crawler\r\n", "lru_crawler x\r\n",
        "extstore\r\n", "extstore item_size x\r\n", "extstore free_memchunks 64 1\r\n",
        "debugtime 1\r\n"}) {
    EXPECT_EQ(error_of(line).reply, reply::kError) << line;
  }
}

TEST(ParseBinaryProtocol, TheMagicByteClosesAtOnce) {
  const std::string header = std::string("\x80\x0b", 2) + std::string(22, '\0');
  for (size_t n : {size_t{1}, size_t{2}, header.size()}) {
    Request r;
    const ParseResult result = parse(std::string_view(header).substr(0, n), r);
    EXPECT_EQ(result.status, ParseResult::Status::kError) << n;
    EXPECT_TRUE(result.close) << n;
    EXPECT_TRUE(result.binary_protocol) << n;
    EXPECT_EQ(result.reply, "") << n;
    EXPECT_EQ(result.consumed, 0u) << n;
  }
  // Other closes and errors are not binary.
  EXPECT_FALSE(error_of("GET / HTTP/1.1\r\n").binary_protocol);
  EXPECT_FALSE(error_of("bogus\r\n").binary_protocol);
  // A 0x80 byte inside a text request is only a byte of it.
  const Request r = request_of("get a\x80\r\n");
  EXPECT_EQ(r.key, "a\x80");
}

}  // namespace
}  // namespace mcguard
