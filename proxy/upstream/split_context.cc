#include "proxy/upstream/split_context.h"

#include <algorithm>
#include <cstring>

#include "protocol/reply_parser.h"

namespace mcguard {

SplitOperation::SplitOperation(SplitContext& context) : owner_(context), next_(context.live) {
  if (next_ != nullptr) next_->previous_ = this;
  owner_.live = this;
}

SplitOperation::~SplitOperation() {
  if (previous_ != nullptr) previous_->next_ = next_;
  if (next_ != nullptr) next_->previous_ = previous_;
  if (owner_.live == this) owner_.live = next_;
}

bool queue_request(UpstreamConnection& connection, std::initializer_list<std::string_view> pieces) {
  for (std::string_view piece : pieces) {
    if (!connection.queue(piece)) {
      connection.fail("out of memory");
      return false;
    }
  }
  return true;
}

size_t copy_reply(const PendingReply& slot, size_t offset, std::span<char> out) {
  iovec iov[64];
  size_t copied = 0;
  while (copied < out.size() && offset < slot.size()) {
    const size_t count = slot.iovecs(offset, iov, 64);
    if (count == 0) break;
    for (size_t i = 0; i < count && copied < out.size(); ++i) {
      const size_t take = std::min(iov[i].iov_len, out.size() - copied);
      std::memcpy(out.data() + copied, iov[i].iov_base, take);
      copied += take;
      offset += take;
    }
  }
  return copied;
}

std::string reply_text(const PendingReply& slot) {
  char line[kMaxReplyLineLength + 2];
  return std::string(line, copy_reply(slot, 0, line));
}

ReplyParseResult parse_slot_head(const PendingReply& slot, std::span<char> head, Reply& out,
                                 uint64_t max_value) {
  const size_t head_length = copy_reply(slot, 0, head);
  return parse_reply_header({head.data(), head_length}, out, max_value);
}

void answer_client(SplitContext& context, PendingReply* client_slot, std::string_view reply) {
  if (!client_slot->append(reply) && client_slot->leader->failure == nullptr) {
    client_slot->leader->failure = "out of memory";
  }
  context.groups.complete(client_slot);
}

bool decode_index_reply(const PendingReply& slot, std::string_view key, split::Manifest& out) {
  char head[kMaxReplyLineLength + 2];
  Reply reply;
  const ReplyParseResult parsed =
      parse_slot_head(slot, head, reply, split::encoded_size(split::kMaxChunks));
  if (parsed.status != ReplyParseResult::kReply || reply.kind != ReplyKind::kValue ||
      reply.flags != split::kIndexFlags || reply.key != key ||
      slot.size() != parsed.consumed + reply.value_length + 2) {
    return false;
  }
  std::string data(reply.value_length, '\0');
  if (copy_reply(slot, parsed.consumed, data) != data.size()) return false;
  return split::decode(data, key, out);
}

void sweep_chunks(SplitContext& context, std::string_view key, uint64_t generation,
                  uint32_t chunk_count, int client_id, const std::string* touch_exptime) {
  char chunk_key[split::kChunkKeyLength];
  for (uint32_t i = 0; i < chunk_count; ++i) {
    split::chunk_key(key, generation, i, chunk_key);
    const std::string_view name(chunk_key, split::kChunkKeyLength);
    UpstreamConnection* connection = context.connection_for(name, client_id);
    const bool queued = connection != nullptr &&
                        (touch_exptime == nullptr
                             ? queue_request(*connection, {"delete ", name, " noreply\r\nmn\r\n"})
                             : queue_request(*connection, {"touch ", name, " ", *touch_exptime,
                                                           " noreply\r\nmn\r\n"}));
    if (!queued) {
      if (touch_exptime == nullptr) context.stats.orphan_chunks.add();
      continue;
    }
    connection->expect(Expectation::kQuiet,
                       touch_exptime == nullptr ? Command::kDelete : Command::kTouch, nullptr);
  }
}

// Enough for two thousand overwrites of large values a second over the default
// 2s grace on one worker; each entry is about a hundred bytes.
constexpr size_t kMaxDeferredSweeps = 4096;

void defer_sweep(SplitContext& context, std::string_view key, const split::Manifest& manifest,
                 int client_id) {
  if (context.settings.split_grace_ms <= 0) {
    sweep_chunks(context, key, manifest.generation, manifest.chunk_count, client_id);
    return;
  }
  if (context.deferred_sweeps.size() >= kMaxDeferredSweeps) {
    const DeferredSweep& oldest = context.deferred_sweeps.front();
    sweep_chunks(context, oldest.key, oldest.generation, oldest.chunk_count, oldest.client_id);
    context.deferred_sweeps.pop_front();
  }
  context.deferred_sweeps.push_back(
      DeferredSweep{context.reactor.now_ms() + context.settings.split_grace_ms, std::string(key),
                    manifest.generation, manifest.chunk_count, client_id});
}

void run_due_sweeps(SplitContext& context, int64_t now_ms) {
  while (!context.deferred_sweeps.empty() && context.deferred_sweeps.front().due_ms <= now_ms) {
    const DeferredSweep& due = context.deferred_sweeps.front();
    sweep_chunks(context, due.key, due.generation, due.chunk_count, due.client_id);
    context.deferred_sweeps.pop_front();
  }
}

int64_t next_sweep_ms(const SplitContext& context) {
  return context.deferred_sweeps.empty() ? -1 : context.deferred_sweeps.front().due_ms;
}

}  // namespace mcguard
