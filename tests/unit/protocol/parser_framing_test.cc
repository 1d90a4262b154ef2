// Framing: finding the line, kNeedMore until it is complete, the same result however
// the bytes are split across reads, pipelined requests, and the long-line rules
// (including where mcguard has to differ from memcached to stay split-independent).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "protocol/parser.h"
#include "test_util.h"

namespace mcguard {
namespace {

using Status = ParseResult::Status;
using testing::expand;
using testing::expect_same_request;
using testing::expect_same_result;
using testing::parse;

std::string long_multiget(size_t keys) {
  std::string line = "get";
  for (size_t i = 0; i < keys; ++i) line += " user:profile:" + std::to_string(i);
  return line + "\r\n";
}

// Headers of every shape: each command family, meta flags, errors, a closing line,
// and a multi-get longer than kMaxLineLength.
std::vector<std::string> representative_headers() {
  return {
      "set user:1 42 3600 11\r\n",
      "cas k 0 0 5 123 noreply\r\n",
      "append k 0 0 2\n",
      "get a\r\n",
      "gets a b c\r\n",
      "gat 30 a b\r\n",
      "delete k 0 noreply\r\n",
      "incr n 5\r\n",
      "touch k 10\r\n",
      "flush_all 10 noreply\r\n",
      "verbosity 1\r\n",
      "version\r\n",
      "stats slabs\r\n",
      "quit\r\n",
      "mg user:1 s v Oopaque123 T30 k q\r\n",
      "ms k 5 T60 F3 C99 MA I q Oxy\r\n",
      "md k C5 q I T30\r\n",
      "ma n D10 J100 N0 MD v t c\r\n",
      "mn\r\n",
      "me Zm9v b\r\n",
      "mg Zm9vYmFy b v\r\n",
      "set k 0 0 abc\r\n",        // error
      "ms k 10 zz\r\n",           // error with swallow
      "set k 0 0 x noreply\r\n",  // silent error
      "\r\n",                     // empty line
      "GET / HTTP/1.1\r\n",       // close
      expand("mg {250*k} s v t c f h l Oopaque1234 T30 N30 R10 k q\r\n"),
      expand("set {250*k} 4294967295 2147483647 2147483645 noreply\r\n"),
      long_multiget(300),                   // > kMaxLineLength, get exemption
      expand("{50* }gets {1200*ab }\r\n"),  // exemption after leading spaces
  };
}

TEST(Framing, RepresentativeHeadersParseWhole) {
  for (const std::string& header : representative_headers()) {
    Request r;
    const ParseResult result = parse(header, r);
    EXPECT_NE(result.status, Status::kNeedMore) << header;
    if (!result.close) {
      EXPECT_EQ(result.consumed, header.size()) << header;
    }
  }
  EXPECT_GT(long_multiget(300).size(), kMaxLineLength);
}

// A connection's receive buffer holding the first `split` bytes, then all of them:
// kNeedMore first, then exactly the Request and result of parsing the header whole.
TEST(Framing, EverySplitPositionParsesTheSame) {
  for (const std::string& header : representative_headers()) {
    SCOPED_TRACE(header.substr(0, 60));
    Request whole;
    const ParseResult whole_result = parse(header, whole);
    for (size_t split = 0; split < header.size(); ++split) {
      std::string buffer = header.substr(0, split);
      Request partial;
      ASSERT_EQ(parse(buffer, partial).status, Status::kNeedMore) << "split " << split;
      buffer.append(header, split, std::string::npos);
      Request joined;
      const ParseResult joined_result = parse(buffer, joined);
      expect_same_result(joined_result, whole_result);
      if (whole_result.status == Status::kRequest) {
        expect_same_request(joined, buffer.data(), whole, header.data());
      }
      if (::testing::Test::HasFailure()) FAIL() << "split " << split;
    }
  }
}

TEST(Framing, ByteByByteParsesTheSame) {
  for (const std::string& header : representative_headers()) {
    SCOPED_TRACE(header.substr(0, 60));
    Request whole;
    const ParseResult whole_result = parse(header, whole);
    std::string buffer;
    buffer.reserve(header.size());
    Request r;
    ParseResult result;
    for (char c : header) {
      ASSERT_EQ(result.status, Status::kNeedMore) << "parsed early at " << buffer.size();
      buffer.push_back(c);
      result = parse(buffer, r);
    }
    expect_same_result(result, whole_result);
    if (whole_result.status == Status::kRequest) {
      expect_same_request(r, buffer.data(), whole, header.data());
    }
  }
}

TEST(Framing, PipelinedRequestsAndDataAreLeftForLater) {
  const std::string input = "set k 0 0 5\r\nhello\r\nget k\r\nmn\r\n";
  Request r;
  ParseResult result = parse(input, r);
  ASSERT_EQ(result.status, Status::kRequest);
  EXPECT_EQ(result.consumed, 13u);
  EXPECT_EQ(input.substr(result.consumed, r.value_length), "hello");
  size_t offset = result.consumed + r.value_length + 2;
  result = parse(std::string_view(input).substr(offset), r);
  ASSERT_EQ(result.status, Status::kRequest);
  EXPECT_EQ(r.command, Command::kGet);
  offset += result.consumed;
  result = parse(std::string_view(input).substr(offset), r);
  ASSERT_EQ(result.status, Status::kRequest);
  EXPECT_EQ(r.command, Command::kMetaNoop);
  EXPECT_EQ(offset + result.consumed, input.size());
}

TEST(Framing, EmptyInputNeedsMore) {
  Request r;
  EXPECT_EQ(parse("", r).status, Status::kNeedMore);
  EXPECT_EQ(parse_header({}, r).status, Status::kNeedMore);
}

TEST(Framing, CarriageReturnHandling) {
  Request r;
  ASSERT_EQ(parse("get a\n", r).status, Status::kRequest);
  EXPECT_EQ(r.line, "get a");
  ASSERT_EQ(parse("get a\r\n", r).status, Status::kRequest);
  EXPECT_EQ(r.line, "get a");
  // Only the '\r' right before the '\n' goes; another one is part of the key.
  ASSERT_EQ(parse("get a\r\r\n", r).status, Status::kRequest);
  EXPECT_EQ(r.key, "a\r");
  // A '\r' mid-line is an ordinary byte.
  ASSERT_EQ(parse("get a\rb\r\n", r).status, Status::kRequest);
  EXPECT_EQ(r.key, "a\rb");
  // A lone "\r\n" keeps its '\r' (memcached strips only when more precedes it): ERROR.
  const ParseResult lone = parse("\r\n", r);
  EXPECT_EQ(lone.status, Status::kError);
  EXPECT_EQ(lone.consumed, 2u);
}

TEST(Framing, NulEndsTheCommandButNotTheLine) {
  using namespace std::string_view_literals;
  Request r;
  const std::string_view input = "get a\0b c\r\nversion\r\n"sv;
  const ParseResult result = parse(input, r);
  ASSERT_EQ(result.status, Status::kRequest);
  EXPECT_EQ(result.consumed, 11u);  // the whole line goes
  EXPECT_EQ(r.line, "get a\0b c"sv);
  EXPECT_EQ(r.keys, "a");
  EXPECT_EQ(r.key_count, 1u);
}

TEST(Framing, LineLimitCountsBytesBeforeTheNewline) {
  // kMaxLineLength bytes then '\n': accepted. One more: closed.
  const std::string at_limit = "set " + std::string(kMaxLineLength - 4, 'k');
  Request r;
  EXPECT_EQ(parse(at_limit, r).status, Status::kNeedMore);
  ParseResult result = parse(at_limit + "\n", r);
  EXPECT_EQ(result.status, Status::kError);
  EXPECT_FALSE(result.close);  // ERROR: a set with one token
  result = parse(at_limit + "k", r);
  EXPECT_TRUE(result.close);
  // A '\r' counts: 2048 bytes + "\r\n" is over.
  result = parse(at_limit + "\r", r);
  EXPECT_TRUE(result.close);
  result = parse(at_limit + "\r\n", r);
  EXPECT_TRUE(result.close);
}

// memcached would answer this line (it arrived with its '\n' in one read); closing is
// what it does when the same bytes arrive split before the '\n', and a parse must not
// depend on the split.
TEST(Framing, LongNonGetLineClosesEvenWithItsNewline) {
  Request r;
  const ParseResult result = parse("set " + std::string(3000, 'k') + "\r\n", r);
  EXPECT_EQ(result.status, Status::kError);
  EXPECT_TRUE(result.close);
  EXPECT_EQ(result.reply, "");
}

TEST(Framing, LongGetLinesHaveNoLimitWhenWhole) {
  std::string line = "get ";
  while (line.size() < 200 * 1024) line += "k" + std::to_string(line.size()) + " ";
  Request r;
  EXPECT_EQ(parse(line, r).status, Status::kNeedMore);
  const ParseResult ok = parse(line + "\r\n", r);
  ASSERT_EQ(ok.status, Status::kRequest);
  EXPECT_EQ(ok.consumed, line.size() + 2);
  EXPECT_GT(r.key_count, 20000u);
}

TEST(Framing, LongLineExemptionNeedsARetrievalAndASpace) {
  Request r;
  const std::string keys = expand("{1500*ab }");
  EXPECT_EQ(parse("get " + keys, r).status, Status::kNeedMore);
  EXPECT_EQ(parse("gets " + keys, r).status, Status::kNeedMore);
  EXPECT_EQ(parse("gat 0 " + keys, r).status, Status::kNeedMore);
  EXPECT_EQ(parse("gats 0 " + keys, r).status, Status::kNeedMore);
  EXPECT_EQ(parse("bget " + keys, r).status, Status::kNeedMore);
  EXPECT_TRUE(parse("mg " + keys, r).close);
  EXPECT_TRUE(parse("gatx 0 " + keys, r).close);
  EXPECT_TRUE(parse("get" + std::string(3000, 'x'), r).close);
  EXPECT_EQ(parse(std::string(100, ' ') + "get " + keys, r).status, Status::kNeedMore);
  EXPECT_TRUE(parse(std::string(101, ' ') + "get " + keys, r).close);
}

TEST(Framing, LongGetLineWithALongKeyIsStillAnError) {
  Request r;
  const std::string line = expand("get {600*abc }") + std::string(251, 'k') + "\r\n";
  ASSERT_GT(line.size(), kMaxLineLength);
  const ParseResult result = parse(line, r);
  EXPECT_EQ(result.status, Status::kError);
  EXPECT_FALSE(result.close);
  EXPECT_EQ(result.consumed, line.size());
}

}  // namespace
}  // namespace mcguard
