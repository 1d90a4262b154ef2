#include "proxy/core/reply_queue.h"

#include <algorithm>
#include <cassert>
#include <span>

namespace mcguard {

ReplyQueue::ReplyQueue(BufferPool& pool, uint32_t max_text_buffers)
    : text_(pool, max_text_buffers) {}

void ReplyQueue::push_segment() {
  if (segments_.capacity() == 0 && spares_ != nullptr && !spares_->spare_.empty()) {
    segments_ = std::move(spares_->spare_.back());
    spares_->spare_.pop_back();
  }
  if (segments_head_ > 0 && segments_.size() == segments_.capacity()) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(segments_head_));
    segments_head_ = 0;
  }
  segments_.emplace_back();
}

void ReplyQueue::reset_segments() {
  segments_.clear();
  segments_head_ = 0;
  if (spares_ == nullptr || segments_.capacity() == 0) return;
  spares_->spare_.push_back(std::move(segments_));  // leaves segments_ empty, no storage
}

bool ReplyQueue::append_text(std::string_view text) {
  if (overflowed_) return false;
  if (text.empty()) return true;
  // Reserve first so a reply is queued whole or not at all: half a reply line
  // would leave the stream out of step with the requests.
  if (!text_.reserve(text.size())) {
    overflowed_ = true;
    return false;
  }
  const size_t copied = text_.append(std::span<const char>(text.data(), text.size()));
  assert(copied == text.size());
  (void)copied;
  if (segments_head_ == segments_.size() || segments_.back().value || segments_.back().pending) {
    push_segment();
  }
  segments_.back().text_bytes += text.size();
  pending_bytes_ += text.size();
  return true;
}

void ReplyQueue::append_value(ItemRef item) {
  if (overflowed_ || !item) return;
  const size_t length = item.value_length();
  if (length == 0) return;  // nothing to send; drop the reference now
  if (segments_head_ == segments_.size() || segments_.back().value || segments_.back().pending) {
    push_segment();
  }
  segments_.back().value = std::move(item);
  pending_bytes_ += length;
}

void ReplyQueue::append_pending(PendingReply* slot) {
  if (segments_head_ == segments_.size() || segments_.back().value || segments_.back().pending) {
    push_segment();
  }
  segments_.back().pending = slot;
}

bool ReplyQueue::sendable() const {
  if (segments_head_ == segments_.size()) return false;
  const Segment& head = segments_[segments_head_];
  return head.text_bytes > 0 || head.value ||
         (head.pending != nullptr && head.pending->ready() &&
          head.pending->sendable_end(head.value_sent) > head.value_sent);
}

size_t ReplyQueue::gather(iovec* out, size_t max_iov) const {
  size_t count = 0;
  size_t text_offset = 0;  // where this segment's text starts in the chain
  for (size_t i = segments_head_; i < segments_.size() && count < max_iov; ++i) {
    const Segment& segment = segments_[i];
    if (segment.text_bytes > 0) {
      count += text_.iovecs(text_offset, segment.text_bytes, out + count, max_iov - count);
      text_offset += segment.text_bytes;
      // Stop if the text may have been cut short: the value must not follow a gap.
      if (count == max_iov) break;
    }
    if (segment.value) {
      count += segment.value.value_iovecs(segment.value_sent, out + count, max_iov - count);
    }
    if (segment.pending != nullptr) {
      if (!segment.pending->ready()) break;  // replies go out in request order
      count += segment.pending->iovecs(segment.value_sent, out + count, max_iov - count);
      // A stream still producing: what follows waits for it.
      if (segment.pending->sendable_end(segment.value_sent) < segment.pending->size()) break;
    }
  }
  return count;
}

void ReplyQueue::consume(size_t n) {
  assert(n <= pending_bytes_);
  n = std::min(n, pending_bytes_);
  pending_bytes_ -= n;
  while (n > 0) {
    Segment& segment = segments_[segments_head_];
    if (segment.text_bytes > 0) {
      const size_t take = std::min(n, segment.text_bytes);
      text_.consume(take);
      segment.text_bytes -= take;
      n -= take;
    }
    if (segment.text_bytes == 0 && segment.value) {
      const size_t take = std::min(n, segment.value.value_length() - segment.value_sent);
      segment.value_sent += take;
      n -= take;
      // Fully sent: let the store reclaim the item as soon as possible.
      if (segment.value_sent == segment.value.value_length()) segment.value.reset();
    }
    if (segment.text_bytes == 0 && segment.pending != nullptr) {
      PendingReply* slot = segment.pending;
      const size_t take = std::min(n, slot->size() - segment.value_sent);
      if (segment.value_sent < slot->stream_length) {
        slot->stream->consume(std::min(take, slot->stream_length - segment.value_sent));
      }
      segment.value_sent += take;
      n -= take;
      if (slot->ready() && segment.value_sent == slot->size()) {
        pending_pool_->release(slot);
        segment.pending = nullptr;
      }
    }
    if (segment.text_bytes == 0 && !segment.value && segment.pending == nullptr) {
      segment.value_sent = 0;
      ++segments_head_;
    }
  }
  drop_finished_front();
}

bool ReplyQueue::broken() const {
  if (segments_head_ == segments_.size()) return false;
  const Segment& head = segments_[segments_head_];
  const PendingReply* slot = head.pending;
  // Earlier replies (the text before it) still go out first.
  return head.text_bytes == 0 && slot != nullptr && slot->ready() && slot->stream != nullptr &&
         slot->stream->broken();
}

void ReplyQueue::pending_completed(size_t bytes) {
  pending_bytes_ += bytes;
  drop_finished_front();
}

void ReplyQueue::drop_finished_front() {
  while (segments_head_ < segments_.size()) {
    Segment& segment = segments_[segments_head_];
    if (segment.text_bytes > 0 || segment.value) break;
    if (segment.pending != nullptr) {
      if (!segment.pending->ready() || segment.value_sent < segment.pending->size()) break;
      pending_pool_->release(segment.pending);
      segment.pending = nullptr;
    }
    segment.value_sent = 0;
    ++segments_head_;
  }
  // Steady state does not allocate: the storage is kept, here or in spares_.
  if (segments_head_ == segments_.size()) reset_segments();
}

void ReplyQueue::clear() {
  for (size_t i = segments_head_; i < segments_.size(); ++i) {
    PendingReply* slot = segments_[i].pending;
    if (slot == nullptr) continue;
    if (slot->ready()) {
      pending_pool_->release(slot);
    } else {
      // The upstream still owes this group; it frees the slots when done.
      slot->leader->owner = nullptr;
    }
  }
  reset_segments();
  text_.release();
  pending_bytes_ = 0;
  overflowed_ = false;
}

}  // namespace mcguard
