#include "proxy/embedded/reply_writer.h"

#include <cstring>

namespace mcguard {

void ReplyWriter::append(std::string_view text) {
  if (text.size() > sizeof(buffer_) - length_) {
    flush();
    if (text.size() > sizeof(buffer_)) {
      queue_.append_text(text);
      return;
    }
  }
  std::memcpy(buffer_ + length_, text.data(), text.size());
  length_ += text.size();
}

void ReplyWriter::append_value(Item* item) {
  const size_t length = item->value_length;
  if (length <= kCopyLimit) {
    if (length > sizeof(buffer_) - length_) flush();
    item_read_value(item, 0, {buffer_ + length_, length});
    length_ += length;
    return;
  }
  flush();
  queue_.append_value(item_share(item));
}

void ReplyWriter::flush() {
  if (length_ == 0) return;
  queue_.append_text({buffer_, length_});
  length_ = 0;
}

}  // namespace mcguard
