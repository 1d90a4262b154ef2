// The token rules parse_header builds on: memcached's tokenizer (spaces only, 23
// tokens then an unsplit rest) and its safe_strto* number parsing, wrap-arounds
// included. The end-to-end evidence for these rules is memcached_reference_test.cc.
#include "protocol/tokens.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace mcguard::text {
namespace {

TEST(Tokenize, SplitsOnSpacesOnly) {
  Tokens t;
  tokenize("  get\ta  b\r  ", t);
  ASSERT_EQ(t.count, 2u);
  EXPECT_EQ(t.token[0], "get\ta");
  EXPECT_EQ(t.token[1], "b\r");
  EXPECT_EQ(t.rest, "");
  EXPECT_EQ(t.ntokens(), 3u);
}

TEST(Tokenize, EmptyAndBlankLinesHaveNoTokens) {
  Tokens t;
  tokenize("", t);
  EXPECT_EQ(t.count, 0u);
  tokenize("    ", t);
  EXPECT_EQ(t.count, 0u);
  EXPECT_EQ(t.ntokens(), 1u);
}

TEST(Tokenize, StopsAfterTwentyThreeTokensAndKeepsTheRest) {
  std::string line;
  for (int i = 0; i < 30; ++i) line += "t" + std::to_string(i) + " ";
  Tokens t;
  tokenize(line, t);
  ASSERT_EQ(t.count, 23u);
  EXPECT_EQ(t.ntokens(), kMaxTokens);
  EXPECT_EQ(t.token[22], "t22");
  EXPECT_EQ(t.rest, "t23 t24 t25 t26 t27 t28 t29 ");
}

TEST(Tokenize, ExactlyTwentyThreeTokensLeaveNoRest) {
  std::string line;
  for (int i = 0; i < 23; ++i) line += (i ? " x" : "x");
  Tokens t;
  tokenize(line, t);
  EXPECT_EQ(t.count, 23u);
  EXPECT_EQ(t.rest, "");
  const std::string one_space = line + " ";  // Tokens borrow the line
  tokenize(one_space, t);                    // a trailing space does not start a rest either
  EXPECT_EQ(t.count, 23u);
  EXPECT_EQ(t.rest, "");
  const std::string two_spaces = line + "  ";
  tokenize(two_spaces, t);  // but memcached hands on a rest of spaces
  EXPECT_EQ(t.rest, " ");
}

TEST(ParseU64, AcceptsWhatStrtoullAccepts) {
  uint64_t v = 7;
  EXPECT_TRUE(parse_u64("0", v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_u64("18446744073709551615", v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_TRUE(parse_u64("+5", v));
  EXPECT_EQ(v, 5u);
  EXPECT_TRUE(parse_u64("-0", v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_u64("\t\v\f\r12", v));  // leading C whitespace
  EXPECT_EQ(v, 12u);
  EXPECT_TRUE(parse_u64("12\tjunk", v));  // whitespace ends the number; the rest is ignored
  EXPECT_EQ(v, 12u);
  EXPECT_TRUE(parse_u64("007", v));
  EXPECT_EQ(v, 7u);
  // A negative number small enough to wrap to a positive int64 gets past the '-' check.
  EXPECT_TRUE(parse_u64("-9223372036854775809", v));
  EXPECT_EQ(v, uint64_t{INT64_MAX});
}

TEST(ParseU64, RejectsWhatSafeStrtoullRejects) {
  uint64_t v = 0;
  EXPECT_FALSE(parse_u64("", v));
  EXPECT_FALSE(parse_u64("+", v));
  EXPECT_FALSE(parse_u64("-", v));
  EXPECT_FALSE(parse_u64("abc", v));
  EXPECT_FALSE(parse_u64("1x", v));
  EXPECT_FALSE(parse_u64("0x10", v));
  EXPECT_FALSE(parse_u64("1.5", v));
  EXPECT_FALSE(parse_u64("18446744073709551616", v));  // ERANGE
  EXPECT_FALSE(parse_u64("99999999999999999999999", v));
  EXPECT_FALSE(parse_u64("-1", v));
  EXPECT_FALSE(parse_u64("-9223372036854775808", v));
  EXPECT_FALSE(parse_u64("18446744073709551615\t-", v));  // '-' anywhere in the token
  EXPECT_FALSE(parse_u64("\t", v));
}

TEST(ParseU32, TruncatesLikeAnUnsignedLongStoredInUint32) {
  uint32_t v = 0;
  EXPECT_TRUE(parse_u32("4294967295", v));
  EXPECT_EQ(v, UINT32_MAX);
  EXPECT_TRUE(parse_u32("4294967296", v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_u32("4294967301", v));
  EXPECT_EQ(v, 5u);
  EXPECT_TRUE(parse_u32("18446744073709551615", v));
  EXPECT_EQ(v, UINT32_MAX);
  EXPECT_FALSE(parse_u32("-1", v));
  EXPECT_FALSE(parse_u32("18446744073709551616", v));
}

TEST(ParseI32, ParsesALongThenTruncates) {
  int32_t v = 0;
  EXPECT_TRUE(parse_i32("-1", v));
  EXPECT_EQ(v, -1);
  EXPECT_TRUE(parse_i32("2147483647", v));
  EXPECT_EQ(v, INT32_MAX);
  EXPECT_TRUE(parse_i32("2147483648", v));
  EXPECT_EQ(v, INT32_MIN);
  EXPECT_TRUE(parse_i32("4294967297", v));
  EXPECT_EQ(v, 1);
  EXPECT_TRUE(parse_i32("-4294967295", v));
  EXPECT_EQ(v, 1);
  EXPECT_TRUE(parse_i32("9223372036854775807", v));
  EXPECT_EQ(v, -1);
  EXPECT_TRUE(parse_i32("-9223372036854775808", v));
  EXPECT_EQ(v, 0);
  EXPECT_FALSE(parse_i32("9223372036854775808", v));   // ERANGE
  EXPECT_FALSE(parse_i32("-9223372036854775809", v));  // ERANGE
  EXPECT_FALSE(parse_i32("", v));
  EXPECT_FALSE(parse_i32("1x", v));
  EXPECT_TRUE(parse_i32(" \t+7\r", v));
  EXPECT_EQ(v, 7);
}

}  // namespace
}  // namespace mcguard::text
