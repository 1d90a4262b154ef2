// SplitWrite: stores one value too large for the upstreams' item limit as
// chunks plus an index item under the client's key.
//
// The chunks go first, each under its own key (so ketama spreads them over the
// servers), sent from the value's own pool buffers. A write that streams (see
// stream()) sends each chunk as soon as its bytes have arrived, the last one
// with the end of the value; one started with a complete value sends them all
// at once. Only when every chunk is stored does the index follow, with the
// client's command (set, add, replace, cas, or ms with its flags but F and the
// length replaced), so a reader never finds an index whose chunks are missing.
// The client's reply is the index's reply. A chunk that fails fails the
// request with the upstream's error and no index is written; a refused index
// (add, replace or cas not applying) or a value that never completes deletes
// the chunks sent. After a stored index, the chunks of the value it replaced
// are deleted once the grace period has passed.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>

#include "protocol/request.h"
#include "protocol/split_manifest.h"
#include "proxy/core/tier.h"
#include "proxy/upstream/split_context.h"

namespace mcguard {

class SplitWrite final : public SplitOperation, public ReplyObserver, public ValueStream {
 public:
  // The same write, taken while the value is still arriving (the connection
  // then feeds it through ValueStream). Opens the client's reply slot on
  // `reply`. Null when the reply slots cannot hold the write now: the request
  // then goes through start() once the value is complete.
  static SplitWrite* stream(SplitContext& context, const Request& request, ReplyQueue& reply);

  // Starts the write of `request` (set, add, replace, cas, or an ms in set,
  // add or replace mode whose key is not base64; its value complete) for the client reply slot
  // `client_slot` (a group of one it completes). `value` covers the value; when `value_chain` holds
  // it (with its "\r\n") the chunks take its buffers. Deletes itself when done.
  static void start(SplitContext& context, const Request& request, std::span<const iovec> value,
                    BufferChain* value_chain, PendingReply* client_slot, int client_id);

  void group_done(PendingReply* leader) override;
  void arrived(BufferChain& chain) override;
  void complete(BufferChain& chain) override;
  void abandon(std::string_view reply) override;

 private:
  SplitWrite(SplitContext& context, const Request& request, PendingReply* client_slot,
             int client_id);
  // Opens the chunks' group (a guard slot, then one per chunk); false when
  // the reply slots are short.
  bool open_chunks();
  // Queues chunk next_chunk_, whose bytes are `data`. `piece`, when given,
  // holds the same bytes (and, with piece_ends_value, the value's "\r\n"
  // after them) and gives its buffers to the connection.
  void queue_chunk(std::span<const iovec> data, BufferChain* piece, bool piece_ends_value);
  // Queues every chunk not yet sent, from `value` (the value's bytes from
  // chunk next_chunk_ on) or `value_chain` (the same with "\r\n"), then lets
  // the chunks' group complete.
  void send_rest(std::span<const iovec> value, BufferChain* value_chain);
  void chunks_done(PendingReply* leader);
  void send_index();
  void index_done(PendingReply* leader);
  // Answers the client with `reply` (a whole line) and ends the write.
  void finish(std::string_view reply);
  void delete_chunks();

  SplitContext& context_;
  Command command_;
  std::string key_;
  std::string exptime_;  // as decimal text
  uint64_t cas_unique_;
  PendingReply* client_slot_;
  int client_id_;
  split::Manifest manifest_;
  PendingReply* guard_ = nullptr;      // holds the chunks' group open while chunks are to come
  PendingReply* next_slot_ = nullptr;  // chunk next_chunk_'s reply slot
  uint32_t next_chunk_ = 0;            // chunks queued so far
  bool abandoned_ = false;             // the value never completed
  std::string abandon_reply_;          // what the client gets then
  bool index_sent_ = false;
  bool replaces_ = false;   // the index write is preceded by a read of the value it replaces
  bool meta_ = false;       // ms: the index goes as an ms
  bool quiet_ = false;      // ms with q: success has no reply, "mn" marks the end
  std::string meta_flags_;  // ms: the client's flags, F replaced by the index flags
};

}  // namespace mcguard
