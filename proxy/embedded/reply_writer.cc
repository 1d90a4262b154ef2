#include "proxy/embedded/reply_writer.h"

#include <cassert>

namespace mcguard {

void ReplyWriter::append(std::string_view text) {
  if (text.size() > text_.room()) {
    flush();
    if (text.size() > kBufferSize) {
      queue_.append_text(text);
      return;
    }
  }
  text_.text(text);
}

void ReplyWriter::append_value(Item* item) {
  const size_t length = item->value_length;
  if (length <= kCopyLimit) {
    item_read_value(item, 0, format(length).claim(length));
    return;
  }
  flush();
  queue_.append_value(item_share(item));
}

void ReplyWriter::flush() {
  // Every format() call reserves the room its line needs, so nothing is ever cut.
  assert(!text_.overflowed());
  if (text_.size() == 0) return;
  queue_.append_text(text_.view());
  text_.clear();
}

}  // namespace mcguard
