// Tier: where a connection's data commands are served. The embedded tier
// answers at once; the upstream tier forwards and answers later through
// pending replies. Either way the reply lands in the connection's ReplyQueue
// in request order. The upstream tier is one object per worker thread; the
// embedded tier is one object all workers share, so its methods are thread-safe.
#pragma once

#include <sys/uio.h>

#include <span>
#include <string_view>

#include "protocol/request.h"
#include "proxy/core/reply_queue.h"

namespace mcguard {

class Tier {
 public:
  virtual ~Tier() = default;
  // False when the tier cannot take this request from `client` now (it has no
  // room to track its reply, or an earlier request of the same client must
  // finish first); the connection stops and retries later.
  virtual bool can_accept(const Request& request, const ReplyQueue& client) = 0;
  // Serves one data command whose data block (if any) is complete; `value`
  // covers value_length bytes without the trailing "\r\n". When the block
  // arrived in a chain, `value_chain` holds it (with its "\r\n") and the tier
  // may take its buffers instead of copying them.
  virtual void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
                       BufferChain* value_chain) = 0;
  // A storage command was rejected for its size before its data arrived:
  // remove the stale item under `key` (decoded), as memcached does.
  // `client` is the asking connection's reply queue (the removal is ordered
  // with its other requests).
  virtual void remove_stale(std::string_view key, const ReplyQueue& client) = 0;
};

}  // namespace mcguard
