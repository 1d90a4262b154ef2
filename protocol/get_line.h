// Retrieval lines too long to wait for. memcached takes get lines of any
// length; a connection cannot hold one whole in a bounded buffer, so once its
// receive buffer is full of a get/gets/gat/gats line with no newline yet, it
// reads the line's head here and then takes its keys in batches as they
// arrive, answering each batch before the line ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/parser.h"
#include "protocol/request.h"

namespace mcguard {

// True when a line starting at `data` may run past kMaxLineLength: after at
// most 100 spaces, "get ", "gets ", "gat ", "gats " or "bget ".
bool long_line_allowed(const char* data, size_t size);

// Reads the head of such a line (its verb, and a gat's exptime) into
// out.command and out.exptime. kRequest: `consumed` is the bytes before the
// first key. kError: memcached's reply (an invalid exptime); the caller then
// discards the rest of the line. kNeedMore: the head itself has not arrived.
ParseResult parse_long_retrieval_head(std::span<const char> input, Request& out);

// The next keys of a long retrieval line, from the front of `input`.
struct KeyBatch {
  std::string_view keys;      // the batch's keys as sent, space separated (walk with KeyCursor)
  uint32_t count = 0;         // keys in `keys`, at most the max_keys asked for
  size_t consumed = 0;        // bytes taken: keys, the spaces before them, the newline at the end
  bool line_ended = false;    // the newline was reached: no keys follow
  bool key_too_long = false;  // a key longer than kMaxKeyLength: the line is in error, and
                              // `keys` is empty (memcached answers only the error)
};

// Takes complete keys (followed by a space or the line's end) up to
// `max_keys`. A key still arriving is left for the next call, unless it is
// already too long.
KeyBatch next_key_batch(std::span<const char> input, uint32_t max_keys);

}  // namespace mcguard
