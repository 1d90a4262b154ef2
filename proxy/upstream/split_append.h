// SplitAppend: an append or prepend while values may be split. memcached
// would add the bytes to an index item's manifest and so damage it, so the
// key's flags are looked up first ("mg <key> f"); an index answers what
// memcached answers when the result is over its item limit (NOT_STORED, as a
// memcached whose -I the value exceeds would), anything else gets
// the command as the client sent it. The value waits in pool buffers meanwhile,
// and the client's later requests wait behind it, so they keep their order.
#pragma once

#include <sys/uio.h>

#include <span>
#include <string>

#include "pool/buffer_chain.h"
#include "protocol/request.h"
#include "proxy/upstream/split_context.h"

namespace mcguard {

class SplitAppend final : public SplitOperation, public ReplyObserver {
 public:
  // Sends the lookup for `request` (append or prepend, value complete) and
  // keeps its value (the chain's buffers when `value_chain` holds it, else a
  // copy in `pool`). Completes `client_slot` (a group of one). Deletes itself.
  static void start(SplitContext& context, const Request& request, std::span<const iovec> value,
                    BufferChain* value_chain, BufferPool& pool, PendingReply* client_slot,
                    int client_id);

  void group_done(PendingReply* leader) override;

 private:
  SplitAppend(SplitContext& context, const Request& request, BufferPool& pool,
              PendingReply* client_slot, int client_id);
  void finish_with(std::string_view reply);

  SplitContext& context_;
  std::string key_;
  std::string line_;   // the client's command line, "noreply" dropped, with "\r\n"
  BufferChain value_;  // the data block, "\r\n" included
  PendingReply* client_slot_;
  int client_id_;
};

}  // namespace mcguard
