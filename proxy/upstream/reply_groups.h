// ReplyGroups: opens, completes and fails PendingReply groups. When the last
// slot of a group completes, the group is finalised: a failure replaces it with
// one "SERVER_ERROR <reason>" line (nothing for noreply), a get gets its
// closing END, and the client is woken to send it, or, if the client has gone,
// the slots go straight back to the pool.
#pragma once

#include <cstdint>

#include "proxy/core/pending_reply.h"
#include "proxy/core/reactor.h"
#include "proxy/core/reply_queue.h"

namespace mcguard {

class ReplyGroups {
 public:
  ReplyGroups(PendingReplyPool& pool, Reactor& reactor) : pool_(pool), reactor_(reactor) {}

  // A group of `count` (>= 1) slots queued on `reply` in order; returns its
  // leader, or null when the pool has fewer free slots.
  PendingReply* open(ReplyQueue& reply, uint32_t count);
  // A group no client waits on: `observer` gets it whole when it completes
  // (failures included, with leader->failure set) and releases its slots.
  PendingReply* open_internal(uint32_t count, ReplyObserver& observer);
  // Gives an internal group's slots back to the pool.
  void release(PendingReply* leader);
  void complete(PendingReply* slot);
  void fail(PendingReply* slot, const char* reason);
  uint32_t available() const { return pool_.available(); }
  uint32_t capacity() const { return pool_.capacity(); }

 private:
  void finalize(PendingReply* leader);

  PendingReplyPool& pool_;
  Reactor& reactor_;
};

}  // namespace mcguard
