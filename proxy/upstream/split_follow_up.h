// SplitFollowUp: a delete, md or touch of a key that may hold a split value. The
// key's item is read just before the command, on the same connection (one
// write, no extra round trip); when the command succeeds and the item was an
// index, the same command goes to each of its chunks, so a deleted value
// leaves no chunks behind and a touched one keeps all of them.
#pragma once

#include <string>

#include "protocol/request.h"
#include "proxy/upstream/split_context.h"

namespace mcguard {

class SplitFollowUp final : public SplitOperation, public ReplyObserver {
 public:
  // Sends `request` (delete, touch, or an md whose key is not base64) for the client reply slot
  // `client_slot` (a group of one it completes). Deletes itself when done.
  static void start(SplitContext& context, const Request& request, PendingReply* client_slot,
                    int client_id);

  void group_done(PendingReply* leader) override;

 private:
  SplitFollowUp(SplitContext& context, const Request& request, PendingReply* client_slot,
                int client_id);

  SplitContext& context_;
  Command command_;
  std::string key_;
  std::string exptime_;  // touch
  PendingReply* client_slot_;
  int client_id_;
};

}  // namespace mcguard
