// The Request parse_header builds for each classic command, field by field, and the
// error replies that depend on where "noreply" sits. Which headers memcached accepts
// at all is pinned by memcached_reference_test.cc; this file checks the values.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "protocol/parser.h"
#include "protocol/response.h"
#include "test_util.h"

namespace mcguard {
namespace {

using testing::error_of;
using testing::expand;
using testing::parse;
using testing::request_of;

TEST(ParseStorage, SetFillsEveryField) {
  const Request r = request_of("set user:1 42 3600 11\r\n");
  EXPECT_EQ(r.command, Command::kSet);
  EXPECT_EQ(r.line, "set user:1 42 3600 11");
  EXPECT_EQ(r.key, "user:1");
  EXPECT_EQ(r.client_flags, 42u);
  EXPECT_EQ(r.exptime, 3600);
  EXPECT_EQ(r.value_length, 11u);
  EXPECT_FALSE(r.noreply);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(r.key_count, 0u);
}

TEST(ParseStorage, EveryStorageCommand) {
  const std::pair<std::string_view, Command> commands[] = {
      {"set", Command::kSet},       {"add", Command::kAdd},         {"replace", Command::kReplace},
      {"append", Command::kAppend}, {"prepend", Command::kPrepend},
  };
  for (const auto& [name, command] : commands) {
    const std::string line = std::string(name) + " k 1 2 3 noreply\r\n";
    const Request r = request_of(line);
    EXPECT_EQ(r.command, command) << name;
    EXPECT_EQ(r.key, "k");
    EXPECT_EQ(r.client_flags, 1u);
    EXPECT_EQ(r.exptime, 2);
    EXPECT_EQ(r.value_length, 3u);
    EXPECT_TRUE(r.noreply);
    EXPECT_TRUE(r.has_value());
  }
}

TEST(ParseStorage, CasCarriesTheUniqueValue) {
  Request r = request_of("cas k 0 0 5 18446744073709551615\r\n");
  EXPECT_EQ(r.command, Command::kCas);
  EXPECT_EQ(r.cas_unique, UINT64_MAX);
  EXPECT_FALSE(r.noreply);
  r = request_of("cas k 0 0 5 99 noreply\r\n");
  EXPECT_EQ(r.cas_unique, 99u);
  EXPECT_TRUE(r.noreply);
}

TEST(ParseStorage, NumbersWrapAsMemcachedStoresThem) {
  Request r = request_of("set k 4294967301 -1 4294967297\r\n");
  EXPECT_EQ(r.client_flags, 5u);
  EXPECT_EQ(r.exptime, -1);
  EXPECT_EQ(r.value_length, 1u);
  r = request_of("set k 0 4294967296 0\r\n");
  EXPECT_EQ(r.exptime, 0);
  r = request_of("set k 0 2147483648 0\r\n");
  EXPECT_EQ(r.exptime, INT32_MIN);
  r = request_of("set k 0 0 2147483645\r\n");
  EXPECT_EQ(r.value_length, 2147483645u);
}

TEST(ParseStorage, AnExtraTokenInTheNoreplySlotIsIgnored) {
  const Request r = request_of("set k 0 0 1 norepl\r\n");
  EXPECT_FALSE(r.noreply);
  EXPECT_EQ(r.value_length, 1u);
}

TEST(ParseStorage, ErrorsNeverSwallowTheDataBlock) {
  for (const char* line : {"set k 0 0 abc\r\n", "set k 0 0 -1\r\n", "set {251*k} 0 0 1\r\n",
                           "cas k 0 0 1 x\r\n", "set k 0 0\r\n", "set k 0 0 1 2 3\r\n"}) {
    const std::string input = expand(line);
    const ParseResult r = error_of(input);
    EXPECT_EQ(r.swallow, 0u) << line;
    EXPECT_FALSE(r.close) << line;
    EXPECT_EQ(r.consumed, input.size()) << line;
  }
}

TEST(ParseStorage, NoreplySilencesErrorsFoundAfterTheTokenCount) {
  // The token count is checked before noreply is seen: ERROR is always sent.
  EXPECT_EQ(error_of("set k 0 0 1 noreply x\r\n").reply, reply::kError);
  EXPECT_EQ(error_of("set k 0 0 x noreply\r\n").reply, "");
  EXPECT_EQ(error_of(expand("set {251*k} 0 0 1 noreply\r\n")).reply, "");
  // In a six-token set the noreply slot is the length, so this is silent too.
  EXPECT_EQ(error_of("set k 0 0 noreply\r\n").reply, "");
  EXPECT_EQ(error_of("cas k 0 0 1 noreply\r\n").reply, "");
}

TEST(ParseRetrieval, GetCollectsAllKeys) {
  Request r = request_of("get a\r\n");
  EXPECT_EQ(r.command, Command::kGet);
  EXPECT_EQ(r.key, "a");
  EXPECT_EQ(r.keys, "a");
  EXPECT_EQ(r.key_count, 1u);
  EXPECT_FALSE(r.has_value());

  r = request_of("gets  alpha   beta gamma  \r\n");
  EXPECT_EQ(r.command, Command::kGets);
  EXPECT_EQ(r.key, "alpha");
  EXPECT_EQ(r.keys, "alpha   beta gamma");
  EXPECT_EQ(r.key_count, 3u);
  std::vector<std::string_view> keys;
  KeyCursor cursor(r.keys);
  for (std::string_view key; cursor.next(key);) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string_view>{"alpha", "beta", "gamma"}));
}

TEST(ParseRetrieval, GatAndGatsTakeAnExptimeFirst) {
  Request r = request_of("gat 300 a b\r\n");
  EXPECT_EQ(r.command, Command::kGat);
  EXPECT_EQ(r.exptime, 300);
  EXPECT_EQ(r.key, "a");
  EXPECT_EQ(r.keys, "a b");
  EXPECT_EQ(r.key_count, 2u);
  r = request_of("gats -1 z\r\n");
  EXPECT_EQ(r.command, Command::kGats);
  EXPECT_EQ(r.exptime, -1);
  EXPECT_EQ(r.keys, "z");
  // memcached answers "gat <exptime>" with a bare END: a request with no keys.
  r = request_of("gat 10\r\n");
  EXPECT_EQ(r.command, Command::kGat);
  EXPECT_EQ(r.key_count, 0u);
  EXPECT_EQ(r.key, "");
  EXPECT_EQ(r.keys, "");
}

TEST(ParseRetrieval, BgetIsGet) {
  const Request r = request_of("bget a b\r\n");
  EXPECT_EQ(r.command, Command::kGet);
  EXPECT_EQ(r.keys, "a b");
  EXPECT_EQ(r.key_count, 2u);
}

TEST(ParseRetrieval, KeysPastTheTokenLimitAreCountedAndChecked) {
  std::string line = "get";
  std::string expected_keys;
  for (int i = 0; i < 100; ++i) {
    const std::string key = "key" + std::to_string(i);
    line += "  " + key;
    expected_keys += (i ? "  " : "") + key;
  }
  const std::string input = line + " \r\n";  // the Request borrows it
  Request r = request_of(input);
  EXPECT_EQ(r.key_count, 100u);
  EXPECT_EQ(r.key, "key0");
  EXPECT_EQ(r.keys, expected_keys);

  const std::string bad = line + " " + std::string(251, 'k') + " last\r\n";
  EXPECT_EQ(error_of(bad).reply, reply::kBadCommandLineFormat);
  const Request ok = request_of(line + " " + std::string(250, 'k') + "\r\n");
  EXPECT_EQ(ok.key_count, 101u);
}

TEST(ParseRetrieval, NoreplyIsJustAKey) {
  const Request r = request_of("get a noreply\r\n");
  EXPECT_FALSE(r.noreply);
  EXPECT_EQ(r.key_count, 2u);
}

TEST(ParseDelete, AcceptsAZeroHoldAndNoreply) {
  Request r = request_of("delete k\r\n");
  EXPECT_EQ(r.command, Command::kDelete);
  EXPECT_EQ(r.key, "k");
  EXPECT_FALSE(r.noreply);
  r = request_of("delete k 0\r\n");
  EXPECT_FALSE(r.noreply);
  r = request_of("delete k noreply\r\n");
  EXPECT_TRUE(r.noreply);
  r = request_of("delete k 0 noreply\r\n");
  EXPECT_TRUE(r.noreply);
  EXPECT_EQ(error_of("delete k 5\r\n").reply, reply::kDeleteUsage);
  EXPECT_EQ(error_of("delete k 5 noreply\r\n").reply, "");
}

TEST(ParseArithmetic, IncrAndDecrCarryTheDelta) {
  Request r = request_of("incr n 18446744073709551615\r\n");
  EXPECT_EQ(r.command, Command::kIncr);
  EXPECT_EQ(r.key, "n");
  EXPECT_EQ(r.delta, UINT64_MAX);
  EXPECT_FALSE(r.noreply);
  r = request_of("decr n 3 noreply\r\n");
  EXPECT_EQ(r.command, Command::kDecr);
  EXPECT_EQ(r.delta, 3u);
  EXPECT_TRUE(r.noreply);
  EXPECT_EQ(error_of("incr n 1.5\r\n").reply, reply::kInvalidDelta);
  EXPECT_EQ(error_of("decr n -2\r\n").reply, reply::kInvalidDelta);
}

TEST(ParseTouch, CarriesTheExptime) {
  Request r = request_of("touch k 86400\r\n");
  EXPECT_EQ(r.command, Command::kTouch);
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.exptime, 86400);
  r = request_of("touch k -5 noreply\r\n");
  EXPECT_EQ(r.exptime, -5);
  EXPECT_TRUE(r.noreply);
  EXPECT_EQ(error_of("touch k soon\r\n").reply, reply::kInvalidExptime);
}

TEST(ParseFlushAll, DelayAndNoreply) {
  Request r = request_of("flush_all\r\n");
  EXPECT_EQ(r.command, Command::kFlushAll);
  EXPECT_FALSE(r.has_delay);
  EXPECT_EQ(r.delay, 0);
  EXPECT_FALSE(r.noreply);
  r = request_of("flush_all 30\r\n");
  EXPECT_TRUE(r.has_delay);
  EXPECT_EQ(r.delay, 30);
  r = request_of("flush_all noreply\r\n");
  EXPECT_FALSE(r.has_delay);
  EXPECT_TRUE(r.noreply);
  r = request_of("flush_all 30 noreply\r\n");
  EXPECT_EQ(r.delay, 30);
  EXPECT_TRUE(r.noreply);
  r = request_of("flush_all 30 40\r\n");  // the third token is ignored
  EXPECT_EQ(r.delay, 30);
  EXPECT_FALSE(r.noreply);
  r = request_of("flush_all -7\r\n");
  EXPECT_EQ(r.delay, -7);
  EXPECT_EQ(error_of("flush_all soon\r\n").reply, reply::kInvalidExptime);
  EXPECT_EQ(error_of("flush_all soon noreply\r\n").reply, "");
}

TEST(ParseVerbosity, LevelAndNoreply) {
  Request r = request_of("verbosity 2\r\n");
  EXPECT_EQ(r.command, Command::kVerbosity);
  EXPECT_EQ(r.verbosity, 2u);
  EXPECT_FALSE(r.noreply);
  r = request_of("verbosity 1 noreply\r\n");
  EXPECT_EQ(r.verbosity, 1u);
  EXPECT_TRUE(r.noreply);
  EXPECT_EQ(error_of("verbosity loud\r\n").reply, reply::kBadCommandLineFormat);
}

TEST(ParseOther, VersionQuitAndStats) {
  EXPECT_EQ(request_of("version\r\n").command, Command::kVersion);
  EXPECT_EQ(request_of("quit\r\n").command, Command::kQuit);
  EXPECT_EQ(request_of("quit now\r\n").command, Command::kQuit);
  Request r = request_of("stats\r\n");
  EXPECT_EQ(r.command, Command::kStats);
  EXPECT_EQ(r.args, "");
  r = request_of("stats   detail  dump   \r\n");
  EXPECT_EQ(r.args, "detail  dump");
  // Subcommands are the tier's business: memcached answers this one with ERROR.
  r = request_of("stats nonsense\r\n");
  EXPECT_EQ(r.args, "nonsense");
}

TEST(ParseOther, UnknownAndUnsupportedCommands) {
  EXPECT_EQ(error_of("frobnicate\r\n").reply, reply::kError);
  // Admin commands: as a memcached with the feature off (parser_admin_test.cc).
  EXPECT_EQ(error_of("watch\r\n").reply, reply::kWatchDisabled);
  EXPECT_EQ(error_of("lru_crawler metadump all\r\n").reply, reply::kLruCrawlerDisabled);
  EXPECT_EQ(error_of("slabs reassign 1 2\r\n").reply, reply::kSlabReassignDisabled);
  EXPECT_EQ(error_of("shutdown graceful\r\n").reply, reply::kShutdownDisabled);
  const ParseResult http = error_of("POST /x HTTP/1.1\r\n");
  EXPECT_TRUE(http.close);
  EXPECT_EQ(http.reply, "");
}

TEST(ParseResultShape, ErrorsConsumeTheLineSoTheNextCommandParses) {
  const std::string input = "bogus\r\nget a\r\n";
  Request r;
  const ParseResult first = parse(input, r);
  ASSERT_EQ(first.status, ParseResult::Status::kError);
  EXPECT_EQ(first.consumed, 7u);
  const ParseResult second = parse(std::string_view(input).substr(first.consumed), r);
  ASSERT_EQ(second.status, ParseResult::Status::kRequest);
  EXPECT_EQ(r.key, "a");
}

TEST(ParseResultShape, FieldsFromAPreviousRequestDoNotLeak) {
  Request r;
  ASSERT_EQ(parse("cas k 7 8 9 10 noreply\r\n", r).status, ParseResult::Status::kRequest);
  ASSERT_EQ(parse("mg k v T5 Oab\r\n", r).status, ParseResult::Status::kRequest);
  ASSERT_EQ(parse("get x y\r\n", r).status, ParseResult::Status::kRequest);
  EXPECT_EQ(r.client_flags, 0u);
  EXPECT_EQ(r.exptime, 0);
  EXPECT_EQ(r.value_length, 0u);
  EXPECT_EQ(r.cas_unique, 0u);
  EXPECT_FALSE(r.noreply);
  EXPECT_EQ(r.meta.count, 0u);
  EXPECT_EQ(r.meta.present, 0u);
  EXPECT_EQ(r.key_count, 2u);
}

}  // namespace
}  // namespace mcguard
