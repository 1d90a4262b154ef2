#include "proxy/upstream/reply_groups.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "protocol/parser.h"
#include "protocol/response.h"
#include "proxy/upstream/stats_gather.h"

namespace mcguard {

PendingReply* ReplyGroups::open(ReplyQueue& reply, uint32_t count) {
  if (count == 0 || pool_.available() < count) return nullptr;
  PendingReply* leader = pool_.acquire();
  leader->remaining = count;
  leader->owner = &reply;
  leader->tag = open_tag_;
  reply.append_pending(leader);
  PendingReply* previous = leader;
  for (uint32_t i = 1; i < count; ++i) {
    PendingReply* slot = pool_.acquire();
    slot->leader = leader;
    previous->next_in_group = slot;
    reply.append_pending(slot);
    previous = slot;
  }
  leader->last = previous;
  return leader;
}

PendingReply* ReplyGroups::open_internal(uint32_t count, ReplyObserver& observer) {
  if (count == 0 || pool_.available() < count) return nullptr;
  PendingReply* leader = pool_.acquire();
  leader->remaining = count;
  leader->observer = &observer;
  PendingReply* previous = leader;
  for (uint32_t i = 1; i < count; ++i) {
    PendingReply* slot = pool_.acquire();
    slot->leader = leader;
    previous->next_in_group = slot;
    previous = slot;
  }
  leader->last = previous;
  return leader;
}

void ReplyGroups::release(PendingReply* leader) {
  for (PendingReply* slot = leader; slot != nullptr;) {
    PendingReply* next = slot->next_in_group;
    pool_.release(slot);
    slot = next;
  }
}

void ReplyGroups::complete(PendingReply* slot) {
  if (slot->complete) return;
  slot->complete = true;
  PendingReply* leader = slot->leader;
  if (--leader->remaining == 0) finalize(leader);
}

void ReplyGroups::fail(PendingReply* slot, const char* reason) {
  if (is_gather_tag(slot->leader->tag)) slot->failed = true;
  if (slot->leader->failure == nullptr) slot->leader->failure = reason;
  complete(slot);
}

void ReplyGroups::finalize(PendingReply* leader) {
  if (leader->observer != nullptr) {
    for (PendingReply* slot = leader; slot != nullptr; slot = slot->next_in_group) {
      slot->group_done = true;
    }
    leader->observer->group_done(leader);
    return;
  }
  if (is_gather_tag(leader->tag)) {
    merge_gathered_group(leader, stats_);
  } else if (leader->tag != 0 && stats_ != nullptr && leader->failure == nullptr) {
    count(leader);
  }
  const bool failed = leader->failure != nullptr;
  for (PendingReply* slot = leader; slot != nullptr; slot = slot->next_in_group) {
    if (leader->silent || failed || (leader->collapse && slot != leader)) slot->clear();
  }
  if (failed && !leader->silent) {
    // Reasons are short fixed phrases; the cut only guards the inline size.
    constexpr size_t kFraming = reply::kServerErrorPrefix.size() + reply::kCrlf.size();
    std::string_view reason(leader->failure);
    reason = reason.substr(0, PendingReply::kInlineBytes - kFraming);
    char line[PendingReply::kInlineBytes];
    leader->append({line, write_server_error(line, reason)});
  } else if (!failed && !leader->silent && leader->end_with_end) {
    leader->last->append(reply::kEnd);
  }
  ReplyQueue* owner = leader->owner;
  size_t bytes = 0;
  PendingReply* slot = leader;
  while (slot != nullptr) {
    PendingReply* next = slot->next_in_group;
    slot->group_done = true;
    bytes += slot->size();
    if (owner == nullptr) pool_.release(slot);
    slot = next;
  }
  if (owner != nullptr) {
    owner->pending_completed(bytes);
    reactor_.wake_client(owner->owner_id());
  }
}

namespace {

// The first bytes of a slot's reply (up to `capacity`), copied into `out`.
std::string_view reply_head(const PendingReply* slot, char* out, size_t capacity) {
  size_t length = 0;
  iovec iov[2];
  const size_t count = slot->iovecs(0, iov, 2);
  for (size_t i = 0; i < count && length < capacity; ++i) {
    const size_t take = std::min(iov[i].iov_len, capacity - length);
    std::memcpy(out + length, iov[i].iov_base, take);
    length += take;
  }
  return {out, length};
}

}  // namespace

void ReplyGroups::count_prefix_hit(const PendingReply* slot) {
  constexpr std::string_view kValue = "VALUE ";
  char head[kValue.size() + kMaxKeyLength + 1];
  const std::string_view line = reply_head(slot, head, sizeof head);
  if (!line.starts_with(kValue)) return;
  const size_t end = line.find(' ', kValue.size());
  if (end == std::string_view::npos) return;
  prefixes_->record_hit(line.substr(kValue.size(), end - kValue.size()));
}

void ReplyGroups::count(const PendingReply* leader) {
  const auto as = static_cast<CountAs>(leader->tag);
  if (as == CountAs::kGet || as == CountAs::kTouchGet) {
    // A key's slot holds its VALUE (or streams it): empty means a miss.
    const bool by_prefix = prefixes_ != nullptr && prefixes_->enabled();
    for (const PendingReply* slot = leader; slot != nullptr; slot = slot->next_in_group) {
      count_retrieval_key(*stats_, as, slot->size() > 0);
      if (by_prefix && slot->size() > 0) count_prefix_hit(slot);
    }
    return;
  }
  // The status word is enough: copy the first few bytes of the reply.
  char head[16];
  count_single_reply(*stats_, as, reply_head(leader, head, sizeof head));
}

}  // namespace mcguard
