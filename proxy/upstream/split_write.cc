#include "proxy/upstream/split_write.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "protocol/response.h"

namespace mcguard {
namespace {

constexpr std::string_view kStored = "STORED\r\n";

std::string_view verb(Command command) {
  switch (command) {
    case Command::kAdd:
      return "add ";
    case Command::kReplace:
      return "replace ";
    case Command::kCas:
      return "cas ";
    default:
      return "set ";
  }
}

// iovecs over bytes [offset, offset + length) of `all`.
std::vector<iovec> slice(std::span<const iovec> all, uint64_t offset, uint64_t length) {
  std::vector<iovec> out;
  for (const iovec& part : all) {
    if (length == 0) break;
    if (offset >= part.iov_len) {
      offset -= part.iov_len;
      continue;
    }
    const size_t take = std::min<uint64_t>(part.iov_len - offset, length);
    out.push_back({static_cast<char*>(part.iov_base) + offset, take});
    offset = 0;
    length -= take;
  }
  return out;
}

// Every iovec of the value, however many buffers it spans.
std::vector<iovec> value_iovecs(std::span<const iovec> value, const BufferChain* chain,
                                uint64_t length) {
  if (chain == nullptr) return {value.begin(), value.end()};
  std::vector<iovec> out(length / chain->pool().buffer_size() + 2);
  out.resize(chain->iovecs(0, length, out.data(), out.size()));
  return out;
}

}  // namespace

void SplitWrite::start(SplitContext& context, const Request& request, std::span<const iovec> value,
                       BufferChain* value_chain, PendingReply* client_slot, int client_id) {
  auto* write = new SplitWrite(context, request, client_slot, client_id);
  if (!write->open_chunks()) {
    write->finish(reply::kOutOfMemoryShort);
    return;
  }
  write->send_rest(value, value_chain);
}

SplitWrite* SplitWrite::stream(SplitContext& context, const Request& request, ReplyQueue& reply) {
  // The client's slot, the chunks' guard and one slot per chunk, or nothing.
  const uint64_t chunks = (request.value_length + context.chunk_size - 1) / context.chunk_size;
  if (context.groups.available() < chunks + 2) return nullptr;
  PendingReply* client_slot = context.groups.open(reply, 1);
  if (client_slot == nullptr) return nullptr;
  client_slot->silent = request.noreply;
  auto* write = new SplitWrite(context, request, client_slot, reply.owner_id());
  if (!write->open_chunks()) {
    // Not reached (the room was checked), but never leave the slot open.
    write->finish(reply::kOutOfMemoryShort);
    return nullptr;
  }
  return write;
}

SplitWrite::SplitWrite(SplitContext& context, const Request& request, PendingReply* client_slot,
                       int client_id)
    : SplitOperation(context),
      context_(context),
      command_(request.command),
      key_(request.key),
      exptime_(std::to_string(request.exptime)),
      cas_unique_(request.cas_unique),
      client_slot_(client_slot),
      client_id_(client_id) {
  manifest_.total_length = request.value_length;
  manifest_.chunk_size = context.chunk_size;
  manifest_.chunk_count = static_cast<uint32_t>(
      std::max<uint64_t>(1, (request.value_length + context.chunk_size - 1) / context.chunk_size));
  manifest_.client_flags = request.client_flags;
  manifest_.generation = split::new_generation();
  if (request.command == Command::kMetaSet) {
    meta_ = true;
    quiet_ = request.meta.has('q');
    command_ = request.meta.mode == 'E' ? Command::kAdd : Command::kMetaSet;
    for (uint8_t i = 0; i < request.meta.count; ++i) {
      const MetaFlags::Flag& flag = request.meta.flags[i];
      if (flag.name == 'F') continue;
      meta_flags_ += ' ';
      meta_flags_ += flag.name;
      meta_flags_ += flag.token;
    }
    meta_flags_ += " F" + std::to_string(split::kIndexFlags);
  }
  context_.hold(client_id_, true);
}

bool SplitWrite::open_chunks() {
  manifest_.checksums.resize(manifest_.chunk_count);
  guard_ = context_.groups.open_internal(manifest_.chunk_count + 1, *this);
  if (guard_ == nullptr) return false;
  next_slot_ = guard_->next_in_group;
  return true;
}

void SplitWrite::queue_chunk(std::span<const iovec> data, BufferChain* piece,
                             bool piece_ends_value) {
  const uint32_t index = next_chunk_++;
  PendingReply* slot = std::exchange(next_slot_, next_slot_->next_in_group);
  uint64_t length = 0;
  for (const iovec& part : data) length += part.iov_len;
  // The checksum before any buffer moves: queueing a chain may pack it.
  manifest_.checksums[index] = split::chunk_checksum(data, manifest_.generation, index);
  char chunk_key[split::kChunkKeyLength];
  split::chunk_key(key_, manifest_.generation, index, chunk_key);
  const std::string_view name(chunk_key, split::kChunkKeyLength);
  UpstreamConnection* connection = context_.connection_for(name, client_id_);
  if (connection == nullptr) {
    context_.groups.fail(slot, "upstream unavailable");
    return;
  }
  const std::string length_text = std::to_string(length);
  bool queued =
      queue_request(*connection, {"set ", name, " 0 ", exptime_, " ", length_text, "\r\n"});
  queued = queued && (piece != nullptr ? connection->queue(*piece) : connection->queue(data)) &&
           (piece_ends_value || connection->queue("\r\n"));
  connection->end_data_block();
  if (!queued) {
    connection->fail("out of memory");
    context_.groups.fail(slot, "out of memory");
    return;
  }
  connection->expect(Expectation::kSingle, Command::kSet, slot);
}

void SplitWrite::arrived(BufferChain& chain) {
  // Whole chunks but the last, each once all its bytes are in (the last goes
  // with the end of the value, in complete()). The chain's front is always
  // chunk next_chunk_'s first byte.
  const uint32_t chunk_size = manifest_.chunk_size;
  while (!abandoned_ && next_chunk_ + 1 < manifest_.chunk_count && chain.length() > chunk_size) {
    BufferChain piece(chain.pool(), chain.max_buffers());
    if (!chain.split_front(chunk_size, piece)) return;  // not on a buffer boundary: at the end
    const std::vector<iovec> data = value_iovecs({}, &piece, chunk_size);
    queue_chunk(data, &piece, false);
  }
}

void SplitWrite::complete(BufferChain& chain) {
  const uint64_t rest = manifest_.total_length - uint64_t{next_chunk_} * manifest_.chunk_size;
  send_rest(value_iovecs({}, &chain, rest), &chain);
}

void SplitWrite::abandon(std::string_view reply) {
  abandoned_ = true;
  abandon_reply_ = reply;
  if (!reply.empty()) client_slot_->silent = false;  // an error line goes even after noreply
  // Chunks that never arrived fail; the group then completes with the
  // replies of those already sent, and chunks_done() deletes them.
  while (next_chunk_ < manifest_.chunk_count) {
    ++next_chunk_;
    context_.groups.fail(std::exchange(next_slot_, next_slot_->next_in_group), "value abandoned");
  }
  context_.groups.complete(std::exchange(guard_, nullptr));
}

void SplitWrite::send_rest(std::span<const iovec> value, BufferChain* value_chain) {
  const uint64_t chunk_size = manifest_.chunk_size;
  const uint64_t start = uint64_t{next_chunk_} * chunk_size;  // where `value` begins
  uint64_t taken = 0;                                         // bytes moved off value_chain's front
  while (next_chunk_ < manifest_.chunk_count) {
    const uint64_t offset = uint64_t{next_chunk_} * chunk_size - start;
    const uint64_t length = std::min(chunk_size, manifest_.total_length - start - offset);
    const std::vector<iovec> data = slice(value, offset, length);
    const bool at_front = value_chain != nullptr && offset == taken;
    if (at_front && value_chain->length() == length + 2) {
      // The last chunk: the rest of the chain, the client's "\r\n" included.
      queue_chunk(data, value_chain, true);
      continue;
    }
    if (!at_front) {  // an earlier chunk could not be relinked: copied from here on
      queue_chunk(data, nullptr, false);
      continue;
    }
    BufferChain piece(value_chain->pool(), value_chain->max_buffers());
    const bool relinked = value_chain->split_front(length, piece);
    if (relinked) taken += length;
    queue_chunk(data, relinked ? &piece : nullptr, false);
  }
  context_.groups.complete(std::exchange(guard_, nullptr));
}

void SplitWrite::group_done(PendingReply* leader) {
  if (!index_sent_) {
    chunks_done(leader);
  } else {
    index_done(leader);
  }
}

void SplitWrite::chunks_done(PendingReply* leader) {
  std::string error;
  if (leader->failure != nullptr) error = "SERVER_ERROR " + std::string(leader->failure) + "\r\n";
  for (PendingReply* slot = leader->next_in_group; slot != nullptr && error.empty();
       slot = slot->next_in_group) {
    std::string text = reply_text(*slot);
    if (text != kStored) error = text.empty() ? std::string(reply::kOutOfMemory) : text;
  }
  context_.groups.release(leader);
  if (abandoned_ || !error.empty()) {
    // No index names these chunks: whatever was stored goes.
    delete_chunks();
    finish(abandoned_ ? abandon_reply_ : error);
    return;
  }
  send_index();
}

void SplitWrite::send_index() {
  index_sent_ = true;
  UpstreamConnection* connection = context_.connection_for(key_, client_id_);
  replaces_ = command_ != Command::kAdd;
  PendingReply* guard =
      connection == nullptr ? nullptr : context_.groups.open_internal(replaces_ ? 3 : 2, *this);
  if (guard == nullptr) {
    delete_chunks();
    finish(connection == nullptr ? "SERVER_ERROR upstream unavailable\r\n"
                                 : reply::kOutOfMemoryShort);
    return;
  }
  std::string body(split::encoded_size(manifest_.chunk_count), '\0');
  if (split::encode(manifest_, key_, body) != body.size()) {
    // More chunks than a manifest can name (values past kMaxChunks chunks).
    context_.groups.release(guard);
    delete_chunks();
    finish(reply::kTooLarge);
    return;
  }
  PendingReply* index = guard->last;
  bool queued = true;
  if (replaces_) {
    // The value this one replaces, read just before: its chunks go once the
    // index is stored.
    PendingReply* previous = guard->next_in_group;
    previous->key_hash = upstream_key_hash(key_);
    queued = queue_request(*connection, {"get ", key_, "\r\n"});
    if (queued) connection->expect(Expectation::kRetrieval, Command::kGet, previous);
  }
  const std::string flags = std::to_string(split::kIndexFlags);
  const std::string length = std::to_string(body.size());
  const std::string cas = command_ == Command::kCas ? " " + std::to_string(cas_unique_) : "";
  if (meta_) {
    queued = queued && queue_request(*connection,
                                     {"ms ", key_, " ", length, meta_flags_, "\r\n", body, "\r\n"});
  } else {
    queued = queued && queue_request(*connection, {verb(command_), key_, " ", flags, " ", exptime_,
                                                   " ", length, cas, "\r\n", body, "\r\n"});
  }
  connection->end_data_block();
  if (quiet_) queued = queued && queue_request(*connection, {"mn\r\n"});
  if (queued) {
    connection->expect(quiet_ ? Expectation::kQuiet : Expectation::kSingle,
                       meta_ ? Command::kMetaSet : command_, index);
  } else {
    for (PendingReply* slot = guard->next_in_group; slot != nullptr; slot = slot->next_in_group) {
      context_.groups.fail(slot, "out of memory");
    }
  }
  context_.groups.complete(guard);
}

void SplitWrite::index_done(PendingReply* leader) {
  const std::string text = reply_text(*leader->last);
  const char* failure = leader->failure;
  // ms answers HD, or nothing at all when quiet.
  const bool stored =
      meta_ ? failure == nullptr && (text.starts_with("HD") || (quiet_ && text.empty()))
            : text == kStored;
  split::Manifest previous;
  const bool replaced = stored && replaces_ &&
                        decode_index_reply(*leader->next_in_group, key_, previous) &&
                        previous.generation != manifest_.generation;
  context_.groups.release(leader);
  if (stored) {
    context_.stats.sets.add();
    context_.stats.chunks_written.add(manifest_.chunk_count);
    if (replaced) {
      defer_sweep(context_, key_, previous, client_id_);
      context_.stats.orphan_cleanups.add();
    }
    finish(text);
  } else if (text.empty()) {
    // Lost on the way: the index may or may not be stored, so its chunks stay.
    context_.stats.orphan_chunks.add(manifest_.chunk_count);
    finish("SERVER_ERROR " + std::string(failure != nullptr ? failure : "upstream error") + "\r\n");
  } else {
    // Not stored (add, replace or cas did not apply, or an error): nothing
    // names the chunks.
    delete_chunks();
    finish(text);
  }
}

void SplitWrite::delete_chunks() {
  sweep_chunks(context_, key_, manifest_.generation, manifest_.chunk_count, client_id_);
  context_.stats.orphan_cleanups.add();
}

void SplitWrite::finish(std::string_view reply) {
  answer_client(context_, client_slot_, reply);
  context_.hold(client_id_, false);
  delete this;
}

}  // namespace mcguard
