// Meta commands: the Request parse_header builds (key, flags in order, parsed numeric
// tokens, ms's datalen), the swallow rules of ms errors, and the base64 helpers with
// memcached's decoder quirks. Acceptance itself is pinned by memcached_reference_test.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "protocol/base64.h"
#include "protocol/meta.h"
#include "protocol/parser.h"
#include "protocol/response.h"
#include "test_util.h"

namespace mcguard {
namespace {

using testing::error_of;
using testing::expand;
using testing::parse;
using testing::request_of;

TEST(ParseMetaGet, KeepsFlagsInOrderWithTheirTokens) {
  const Request r = request_of("mg user:1 s v Oopaque123 T30 k q\r\n");
  EXPECT_EQ(r.command, Command::kMetaGet);
  EXPECT_EQ(r.key, "user:1");
  ASSERT_EQ(r.meta.count, 6u);
  const char names[] = {'s', 'v', 'O', 'T', 'k', 'q'};
  const std::string_view tokens[] = {"", "", "opaque123", "30", "", ""};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(r.meta.flags[i].name, names[i]);
    EXPECT_EQ(r.meta.flags[i].token, tokens[i]);
    EXPECT_TRUE(r.meta.has(names[i]));
  }
  EXPECT_FALSE(r.meta.has('c'));
  EXPECT_FALSE(r.meta.has('b'));
  EXPECT_EQ(r.meta.token('O'), "opaque123");
  EXPECT_EQ(r.meta.token('c'), "");
  EXPECT_EQ(r.exptime, 30);
  EXPECT_FALSE(r.noreply);  // q is a meta flag, not classic noreply
  EXPECT_FALSE(r.has_value());
}

TEST(ParseMetaGet, NoFlags) {
  const Request r = request_of("mg k\r\n");
  EXPECT_EQ(r.command, Command::kMetaGet);
  EXPECT_EQ(r.meta.count, 0u);
  EXPECT_EQ(r.meta.present, 0u);
}

TEST(ParseMetaGet, OnlyTheFirstLetterOfAFlagCounts) {
  const Request r = request_of("mg k vxyz kk\r\n");
  ASSERT_EQ(r.meta.count, 2u);
  EXPECT_EQ(r.meta.flags[0].name, 'v');
  EXPECT_EQ(r.meta.flags[0].token, "xyz");
  EXPECT_EQ(r.meta.flags[1].name, 'k');
}

TEST(ParseMetaGet, NumericTokensAreParsed) {
  const Request r = request_of("mg k N60 R5 T-1 F4294967297 C77 J9 D3 M+\r\n");
  EXPECT_EQ(r.meta.vivify_ttl, 60);
  EXPECT_EQ(r.meta.recache_ttl, 5);
  EXPECT_EQ(r.exptime, -1);
  EXPECT_EQ(r.client_flags, 1u);  // memcached's 32-bit truncation
  EXPECT_EQ(r.cas_unique, 77u);
  EXPECT_EQ(r.meta.initial, 9u);
  EXPECT_EQ(r.delta, 3u);
  EXPECT_EQ(r.meta.mode, '+');
}

TEST(ParseMetaGet, SeventeenFlagsFitEighteenDoNot) {
  const std::string flags17 = "s t c f v h k l u q O1 P L I C1 D1 J1";
  const Request r = request_of("mg k " + flags17 + "\r\n");
  EXPECT_EQ(r.meta.count, 17u);
  EXPECT_EQ(error_of("mg k " + flags17 + " N1\r\n").reply, reply::kMetaGetFlagsTooLong);
}

TEST(ParseMetaGet, BinaryKeysStayEncoded) {
  const Request r = request_of("mg Zm9vYmFy b v\r\n");
  EXPECT_EQ(r.key, "Zm9vYmFy");
  EXPECT_TRUE(r.meta.has('b'));
  char decoded[16];
  ASSERT_EQ(base64_decode(r.key, decoded), 6u);
  EXPECT_EQ(std::string_view(decoded, 6), "foobar");
}

TEST(ParseMetaGet, LengthLimitsApplyToTheEncodedKey) {
  // 248 base64 bytes decode to 186: allowed. 252 would decode to 189 but is too long.
  EXPECT_EQ(request_of(expand("mg {248*A} b\r\n")).key.size(), 248u);
  EXPECT_EQ(error_of(expand("mg {252*A} b\r\n")).reply, reply::kBadCommandLineFormat);
}

TEST(ParseMetaSet, DatalenIsPositional) {
  const Request r = request_of("ms k 5 T60 F3 C99 MA I q Oxy\r\n");
  EXPECT_EQ(r.command, Command::kMetaSet);
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.value_length, 5u);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(r.exptime, 60);
  EXPECT_EQ(r.client_flags, 3u);
  EXPECT_EQ(r.cas_unique, 99u);
  EXPECT_EQ(r.meta.mode, 'A');
  EXPECT_TRUE(r.meta.has('I'));
  EXPECT_TRUE(r.meta.has('q'));
  EXPECT_EQ(r.meta.token('O'), "xy");
  EXPECT_EQ(r.meta.count, 7u);  // the datalen is not a flag
}

TEST(ParseMetaSet, ErrorsAfterTheDatalenSwallowTheBlock) {
  EXPECT_EQ(error_of("ms k 100 zz\r\n").swallow, 102u);
  EXPECT_EQ(error_of("ms k 0 Tx\r\n").swallow, 2u);
  EXPECT_EQ(error_of("ms k 7 MQ\r\n").swallow, 9u);
  EXPECT_EQ(error_of("ms k 4294967297 zz\r\n").swallow, 3u);  // datalen truncated to 1
  // Before the datalen is known, nothing is swallowed.
  EXPECT_EQ(error_of("ms k\r\n").swallow, 0u);
  EXPECT_EQ(error_of("ms k x\r\n").swallow, 0u);
  EXPECT_EQ(error_of(expand("ms {251*k} 5\r\n")).swallow, 0u);
  EXPECT_EQ(error_of("ms k 1 a b c d e f g h i j k l m n o p q\r\n").swallow, 0u);
}

TEST(ParseMetaSet, QDoesNotSilenceErrors) {
  EXPECT_EQ(error_of("ms k 1 q zz\r\n").reply, reply::kMetaInvalidFlag);
  EXPECT_EQ(error_of("mg k q Tx\r\n").reply, reply::kMetaBadToken);
}

TEST(ParseMetaDelete, Flags) {
  const Request r = request_of("md k C5 q I T30 Oz k\r\n");
  EXPECT_EQ(r.command, Command::kMetaDelete);
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.cas_unique, 5u);
  EXPECT_EQ(r.exptime, 30);
  EXPECT_TRUE(r.meta.has('I'));
  EXPECT_EQ(r.meta.count, 6u);
  EXPECT_FALSE(r.has_value());
}

TEST(ParseMetaArithmetic, DeltaDefaultsToOne) {
  Request r = request_of("ma n\r\n");
  EXPECT_EQ(r.command, Command::kMetaArithmetic);
  EXPECT_EQ(r.key, "n");
  EXPECT_EQ(r.delta, 1u);
  EXPECT_EQ(r.meta.mode, 0);
  r = request_of("ma n D10 J100 N0 MD v t c\r\n");
  EXPECT_EQ(r.delta, 10u);
  EXPECT_EQ(r.meta.initial, 100u);
  EXPECT_EQ(r.meta.vivify_ttl, 0);
  EXPECT_TRUE(r.meta.has('N'));
  EXPECT_EQ(r.meta.mode, 'D');
}

TEST(ParseMetaNoopAndDebug, Shapes) {
  Request r = request_of("mn\r\n");
  EXPECT_EQ(r.command, Command::kMetaNoop);
  EXPECT_EQ(r.key, "");
  r = request_of("mn ignored tokens\r\n");
  EXPECT_EQ(r.command, Command::kMetaNoop);
  r = request_of("me k\r\n");
  EXPECT_EQ(r.command, Command::kMetaDebug);
  EXPECT_EQ(r.key, "k");
  EXPECT_FALSE(r.meta.has('b'));
  r = request_of("me Zm9v b\r\n");
  EXPECT_EQ(r.key, "Zm9v");
  EXPECT_TRUE(r.meta.has('b'));
  r = request_of("me Zm9v bx\r\n");  // only an exact "b" marks the key binary
  EXPECT_FALSE(r.meta.has('b'));
}

TEST(Base64, DecodesLikeMemcached) {
  char out[64];
  auto decode = [&](std::string_view in) {
    const size_t n = base64_decode(in, out);
    EXPECT_EQ(n, base64_decoded_length(in)) << in;
    return std::string(out, n);
  };
  EXPECT_EQ(decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(decode("Zm9vYg=="), "foob");
  EXPECT_EQ(decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(decode("Zm9v!YmFy"), "foobar");  // bytes outside the alphabet are skipped
  EXPECT_EQ(decode("Zg==Zm9v"), "f");        // decoding stops at the first padding
  EXPECT_EQ(decode("Zm=v").size(), 2u);      // '=' inside a group still counts as padding
  EXPECT_EQ(decode(""), "");
  EXPECT_EQ(decode("Zm9"), "");   // not a multiple of four symbols
  EXPECT_EQ(decode("Z==="), "");  // three '=' in a group
  EXPECT_EQ(decode("===="), "");
  EXPECT_EQ(decode("!!!!"), "");                                      // no symbols at all
  EXPECT_EQ(base64_decode("Zm9vYmFy", std::span<char>(out, 5)), 0u);  // out too small
}

TEST(Base64, EncodesStandardPaddedForm) {
  char out[16];
  auto encode = [&](std::string_view in) {
    const size_t n = base64_encode(in, out);
    EXPECT_EQ(n, base64_encoded_length(in.size()));
    return std::string(out, n);
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode(std::string_view("\xff\x00\x80", 3)), "/wCA");
  EXPECT_EQ(base64_encode("foo", std::span<char>(out, 3)), 0u);
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= binary.size(); len += 7) {
    const std::string_view in(binary.data(), len);
    std::string encoded(base64_encoded_length(len), '\0');
    ASSERT_EQ(base64_encode(in, encoded), encoded.size());
    std::string decoded(len + 3, '\0');
    const size_t n = base64_decode(encoded, decoded);
    if (len == 0) {
      EXPECT_EQ(n, 0u);  // memcached treats an empty key as a decoding failure
    } else {
      EXPECT_EQ(std::string_view(decoded.data(), n), in);
    }
  }
}

}  // namespace
}  // namespace mcguard
