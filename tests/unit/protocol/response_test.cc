// Reply formatting: the fixed lines, VALUE/number lines, meta status lines with return
// flags, and the writer's behaviour when the caller's buffer is too small.
#include "protocol/response.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace mcguard {
namespace {

TEST(ReplyConstants, AreMemcachedsLines) {
  EXPECT_EQ(reply::kStored, "STORED\r\n");
  EXPECT_EQ(reply::kNotStored, "NOT_STORED\r\n");
  EXPECT_EQ(reply::kExists, "EXISTS\r\n");
  EXPECT_EQ(reply::kNotFound, "NOT_FOUND\r\n");
  EXPECT_EQ(reply::kDeleted, "DELETED\r\n");
  EXPECT_EQ(reply::kTouched, "TOUCHED\r\n");
  EXPECT_EQ(reply::kEnd, "END\r\n");
  EXPECT_EQ(reply::kOk, "OK\r\n");
  EXPECT_EQ(reply::kError, "ERROR\r\n");
  EXPECT_EQ(reply::kBadDataChunk, "CLIENT_ERROR bad data chunk\r\n");
  EXPECT_EQ(reply::kTooLarge, "SERVER_ERROR object too large for cache\r\n");
  EXPECT_EQ(reply::kOutOfMemory, "SERVER_ERROR out of memory storing object\r\n");
  EXPECT_EQ(reply::kMetaNoop, "MN\r\n");
  for (std::string_view code : {reply::kMetaHd, reply::kMetaNotFound, reply::kMetaNotStored,
                                reply::kMetaExists, reply::kMetaMiss}) {
    EXPECT_EQ(code.size(), 2u);
  }
}

TEST(WriteValueLine, WithAndWithoutCas) {
  char buf[kMaxValueLineLength];
  size_t n = write_value_line(buf, "user:1", 42, 11);
  EXPECT_EQ(std::string_view(buf, n), "VALUE user:1 42 11\r\n");
  n = write_value_line(buf, "k", 0, 0, 18446744073709551615u);
  EXPECT_EQ(std::string_view(buf, n), "VALUE k 0 0 18446744073709551615\r\n");
}

TEST(WriteValueLine, LongestFitsTheDeclaredMaximum) {
  char buf[kMaxValueLineLength];
  const std::string key(250, 'k');
  const size_t n = write_value_line(buf, key, UINT32_MAX, UINT64_MAX, UINT64_MAX);
  EXPECT_EQ(n, kMaxValueLineLength);
}

TEST(WriteValueLine, TooSmallWritesNothingUsable) {
  char buf[10];
  EXPECT_EQ(write_value_line(buf, "user:1", 42, 11), 0u);
}

TEST(WriteNumberLine, IncrResults) {
  char buf[kMaxNumberLineLength];
  EXPECT_EQ(std::string_view(buf, write_number_line(buf, 0)), "0\r\n");
  EXPECT_EQ(std::string_view(buf, write_number_line(buf, UINT64_MAX)), "18446744073709551615\r\n");
  char tiny[3];
  EXPECT_EQ(write_number_line(tiny, 100), 0u);
}

TEST(ReplyFormatter, MetaValueLineWithReturnFlags) {
  char buf[128];
  ReplyFormatter w(buf);
  w.text("VA ").number(5);
  w.flag_number('c', 123).flag_number('f', 0).flag_signed('t', -1).flag_token('O', "opaque");
  w.flag_token('k', "user:1").crlf();
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.view(), "VA 5 c123 f0 t-1 Oopaque kuser:1\r\n");
}

TEST(ReplyFormatter, MetaStatusWithBinaryKey) {
  char buf[64];
  ReplyFormatter w(buf);
  w.text(reply::kMetaHd).flag_base64_key("foo").flag('b').flag_number('c', 9).crlf();
  EXPECT_EQ(w.view(), "HD kZm9v b c9\r\n");
}

TEST(ReplyFormatter, SignedNumbers) {
  char buf[64];
  ReplyFormatter w(buf);
  w.signed_number(INT64_MIN).text(" ").signed_number(0).text(" ").signed_number(42);
  EXPECT_EQ(w.view(), "-9223372036854775808 0 42");
  ReplyFormatter f(buf);
  f.flag_signed('t', INT64_MIN);
  EXPECT_EQ(f.view(), " t-9223372036854775808");
}

TEST(ReplyFormatter, OverflowKeepsTheLastCompleteAppend) {
  char buf[8];
  ReplyFormatter w(buf);
  w.text("HD").flag_token('O', "toolong");
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.view(), "HD");
  w.text("x");  // ignored once overflowed, even though it would fit
  EXPECT_EQ(w.view(), "HD");

  ReplyFormatter n(buf);
  n.text("1234567").number(12);
  EXPECT_TRUE(n.overflowed());
  EXPECT_EQ(n.view(), "1234567");

  ReplyFormatter k(buf);
  k.text("HD").flag_base64_key("foo");  // " kZm9v" needs 6 bytes, 6 remain
  EXPECT_FALSE(k.overflowed());
  k.flag('b');
  EXPECT_TRUE(k.overflowed());
  EXPECT_EQ(k.view(), "HD kZm9v");
}

TEST(ReplyFormatter, ExactFit) {
  char buf[4];
  ReplyFormatter w(buf);
  w.text("EN").crlf();
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.view(), "EN\r\n");
}

}  // namespace
}  // namespace mcguard
