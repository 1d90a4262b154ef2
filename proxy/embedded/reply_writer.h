// ReplyWriter: assembles reply text for one command in a stack buffer and hands it
// to the connection's ReplyQueue in few large appends. The text is formatted by
// protocol's encoder (ReplyFormatter) running over that buffer, so the lines are
// protocol's. Values up to kCopyLimit bytes are copied into the text (cheaper than a
// reference for small ones); larger ones are queued by reference and sent from store
// memory. No allocation.
#pragma once

#include <cstddef>
#include <string_view>

#include "cache/item.h"
#include "protocol/response.h"
#include "proxy/core/reply_queue.h"

namespace mcguard {

class ReplyWriter {
 public:
  static constexpr size_t kCopyLimit = 1024;
  static constexpr size_t kBufferSize = 4096;

  explicit ReplyWriter(ReplyQueue& queue) : queue_(queue) {}
  ~ReplyWriter() { flush(); }
  ReplyWriter(const ReplyWriter&) = delete;
  ReplyWriter& operator=(const ReplyWriter&) = delete;

  // Fixed text of any length (a reply:: line, a counter's digits).
  void append(std::string_view text);
  // The encoder over the buffered text, with at least `room` (<= kBufferSize) bytes free:
  // flushes first when fewer remain. What is formatted on it follows the text appended
  // before; one line (or part of one) at a time, within `room` (the kMax*LineLength
  // bounds of protocol/response.h).
  ReplyFormatter& format(size_t room) {
    if (text_.room() < room) flush();
    return text_;
  }
  // The value bytes of `item` (the caller holds a reference, or the shard lock).
  void append_value(Item* item);

  // A refused append (pool exhausted) marks the queue overflowed; the connection
  // sees that there, so nothing is reported here.
  void flush();

 private:
  ReplyQueue& queue_;
  char buffer_[kBufferSize];
  ReplyFormatter text_{buffer_};
};

}  // namespace mcguard
