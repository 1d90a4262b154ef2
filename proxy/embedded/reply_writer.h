// ReplyWriter: assembles reply text for one command in a stack buffer and hands it
// to the connection's ReplyQueue in few large appends. Values up to kCopyLimit
// bytes are copied into the text (cheaper than a reference for small ones);
// larger ones are queued by reference and sent from store memory. No allocation.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/core/reply_queue.h"
#include "cache/item.h"

namespace mcguard {

class ReplyWriter {
 public:
  static constexpr size_t kCopyLimit = 1024;

  explicit ReplyWriter(ReplyQueue& queue) : queue_(queue) {}
  ~ReplyWriter() { flush(); }
  ReplyWriter(const ReplyWriter&) = delete;
  ReplyWriter& operator=(const ReplyWriter&) = delete;

  void append(std::string_view text);
  void append(char c) {
    if (length_ == sizeof(buffer_)) flush();
    buffer_[length_++] = c;
  }
  void append_number(uint64_t n) { append_formatted(n); }
  void append_signed(int64_t n) { append_formatted(n); }
  // The value bytes of `item` (the caller holds a reference, or the shard lock).
  void append_value(Item* item);

  // A refused append (pool exhausted) marks the queue overflowed; the connection
  // sees that there, so nothing is reported here.
  void flush();

 private:
  template <typename T>
  void append_formatted(T n) {
    if (sizeof(buffer_) - length_ < 24) flush();
    length_ = static_cast<size_t>(
        std::to_chars(buffer_ + length_, buffer_ + sizeof(buffer_), n).ptr - buffer_);
  }

  ReplyQueue& queue_;
  char buffer_[4096];
  size_t length_ = 0;
};

}  // namespace mcguard
