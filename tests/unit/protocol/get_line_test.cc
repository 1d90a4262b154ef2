// Long retrieval lines: the head (verb, gat exptime) and the key batches a
// connection takes while the line is still arriving.
#include "protocol/get_line.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/response.h"

namespace mcguard {
namespace {

std::span<const char> span(const std::string& s) { return {s.data(), s.size()}; }

TEST(GetLineHead, ReadsTheVerbAndStopsBeforeTheFirstKey) {
  Request r;
  std::string line = "  gets   a b";
  ParseResult head = parse_long_retrieval_head(span(line), r);
  ASSERT_EQ(head.status, ParseResult::Status::kRequest);
  EXPECT_EQ(r.command, Command::kGets);
  EXPECT_EQ(line.substr(head.consumed), "a b");
  line = "bget x";
  head = parse_long_retrieval_head(span(line), r);
  ASSERT_EQ(head.status, ParseResult::Status::kRequest);
  EXPECT_EQ(r.command, Command::kGet);
  EXPECT_EQ(line.substr(head.consumed), "x");
}

TEST(GetLineHead, ReadsGatsExptimeAsTheParserDoes) {
  Request r;
  std::string line = "gats  -5  k";
  ParseResult head = parse_long_retrieval_head(span(line), r);
  ASSERT_EQ(head.status, ParseResult::Status::kRequest);
  EXPECT_EQ(r.command, Command::kGats);
  EXPECT_EQ(r.exptime, -5);
  EXPECT_EQ(line.substr(head.consumed), "  k");
  // Truncated to 32 bits as memcached's safe_strtol does.
  line = "gat 4294967297 k";
  ASSERT_EQ(parse_long_retrieval_head(span(line), r).status, ParseResult::Status::kRequest);
  EXPECT_EQ(r.exptime, 1);
}

TEST(GetLineHead, AnInvalidExptimeIsMemcachedsError) {
  Request r;
  for (const std::string& line :
       {std::string("gat abc k"), "gat " + std::string(100, '1') + " k"}) {
    const ParseResult head = parse_long_retrieval_head(span(line), r);
    EXPECT_EQ(head.status, ParseResult::Status::kError) << line;
    EXPECT_EQ(head.reply, reply::kInvalidExptime);
  }
  // Not arrived yet: wait.
  const std::string partial = "gat 12";
  EXPECT_EQ(parse_long_retrieval_head(span(partial), r).status, ParseResult::Status::kNeedMore);
}

TEST(KeyBatches, TakeOnlyKeysFollowedByASpaceOrTheLineEnd) {
  std::string input = " a bb ccc";
  KeyBatch batch = next_key_batch(span(input), 100);
  EXPECT_EQ(batch.keys, "a bb");
  EXPECT_EQ(batch.count, 2u);
  EXPECT_FALSE(batch.line_ended);
  EXPECT_EQ(input.substr(batch.consumed), "ccc");
  input = "ccc  d \r\nget x\r\n";
  batch = next_key_batch(span(input), 100);
  EXPECT_EQ(batch.keys, "ccc  d");
  EXPECT_EQ(batch.count, 2u);
  EXPECT_TRUE(batch.line_ended);
  EXPECT_EQ(input.substr(batch.consumed), "get x\r\n");
}

TEST(KeyBatches, StopAtTheLimitAndGoOnFromThere) {
  const std::string input = "k1 k2 k3 k4 k5\r\n";
  std::string seen;
  size_t at = 0;
  int batches = 0;
  for (;;) {
    const KeyBatch batch = next_key_batch(span(input).subspan(at), 2);
    ASSERT_LE(batch.count, 2u);
    seen += std::string(batch.keys) + "|";
    at += batch.consumed;
    ++batches;
    if (batch.line_ended) break;
    ASSERT_LT(batches, 10);
  }
  EXPECT_EQ(seen, "k1 k2|k3 k4|k5|");
  EXPECT_EQ(at, input.size());
}

TEST(KeyBatches, TheLinesOwnCarriageReturnIsNotPartOfTheLastKey) {
  std::string input = "a\r\n";
  KeyBatch batch = next_key_batch(span(input), 100);
  EXPECT_EQ(batch.keys, "a");
  EXPECT_TRUE(batch.line_ended);
  // Only the one right before the newline (as the whole-line parser does).
  input = "a\r\r\n";
  batch = next_key_batch(span(input), 100);
  EXPECT_EQ(batch.keys, "a\r");
  // A key still arriving that ends in '\r' waits: its newline may follow.
  input = "a b\r";
  batch = next_key_batch(span(input), 100);
  EXPECT_EQ(batch.keys, "a");
  EXPECT_EQ(input.substr(batch.consumed), "b\r");
  input = "\n";
  batch = next_key_batch(span(input), 100);
  EXPECT_EQ(batch.count, 0u);
  EXPECT_TRUE(batch.line_ended);
  EXPECT_EQ(batch.consumed, 1u);
}

TEST(KeyBatches, AKeyOverTheLimitFailsTheBatchEvenBeforeItEnds) {
  const std::string at_limit(kMaxKeyLength, 'k');
  std::string input = "a " + at_limit + " b";
  EXPECT_EQ(next_key_batch(span(input), 100).count, 2u);
  input = "a " + at_limit + "k b";
  KeyBatch batch = next_key_batch(span(input), 100);
  EXPECT_TRUE(batch.key_too_long);
  EXPECT_EQ(batch.count, 0u);
  EXPECT_TRUE(batch.keys.empty());
  // Still arriving: 251 bytes may be 250 and the line's '\r'; 252 cannot.
  input = "a " + at_limit + "\r";
  EXPECT_FALSE(next_key_batch(span(input), 100).key_too_long);
  input = "a " + at_limit + "kk";
  EXPECT_TRUE(next_key_batch(span(input), 100).key_too_long);
  input = at_limit + "\r\n";
  EXPECT_EQ(next_key_batch(span(input), 100).count, 1u);
}

}  // namespace
}  // namespace mcguard
