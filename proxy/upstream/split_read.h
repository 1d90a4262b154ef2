// SplitRead: sends a client one split value, chunk by chunk, as a ReplyStream
// in the client's get reply.
//
// It starts from the index item a get brought back. Before the first byte of
// the value goes out, every chunk is checked to exist (for gat and gats the
// same request sets its exptime), and chunk 0 is fetched and verified, so a
// value whose chunks are gone is a plain miss. Chunks are then fetched at most
// kWindow ahead of what the client has taken, each verified against the
// manifest's checksum before any of its bytes are sent, and let go of as soon
// as they are sent: a read holds a few chunks, never the value. A chunk found
// missing or corrupt after the value started breaks the stream and the client
// is closed: wrong bytes are never sent.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/request.h"
#include "protocol/split_manifest.h"
#include "proxy/upstream/split_context.h"

namespace mcguard {

class SplitRead final : public SplitOperation, public ReplyStream, public ReplyObserver {
 public:
  static constexpr uint32_t kWindow = 2;

  // Takes a client's get-family or mg reply slot holding what may be an index
  // item (its reply line and data). A VALUE with the index flags that does not
  // verify becomes a miss (only an index can carry them); an mg value that is
  // not an index is completed as it is.
  static void take(SplitContext& context, PendingReply* slot, int client_id);
  // For an mg reply ("VA") that cannot be streamed (quiet, or no key to
  // verify it by): an index's bytes are replaced with a CLIENT_ERROR line
  // (true); any other value loses the "k" mcguard added, if it did.
  static bool screen_meta_value(PendingReply* slot);

  // The tier calls this for a read it took off context.waiting_reads: fetches
  // what the window and the reply pool allow now.
  void resume();

  size_t iovecs(iovec* out, size_t max_iov) const override;
  size_t available() const override;
  void consume(size_t n) override;
  bool broken() const override { return broken_; }
  void detach() override;
  void group_done(PendingReply* leader) override;

 private:
  struct Part {
    PendingReply* slot;  // a verified chunk's reply
    size_t offset;       // where its unsent data starts in the slot
    size_t left;         // data bytes not yet sent
  };

  SplitRead(SplitContext& context, PendingReply* slot, int client_id);
  ~SplitRead() = default;
  void send_checks(const std::string* touch_exptime);
  // Fetches what the window and the reply pool allow; when the pool is short,
  // joins context.waiting_reads.
  void fetch_more();
  bool fetch(uint32_t index);
  // The data offset of a verified chunk reply, or 0 when it does not verify.
  size_t verify(const PendingReply& reply, uint32_t index) const;
  void chunk_done(PendingReply* reply, uint32_t index);
  // Hands verified chunks to the stream in order; starts the value first.
  void advance();
  void fail();
  void wake_client();
  void end_hold();
  // Deletes the read once no slot or group refers to it.
  void settle();
  uint64_t chunk_length(uint32_t index) const;

  SplitContext& context_;
  PendingReply* client_slot_;  // null once detached
  int client_id_;
  std::string key_;
  std::string header_;  // the client's VALUE line
  split::Manifest manifest_;

  PendingReply* checks_ = nullptr;         // the existence checks' group, while out
  PendingReply* fetching_[kWindow] = {};   // fetch groups out, by index % kWindow
  uint32_t fetching_index_[kWindow] = {};  // their chunk indices
  PendingReply* fetched_[kWindow] = {};    // verified, not yet handed to the stream
  size_t fetched_offset_[kWindow] = {};    // their data offsets
  Part parts_[kWindow] = {};               // handed, not yet all sent
  uint32_t parts_head_ = 0, parts_count_ = 0;
  uint32_t next_fetch_ = 0, next_hand_ = 0, sent_chunks_ = 0;
  size_t header_left_ = 0, trailer_left_ = 0;
  uint32_t outstanding_ = 0;  // internal groups not yet done
  uint32_t busy_ = 0;         // calls into this read on the stack
  bool checks_ok_ = false, started_ = false, failed_ = false, broken_ = false;
  bool detached_ = false, holding_ = false;
  bool waiting_ = false;  // in context.waiting_reads
  bool checks_sent_ = false;
  std::string touch_exptime_;  // gat without checks: the fetches set the exptime
};

}  // namespace mcguard
