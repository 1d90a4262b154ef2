// parse_header: recognises one memcached request header at the front of a byte
// span. It is incremental in the only way the protocol needs: while no complete
// line is present it answers kNeedMore, and a header split anywhere across reads
// parses the same once the rest arrives. Errors carry memcached's exact reply
// line and what memcached does next (swallow a data block, or close).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/request.h"

namespace mcguard {

// Longest header line accepted (memcached's limit for non-get commands): bytes before
// the '\n', a '\r' included. Without a '\n' within it, memcached closes the connection.
inline constexpr size_t kMaxLineLength = 2048;
// memcached lets a line that starts with "get " or "gets " (after at most 100 spaces)
// grow past kMaxLineLength, without bound. mcguard bounds it here and closes beyond;
// a connection's receive buffer must hold this many bytes plus the newline.
inline constexpr size_t kMaxGetLineLength = 64 * 1024;
inline constexpr size_t kMaxKeyLength = 250;

struct ParseResult {
  enum class Status : uint8_t { kNeedMore, kRequest, kError };
  Status status = Status::kNeedMore;
  size_t consumed = 0;     // bytes of the header line including its newline
  std::string_view reply;  // kError: the exact bytes to send, "\r\n" included; empty
                           // when memcached stays silent (a classic noreply command)
  uint64_t swallow = 0;    // kError: data bytes (including "\r\n") to discard next
  bool close = false;      // kError: close after sending `reply` (consumed is then 0)
};

// Parses the header at the front of `input` into `out`. On kRequest, `out`
// borrows from `input`; a storage command's data block starts at
// input[consumed]. Value-size limits are not checked here (they are policy).
// Each call scans `input` from its start; on kNeedMore `out` is left untouched.
ParseResult parse_header(std::span<const char> input, Request& out);

}  // namespace mcguard
