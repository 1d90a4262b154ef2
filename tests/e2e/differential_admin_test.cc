// Differential tests of the commands that tune memcached itself (issue 14): version,
// cache_memlimit, and the admin commands a proxy answers as a memcached with those
// features off (watch, lru_crawler, lru, slabs, extstore, shutdown, debugtime). In
// the Differential suite, so they also run through 1 and 3 upstreams.
#include <functional>
#include <memory>
#include <string>

#include "differential.h"

namespace mcguard::e2e {
namespace {

// The reference for the admin commands: memcached 1.6.18 without watchers (-W), LRU
// crawler, LRU maintainer or slab mover, and without -A (no shutdown command).
void use_reference_without_admin_features(std::unique_ptr<ServerProcess>& reference,
                                          const std::function<void()>& reconnect) {
  std::string error;
  reference = start_memcached(
      &error, kReferenceItemSizeMax, 4096, 0,
      {"-W", "-o", "no_lru_crawler,no_lru_maintainer,no_slab_reassign,no_slab_automove"});
  ASSERT_NE(reference, nullptr) << "reference memcached: " << error;
  reconnect();
}

TEST_F(Differential, VersionIsMemcachedsOwn) {
  // A plain "major.minor.patch": clients parse it as a number (Perl's version->parse
  // died on "1.6.18-mcguard-0.1.0"). mcguard speaks 1.6.18's protocol, the reference's.
  expect_same("version\r\n");
  expect_same("version\r\nversion extra tokens\r\nget a\r\n");
}

TEST_F(Differential, CacheMemlimitReplies) {
  expect_same("cache_memlimit 100\r\n");
  expect_same("cache_memlimit 64 noreply\r\nversion\r\n");
  expect_same("cache_memlimit 100 ignored\r\n");
  // Below memcached's 8 MB, above its 1,000,000,000 ("megabytes not bytes"), and 32-bit
  // wrap-around as its safe_strtoul does it (2^32 is 0: too small).
  expect_same("cache_memlimit 7\r\ncache_memlimit 0\r\ncache_memlimit 1000000001\r\n");
  expect_same("cache_memlimit 4294967296\r\ncache_memlimit 18446744073709551615\r\n");
  expect_same("cache_memlimit 7 noreply\r\ncache_memlimit 1000000001 noreply\r\n");
  // Not a number, a negative one, a missing or an extra argument: bare ERROR, as memcached.
  expect_same("cache_memlimit\r\ncache_memlimit abc\r\ncache_memlimit -5\r\n");
  expect_same(
      "cache_memlimit abc noreply\r\ncache_memlimit 100 1 2\r\ncache_memlimit 1 2 noreply\r\n");
  // The smallest limit memcached takes; the cache still serves afterwards.
  expect_same("cache_memlimit 8\r\nset a 0 0 1\r\nx\r\nget a\r\n");
}

TEST_F(Differential, AdminCommandsAnswerAsMemcachedWithTheFeaturesOff) {
  use_reference_without_admin_features(reference_, [this] { reconnect(); });
  // watch: refused as with -W, silent under noreply.
  expect_same("watch\r\nwatch fetchers\r\nwatch bogus\r\nwatch fetchers mutations\r\n");
  expect_same("watch noreply\r\nwatch fetchers noreply\r\nversion\r\n");
  // slabs reassign: disabled; slabs automove: the setting is taken or its argument refused.
  expect_same("slabs\r\nslabs bogus 1 2\r\nslabs reassign\r\nslabs reassign 1\r\n");
  expect_same("slabs reassign 1 2\r\nslabs reassign x y\r\nslabs reassign 1 1\r\n");
  expect_same("slabs reassign 1 2 3\r\nslabs reassign 1 noreply\r\n");
  expect_same("slabs automove\r\nslabs automove 0\r\nslabs automove 1\r\nslabs automove 2\r\n");
  expect_same("slabs automove 3\r\nslabs automove x\r\nslabs automove 4294967296\r\n");
  expect_same("slabs automove ratio\r\nslabs automove ratio 0.5\r\nslabs automove ratio x\r\n");
  expect_same(
      "slabs automove 1 noreply\r\nslabs automove x noreply\r\nslabs automove 3 noreply\r\n");
  expect_same("slabs automove ratio 0.5 noreply\r\nslabs automove noreply\r\nversion\r\n");
  // lru_crawler: crawls and dumps are disabled; its settings are taken or refused.
  expect_same("lru_crawler\r\nlru_crawler crawl\r\nlru_crawler bogus\r\nlru_crawler x y z\r\n");
  expect_same("lru_crawler crawl all\r\nlru_crawler crawl 1\r\nlru_crawler crawl x\r\n");
  expect_same("lru_crawler metadump all\r\nlru_crawler metadump 1\r\nlru_crawler mgdump 1\r\n");
  expect_same("lru_crawler tocrawl 5\r\nlru_crawler tocrawl x\r\nlru_crawler tocrawl -1\r\n");
  expect_same("lru_crawler sleep 5\r\nlru_crawler sleep 1000000\r\nlru_crawler sleep 1000001\r\n");
  expect_same("lru_crawler sleep x\r\nlru_crawler disable\r\nlru_crawler crawl all noreply\r\n");
  // lru: tune checks its numbers; mode and temp_ttl need the (absent) maintainer.
  expect_same("lru\r\nlru tune\r\nlru bogus\r\nlru tune 10 20 0.1 2.0\r\n");
  expect_same("lru tune 50 50 0.1 2.0\r\nlru tune 10 20 0 2.0\r\nlru tune 10 20 0.1 -1\r\n");
  expect_same("lru tune x 20 0.1 2.0\r\nlru tune 10 20 x 2.0\r\nlru tune 4294967295 2 0.1 0.1\r\n");
  expect_same("lru tune 10 20 nan 1\r\nlru tune 10 20 1e999 1\r\n");
  expect_same("lru mode flat\r\nlru mode segmented\r\nlru mode\r\nlru temp_ttl 10\r\n");
  expect_same("lru tune 10 20 0.1 2.0 noreply\r\nlru mode flat noreply\r\nlru noreply\r\n");
  // extstore: settings taken (no extstore configured) or refused.
  expect_same("extstore\r\nextstore item_size\r\nextstore item_size 10\r\nextstore x\r\n");
  expect_same("extstore item_age 5\r\nextstore low_ttl 1\r\nextstore recache_rate 1\r\n");
  expect_same("extstore compact_under 1\r\nextstore drop_under 1\r\nextstore max_sleep 1\r\n");
  expect_same("extstore drop_unread 1\r\nextstore max_frag 0.5\r\nextstore max_frag x\r\n");
  expect_same("extstore max_frag 1e999\r\nextstore item_size -1\r\nextstore bogus 1\r\n");
  expect_same("extstore free_memchunks 1\r\nextstore free_memchunks 1 2\r\n");
  expect_same("extstore free_memchunks 63 1\r\nextstore free_memchunks 64 1\r\n");
  expect_same("extstore item_size 10 noreply\r\nextstore noreply\r\nversion\r\n");
  // shutdown without -A, and debugtime (debug builds only): memcached's own lines.
  expect_same("shutdown\r\nshutdown graceful\r\nshutdown bogus\r\nshutdown noreply\r\n");
  expect_same("debugtime\r\ndebugtime 1\r\ndebugtime p\r\n");
  // The connection is in step afterwards.
  expect_same("set a 0 0 1\r\nx\r\nget a\r\n");
}

}  // namespace
}  // namespace mcguard::e2e
