#include "proxy/upstream/split_read.h"

#include <algorithm>
#include <cstring>

#include "protocol/reply_parser.h"

namespace mcguard {
namespace {

constexpr std::string_view kTrailer = "\r\n";
constexpr std::string_view kHit = "HD\r\n";
// mg does not serve split values: the client is told to use the get family.
constexpr std::string_view kMetaGetOfSplitValue =
    "CLIENT_ERROR split value: read it with get, gets, gat or gats\r\n";

// Counts a call on the stack, so the read is not deleted under it.
class Busy {
 public:
  explicit Busy(uint32_t& depth) : depth_(depth) { ++depth_; }
  ~Busy() { --depth_; }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;

 private:
  uint32_t& depth_;
};

}  // namespace

namespace {

// The token of return flag `flag` in a meta reply's flags ("k<key>": the key).
std::string_view meta_token(std::string_view flags, char flag) {
  size_t start = 0;
  while (start < flags.size()) {
    size_t end = flags.find(' ', start);
    if (end == std::string_view::npos) end = flags.size();
    if (end > start && flags[start] == flag) return flags.substr(start + 1, end - start - 1);
    start = end + 1;
  }
  return {};
}

// The client's "VA" line for a split value: the index reply's flags, with the
// size and client flags of the value itself, and without a "k" mcguard added.
std::string meta_value_line(std::string_view flags, const split::Manifest& manifest,
                            bool strip_key) {
  std::string line = "VA " + std::to_string(manifest.total_length);
  size_t start = 0;
  while (start < flags.size()) {
    size_t end = flags.find(' ', start);
    if (end == std::string_view::npos) end = flags.size();
    const std::string_view token = flags.substr(start, end - start);
    start = end + 1;
    if (token.empty() || (token[0] == 'k' && strip_key)) continue;
    line += ' ';
    if (token[0] == 's') {
      line += "s" + std::to_string(manifest.total_length);
    } else if (token[0] == 'f') {
      line += "f" + std::to_string(manifest.client_flags);
    } else {
      line += token;
    }
  }
  return line + "\r\n";
}

}  // namespace

void SplitRead::take(SplitContext& context, PendingReply* slot, int client_id) {
  char head[kMaxReplyLineLength + 2];
  Reply reply;
  const ReplyParseResult parsed =
      parse_slot_head(*slot, head, reply, split::encoded_size(split::kMaxChunks));
  auto* read = new SplitRead(context, slot, client_id);
  bool is_index = false;
  if (parsed.status == ReplyParseResult::kReply && reply.kind == ReplyKind::kMetaValue) {
    // mg: the key comes back in its "k" flag (mcguard asks for it when the client did not).
    const std::string_view key = meta_token(reply.meta_flags, 'k');
    std::string data(reply.value_length, '\0');
    is_index = !key.empty() && slot->size() == parsed.consumed + reply.value_length + 2 &&
               copy_reply(*slot, parsed.consumed, data) == data.size() &&
               split::decode(data, key, read->manifest_);
    if (!is_index) {
      delete read;
      screen_meta_value(slot);
      context.groups.complete(slot);
      return;
    }
    read->key_ = std::string(key);
    read->header_ =
        meta_value_line(reply.meta_flags, read->manifest_, slot->leader->strip_key_token);
  } else if (parsed.status == ReplyParseResult::kReply &&
             decode_index_reply(*slot, reply.key, read->manifest_)) {
    is_index = true;
    read->key_ = std::string(reply.key);
    read->header_ = "VALUE " + read->key_ + " " + std::to_string(read->manifest_.client_flags) +
                    " " + std::to_string(read->manifest_.total_length);
    if (reply.has_cas) read->header_ += " " + std::to_string(reply.cas);
    read->header_ += "\r\n";
  }
  if (!is_index) {
    // Only an index carries these flags (mcguard splits any other value
    // stored with them), so this is a damaged one: never send its bytes.
    delete read;
    slot->clear();
    context.stats.incomplete_misses.add();
    context.groups.complete(slot);
    return;
  }
  {
    Busy busy(read->busy_);
    slot->clear();
    slot->stream = read;
    read->holding_ = true;
    context.hold(client_id, true);
    const std::string exptime = std::to_string(slot->leader->touch_exptime);
    read->send_checks(slot->leader->touch ? &exptime : nullptr);
    read->fetch_more();
  }
  read->settle();
}

bool SplitRead::screen_meta_value(PendingReply* slot) {
  char head[kMaxReplyLineLength + 2];
  Reply reply;
  const ReplyParseResult parsed =
      parse_slot_head(*slot, head, reply, split::encoded_size(split::kMaxChunks));
  if (parsed.status != ReplyParseResult::kReply || reply.kind != ReplyKind::kMetaValue) {
    return false;
  }
  // Only the data can tell an index here: mg returns flags only when asked for them.
  char magic[split::kMagic.size()];
  const iovec data{magic, copy_reply(*slot, parsed.consumed, magic)};
  if (split::starts_with_magic({&data, 1})) {
    slot->clear();
    if (!slot->append(kMetaGetOfSplitValue) && slot->leader->failure == nullptr) {
      slot->leader->failure = "out of memory";
    }
    return true;
  }
  if (slot->leader->strip_key_token) {
    // A plain value that might have been an index kept the "k" mcguard added.
    std::string whole(slot->size(), '\0');
    whole.resize(copy_reply(*slot, 0, whole));
    char stripped[kMaxReplyLineLength + 2];
    const std::string_view line =
        without_meta_token(std::string_view(whole).substr(0, parsed.consumed - 2), 'k', stripped);
    const std::string_view rest = std::string_view(whole).substr(parsed.consumed - 2);
    slot->clear();
    if ((!slot->append(line) || !slot->append(rest)) && slot->leader->failure == nullptr) {
      slot->leader->failure = "out of memory";
    }
  }
  return false;
}

SplitRead::SplitRead(SplitContext& context, PendingReply* slot, int client_id)
    : SplitOperation(context), context_(context), client_slot_(slot), client_id_(client_id) {}

uint64_t SplitRead::chunk_length(uint32_t index) const {
  const uint64_t offset = uint64_t{index} * manifest_.chunk_size;
  return std::min<uint64_t>(manifest_.chunk_size, manifest_.total_length - offset);
}

void SplitRead::send_checks(const std::string* touch_exptime) {
  const uint32_t count = manifest_.chunk_count;
  // A guard slot first keeps the group open while the checks are queued.
  checks_ = context_.groups.available() > count + kWindow + 1
                ? context_.groups.open_internal(count + 1, *this)
                : nullptr;
  if (checks_ == nullptr) {
    // No room to check every chunk first: each is still verified as it comes.
    checks_ok_ = true;
    if (touch_exptime != nullptr) touch_exptime_ = *touch_exptime;
    return;
  }
  checks_sent_ = true;
  ++outstanding_;
  PendingReply* guard = checks_;
  char chunk_key[split::kChunkKeyLength];
  PendingReply* slot = guard->next_in_group;
  for (uint32_t i = 0; i < count; ++i) {
    PendingReply* next = slot->next_in_group;
    split::chunk_key(key_, manifest_.generation, i, chunk_key);
    const std::string_view name(chunk_key, split::kChunkKeyLength);
    UpstreamConnection* connection = context_.connection_for(name, client_id_);
    const bool queued =
        connection != nullptr &&
        (touch_exptime == nullptr
             ? queue_request(*connection, {"mg ", name, "\r\n"})
             : queue_request(*connection, {"mg ", name, " T", *touch_exptime, "\r\n"}));
    if (queued) {
      connection->expect(Expectation::kSingle, Command::kMetaGet, slot);
    } else {
      context_.groups.fail(slot, "upstream unavailable");
    }
    slot = next;
  }
  context_.groups.complete(guard);
}

void SplitRead::resume() {
  {
    Busy busy(busy_);
    waiting_ = false;
    fetch_more();
  }
  settle();
}

void SplitRead::fetch_more() {
  const uint64_t room_needed = manifest_.chunk_size + kMaxReplyLineLength;
  while (!failed_ && !detached_ && next_fetch_ < manifest_.chunk_count &&
         next_fetch_ - sent_chunks_ < kWindow) {
    const uint64_t free_bytes =
        uint64_t{context_.reply_pool.available()} * context_.reply_pool.buffer_size();
    const uint64_t room =
        free_bytes > context_.promised_reply_bytes ? free_bytes - context_.promised_reply_bytes : 0;
    if (room < room_needed || context_.groups.available() < 2) {
      const uint64_t pool_bytes =
          uint64_t{context_.reply_pool.capacity()} * context_.reply_pool.buffer_size();
      if (room_needed > pool_bytes) {
        fail();  // the pool could never hold a chunk
        break;
      }
      // Wait for other reads (or replies) to give buffers back.
      if (!waiting_) context_.waiting_reads.push_back(this);
      waiting_ = true;
      break;
    }
    if (!fetch(next_fetch_)) break;
    ++next_fetch_;
  }
  if (next_fetch_ == manifest_.chunk_count) end_hold();
}

bool SplitRead::fetch(uint32_t index) {
  char chunk_key[split::kChunkKeyLength];
  split::chunk_key(key_, manifest_.generation, index, chunk_key);
  const std::string_view name(chunk_key, split::kChunkKeyLength);
  UpstreamConnection* connection = context_.connection_for(name, client_id_);
  PendingReply* slot = connection == nullptr ? nullptr : context_.groups.open_internal(1, *this);
  // Without the existence checks, a gat's fetches set each chunk's exptime.
  const bool queued =
      slot != nullptr &&
      (touch_exptime_.empty() || checks_sent_
           ? queue_request(*connection, {"get ", name, "\r\n"})
           : queue_request(*connection, {"gat ", touch_exptime_, " ", name, "\r\n"}));
  if (!queued) {
    if (slot != nullptr) context_.groups.release(slot);
    fail();
    return false;
  }
  slot->key_hash = upstream_key_hash(name);
  fetching_[index % kWindow] = slot;
  fetching_index_[index % kWindow] = index;
  ++outstanding_;
  context_.promised_reply_bytes += manifest_.chunk_size + kMaxReplyLineLength;
  connection->expect(Expectation::kRetrieval, Command::kGet, slot);
  return true;
}

size_t SplitRead::verify(const PendingReply& reply, uint32_t index) const {
  if (reply.leader->failure != nullptr) return 0;
  char head[kMaxReplyLineLength + 2];
  Reply parsed;
  const ReplyParseResult result = parse_slot_head(reply, head, parsed, manifest_.chunk_size);
  const uint64_t length = chunk_length(index);
  if (result.status != ReplyParseResult::kReply || parsed.kind != ReplyKind::kValue ||
      parsed.value_length != length || reply.size() != result.consumed + length + 2) {
    return 0;
  }
  split::ChunkHasher hasher;
  hasher.reset(manifest_.generation, index);
  size_t offset = result.consumed;
  uint64_t left = length;
  iovec iov[64];
  while (left > 0) {
    const size_t count = reply.iovecs(offset, iov, 64);
    if (count == 0) return 0;
    for (size_t i = 0; i < count && left > 0; ++i) {
      const size_t take = std::min<uint64_t>(iov[i].iov_len, left);
      hasher.update({static_cast<const char*>(iov[i].iov_base), take});
      offset += take;
      left -= take;
    }
  }
  return hasher.digest() == manifest_.checksums[index] ? result.consumed : 0;
}

void SplitRead::group_done(PendingReply* leader) {
  {
    Busy busy(busy_);
    --outstanding_;
    if (leader == checks_) {
      checks_ = nullptr;
      bool all_there = leader->failure == nullptr;
      for (PendingReply* slot = leader->next_in_group; slot != nullptr && all_there;
           slot = slot->next_in_group) {
        all_there = reply_text(*slot) == kHit;
      }
      context_.groups.release(leader);
      if (!all_there) {
        fail();
      } else {
        checks_ok_ = true;
        advance();
      }
    } else {
      for (uint32_t i = 0; i < kWindow; ++i) {
        if (fetching_[i] != leader) continue;
        fetching_[i] = nullptr;
        context_.promised_reply_bytes -= manifest_.chunk_size + kMaxReplyLineLength;
        chunk_done(leader, fetching_index_[i]);
        break;
      }
    }
  }
  settle();
}

void SplitRead::chunk_done(PendingReply* reply, uint32_t index) {
  const size_t offset = failed_ || detached_ ? 0 : verify(*reply, index);
  if (offset == 0) {
    context_.groups.release(reply);
    fail();
    return;
  }
  context_.stats.chunks_read.add();
  fetched_[index % kWindow] = reply;
  fetched_offset_[index % kWindow] = offset;
  advance();
}

void SplitRead::advance() {
  if (failed_ || detached_) return;
  if (!started_) {
    if (!checks_ok_ || fetched_[0] == nullptr) return;
    started_ = true;
    header_left_ = header_.size();
    client_slot_->stream_length = header_.size() + manifest_.total_length + kTrailer.size();
  }
  bool handed = false;
  while (next_hand_ < manifest_.chunk_count && fetched_[next_hand_ % kWindow] != nullptr) {
    const uint32_t position = next_hand_ % kWindow;
    parts_[(parts_head_ + parts_count_) % kWindow] =
        Part{fetched_[position], fetched_offset_[position], chunk_length(next_hand_)};
    ++parts_count_;
    fetched_[position] = nullptr;
    ++next_hand_;
    handed = true;
  }
  if (handed && next_hand_ == manifest_.chunk_count) {
    trailer_left_ = kTrailer.size();
    context_.stats.gets.add();
  }
  if (!client_slot_->complete) {
    context_.groups.complete(client_slot_);  // the value's length is known: it may start
  } else if (handed) {
    wake_client();
  }
}

size_t SplitRead::available() const {
  size_t bytes = header_left_ + trailer_left_;
  for (uint32_t i = 0; i < parts_count_; ++i) bytes += parts_[(parts_head_ + i) % kWindow].left;
  return bytes;
}

size_t SplitRead::iovecs(iovec* out, size_t max_iov) const {
  size_t count = 0;
  if (header_left_ > 0 && count < max_iov) {
    out[count++] = {const_cast<char*>(header_.data() + header_.size() - header_left_),
                    header_left_};
  }
  for (uint32_t i = 0; i < parts_count_ && count < max_iov; ++i) {
    const Part& part = parts_[(parts_head_ + i) % kWindow];
    const size_t first = count;
    count += part.slot->iovecs(part.offset, out + count, max_iov - count);
    // The chunk's reply goes on with its "\r\n": cut the iovecs at the data's end.
    size_t left = part.left;
    size_t end = first;
    while (end < count && left > 0) {
      out[end].iov_len = std::min(out[end].iov_len, left);
      left -= out[end].iov_len;
      ++end;
    }
    count = end;
    if (left > 0) return count;  // cut short by max_iov: nothing may follow
  }
  if (trailer_left_ > 0 && count < max_iov) {
    out[count++] = {const_cast<char*>(kTrailer.data() + kTrailer.size() - trailer_left_),
                    trailer_left_};
  }
  return count;
}

void SplitRead::consume(size_t n) {
  {
    Busy busy(busy_);
    const size_t from_header = std::min(n, header_left_);
    header_left_ -= from_header;
    n -= from_header;
    while (n > 0 && parts_count_ > 0) {
      Part& part = parts_[parts_head_];
      const size_t take = std::min(n, part.left);
      part.left -= take;
      part.offset += take;
      n -= take;
      if (part.left > 0) break;
      context_.groups.release(part.slot);
      parts_head_ = (parts_head_ + 1) % kWindow;
      --parts_count_;
      ++sent_chunks_;
    }
    trailer_left_ -= std::min(n, trailer_left_);
    fetch_more();
  }
  settle();
}

void SplitRead::fail() {
  if (failed_) return;
  failed_ = true;
  for (PendingReply*& held : fetched_) {
    if (held != nullptr) context_.groups.release(held);
    held = nullptr;
  }
  end_hold();
  if (detached_) return;
  if (!started_) {
    // Nothing of the value went out: the key is a miss.
    context_.stats.incomplete_misses.add();
    PendingReply* slot = client_slot_;
    slot->stream = nullptr;
    client_slot_ = nullptr;
    detached_ = true;
    context_.groups.complete(slot);
  } else {
    context_.stats.incomplete_closes.add();
    broken_ = true;
    wake_client();
  }
}

void SplitRead::detach() {
  detached_ = true;
  client_slot_ = nullptr;
  for (PendingReply*& held : fetched_) {
    if (held != nullptr) context_.groups.release(held);
    held = nullptr;
  }
  while (parts_count_ > 0) {
    context_.groups.release(parts_[parts_head_].slot);
    parts_head_ = (parts_head_ + 1) % kWindow;
    --parts_count_;
  }
  end_hold();
  settle();
}

void SplitRead::wake_client() {
  if (client_slot_ == nullptr) return;
  ReplyQueue* owner = client_slot_->leader->owner;
  if (owner != nullptr && client_slot_->leader->group_done) {
    context_.reactor.wake_client(owner->owner_id());
  }
}

void SplitRead::end_hold() {
  if (!holding_) return;
  holding_ = false;
  context_.hold(client_id_, false);
}

void SplitRead::settle() {
  if (busy_ > 0 || outstanding_ > 0 || !detached_) return;
  if (waiting_) {
    auto& waiting = context_.waiting_reads;
    waiting.erase(std::remove(waiting.begin(), waiting.end(), this), waiting.end());
  }
  delete this;
}

}  // namespace mcguard
