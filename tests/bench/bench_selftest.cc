// Unit tests of mcguard-bench's parts that decide correctness and numbers: the self-verifying
// value encoding, the reply parser, the latency histogram, the key distributions and options.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "tests/bench/histogram.h"
#include "tests/bench/key_chooser.h"
#include "tests/bench/options.h"
#include "tests/bench/reply_reader.h"
#include "tests/bench/value_codec.h"

namespace mcguard::bench {
namespace {

struct Value {
  std::string bytes;
  uint32_t flags = 0;
};

Value make_value(const ValuePattern& pattern, std::string_view key, uint64_t version, size_t len) {
  std::vector<char> header(max_value_header(key.size()));
  const EncodedValue v = pattern.encode(key, version, len, header);
  EXPECT_GT(v.total, 0u);
  Value out;
  out.bytes.assign(header.data(), v.header_len);
  out.bytes.append(v.body.data(), v.body.size());
  out.flags = v.crc;
  EXPECT_EQ(out.bytes.size(), v.total);
  return out;
}

// Feeds a value in pieces of `piece` bytes.
ValueCheck verify_in_pieces(const ValuePattern& pattern, std::string_view key,
                            std::string_view value, uint32_t flags, size_t piece,
                            uint64_t* mismatch_at = nullptr) {
  std::vector<char> storage(max_value_header(key.size()));
  ValueVerifier verifier(pattern, storage);
  verifier.begin(key, value.size(), flags);
  for (size_t i = 0; i < value.size(); i += piece) verifier.feed(value.substr(i, piece));
  const ValueCheck check = verifier.finish();
  if (mismatch_at != nullptr) *mismatch_at = verifier.mismatch_at();
  return check;
}

TEST(BenchValueCodec, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
}

TEST(BenchValueCodec, HeaderCarriesKeyVersionLengthAndChecksum) {
  const ValuePattern pattern(4096);
  const Value v = make_value(pattern, "bench:42", 7, 100);
  ASSERT_EQ(v.bytes.size(), 100u);
  EXPECT_TRUE(v.bytes.starts_with("bench:42|7|100|")) << v.bytes.substr(0, 40);
  const std::string_view crc_field = std::string_view(v.bytes).substr(15, 8);
  uint32_t crc = 0;
  std::from_chars(crc_field.data(), crc_field.data() + 8, crc, 16);
  EXPECT_EQ(crc, crc32("bench:42|7|100"));
  EXPECT_EQ(crc, v.flags);
  EXPECT_EQ(v.bytes[23], '|');
  // The body is the pattern stream from an offset chosen by the checksum.
  for (size_t i = 24; i < v.bytes.size(); ++i) {
    ASSERT_EQ(v.bytes[i], pattern_byte(crc % ValuePattern::kOffsetRange + (i - 24))) << i;
  }
}

TEST(BenchValueCodec, ValuesShorterThanTheirHeaderGrowToHoldIt) {
  const ValuePattern pattern(16);
  const Value v = make_value(pattern, "bench:1", 123456789, 1);
  EXPECT_TRUE(v.bytes.starts_with("bench:1|123456789|"));
  EXPECT_EQ(verify_value(pattern, "bench:1", v.bytes, v.flags), ValueCheck::kOk);
  // The length field names the whole value, header included.
  EXPECT_NE(v.bytes.find("|" + std::to_string(v.bytes.size()) + "|"), std::string::npos);
}

TEST(BenchValueCodec, RoundTripsAtManySizesInAnyPieces) {
  const ValuePattern pattern(2 * 1024 * 1024);
  for (const size_t len : {size_t{40}, size_t{100}, size_t{4097}, size_t{65536},
                           size_t{1024 * 1024}, size_t{2 * 1024 * 1024}}) {
    const Value v = make_value(pattern, "k", len, len);
    for (const size_t piece : {size_t{1}, size_t{7}, size_t{1000}, size_t{1} << 30}) {
      if (piece == 1 && len > 70000) continue;  // byte by byte is slow for MiB values
      EXPECT_EQ(verify_in_pieces(pattern, "k", v.bytes, v.flags, piece), ValueCheck::kOk)
          << len << " in pieces of " << piece;
    }
  }
}

TEST(BenchValueCodec, VerifiesBodiesBeyondTheStreamHeldInMemory) {
  // Another run with bigger values wrote this: the verifier falls back to computing the stream.
  const ValuePattern big(300000);
  const ValuePattern small(100);
  const Value v = make_value(big, "bench:9", 3, 200000);
  EXPECT_EQ(verify_value(small, "bench:9", v.bytes, v.flags), ValueCheck::kOk);
  std::string corrupted = v.bytes;
  corrupted[150000] ^= 1;
  EXPECT_EQ(verify_value(small, "bench:9", corrupted, v.flags), ValueCheck::kBodyMismatch);
}

TEST(BenchValueCodec, DetectsAValueOfAnotherKey) {
  const ValuePattern pattern(1024);
  const Value v = make_value(pattern, "bench:12", 1, 200);
  EXPECT_EQ(verify_value(pattern, "bench:13", v.bytes, v.flags), ValueCheck::kKeyMismatch);
  // A key that is a prefix of the real one must not pass.
  EXPECT_EQ(verify_value(pattern, "bench:1", v.bytes, v.flags), ValueCheck::kKeyMismatch);
  EXPECT_EQ(verify_value(pattern, "bench:123", v.bytes, v.flags), ValueCheck::kKeyMismatch);
}

TEST(BenchValueCodec, DetectsACorruptedBodyByteAndSaysWhere) {
  const ValuePattern pattern(100000);
  const Value v = make_value(pattern, "bench:5", 99, 70000);
  for (const size_t at : {size_t{40}, size_t{4096}, size_t{69999}}) {
    std::string corrupted = v.bytes;
    corrupted[at] ^= 0x20;
    uint64_t where = 0;
    EXPECT_EQ(verify_in_pieces(pattern, "bench:5", corrupted, v.flags, 1000, &where),
              ValueCheck::kBodyMismatch);
    EXPECT_EQ(where, at);
  }
}

TEST(BenchValueCodec, DetectsATamperedHeader) {
  const ValuePattern pattern(1024);
  const Value v = make_value(pattern, "bench:5", 1234, 300);
  std::string tampered = v.bytes;
  tampered[std::string_view("bench:5|12").size()] = '9';  // version 1234 -> 1294
  EXPECT_EQ(verify_value(pattern, "bench:5", tampered, v.flags), ValueCheck::kChecksumMismatch);
}

TEST(BenchValueCodec, DetectsTruncationAndPadding) {
  const ValuePattern pattern(1024);
  const Value v = make_value(pattern, "bench:5", 1, 300);
  EXPECT_EQ(verify_value(pattern, "bench:5", std::string_view(v.bytes).substr(0, 299), v.flags),
            ValueCheck::kLengthMismatch);
  EXPECT_EQ(verify_value(pattern, "bench:5", v.bytes + "x", v.flags), ValueCheck::kLengthMismatch);
}

TEST(BenchValueCodec, DetectsFlagsThatDoNotRoundTrip) {
  const ValuePattern pattern(1024);
  const Value v = make_value(pattern, "bench:5", 1, 300);
  EXPECT_EQ(verify_value(pattern, "bench:5", v.bytes, 0), ValueCheck::kFlagsMismatch);
}

TEST(BenchValueCodec, RejectsValuesWithoutAHeader) {
  const ValuePattern pattern(1024);
  EXPECT_EQ(verify_value(pattern, "k", "", 0), ValueCheck::kMalformedHeader);
  EXPECT_EQ(verify_value(pattern, "k", "k|1|20|", 0), ValueCheck::kMalformedHeader);
  EXPECT_EQ(verify_value(pattern, "k", "k|x|10|00000000|", 0), ValueCheck::kMalformedHeader);
  EXPECT_EQ(verify_value(pattern, "k", "k|" + std::string(200, '7'), 0),
            ValueCheck::kMalformedHeader);
}

// --- reply parsing ---------------------------------------------------------------------------

struct ReaderFixture {
  ValuePattern pattern{1 << 20};
  std::vector<char> line = std::vector<char>(1024);
  std::vector<char> header = std::vector<char>(max_value_header(64));
  ValueVerifier verifier{pattern, header};
  ReplyReader reader{line, &verifier};

  // Feeds `bytes` in pieces; returns the replies completed, in order.
  std::vector<Reply> feed(std::string_view bytes, const std::vector<ReplyExpectation>& expect,
                          size_t piece) {
    std::vector<Reply> out;
    for (size_t i = 0; i < bytes.size(); i += piece) {
      std::span<const char> in(bytes.data() + i, std::min(piece, bytes.size() - i));
      while (!in.empty()) {
        const Reply r = reader.feed(in, expect.at(out.size()));
        if (r.kind != ReplyKind::kIncomplete) out.push_back(r);
        if (r.kind == ReplyKind::kProtocolError) return out;  // the stream is abandoned
      }
    }
    return out;
  }
};

std::string value_reply(std::string_view key, const Value& v) {
  return "VALUE " + std::string(key) + " " + std::to_string(v.flags) + " " +
         std::to_string(v.bytes.size()) + "\r\n" + v.bytes + "\r\nEND\r\n";
}

TEST(BenchReplyReader, ParsesPipelinedRepliesSplitAnywhere) {
  ReaderFixture f;
  const Value v = make_value(f.pattern, "bench:1", 1, 5000);
  const std::string stream = "STORED\r\n" + value_reply("bench:1", v) + "END\r\nSTORED\r\n";
  const std::vector<ReplyExpectation> expect = {
      {false, "bench:1"}, {true, "bench:1"}, {true, "bench:2"}, {false, "bench:3"}};
  for (const size_t piece : {size_t{1}, size_t{3}, size_t{100}, stream.size()}) {
    const std::vector<Reply> replies = f.feed(stream, expect, piece);
    ASSERT_EQ(replies.size(), 4u) << piece;
    EXPECT_EQ(replies[0].kind, ReplyKind::kStored);
    EXPECT_EQ(replies[1].kind, ReplyKind::kHit);
    EXPECT_EQ(replies[1].value_bytes, 5000u);
    EXPECT_EQ(replies[2].kind, ReplyKind::kMiss);
    EXPECT_EQ(replies[3].kind, ReplyKind::kStored);
  }
}

TEST(BenchReplyReader, AcceptsACasField) {
  ReaderFixture f;
  const Value v = make_value(f.pattern, "a", 1, 64);
  std::string reply = value_reply("a", v);
  reply.insert(reply.find("\r\n"), " 12345");
  const auto replies = f.feed(reply, {{true, "a"}}, 7);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].kind, ReplyKind::kHit);
}

TEST(BenchReplyReader, ReportsACorruptValueAndStaysInStep) {
  ReaderFixture f;
  Value v = make_value(f.pattern, "bench:1", 1, 3000);
  v.bytes[2000] ^= 1;
  const auto replies = f.feed(value_reply("bench:1", v) + "STORED\r\n",
                              {{true, "bench:1"}, {false, "bench:2"}}, 512);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].kind, ReplyKind::kBadValue);
  EXPECT_EQ(replies[0].check, ValueCheck::kBodyMismatch);
  EXPECT_EQ(replies[0].mismatch_at, 2000u);
  EXPECT_EQ(replies[1].kind, ReplyKind::kStored);
}

TEST(BenchReplyReader, ReportsAValueForAnotherKey) {
  ReaderFixture f;
  const Value v = make_value(f.pattern, "bench:1", 1, 100);
  const auto replies = f.feed(value_reply("bench:1", v), {{true, "bench:2"}}, 1000);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].kind, ReplyKind::kBadValue);
  EXPECT_EQ(replies[0].check, ValueCheck::kKeyMismatch);
}

TEST(BenchReplyReader, ClassifiesErrorRepliesAndGarbage) {
  ReaderFixture f;
  auto one = [&](std::string_view bytes, bool is_get) {
    const auto replies = f.feed(bytes, {{is_get, "k"}}, 1000);
    EXPECT_EQ(replies.size(), 1u) << bytes;
    return replies.empty() ? Reply{} : replies[0];
  };
  Reply r = one("SERVER_ERROR out of memory storing object\r\n", false);
  EXPECT_EQ(r.kind, ReplyKind::kUnexpectedReply);
  EXPECT_EQ(r.line, "SERVER_ERROR out of memory storing object");
  EXPECT_EQ(one("NOT_STORED\r\n", false).kind, ReplyKind::kUnexpectedReply);
  EXPECT_EQ(one("STORED\r\n", true).kind, ReplyKind::kUnexpectedReply);
  EXPECT_EQ(one("END\r\n", false).kind, ReplyKind::kUnexpectedReply);
  EXPECT_EQ(one("ERROR\r\n", true).kind, ReplyKind::kUnexpectedReply);
  EXPECT_EQ(one("HELLO\r\n", true).kind, ReplyKind::kProtocolError);
  EXPECT_EQ(one("STORED\n", false).kind, ReplyKind::kProtocolError);
  EXPECT_EQ(one("VALUE k x 3\r\n", true).kind, ReplyKind::kProtocolError);
  EXPECT_EQ(one("VALUE k 0 3\r\nabcXY", true).kind, ReplyKind::kProtocolError);
  EXPECT_EQ(one("VALUE k 0 0\r\n\r\nVALUE k 0 0\r\n", true).kind, ReplyKind::kProtocolError);
  EXPECT_EQ(one(std::string(2000, 'x'), true).kind, ReplyKind::kProtocolError);
}

TEST(BenchReplyReader, FramesValuesWithoutAVerifier) {
  std::vector<char> line(256);
  ReplyReader reader(line, nullptr);
  const std::string bytes = "VALUE k 0 5\r\nhello\r\nEND\r\n";
  std::span<const char> in(bytes);
  const Reply r = reader.feed(in, {true, "k"});
  EXPECT_EQ(r.kind, ReplyKind::kHit);
  EXPECT_TRUE(in.empty());
}

// --- histogram -------------------------------------------------------------------------------

TEST(BenchLatencyHistogram, BucketsCoverEveryValueWithinOnePercent) {
  Rng rng(7);
  std::vector<uint64_t> values = {0, 1, 255, 256, 257, 511, 512, 1000, 123456789, UINT64_MAX};
  for (int i = 0; i < 100000; ++i) values.push_back(rng.next() >> rng.below(64));
  size_t last_index = 0;
  std::sort(values.begin(), values.end());
  for (const uint64_t v : values) {
    const size_t index = LatencyHistogram::bucket_of(v);
    ASSERT_LT(index, LatencyHistogram::kBucketCount);
    ASSERT_LE(LatencyHistogram::bucket_low(index), v);
    ASSERT_GE(LatencyHistogram::bucket_high(index), v);
    ASSERT_LE(LatencyHistogram::bucket_high(index) - LatencyHistogram::bucket_low(index), v / 128)
        << v;
    ASSERT_GE(index, last_index) << v;  // sorted values, monotonic buckets
    last_index = index;
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::kBucketCount - 1);
  for (uint64_t v = 0; v < 256; ++v) EXPECT_EQ(LatencyHistogram::bucket_of(v), v);
}

TEST(BenchLatencyHistogram, PercentilesOfAKnownDistribution) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(h.mean(), 50000.5 * 1000, 1);
  auto near = [](uint64_t got, double want) {
    EXPECT_GE(static_cast<double>(got), want) << want;
    EXPECT_LE(static_cast<double>(got), want * (1 + 1.0 / 128)) << want;
  };
  near(h.percentile(50), 50'000'000);
  near(h.percentile(99), 99'000'000);
  near(h.percentile(99.9), 99'900'000);
  EXPECT_EQ(h.percentile(100), 100'000'000u);
}

TEST(BenchLatencyHistogram, SmallValuesAreExactAndOutliersShowInTheTail) {
  LatencyHistogram h;
  for (int i = 0; i < 999; ++i) h.record(100);
  h.record(5'000'000);
  EXPECT_EQ(h.percentile(50), 100u);
  EXPECT_EQ(h.percentile(99.9), 100u);
  EXPECT_EQ(h.percentile(99.95), 5'000'000u);  // clamped to the max, not the bucket's top
  EXPECT_EQ(h.max(), 5'000'000u);
}

TEST(BenchLatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  Rng rng(3);
  for (int i = 0; i < 5000; ++i) {
    const uint64_t v = rng.below(10'000'000);
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (const double p : {1.0, 50.0, 90.0, 99.0, 99.9})
    EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(BenchLatencyHistogram, EmptyReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

// --- key distributions -----------------------------------------------------------------------

TEST(BenchKeyChooser, UniformCoversTheSpaceEvenly) {
  const KeyChooser chooser(Distribution::kUniform, 100, 0);
  Rng rng(11);
  std::vector<int> counts(100);
  for (int i = 0; i < 200000; ++i) ++counts.at(chooser.next(rng));
  for (const int c : counts) EXPECT_NEAR(c, 2000, 300);
}

TEST(BenchKeyChooser, ZipfianFollowsItsLaw) {
  const uint64_t n = 1000;
  const double theta = 0.99;
  const KeyChooser chooser(Distribution::kZipfian, n, theta);
  double zeta = 0;
  for (uint64_t i = 1; i <= n; ++i) zeta += 1 / std::pow(static_cast<double>(i), theta);
  Rng rng(5);
  std::vector<int> counts(n);
  const int draws = 400000;
  for (int i = 0; i < draws; ++i) ++counts.at(chooser.next(rng));
  // Rank r (from 0) is drawn with probability 1 / ((r + 1)^theta * zeta).
  for (const uint64_t rank : {0, 1}) {
    const double want = draws / (std::pow(static_cast<double>(rank + 1), theta) * zeta);
    EXPECT_NEAR(counts[rank], want, want * 0.05) << rank;
  }
  EXPECT_GT(counts[0], counts[10]);
  EXPECT_GT(counts[10], counts[500]);
}

// --- options ---------------------------------------------------------------------------------

BenchOptions parse_ok(std::vector<std::string_view> args) {
  const ParseResult r = parse_options(args);
  EXPECT_TRUE(r.options.has_value()) << r.message;
  return r.options.value_or(BenchOptions{});
}

std::string parse_error(std::vector<std::string_view> args) {
  const ParseResult r = parse_options(args);
  EXPECT_FALSE(r.options.has_value());
  return r.message;
}

TEST(BenchOptions, SizesTakeSuffixes) {
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_EQ(parse_size("4k"), 4096u);
  EXPECT_EQ(parse_size("1m"), 1048576u);
  EXPECT_EQ(parse_size("2G"), 2147483648u);
  EXPECT_FALSE(parse_size("k").has_value());
  EXPECT_FALSE(parse_size("1.5m").has_value());
  EXPECT_FALSE(parse_size("").has_value());
}

TEST(BenchOptions, ParsesAFullCommandLine) {
  const BenchOptions o = parse_ok(
      {"--server", "127.0.0.1:22122", "--threads=3", "--connections", "5000",   "--pipeline",
       "8",        "--ratio",         "1:1",         "--keys",        "1000",   "--distribution",
       "zipfian",  "--zipf-theta",    "0.9",         "--value-size",  "1k-4m",  "--requests",
       "500",      "--rate",          "2.5",         "--warmup",      "--json", "--no-verify"});
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, "22122");
  EXPECT_EQ(o.threads, 3u);
  EXPECT_EQ(o.connections, 5000u);
  EXPECT_EQ(o.pipeline, 8u);
  EXPECT_EQ(o.set_weight, 1u);
  EXPECT_EQ(o.get_weight, 1u);
  EXPECT_EQ(o.keys, 1000u);
  EXPECT_EQ(o.distribution, Distribution::kZipfian);
  EXPECT_DOUBLE_EQ(o.zipf_theta, 0.9);
  EXPECT_EQ(o.value_min, 1024u);
  EXPECT_EQ(o.value_max, 4u << 20);
  EXPECT_EQ(o.requests, 500u);
  EXPECT_DOUBLE_EQ(o.rate, 2.5);
  EXPECT_TRUE(o.warmup);
  EXPECT_TRUE(o.json);
  EXPECT_FALSE(o.verify);
}

TEST(BenchOptions, DefaultsVerifyAndClampThreads) {
  const BenchOptions o = parse_ok({"--connections", "2", "--threads", "8", "--server", "[::1]:1"});
  EXPECT_TRUE(o.verify);
  EXPECT_EQ(o.threads, 2u);
  EXPECT_EQ(o.host, "::1");
}

TEST(BenchOptions, ServerMayBeAUnixSocket) {
  const BenchOptions o = parse_ok({"--server", "unix:/run/mcguard.sock"});
  EXPECT_EQ(o.unix_path, "/run/mcguard.sock");
  EXPECT_NE(parse_error({"--server", "unix:"}).find("unix:PATH"), std::string::npos);
}

TEST(BenchOptions, RejectsBadInput) {
  EXPECT_NE(parse_error({"--duration", "5", "--requests", "10"}).find("not both"),
            std::string::npos);
  EXPECT_NE(parse_error({"--bogus"}).find("unknown option"), std::string::npos);
  parse_error({"--ratio", "1-4"});
  parse_error({"--ratio", "0:0"});
  parse_error({"--value-size", "4k-1k"});
  parse_error({"--zipf-theta", "1"});
  parse_error({"--server", "localhost"});
  parse_error({"--server", "localhost:99999"});
  parse_error({"--pipeline", "0"});
  parse_error({"--connections"});
  parse_error({"--json=yes"});
  EXPECT_TRUE(parse_options({"--help"}).help);
}

}  // namespace
}  // namespace mcguard::bench
