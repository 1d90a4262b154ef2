// ReplyReader: incremental parser of the replies to the two requests the load generator sends,
// "get <key>" and "set <key> ...". Bytes arrive in pieces of any size; feed() consumes them and
// returns once one reply is complete. Value data streams through a ValueVerifier and is never
// buffered, so a multi-MiB value needs no more memory than a short one.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tests/bench/value_codec.h"

namespace mcguard::bench {

// What the oldest request in flight was: the reply must match it.
struct ReplyExpectation {
  bool is_get = false;
  std::string_view key;
};

enum class ReplyKind {
  kIncomplete,       // all input consumed, the reply is not complete yet
  kStored,           // SET answered STORED
  kHit,              // GET answered one value for the key (verified when verifying)
  kMiss,             // GET answered END alone
  kBadValue,         // GET answered a value that failed verification (stream still in sync)
  kUnexpectedReply,  // a well-formed reply of the wrong kind: SERVER_ERROR, NOT_STORED, ...
  kProtocolError,    // bytes that are no reply at all: the stream cannot be trusted any more
};

struct Reply {
  ReplyKind kind = ReplyKind::kIncomplete;
  ValueCheck check = ValueCheck::kOk;  // kBadValue: what was wrong
  uint64_t mismatch_at = 0;            // kBadValue: byte offset in the value
  uint64_t value_bytes = 0;            // kHit, kBadValue
  // kUnexpectedReply, kProtocolError: the offending line (or a description). It borrows the
  // input or the reader's storage: valid until the next feed().
  std::string_view line;
};

class ReplyReader {
 public:
  // line_storage holds a line split across reads (a VALUE line, an error line). verifier may be
  // null: values are then only framed and their key checked.
  ReplyReader(std::span<char> line_storage, ValueVerifier* verifier);

  Reply feed(std::span<const char>& in, const ReplyExpectation& expect);

  // Forgets a partial reply (the connection is gone).
  void reset();

 private:
  enum class State { kFirstLine, kData, kDataEnd, kEndLine };
  enum class LineStatus { kNeedMore, kLine, kTooLong };

  LineStatus take_line(std::span<const char>& in, std::string_view* line);
  Reply first_line(std::string_view line, const ReplyExpectation& expect);
  Reply finish(Reply reply);

  std::span<char> line_storage_;
  size_t line_len_ = 0;
  ValueVerifier* verifier_;
  State state_ = State::kFirstLine;
  uint64_t data_left_ = 0;
  uint64_t value_bytes_ = 0;
  unsigned data_end_seen_ = 0;  // bytes of the "\r\n" after the data
  bool key_ok_ = true;
};

}  // namespace mcguard::bench
