#include "proxy/core/pending_reply.h"

#include <algorithm>
#include <cstring>

namespace mcguard {

bool PendingReply::append(std::string_view bytes) {
  if (!reserve(bytes.size())) return false;
  append_reserved({bytes.data(), bytes.size()});
  return true;
}

bool PendingReply::reserve(size_t bytes) {
  // The inline bytes always follow the chain's, so either place keeps order.
  reserved_inline = inline_length + bytes <= kInlineBytes;
  return reserved_inline || chain.reserve(bytes + inline_length);
}

void PendingReply::append_reserved(std::span<const char> bytes) {
  if (reserved_inline) {
    std::memcpy(inline_bytes + inline_length, bytes.data(), bytes.size());
    inline_length = static_cast<uint16_t>(inline_length + bytes.size());
    return;
  }
  if (inline_length > 0) {
    chain.append({inline_bytes, inline_length});
    inline_length = 0;
  }
  chain.append(bytes);
}

void PendingReply::clear() {
  if (stream != nullptr) stream->detach();
  stream = nullptr;
  stream_length = 0;
  chain.release();
  inline_length = 0;
}

size_t PendingReply::sendable_end(size_t sent) const {
  if (stream == nullptr || sent >= stream_length) return size();
  const size_t streamed = sent + stream->available();
  return streamed < stream_length ? streamed : size();
}

size_t PendingReply::iovecs(size_t offset, iovec* out, size_t max_iov) const {
  size_t streamed = 0;
  if (offset < stream_length) {
    streamed = stream->iovecs(out, max_iov);
    // Nothing of the slot's own bytes may follow a stream not yet whole.
    if (offset + stream->available() < stream_length || streamed == max_iov) return streamed;
    offset = stream_length;
  }
  offset -= stream_length;
  out += streamed;
  max_iov -= streamed;
  size_t count = 0;
  const size_t chained = chain.length();
  if (offset < chained) {
    count = chain.iovecs(offset, chained - offset, out, max_iov);
    // A cut-short chain must not be followed by the inline tail.
    size_t covered = 0;
    for (size_t i = 0; i < count; ++i) covered += out[i].iov_len;
    if (covered < chained - offset) return streamed + count;
    offset = chained;
  }
  if (count < max_iov && offset - chained < inline_length) {
    out[count].iov_base = const_cast<char*>(inline_bytes + (offset - chained));
    out[count].iov_len = inline_length - (offset - chained);
    ++count;
  }
  return streamed + count;
}

PendingReplyPool::PendingReplyPool(BufferPool& pool, uint32_t count, uint32_t max_chain_buffers)
    : buffer_pool_(&pool) {
  for (uint32_t i = 0; i < count; ++i) {
    PendingReply& slot = slots_.emplace_back(pool, max_chain_buffers);
    slot.next_free = free_;
    free_ = &slot;
  }
  available_ = count;
}

PendingReply* PendingReplyPool::acquire() {
  PendingReply* slot = free_;
  if (slot == nullptr) return nullptr;
  free_ = slot->next_free;
  --available_;
  slot->next_free = nullptr;
  slot->leader = slot;
  slot->next_in_group = slot->next_in_batch = nullptr;
  slot->last = slot;
  slot->remaining = 1;
  slot->failure = nullptr;
  slot->silent = slot->end_with_end = slot->collapse = false;
  slot->complete = slot->group_done = slot->failed = false;
  slot->tag = 0;
  slot->owner = nullptr;
  slot->observer = nullptr;
  slot->touch_exptime = 0;
  slot->touch = slot->strip_key_token = false;
  slot->key_hash = 0;
  return slot;
}

void PendingReplyPool::release(PendingReply* slot) {
  slot->clear();
  slot->next_free = free_;
  free_ = slot;
  ++available_;
}

}  // namespace mcguard
