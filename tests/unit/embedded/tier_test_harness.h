// TierHarness: drives an EmbeddedTier the way a connection does: parse_header on
// the raw request bytes, the data block handed over as iovecs, the replies read
// back out of a real ReplyQueue. The clock is a plain variable the test moves.
#pragma once

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pool/buffer_pool.h"
#include "protocol/parser.h"
#include "protocol/request.h"
#include "proxy/core/reply_queue.h"
#include "proxy/embedded/embedded_tier.h"
#include "test_support.h"

namespace mcguard::test {

inline constexpr int64_t kStartTime = 1'700'000'000;

// Runs every command in `input` against `tier`, leaving the replies queued (a
// parse error's reply included). `piece`, when not 0, cuts each data block into
// iovecs of that many bytes (a value spread over a buffer chain).
inline void submit_commands(EmbeddedTier& tier, ReplyQueue& queue, std::string_view input,
                            size_t piece = 0) {
  size_t pos = 0;
  while (pos < input.size()) {
    Request request;
    const ParseResult result = parse_header({input.data() + pos, input.size() - pos}, request);
    if (result.status == ParseResult::Status::kNeedMore) {
      ADD_FAILURE() << "incomplete command at byte " << pos;
      return;
    }
    if (result.status == ParseResult::Status::kError) {
      queue.append_text(result.reply);
      pos += result.consumed + result.swallow;
      if (result.close) return;
      continue;
    }
    pos += result.consumed;
    if (!request.has_value()) {
      tier.execute(request, {}, queue);
      continue;
    }
    const size_t length = request.value_length;
    EXPECT_EQ(input.substr(pos + length, 2), "\r\n") << "bad data block in test input";
    std::vector<iovec> iov;
    const size_t step = piece == 0 ? std::max<size_t>(length, 1) : piece;
    for (size_t at = 0; at < length; at += step) {
      iov.push_back({const_cast<char*>(input.data() + pos + at), std::min(step, length - at)});
    }
    tier.execute(request, iov, queue);
    pos += length + 2;
  }
}

class TierHarness {
 public:
  explicit TierHarness(EmbeddedConfig config = {}) : tier_(with_clock(config)) {}

  // Runs the commands in `input` and returns all reply bytes.
  std::string run(std::string_view input, size_t piece = 0) {
    submit(input, piece);
    return drain();
  }
  // Runs them but leaves the replies queued (values by reference included), as for
  // a client that is not reading yet.
  void submit(std::string_view input, size_t piece = 0) {
    submit_commands(tier_, queue_, input, piece);
  }
  std::string drain() { return drain_queue(queue_); }

  EmbeddedTier& tier() { return tier_; }
  ReplyQueue& queue() { return queue_; }
  void advance(int64_t seconds) { now_ += seconds; }
  int64_t now() const { return now_; }

 private:
  EmbeddedConfig with_clock(EmbeddedConfig config) {
    config.clock = [this] { return now_; };
    return config;
  }

  int64_t now_ = kStartTime;
  EmbeddedTier tier_;  // before the queue: queued values must be released first
  BufferPool pool_{4096, 4096};
  ReplyQueue queue_{pool_, 4096};
};

}  // namespace mcguard::test
