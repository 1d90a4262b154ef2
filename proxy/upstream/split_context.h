// SplitContext: what the operations on split values (split_write.h,
// split_read.h, split_follow_up.h) need from the upstream tier that runs them,
// and the few request and reply helpers they share. Every operation runs on
// its worker's thread, as the tier does.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply_parser.h"
#include "protocol/split_manifest.h"
#include "proxy/core/pending_reply.h"
#include "proxy/core/reactor.h"
#include "proxy/upstream/reply_groups.h"
#include "proxy/upstream/split_stats.h"
#include "proxy/upstream/upstream_connection.h"

namespace mcguard {

class SplitOperation;
class SplitRead;

// An overwritten or deleted split value's chunks, deleted once readers that
// found its index before the change have had the grace period to finish.
struct DeferredSweep {
  int64_t due_ms;
  std::string key;
  uint64_t generation;
  uint32_t chunk_count;
  int client_id;
};

struct SplitContext {
  ReplyGroups& groups;
  Reactor& reactor;
  SplitStats& stats;
  const UpstreamSettings& settings;
  BufferPool& reply_pool;  // where upstream replies land (chunks being read)
  uint32_t chunk_size;     // bytes per chunk (a whole number of request buffers)
  // The connection that carries requests for `key` on behalf of client
  // `client_id` (so they stay in order with the client's own); null when the
  // key's server is unavailable.
  std::function<UpstreamConnection*(std::string_view key, int client_id)> connection_for;
  // An operation of client `client_id` begins (true) or ends (false); while
  // one runs, the tier holds the client's later requests back.
  std::function<void(int client_id, bool begin)> hold;
  // Reads waiting for room in the reply pool; the tier pumps them each turn.
  std::vector<SplitRead*> waiting_reads;
  // Reply-pool bytes promised to chunk fetches sent and not yet answered: a
  // fetch counts its chunk before its reply arrives, so reads on one worker
  // never promise the same buffers twice.
  uint64_t promised_reply_bytes = 0;
  // Every operation under way, so the tier can end them when it goes.
  SplitOperation* live = nullptr;
  // Sweeps waiting out --upstream-split-grace, oldest (soonest due) first.
  std::deque<DeferredSweep> deferred_sweeps;
};

// The base of every operation on split values: each one links itself into
// its context's live list while it exists.
class SplitOperation {
 public:
  SplitOperation(const SplitOperation&) = delete;
  SplitOperation& operator=(const SplitOperation&) = delete;
  virtual ~SplitOperation();

 protected:
  explicit SplitOperation(SplitContext& context);

 private:
  SplitContext& owner_;
  SplitOperation* previous_ = nullptr;
  SplitOperation* next_ = nullptr;
};

// Queues the pieces as one request; false when the pool cannot hold them (the
// connection is then failed, so nothing partial is sent).
bool queue_request(UpstreamConnection& connection, std::initializer_list<std::string_view> pieces);

// Copies up to out.size() reply bytes of `slot` from `offset`; returns how many.
size_t copy_reply(const PendingReply& slot, size_t offset, std::span<char> out);

// The reply line(s) a slot captured, as text: status replies, whole (a value's
// data is cut after one reply line's length).
std::string reply_text(const PendingReply& slot);

// Copies the start of what `slot` captured into `head` (kMaxReplyLineLength
// + 2 bytes) and parses its first reply line into `out`, whose views point
// into `head`. Data blocks over `max_value` bytes are not taken as replies.
ReplyParseResult parse_slot_head(const PendingReply& slot, std::span<char> head, Reply& out,
                                 uint64_t max_value);

// Appends `reply` to the client's slot (marking it failed when the pool
// cannot hold it) and completes the slot.
void answer_client(SplitContext& context, PendingReply* client_slot, std::string_view reply);

// When `slot` captured "VALUE <key> <flags> <bytes> [<cas>]" and a data block
// that is a split value's index for `key`: decodes its manifest.
bool decode_index_reply(const PendingReply& slot, std::string_view key, split::Manifest& out);

// Sends "delete" (or, with touch_exptime set, "touch") for the chunks of
// `key`'s value of that generation, without replies. Counts chunks it could not send as orphans.
void sweep_chunks(SplitContext& context, std::string_view key, uint64_t generation,
                  uint32_t chunk_count, int client_id, const std::string* touch_exptime = nullptr);

// Deletes `manifest`'s chunks after the grace period (at once when it is 0).
// A reader that found the old index just before an overwrite or delete then
// still reads every chunk. The list is bounded: when it is full, the oldest
// sweep runs early.
void defer_sweep(SplitContext& context, std::string_view key, const split::Manifest& manifest,
                 int client_id);
// Runs the deferred sweeps due by `now_ms`; when the next is due (-1: none).
void run_due_sweeps(SplitContext& context, int64_t now_ms);
int64_t next_sweep_ms(const SplitContext& context);

}  // namespace mcguard
