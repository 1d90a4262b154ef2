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
// A retrieval line (get gets gat gats bget) may grow past it without bound, as in
// memcached; one longer than a receive buffer is taken key by key (get_line.h).
inline constexpr size_t kMaxKeyLength = 250;

struct ParseResult {
  enum class Status : uint8_t { kNeedMore, kRequest, kError };
  Status status = Status::kNeedMore;
  size_t consumed = 0;     // bytes of the header line including its newline
  std::string_view reply;  // kError: the exact bytes to send, "\r\n" included; empty
                           // when memcached stays silent (a classic noreply command)
  uint64_t swallow = 0;    // kError: data bytes (including "\r\n") to discard next
  bool close = false;      // kError: close after sending `reply` (consumed is then 0)
  // kError: an admin command the parser answered itself with OK (protocol/admin.h); the
  // client did nothing wrong, so it is not counted as a protocol error.
  bool accepted = false;
  // kError with close: the bytes start with the binary protocol's request magic (0x80),
  // which mcguard does not speak; the connection is closed without a reply.
  bool binary_protocol = false;
};

// The first byte of every memcached binary-protocol request.
inline constexpr unsigned char kBinaryRequestMagic = 0x80;

// Parses the header at the front of `input` into `out`. On kRequest, `out`
// borrows from `input`; a storage command's data block starts at
// input[consumed]. Value-size limits are not checked here (they are policy).
// Each call scans `input` from its start; on kNeedMore `out` is left untouched.
ParseResult parse_header(std::span<const char> input, Request& out);

}  // namespace mcguard
