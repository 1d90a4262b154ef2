// Tier: where a connection's data commands are served. The embedded tier
// answers at once; the upstream tier forwards and answers later through
// pending replies. Either way the reply lands in the connection's ReplyQueue
// in request order. The upstream tier is one object per worker thread; the
// embedded tier is one object all workers share, so its methods are thread-safe.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/request.h"
#include "proxy/core/reply_queue.h"

namespace mcguard {

// A large value taken by the tier while it is still arriving, so the tier can
// send its first parts on before the last bytes are in. The connection calls
// arrived() as the value's chain grows, then exactly one of complete() or
// abandon(); the stream may not be used after that.
class ValueStream {
 public:
  // More of the value is in `chain`, whose front is the first byte the stream
  // has not taken. The stream may move whole buffers off the front
  // (BufferChain::split_front); the rest stays for later.
  virtual void arrived(BufferChain& chain) = 0;
  // The data block is complete and ends in "\r\n": `chain` holds what the
  // stream did not take, "\r\n" included. The request is then the tier's, as
  // after execute().
  virtual void complete(BufferChain& chain) = 0;
  // The value will not complete (the client went away, or its data block was
  // malformed). The stream undoes what it sent and answers the request with
  // `reply` (nothing when empty).
  virtual void abandon(std::string_view reply) = 0;

 protected:
  ~ValueStream() = default;
};

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
  // A storage command's data block is about to arrive in a chain, and
  // can_accept() said yes. A tier that sends values on as they arrive returns
  // a stream that takes the request's place: execute() is not called for it.
  // Null (the default): the request goes to execute() once complete.
  virtual ValueStream* stream_value(const Request& /*request*/, ReplyQueue& /*reply*/) {
    return nullptr;
  }
  // The most keys one retrieval request may carry: a get with more is handed
  // over in batches of at most this many, each answered without END but the last.
  virtual uint32_t retrieval_batch_limit() const { return UINT32_MAX; }
  // A storage command was rejected for its size before its data arrived:
  // remove the stale item under `key` (decoded), as memcached does.
  // `client` is the asking connection's reply queue (the removal is ordered
  // with its other requests).
  virtual void remove_stale(std::string_view key, const ReplyQueue& client) = 0;
};

}  // namespace mcguard
