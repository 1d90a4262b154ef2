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
  EXPECT_EQ(reply::kOutOfMemoryShort, "SERVER_ERROR out of memory\r\n");
  EXPECT_EQ(reply::kOutOfMemoryNewItem, "SERVER_ERROR Out of memory allocating new item\r\n");
  EXPECT_EQ(reply::kTooManyKeys, "SERVER_ERROR too many keys\r\n");
  EXPECT_EQ(reply::kServerErrorPrefix, "SERVER_ERROR ");
  EXPECT_EQ(reply::kCrlf, "\r\n");
  EXPECT_EQ(reply::kMetaValuePrefix, "VA ");
  EXPECT_EQ(reply::kMetaDebugPrefix, "ME ");
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

TEST(ReplyFormatter, ValueLinesMatchWriteValueLine) {
  char buf[2 * kMaxValueLineLength];
  ReplyFormatter w(buf);
  w.value_line("a", 1, 2).value_line("b", 3, 4, 5);
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.view(), "VALUE a 1 2\r\nVALUE b 3 4 5\r\n");
}

TEST(ReplyFormatter, MetaValueStatusAndKeyFlags) {
  char buf[64];
  ReplyFormatter w(buf);
  w.meta_value(11).flag_key("user:1", false).crlf();
  EXPECT_EQ(w.view(), "VA 11 kuser:1\r\n");
  ReplyFormatter b(buf);
  b.text(reply::kMetaHd).flag_key("foo", true).flag_number('h', 0).crlf();
  EXPECT_EQ(b.view(), "HD kZm9v b h0\r\n");
}

TEST(ReplyFormatter, Base64Text) {
  char buf[16];
  ReplyFormatter w(buf);
  w.text(reply::kMetaDebugPrefix).base64("foob");
  EXPECT_EQ(w.view(), "ME Zm9vYg==");
  ReplyFormatter tiny(std::span<char>(buf, 7));
  tiny.text("ME ").base64("foob");  // 8 bytes of base64, 4 remain
  EXPECT_TRUE(tiny.overflowed());
  EXPECT_EQ(tiny.view(), "ME ");
}

TEST(ReplyFormatter, ClaimHandsOutBytesInPlace) {
  char buf[8];
  ReplyFormatter w(buf);
  w.text("ab");
  std::span<char> claimed = w.claim(3);
  ASSERT_EQ(claimed.size(), 3u);
  claimed[0] = 'x';
  claimed[1] = 'y';
  claimed[2] = 'z';
  w.crlf();
  EXPECT_EQ(w.view(), "abxyz\r\n");
  EXPECT_EQ(w.room(), 1u);
  EXPECT_TRUE(w.claim(2).empty());
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.view(), "abxyz\r\n");
}

TEST(ReplyFormatter, ClearStartsOver) {
  char buf[4];
  ReplyFormatter w(buf);
  w.text("toolong");
  EXPECT_TRUE(w.overflowed());
  w.clear();
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.room(), 4u);
  w.text(reply::kMetaHd).crlf();
  EXPECT_EQ(w.view(), "HD\r\n");
}

TEST(ReplyFormatter, LongestMetaLinesFitTheirBounds) {
  char buf[kMaxMetaLineLength];
  ReplyFormatter w(buf);
  const std::string key(250, '\xff');
  w.meta_value(UINT64_MAX).flag_key(key, true).flag_token('O', std::string(31, 'o'));
  for (char name : {'s', 't', 'c', 'f', 'l', 'h'}) w.flag_number(name, UINT64_MAX);
  w.flag('Z').flag('X').flag('W').crlf();
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.size(), kMaxMetaLineLength);

  char debug[kMaxMetaDebugLineLength];
  ReplyFormatter d(debug);
  d.text(reply::kMetaDebugPrefix).base64(key).text(" exp=").signed_number(INT64_MIN);
  d.text(" la=").number(UINT64_MAX).text(" cas=").number(UINT64_MAX).text(" fetch=yes");
  d.text(" cls=").number(UINT64_MAX).text(" size=").number(UINT64_MAX).crlf();
  EXPECT_FALSE(d.overflowed());
  EXPECT_EQ(d.size(), kMaxMetaDebugLineLength);
}

TEST(WriteServerError, ReasonLine) {
  char buf[64];
  EXPECT_EQ(std::string_view(buf, write_server_error(buf, "upstream timeout")),
            "SERVER_ERROR upstream timeout\r\n");
  char tiny[16];
  EXPECT_EQ(write_server_error(tiny, "upstream timeout"), 0u);
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
