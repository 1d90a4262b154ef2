#include "proxy/upstream/reply_groups.h"

#include <string_view>

#include "protocol/response.h"

namespace mcguard {

PendingReply* ReplyGroups::open(ReplyQueue& reply, uint32_t count) {
  if (count == 0 || pool_.available() < count) return nullptr;
  PendingReply* leader = pool_.acquire();
  leader->remaining = count;
  leader->owner = &reply;
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

}  // namespace mcguard
