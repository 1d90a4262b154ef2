// ReplyGroups: opens, completes and fails PendingReply groups. When the last
// slot of a group completes, the group is finalised: a failure replaces it with
// one "SERVER_ERROR <reason>" line (nothing for noreply), a get gets its
// closing END, and the client is woken to send it, or, if the client has gone,
// the slots go straight back to the pool. A client group is counted in the
// tier's command statistics (by its leader's CountAs tag) as it completes,
// and a gathered stats group (stats_gather.h) is merged first.
#pragma once

#include <cstdint>

#include "proxy/core/pending_reply.h"
#include "proxy/core/prefix_stats.h"
#include "proxy/core/reactor.h"
#include "proxy/core/reply_queue.h"
#include "proxy/upstream/command_stats.h"

namespace mcguard {

class ReplyGroups {
 public:
  // `stats` (may be null): where completed client groups are counted.
  ReplyGroups(PendingReplyPool& pool, Reactor& reactor, UpstreamCommandStats* stats = nullptr)
      : pool_(pool), reactor_(reactor), stats_(stats) {}

  // A group of `count` (>= 1) slots queued on `reply` in order; returns its
  // leader, or null when the pool has fewer free slots.
  PendingReply* open(ReplyQueue& reply, uint32_t count);
  // A group no client waits on: `observer` gets it whole when it completes
  // (failures included, with leader->failure set) and releases its slots.
  PendingReply* open_internal(uint32_t count, ReplyObserver& observer);
  // The tag (PendingReply::tag) that groups opened from now on get: the tier
  // sets it for the request it is executing, and 0 after.
  void set_open_tag(uint8_t tag) { open_tag_ = tag; }
  // `stats detail`: where get hits are counted by key prefix (may be null).
  void set_prefix_stats(PrefixStats* prefixes) { prefixes_ = prefixes; }
  // Gives an internal group's slots back to the pool.
  void release(PendingReply* leader);
  void complete(PendingReply* slot);
  // Fails the slot's group; in a gathered group, only the slot (it is left out).
  void fail(PendingReply* slot, const char* reason);
  uint32_t available() const { return pool_.available(); }
  uint32_t capacity() const { return pool_.capacity(); }

 private:
  void finalize(PendingReply* leader);
  void count(const PendingReply* leader);
  // A hit's key, read from its slot's VALUE line, counted by prefix.
  void count_prefix_hit(const PendingReply* slot);

  PendingReplyPool& pool_;
  Reactor& reactor_;
  UpstreamCommandStats* stats_;
  PrefixStats* prefixes_ = nullptr;
  uint8_t open_tag_ = 0;
};

}  // namespace mcguard
