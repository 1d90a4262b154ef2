// The embedded tier on a fake clock and at its limits: expiry, TTLs, last-access and
// recache/win flags as time passes, delayed flush_all, values sent by reference,
// too-large and out-of-memory errors (which also unlink the old value), stats.
// Expected bytes follow what memcached 1.6.18 answered to the same commands with
// real time passing (see each test's note).
#include "proxy/embedded/embedded_tier.h"

#include <gtest/gtest.h>

#include <string>

#include "tier_test_harness.h"

namespace mcguard {
namespace {

using test::kStartTime;
using test::TierHarness;

std::string set_command(std::string_view key, const std::string& value,
                        std::string_view extra = "") {
  return "set " + std::string(key) + " 0 0 " + std::to_string(value.size()) + std::string(extra) +
         "\r\n" + value + "\r\n";
}

TEST(EmbeddedTier, RelativeAndAbsoluteExpiry) {
  TierHarness h;
  EXPECT_EQ(h.run("set a 0 10 1\r\nA\r\n"), "STORED\r\n");
  const std::string absolute = std::to_string(kStartTime + 20);
  EXPECT_EQ(h.run("set b 0 " + absolute + " 1\r\nB\r\n"), "STORED\r\n");
  EXPECT_EQ(h.run("set c 0 2592000 1\r\nC\r\n"), "STORED\r\n");  // 30 days: still relative
  h.advance(9);
  EXPECT_EQ(h.run("get a b\r\n"), "VALUE a 0 1\r\nA\r\nVALUE b 0 1\r\nB\r\nEND\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("get a b\r\n"), "VALUE b 0 1\r\nB\r\nEND\r\n");
  h.advance(10);
  EXPECT_EQ(h.run("get a b c\r\n"), "VALUE c 0 1\r\nC\r\nEND\r\n");
  h.advance(2592000 - 20);
  EXPECT_EQ(h.run("get c\r\n"), "END\r\n");
  EXPECT_EQ(h.tier().stats().get_expired, 3u);
}

TEST(EmbeddedTier, NegativeTimesExpireAtOnce) {
  TierHarness h;
  EXPECT_EQ(h.run("set a 0 0 1\r\nA\r\nset b 0 0 1\r\nB\r\nset c 0 0 1\r\nC\r\n"),
            "STORED\r\nSTORED\r\nSTORED\r\n");
  // gat answers with the item, then it is gone (memcached, one command at a time).
  EXPECT_EQ(h.run("gat -1 a\r\n"), "VALUE a 0 1\r\nA\r\nEND\r\n");
  EXPECT_EQ(h.run("touch b -1\r\n"), "TOUCHED\r\n");
  EXPECT_EQ(h.run("mg c T-1\r\n"), "HD\r\n");
  EXPECT_EQ(h.run("get a b c\r\n"), "END\r\n");
}

TEST(EmbeddedTier, TouchAndGatsSetTheTtl) {
  TierHarness h;
  EXPECT_EQ(h.run("set a 1 0 1\r\nA\r\n"), "STORED\r\n");
  EXPECT_EQ(h.run("touch a 10\r\n"), "TOUCHED\r\n");
  EXPECT_EQ(h.run("mg a t\r\n"), "HD t10\r\n");
  EXPECT_EQ(h.run("gats 50 a\r\n"), "VALUE a 1 1 1\r\nA\r\nEND\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("mg a t\r\n"), "HD t49\r\n");
  EXPECT_EQ(h.run("gat 0 a\r\nmg a t\r\n"), "VALUE a 1 1\r\nA\r\nEND\r\nHD t-1\r\n");
}

TEST(EmbeddedTier, MetaTtlAndDebugAsTimePasses) {
  TierHarness h;
  EXPECT_EQ(h.run("ms a 1 T100\r\nA\r\n"), "HD\r\n");
  // memcached: exp is the signed age past expiry, negative while alive.
  EXPECT_EQ(h.run("me a\r\n"), "ME a exp=-100 la=0 cas=1 fetch=no cls=1 size=61\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("mg a t v\r\n"), "VA 1 t99\r\nA\r\n");
  h.advance(6);
  EXPECT_EQ(h.run("me a\r\n"), "ME a exp=-93 la=7 cas=1 fetch=yes cls=1 size=61\r\n");
  EXPECT_EQ(h.run("mg a T10 t\r\n"), "HD t10\r\n");
  h.advance(10);
  EXPECT_EQ(h.run("mg a\r\nme a\r\n"), "EN\r\nEN\r\n");
}

TEST(EmbeddedTier, LastAccessAndHitFollowMemcachedsBumps) {
  // memcached 1.6.18, one second apart: "HD l2 h0", "HD l3 h1", "HD l1 h1": the
  // first read only marks the item fetched, later reads refresh its access time.
  TierHarness h;
  EXPECT_EQ(h.run("set la 0 0 1\r\nA\r\n"), "STORED\r\n");
  h.advance(2);
  EXPECT_EQ(h.run("mg la l h\r\n"), "HD l2 h0\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("mg la l h\r\n"), "HD l3 h1\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("mg la l h\r\n"), "HD l1 h1\r\n");
  // u reads without bumping.
  h.advance(4);
  EXPECT_EQ(h.run("mg la l u\r\n"), "HD l4\r\n");
  EXPECT_EQ(h.run("mg la l\r\n"), "HD l4\r\n");
  EXPECT_EQ(h.run("mg la l\r\n"), "HD l0\r\n");
}

TEST(EmbeddedTier, RecacheTokenIsWonOnceBelowTheThreshold) {
  TierHarness h;
  EXPECT_EQ(h.run("ms r 1 T100\r\nR\r\n"), "HD\r\n");
  EXPECT_EQ(h.run("mg r R30 t\r\n"), "HD t100\r\n");
  h.advance(80);
  EXPECT_EQ(h.run("mg r R30 t\r\n"), "HD t20 W\r\n");
  EXPECT_EQ(h.run("mg r R30 t\r\n"), "HD t20 Z\r\n");
  // A new value clears the token.
  EXPECT_EQ(h.run("ms r 1 T10\r\nS\r\nmg r R30 v\r\n"), "HD\r\nVA 1 W\r\nS\r\n");
}

TEST(EmbeddedTier, VivifyTtlDependsOnFlagOrder) {
  TierHarness h;
  EXPECT_EQ(h.run("mg y t N30\r\n"), "HD t-1 W\r\n");
  EXPECT_EQ(h.run("mg y t\r\n"), "HD t30 Z\r\n");
  EXPECT_EQ(h.run("mg z N30 t v\r\n"), "VA 0 t30 W\r\n\r\n");
  h.advance(30);
  EXPECT_EQ(h.run("mg z N30 t\r\n"), "HD t30 W\r\n") << "expired, so created anew";
}

TEST(EmbeddedTier, ArithmeticTtlFlagsApplyInOrder) {
  // memcached 1.6.18: "VA 1 t100\r\n5", "VA 1 t50\r\n6", a second later "VA 1 t49\r\n7".
  TierHarness h;
  EXPECT_EQ(h.run("ma n2 N100 J5 v t\r\n"), "VA 1 t100\r\n5\r\n");
  EXPECT_EQ(h.run("ma n2 T50 v t\r\n"), "VA 1 t50\r\n6\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("ma n2 v t T60\r\n"), "VA 1 t49\r\n7\r\n");
  EXPECT_EQ(h.run("mg n2 t\r\n"), "HD t60\r\n");
  // memcached 1.6.18: "HD t-1", "HD t100", "HD t20", "HD t20", "NF" (T alone does
  // not create), "EN".
  EXPECT_EQ(h.run("ma n3 t T20 N100 J1\r\nmg n3 t\r\n"), "HD t-1\r\nHD t100\r\n");
  EXPECT_EQ(h.run("ma n4 N100 T20 J1 t\r\nmg n4 t\r\n"), "HD t20\r\nHD t20\r\n");
  EXPECT_EQ(h.run("ma n5 T20 J1 t\r\nmg n5 t\r\n"), "NF\r\nEN\r\n");
}

TEST(EmbeddedTier, DelayedFlushAll) {
  TierHarness h;
  EXPECT_EQ(h.run("set a 0 0 1\r\nA\r\nflush_all 10\r\n"), "STORED\r\nOK\r\n");
  h.advance(8);
  EXPECT_EQ(h.run("get a\r\n"), "VALUE a 0 1\r\nA\r\nEND\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("get a\r\n"), "END\r\n");
  h.advance(1);
  EXPECT_EQ(h.run("set b 0 0 1\r\nB\r\nget b\r\n"), "STORED\r\nVALUE b 0 1\r\nB\r\nEND\r\n");
  EXPECT_EQ(h.tier().stats().get_flushed, 1u);
  EXPECT_EQ(h.tier().stats().cmd_flush, 1u);
}

TEST(EmbeddedTier, LargeValuesAreSentFromStoreMemoryEvenIfDeletedOrReplaced) {
  TierHarness h;
  std::string value(200000, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('A' + i % 53);
  EXPECT_EQ(h.run(set_command("big", value)), "STORED\r\n");
  const uint64_t with_item = h.tier().stats().bytes;
  h.submit("get big\r\ndelete big\r\n");
  EXPECT_EQ(h.tier().stats().curr_items, 0u);
  EXPECT_EQ(h.tier().stats().bytes, with_item) << "the queued reply holds the item";
  EXPECT_EQ(h.drain(), "VALUE big 0 200000\r\n" + value + "\r\nEND\r\nDELETED\r\n");
  EXPECT_EQ(h.tier().stats().bytes, 0u) << "sent, so freed";

  // Replaced while queued: the reply still carries the value it read.
  EXPECT_EQ(h.run(set_command("big", value)), "STORED\r\n");
  const std::string other(5000, 'z');
  h.submit("mg big v\r\n" + set_command("big", other) + "get big\r\n");
  EXPECT_EQ(h.drain(),
            "VA 200000\r\n" + value + "\r\nSTORED\r\nVALUE big 0 5000\r\n" + other + "\r\nEND\r\n");
}

TEST(EmbeddedTier, IncrInPlaceOnlyWhenNobodyIsReadingTheValue) {
  TierHarness h;
  const std::string padded = "5" + std::string(2000, ' ');
  EXPECT_EQ(h.run(set_command("m", padded)), "STORED\r\n");
  // memcached 1.6.18 (one command at a time): "6", then a 2001-byte "6   ...".
  EXPECT_EQ(h.run("incr m 1\r\n"), "6\r\n");
  EXPECT_EQ(h.run("get m\r\n"), "VALUE m 0 2001\r\n6" + std::string(2000, ' ') + "\r\nEND\r\n");
  // While a reply still holds the value, the result goes in a new, exact item
  // (what memcached does when a pipelined mg holds a reference).
  h.submit("get m\r\nincr m 1\r\n");
  EXPECT_EQ(h.drain(), "VALUE m 0 2001\r\n6" + std::string(2000, ' ') + "\r\nEND\r\n7\r\n");
  EXPECT_EQ(h.run("get m\r\n"), "VALUE m 0 1\r\n7\r\nEND\r\n");
}

TEST(EmbeddedTier, IncrRefusesWhatMemcachedWouldChunk) {
  TierHarness h;
  // memcached chunks items above 524288 bytes (its item size, key and CRLF
  // included): 524228 value bytes under key "k" still count, 524229 do not.
  EXPECT_EQ(h.run(set_command("k", "7" + std::string(524227, ' ')) + "incr k 1\r\n"),
            "STORED\r\n8\r\n");
  EXPECT_EQ(h.run(set_command("k", "7" + std::string(524228, ' ')) + "incr k 1\r\n"),
            "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
}

TEST(EmbeddedTier, TooLargeRefusesAndUnlinksOnlyForSet) {
  EmbeddedConfig config;
  config.memory_limit = 4 << 20;
  config.max_value_size = 1000;
  TierHarness h(config);
  const std::string big(2000, 'x');
  const std::string too_large = "SERVER_ERROR object too large for cache\r\n";
  EXPECT_EQ(h.run("set a 0 0 1\r\nA\r\nset b 0 0 2\r\nBB\r\n"), "STORED\r\nSTORED\r\n");
  EXPECT_EQ(h.run(set_command("a", big)), too_large);
  EXPECT_EQ(h.run("get a\r\n"), "END\r\n") << "a failed set leaves no stale value";
  EXPECT_EQ(h.run("add b 0 0 2000\r\n" + big + "\r\n"), too_large);
  EXPECT_EQ(h.run("get b\r\n"), "VALUE b 0 2\r\nBB\r\nEND\r\n");
  EXPECT_EQ(h.run(set_command("b", big, " noreply") + "get b\r\n"), "END\r\n");
  EXPECT_EQ(h.run("set c 0 0 1\r\nC\r\nms c 2000 q\r\n" + big + "\r\nget c\r\n"),
            "STORED\r\n" + too_large + "END\r\n");
  // Joining would exceed the limit: NOT_STORED, the old value stays.
  EXPECT_EQ(h.run("set d 0 0 999\r\n" + std::string(999, 'd') + "\r\nappend d 0 0 2\r\nzz\r\n"),
            "STORED\r\nNOT_STORED\r\n");
}

TEST(EmbeddedTier, OutOfMemoryRefusesAndUnlinks) {
  EmbeddedConfig config;
  config.memory_limit = 1 << 20;
  config.max_value_size = 4 << 20;
  TierHarness h(config);
  const std::string oom = "SERVER_ERROR out of memory storing object\r\n";
  EXPECT_EQ(h.run("set a 0 0 1\r\nA\r\n"), "STORED\r\n");
  EXPECT_EQ(h.run(set_command("a", std::string(2 << 20, 'x'))), oom);
  EXPECT_EQ(h.run("get a\r\n"), "END\r\n");
  EXPECT_EQ(h.run("set b 0 0 1\r\nB\r\nms b 2000000 q T0\r\n" + std::string(2000000, 'y') +
                  "\r\nget b\r\n"),
            "STORED\r\n" + oom + "END\r\n");
  // A value that fits evicts what it must.
  const std::string fits(900000, 'f');
  EXPECT_EQ(h.run(set_command("f", fits) + "get f\r\n"),
            "STORED\r\nVALUE f 0 900000\r\n" + fits + "\r\nEND\r\n");
}

TEST(EmbeddedTier, StatsCountCommands) {
  TierHarness h;
  h.run(
      "set a 0 0 1\r\n1\r\nadd a 0 0 1\r\n2\r\nget a b\r\ngets a\r\ntouch a 0\r\ntouch b 0\r\n"
      "gat 0 a b\r\nincr a 1\r\nincr b 1\r\ndecr a 1\r\ndecr b 1\r\ncas a 0 0 1 1\r\nx\r\n"
      "cas b 0 0 1 1\r\nx\r\ngets a\r\ncas a 0 0 1 3\r\ny\r\ndelete a\r\ndelete a\r\n"
      "mg a\r\nmg c N0\r\nmg c T0\r\nflush_all\r\n");
  const EmbeddedStats s = h.tier().stats();
  EXPECT_EQ(s.cmd_set, 5u);
  EXPECT_EQ(s.cmd_get, 6u);
  EXPECT_EQ(s.get_hits, 4u);  // mg c N0 created c: a hit, as memcached counts it
  EXPECT_EQ(s.get_misses, 2u);
  EXPECT_EQ(s.cmd_touch, 5u);
  EXPECT_EQ(s.touch_hits, 3u);
  EXPECT_EQ(s.touch_misses, 2u);
  EXPECT_EQ(s.incr_hits, 1u);
  EXPECT_EQ(s.incr_misses, 1u);
  EXPECT_EQ(s.decr_hits, 1u);
  EXPECT_EQ(s.decr_misses, 1u);
  EXPECT_EQ(s.cas_hits, 1u);
  EXPECT_EQ(s.cas_misses, 1u);
  EXPECT_EQ(s.cas_badval, 1u);
  EXPECT_EQ(s.delete_hits, 1u);
  EXPECT_EQ(s.delete_misses, 1u);
  EXPECT_EQ(s.cmd_flush, 1u);
  EXPECT_EQ(s.curr_items, 1u);
  EXPECT_EQ(s.total_items, 3u);
  EXPECT_EQ(s.limit_maxbytes, EmbeddedConfig{}.memory_limit);
  EXPECT_EQ(s.bytes, 128u);
}

TEST(EmbeddedTier, UnlinkRemovesAKey) {
  TierHarness h;
  EXPECT_EQ(h.run("set a 0 0 1\r\nA\r\n"), "STORED\r\n");
  h.tier().unlink("a");
  h.tier().unlink("missing");
  EXPECT_EQ(h.run("get a\r\n"), "END\r\n");
}

TEST(EmbeddedTier, RequestsTheParserWouldRefuse) {
  TierHarness h;
  Request version;
  version.command = Command::kVersion;
  h.tier().execute(version, {}, h.queue());
  EXPECT_EQ(h.drain(), "ERROR\r\n") << "not a data command";
  // A key over 250 bytes fails the whole get, hits before it included.
  EXPECT_EQ(h.run("set a 0 0 1\r\nA\r\n"), "STORED\r\n");
  const std::string keys = "a " + std::string(251, 'k');
  Request get;
  get.command = Command::kGet;
  get.keys = keys;
  get.key = "a";
  get.key_count = 2;
  h.tier().execute(get, {}, h.queue());
  EXPECT_EQ(h.drain(), "CLIENT_ERROR bad command line format\r\n");
  // A base64 key that does not decode.
  EXPECT_EQ(h.run("mg !!!! b\r\n"), "CLIENT_ERROR error decoding key\r\n");
}

}  // namespace
}  // namespace mcguard
