// SplitWrite: stores one value too large for the upstreams' item limit as
// chunks plus an index item under the client's key.
//
// The chunks go first, each under its own key (so ketama spreads them over the
// servers), sent from the value's own pool buffers. Only when every chunk is
// stored does the index follow, with the client's command (set, add, replace,
// cas, or ms with its flags but F and the length replaced), so a reader never
// finds an index whose chunks are missing. The
// client's reply is the index's reply. A chunk that fails fails the request
// with the upstream's error and no index is written; a refused index (add,
// replace or cas not applying) deletes the chunks it would have named. After a
// stored index, the chunks of the value it replaced are deleted.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>

#include "protocol/request.h"
#include "protocol/split_manifest.h"
#include "proxy/upstream/split_context.h"

namespace mcguard {

class SplitWrite final : public SplitOperation, public ReplyObserver {
 public:
  // Starts the write of `request` (set, add, replace, cas, or an ms in set,
  // add or replace mode whose key is not base64; its value complete) for the client reply slot
  // `client_slot` (a group of one it completes). `value` covers the value; when `value_chain` holds
  // it (with its "\r\n") the chunks take its buffers. Deletes itself when done.
  static void start(SplitContext& context, const Request& request, std::span<const iovec> value,
                    BufferChain* value_chain, PendingReply* client_slot, int client_id);

  void group_done(PendingReply* leader) override;

 private:
  SplitWrite(SplitContext& context, const Request& request, PendingReply* client_slot,
             int client_id);
  void send_chunks(std::span<const iovec> value, BufferChain* value_chain);
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
  bool index_sent_ = false;
  bool replaces_ = false;   // the index write is preceded by a read of the value it replaces
  bool meta_ = false;       // ms: the index goes as an ms
  bool quiet_ = false;      // ms with q: success has no reply, "mn" marks the end
  std::string meta_flags_;  // ms: the client's flags, F replaced by the index flags
};

}  // namespace mcguard
