#include "proxy/core/connection.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "protocol/base64.h"
#include "protocol/get_line.h"
#include "protocol/meta.h"
#include "protocol/parser.h"
#include "protocol/response.h"
#include "proxy/core/rejection_log.h"
#include "proxy/core/version.h"

namespace mcguard {
namespace {

// Keys handed to the tier per retrieval request, at most: a get with more
// keys goes in batches, so its pending replies and reply text stay bounded
// and its first answers go out before the last keys are read.
constexpr uint32_t kRetrievalBatchKeys = 100;

// A value's iovecs: one per chain buffer. Config validation keeps chains
// within this, so a whole value is always described at once.
constexpr size_t kMaxValueIovecs = 1024;

uint32_t chain_buffers_for(uint64_t bytes, uint32_t buffer_size) {
  return static_cast<uint32_t>((bytes + buffer_size - 1) / buffer_size);
}

// memcached answers errors in a storage command's data even under noreply
// only for meta commands; classic noreply silences them.
bool reply_suppressed(const Request& request) {
  return request.noreply && request.command != Command::kMetaSet;
}

// The whole `version` reply, fixed at compile time.
constexpr std::string_view kVersionReply = "VERSION " MCGUARD_PROTOCOL_VERSION "\r\n";
static_assert(kVersionReply.starts_with(reply::kVersionPrefix));

bool is_local(Command command) {
  return command == Command::kVersion || command == Command::kVerbosity ||
         command == Command::kQuit || command == Command::kStats;
}

}  // namespace

Connection::Connection(ConnectionContext& context, std::string peer, int id)
    : context_(context),
      peer_(std::move(peer)),
      record_(id, &peer_, context.now_ms),
      replies_(context.pool,
               chain_buffers_for(context.max_reply_backlog, context.pool.buffer_size()) + 2),
      value_(context.pool,
             chain_buffers_for(context.max_value_size + 2, context.pool.buffer_size())),
      request_(context.request),
      last_active_ms_(context.now_ms),
      created_ms_(context.now_ms) {
  replies_.set_pending_pool(context.pending_replies);
  replies_.set_segment_spares(&context.reply_segments);
  replies_.set_owner_id(id);
  if (context_.registry != nullptr) context_.registry->add(&record_);
}

Connection::~Connection() {
  if (context_.registry != nullptr) context_.registry->remove(&record_);
  stop_waiting_for_pool();
  replies_.clear();
  // After clear(): the stream's reply slot no longer has a client to wake.
  if (value_stream_ != nullptr) value_stream_->abandon({});
  release_value_chain();
  if (receive_buffer_ != BufferPool::kNoBuffer) context_.pool.release(receive_buffer_);
  context_.parked_lines.give_back(std::move(parked_header_));
}

bool Connection::wants_read() const {
  return !close_now_ && !close_after_flush_ && !peer_closed_ && !waiting_for_pool_ &&
         !waiting_for_tier_ && !waiting_for_reply_room_ && !chain_budget_.waiting() &&
         replies_.pending_bytes() <= context_.max_reply_backlog;
}

bool Connection::idle() const {
  return state_ == InputState::kHeader && receive_start_ == receive_end_ &&
         parked_header_length_ == 0 && replies_.empty() && transport_idle();
}

uint32_t Connection::buffers_held() const {
  return (receive_buffer_ != BufferPool::kNoBuffer ? 1 : 0) + value_.buffer_count();
}

size_t Connection::plain_read_targets(iovec* out, size_t max_iov) {
  if (!wants_read() || max_iov == 0) return 0;
  if (state_ == InputState::kValue) {
    return value_.writable_iovecs(out, max_iov, value_remaining_);
  }
  if (receive_buffer_ == BufferPool::kNoBuffer) {
    receive_buffer_ = context_.pool.acquire();
    if (receive_buffer_ == BufferPool::kNoBuffer) return 0;
    receive_start_ = receive_end_ = 0;
    if (parked_header_length_ > 0) {
      std::memcpy(context_.pool.data(receive_buffer_), parked_header_.get(), parked_header_length_);
      receive_end_ = parked_header_length_;
      parked_header_length_ = 0;
      context_.parked_lines.give_back(std::move(parked_header_));
    }
  }
  const uint32_t size = context_.pool.buffer_size();
  if (receive_end_ == size) compact_receive_buffer();
  if (receive_end_ == size) return 0;  // a full buffer with no complete line: process() closes
  out[0].iov_base = context_.pool.data(receive_buffer_) + receive_end_;
  out[0].iov_len = size - receive_end_;
  return 1;
}

void Connection::plain_on_read(size_t n) {
  context_.stats.bytes_read.add(n);
  last_active_ms_ = context_.now_ms;
  if (state_ == InputState::kValue) {
    value_.commit(n);
    value_remaining_ -= n;
    if (value_stream_ != nullptr && value_remaining_ > 0) value_stream_->arrived(value_);
  } else {
    receive_end_ += static_cast<uint32_t>(n);
  }
  process();
}

size_t Connection::feed(const char* bytes, size_t n) {
  if (transport_) return feed_wire(bytes, n);
  size_t fed = 0;
  while (fed < n) {
    iovec targets[8];
    size_t count = plain_read_targets(targets, 8);
    if (count == 0) break;
    size_t copied = 0;
    for (size_t i = 0; i < count && fed + copied < n; ++i) {
      size_t take = std::min(targets[i].iov_len, n - fed - copied);
      std::memcpy(targets[i].iov_base, bytes + fed + copied, take);
      copied += take;
    }
    fed += copied;
    plain_on_read(copied);
  }
  return fed;
}

void Connection::on_read_idle() {
  // A read that found nothing lets go of the wire buffer it was offered.
  if (transport_) transport_->wire_received(0);
  release_receive_buffer_if_empty();
  park_partial_header();
}

bool Connection::reply_room() {
  // Small replies go into the queue's last text buffer or a free pool buffer.
  constexpr size_t kReplyRoom = 1024;
  if (replies_.text_spare() >= kReplyRoom || context_.pool.available() > 0) {
    waiting_for_reply_room_ = false;
    return true;
  }
  if (!waiting_for_reply_room_) {
    waiting_for_reply_room_ = true;
    reply_wait_started_ms_ = context_.now_ms;
  } else if (context_.now_ms - reply_wait_started_ms_ >= context_.pool_wait_timeout_ms) {
    // The pool stayed full: give up on this client rather than on memory.
    waiting_for_reply_room_ = false;
    context_.stats.closed_for_pool.add();
    close_now_ = true;
  }
  return false;
}

void Connection::mark_incomplete() {
  input_incomplete_ = true;
  if (incomplete_since_ms_ < 0) incomplete_since_ms_ = context_.now_ms;
}

void Connection::park_partial_header() {
  // A few bytes of an unfinished request line must not pin a whole pool
  // buffer while the client takes its time: they wait in the connection.
  // Only an unfinished request: complete ones wait for a reply backlog to
  // drain, a pool reservation or the tier, and are parsed from the buffer.
  if (receive_buffer_ == BufferPool::kNoBuffer || state_ != InputState::kHeader ||
      !input_incomplete_ || waiting_for_pool()) {
    return;
  }
  const uint32_t partial = receive_end_ - receive_start_;
  if (partial == 0 || partial > kParkedHeaderBytes || parked_header_length_ != 0) return;
  parked_header_ = context_.parked_lines.take();
  std::memcpy(parked_header_.get(), context_.pool.data(receive_buffer_) + receive_start_, partial);
  parked_header_length_ = static_cast<uint16_t>(partial);
  context_.pool.release(receive_buffer_);
  receive_buffer_ = BufferPool::kNoBuffer;
  receive_start_ = receive_end_ = 0;
}

void Connection::on_peer_closed() {
  peer_closed_ = true;
  close_after_flush_ = true;
  // The value will never complete: the stream's reply slot must not keep
  // the connection open waiting for it.
  if (value_stream_ != nullptr) std::exchange(value_stream_, nullptr)->abandon({});
}

void Connection::plain_on_written(size_t n) {
  context_.stats.bytes_written.add(n);
  last_active_ms_ = context_.now_ms;
  replies_.consume(n);
  // Parsing pauses while the reply backlog is over its limit; resume it.
  const bool parsing = state_ == InputState::kHeader || state_ == InputState::kGetLine;
  if (replies_.pending_bytes() <= context_.max_reply_backlog && !close_now_ &&
      !close_after_flush_ && parsing && receive_start_ < receive_end_) {
    process();
  }
}

void Connection::process() {
  record_.set_state(ConnectionState::kParseCommand);
  input_incomplete_ = false;  // until the parser asks for more
  while (!close_now_ && !close_after_flush_ &&
         replies_.pending_bytes() <= context_.max_reply_backlog) {
    const bool request_ready = state_ == InputState::kValue ? value_remaining_ == 0
                               : state_ == InputState::kHeader || state_ == InputState::kGetLine
                                   ? receive_start_ < receive_end_
                                   : false;
    if (request_ready && !reply_room()) break;
    if (state_ == InputState::kValue) {
      if (value_remaining_ > 0 || !finish_value_from_chain()) break;
    } else if (state_ == InputState::kSwallow) {
      uint64_t take = std::min<uint64_t>(receive_end_ - receive_start_, value_remaining_);
      receive_start_ += static_cast<uint32_t>(take);
      value_remaining_ -= take;
      if (value_remaining_ > 0) break;
      state_ = InputState::kHeader;
    } else if (state_ == InputState::kGetLine) {
      if (!take_key_batch()) break;
    } else if (state_ == InputState::kSkipLine) {
      if (!skip_line()) break;
    } else if (!process_one()) {
      break;
    } else {
      incomplete_since_ms_ = -1;  // a request was taken
    }
  }
  if (replies_.overflowed()) {
    context_.stats.closed_for_pool.add();
    close_now_ = true;
  }
  release_receive_buffer_if_empty();
  publish_state();
}

void Connection::publish_state() {
  ConnectionState state = took_command_ ? ConnectionState::kWaiting : ConnectionState::kNewCommand;
  if (state_ == InputState::kValue) {
    state = ConnectionState::kReadValue;
  } else if (state_ == InputState::kSwallow) {
    state = ConnectionState::kSwallow;
  } else if (state_ != InputState::kHeader || receive_start_ < receive_end_ ||
             parked_header_length_ > 0) {
    state = ConnectionState::kRead;
  }
  record_.set_state(state);
}

bool Connection::process_one() {
  if (receive_start_ == receive_end_) return false;
  const char* base = context_.pool.data(receive_buffer_);
  std::span<const char> input(base + receive_start_, receive_end_ - receive_start_);
  ParseResult result = parse_header(input, request_);
  switch (result.status) {
    case ParseResult::Status::kNeedMore:
      mark_incomplete();
      if (receive_start_ == 0 && receive_end_ == context_.pool.buffer_size()) {
        // A line longer than a whole receive buffer: a retrieval goes on key
        // by key; the parser has already closed on any other.
        if (begin_get_line()) return true;
        context_.stats.protocol_errors.add();
        close_now_ = true;
      }
      return false;
    case ParseResult::Status::kError:
      if (!result.accepted) context_.stats.protocol_errors.add();
      if (result.binary_protocol) context_.stats.binary_protocol_closes.add();
      if (!result.reply.empty()) reply_text(result.reply);
      receive_start_ += static_cast<uint32_t>(result.consumed);
      if (result.close) close_after_flush_ = true;
      if (result.swallow > 0) start_swallow(result.swallow);
      return true;
    case ParseResult::Status::kRequest:
      break;
  }
  // A request is parsed again while it waits (for its value, buffers or the
  // tier): it counts once, when it is taken.
  if (request_.has_value()) {
    const bool taken = begin_storage(result.consumed);
    if (taken) context_.stats.requests.add();
    return taken;
  }
  if (is_retrieval(request_.command) && request_.key_count > key_batch_limit() &&
      std::memchr(request_.line.data(), '\0', request_.line.size()) == nullptr) {
    // Too many keys for one request: the line goes in batches from its first key.
    receive_start_ += static_cast<uint32_t>(request_.keys.data() - input.data());
    begin_key_batches();
    return true;
  }
  if (is_local(request_.command)) {
    if (request_.command == Command::kStats) {
      // The upstream tier counts hits and misses as replies arrive: stats
      // waits until this client's earlier requests are answered, so it shows
      // them, as memcached's would.
      if (context_.pending_replies != nullptr && !replies_.empty()) {
        waiting_for_tier_ = true;
        return false;
      }
      // It may end in the tier, which must have room before any of it is written.
      if (!tier_ready()) return false;
    }
    handle_local_command();
  } else {
    if (!tier_ready()) return false;  // parsed again when the tier has room
    execute({});
  }
  context_.stats.requests.add();
  receive_start_ += static_cast<uint32_t>(result.consumed);
  return true;
}

bool Connection::begin_storage(size_t header_bytes) {
  if (!limit_decided_) {
    decided_limit_ = value_limit_for_request();
    limit_decided_ = true;
  }
  const bool done = admit_storage(header_bytes, decided_limit_);
  if (done) limit_decided_ = false;
  return done;
}

// The limit this request's value is held to. Observe mode lets a value over
// its limit through (counted and logged) up to the ceiling the chains and the
// store are sized for.
uint64_t Connection::value_limit_for_request() {
  const LimitPolicy* policy = context_.limits.current();
  if (policy == nullptr) return context_.max_value_size;
  const uint64_t length = request_.value_length;
  const LimitPolicy::Match match = policy->match(request_.key);
  context_.stats.value_sizes.record(match.slot, length);
  if (length <= match.limit) return match.limit;
  if (length > context_.max_value_size) {
    context_.stats.rejected_over_ceiling.add();
    return context_.max_value_size;
  }
  if (policy->mode() != LimitMode::kObserve) return match.limit;
  context_.stats.observed_over_limit.add();
  if (context_.rejection_log != nullptr) {
    context_.rejection_log->observed(peer_, request_.key, length, match.limit);
  }
  return context_.max_value_size;
}

bool Connection::admit_storage(size_t header_bytes, uint64_t limit) {
  const uint64_t length = request_.value_length;
  if (length > limit) {
    context_.stats.rejected_too_large.add();
    if (context_.rejection_log != nullptr) {
      context_.rejection_log->rejected("object too large", peer_, request_.key, length, limit);
    }
    if (!reply_suppressed(request_)) reply_text(reply::kTooLarge);
    unlink_rejected_key();
    receive_start_ += static_cast<uint32_t>(header_bytes);
    start_swallow(length + 2);
    return true;
  }

  const uint64_t total = header_bytes + length + 2;
  const uint32_t available = receive_end_ - receive_start_;
  if (available >= total) {
    if (!tier_ready()) return false;
    const char* value = context_.pool.data(receive_buffer_) + receive_start_ + header_bytes;
    if (value[length] != '\r' || value[length + 1] != '\n') {
      context_.stats.protocol_errors.add();
      if (!reply_suppressed(request_)) reply_text(reply::kBadDataChunk);
    } else {
      iovec iov{const_cast<char*>(value), length};
      execute({&iov, 1});
    }
    receive_start_ += static_cast<uint32_t>(total);
    return true;
  }
  const uint32_t size = context_.pool.buffer_size();
  if (total <= size) {
    // The whole request fits in the receive buffer: wait for the rest there.
    mark_incomplete();
    if (receive_start_ + total > size) compact_receive_buffer();
    return false;
  }

  // Too large for the receive buffer: the value goes into a chain reserved
  // whole up front, so chains never hold the pool half-filled.
  // First this connection's own budget, which counts its earlier values
  // until the tier lets their buffers go: past it, only this client waits.
  const uint32_t chain_buffers = chain_buffers_for(length + 2, size);
  if (!chain_budget_.admit(context_.pool, chain_buffers, context_.connection_chain_limit,
                           context_.stats)) {
    return false;
  }
  // The receive buffer that keeps the header while the value streams counts
  // against the chain share too.
  const uint32_t needed = chain_buffers + 1;
  const bool within_share =
      context_.stats.chain_buffers_in_use.get() + needed <= context_.chain_buffer_limit;
  if (!within_share || !value_.reserve(length + 2)) {
    // Backpressure: stop reading and wait for buffers, up to the timeout. A
    // waiting connection keeps its receive buffer, so only so many may wait;
    // past that the value is refused at once and the rest of the pool stays
    // free for every other connection.
    if (!waiting_for_pool_ && context_.stats.pool_waiters.get() < context_.max_pool_waiters) {
      waiting_for_pool_ = true;
      wait_started_ms_ = context_.now_ms;
      context_.stats.pool_waits.add();
      context_.stats.pool_waiters.add();
    }
    if (waiting_for_pool_ && context_.now_ms - wait_started_ms_ < context_.pool_wait_timeout_ms) {
      return false;
    }
    stop_waiting_for_pool();
    context_.stats.rejected_no_memory.add();
    if (context_.rejection_log != nullptr) {
      context_.rejection_log->rejected("out of memory", peer_, request_.key, length,
                                       context_.max_value_size);
    }
    if (!reply_suppressed(request_)) reply_text(reply::kOutOfMemory);
    unlink_rejected_key();
    receive_start_ += static_cast<uint32_t>(header_bytes);
    start_swallow(length + 2);
    return true;
  }
  stop_waiting_for_pool();
  chain_budget_.charge(value_, context_.stats);
  chain_charged_ = needed;
  context_.stats.chain_buffers_in_use.add(needed);
  value_started_ms_ = context_.now_ms;
  const uint32_t present = available - static_cast<uint32_t>(header_bytes);
  value_.append({context_.pool.data(receive_buffer_) + receive_start_ + header_bytes, present});
  receive_end_ = receive_start_ + static_cast<uint32_t>(header_bytes);
  header_bytes_ = static_cast<uint32_t>(header_bytes);
  value_remaining_ = length + 2 - present;
  state_ = InputState::kValue;
  offer_value_stream();
  return true;
}

void Connection::offer_value_stream() {
  // Only when the tier would take the request now: otherwise it waits for
  // the whole value and goes through execute() as usual.
  if (!context_.tier.can_accept(request_, replies_)) return;
  value_stream_ = context_.tier.stream_value(request_, replies_);
  if (value_stream_ != nullptr) count_for_stats();  // it never reaches execute()
  if (value_stream_ != nullptr && value_remaining_ > 0) value_stream_->arrived(value_);
}

bool Connection::tier_ready() {
  waiting_for_tier_ = !context_.tier.can_accept(request_, replies_);
  return !waiting_for_tier_;
}

void Connection::reparse_value_header() {
  const char* header = context_.pool.data(receive_buffer_) + receive_start_;
  const ParseResult again = parse_header({header, header_bytes_}, request_);
  assert(again.status == ParseResult::Status::kRequest && again.consumed == header_bytes_);
  (void)again;
}

bool Connection::finish_value_from_chain() {
  reparse_value_header();
  if (value_stream_ == nullptr && !tier_ready()) return false;
  const uint64_t length = request_.value_length;
  char terminator[2];
  // A stream may have taken the value's front already.
  value_.copy_out(value_.length() - 2, {terminator, 2});
  ValueStream* stream = std::exchange(value_stream_, nullptr);
  if (terminator[0] != '\r' || terminator[1] != '\n') {
    context_.stats.protocol_errors.add();
    const std::string_view error = reply_suppressed(request_) ? "" : reply::kBadDataChunk;
    if (stream != nullptr) {
      stream->abandon(error);
    } else if (!error.empty()) {
      reply_text(error);
    }
  } else if (stream != nullptr) {
    stream->complete(value_);
  } else {
    iovec iov[kMaxValueIovecs];
    size_t count = value_.iovecs(0, length, iov, kMaxValueIovecs);
    execute({iov, count}, &value_);
  }
  release_value_chain();
  receive_start_ += header_bytes_;
  header_bytes_ = 0;
  state_ = InputState::kHeader;
  return true;
}

void Connection::execute(std::span<const iovec> value, BufferChain* value_chain) {
  count_for_stats();
  context_.tier.execute(request_, value, replies_, value_chain);
}

void Connection::count_for_stats() {
  // Once per request (or per batch of a long get line's keys), when the tier takes it.
  took_command_ = true;
  record_.took_command(context_.now_ms);
  if (request_.command >= Command::kMetaGet) context_.stats.meta_commands.add();
  if (context_.detail != nullptr && context_.detail->enabled()) {
    context_.detail->record_request(request_);
  }
}

void Connection::reply_text(std::string_view text) { replies_.append_text(text); }

void Connection::stop_waiting_for_pool() {
  if (!waiting_for_pool_) return;
  waiting_for_pool_ = false;
  context_.stats.pool_waiters.sub();
}

void Connection::release_value_chain() {
  value_.release();
  context_.stats.chain_buffers_in_use.sub(chain_charged_);
  chain_charged_ = 0;
}

uint32_t Connection::key_batch_limit() const {
  return std::min(kRetrievalBatchKeys, context_.tier.retrieval_batch_limit());
}

bool Connection::begin_get_line() {
  const char* base = context_.pool.data(receive_buffer_);
  request_ = Request{};
  const ParseResult head =
      parse_long_retrieval_head({base + receive_start_, receive_end_ - receive_start_}, request_);
  switch (head.status) {
    case ParseResult::Status::kNeedMore:
      return false;
    case ParseResult::Status::kError:
      context_.stats.protocol_errors.add();
      reply_text(head.reply);
      state_ = InputState::kSkipLine;
      return true;
    case ParseResult::Status::kRequest:
      break;
  }
  receive_start_ += static_cast<uint32_t>(head.consumed);
  begin_key_batches();
  return true;
}

void Connection::begin_key_batches() {
  state_ = InputState::kGetLine;
  get_line_keys_ = 0;
  get_line_command_ = request_.command;
  get_line_exptime_ = static_cast<int32_t>(request_.exptime);  // parsed as an int32
}

void Connection::rebuild_get_line_request() {
  request_ = Request{};
  request_.command = get_line_command_;
  request_.exptime = get_line_exptime_;
}

bool Connection::take_key_batch() {
  rebuild_get_line_request();
  const char* base = context_.pool.data(receive_buffer_);
  const KeyBatch batch =
      next_key_batch({base + receive_start_, receive_end_ - receive_start_}, key_batch_limit());
  if (batch.key_too_long) {
    // Answers already sent for earlier keys stay sent: the error ends the reply.
    context_.stats.protocol_errors.add();
    reply_text(reply::kBadCommandLineFormat);
    state_ = InputState::kSkipLine;
    return true;
  }
  if (batch.count == 0 && !batch.line_ended) {
    receive_start_ += static_cast<uint32_t>(batch.consumed);
    mark_incomplete();
    return false;
  }
  request_.keys = batch.keys;
  request_.key_count = batch.count;
  request_.key = batch.keys.substr(0, batch.keys.find(' '));
  request_.more_keys_follow = !batch.line_ended;
  const bool no_keys_at_all = batch.line_ended && batch.count == 0 && get_line_keys_ == 0;
  if (no_keys_at_all && (request_.command == Command::kGet || request_.command == Command::kGets)) {
    // memcached's get needs a key: spaces alone are an unknown command.
    context_.stats.protocol_errors.add();
    reply_text(reply::kError);
  } else {
    if (!tier_ready()) return false;  // taken again when the tier has room
    execute({});
  }
  get_line_keys_ += batch.count;
  receive_start_ += static_cast<uint32_t>(batch.consumed);
  incomplete_since_ms_ = -1;  // the line moves on
  if (batch.line_ended) {
    state_ = InputState::kHeader;
    context_.stats.requests.add();
  }
  return true;
}

bool Connection::skip_line() {
  const char* start = context_.pool.data(receive_buffer_) + receive_start_;
  const uint32_t available = receive_end_ - receive_start_;
  const void* newline = std::memchr(start, '\n', available);
  if (newline == nullptr) {
    receive_start_ = receive_end_;
    mark_incomplete();
    return false;
  }
  receive_start_ += static_cast<uint32_t>(static_cast<const char*>(newline) - start) + 1;
  state_ = InputState::kHeader;
  return true;
}

void Connection::start_swallow(uint64_t bytes) {
  state_ = InputState::kSwallow;
  value_remaining_ = bytes;
  value_started_ms_ = context_.now_ms;
}

bool Connection::timed_out(int64_t now_ms) {
  // A TLS handshake left unfinished holds a session's memory: a slow client.
  if (transport_ && !transport_->handshake_done() && context_.slow_client_timeout_ms > 0 &&
      now_ms - created_ms_ >= context_.slow_client_timeout_ms) {
    context_.stats.slow_client_closes.add();
    return true;
  }
  const bool mid_value = state_ == InputState::kValue || state_ == InputState::kSwallow;
  if (mid_value && context_.slow_client_timeout_ms > 0 &&
      now_ms - value_started_ms_ >= context_.slow_client_timeout_ms) {
    context_.stats.slow_client_closes.add();
    return true;
  }
  // A request that stays incomplete is a slow client too (slowloris).
  const bool mid_line = state_ == InputState::kGetLine || state_ == InputState::kSkipLine;
  const bool incomplete = !mid_value && input_incomplete_ && incomplete_since_ms_ >= 0 &&
                          (mid_line || receive_start_ < receive_end_ || parked_header_length_ > 0);
  if (incomplete && context_.slow_client_timeout_ms > 0 &&
      now_ms - incomplete_since_ms_ >= context_.slow_client_timeout_ms) {
    context_.stats.slow_client_closes.add();
    return true;
  }
  if (context_.idle_timeout_ms > 0 && idle() && !waiting_for_pool() &&
      now_ms - last_active_ms_ >= context_.idle_timeout_ms) {
    context_.stats.idle_closes.add();
    return true;
  }
  return false;
}

void Connection::unlink_rejected_key() {
  // As memcached does: a failed set (or ms) must not leave the old value readable.
  if (request_.command == Command::kSet) {
    context_.tier.remove_stale(request_.key, replies_);
  } else if (request_.command == Command::kMetaSet) {
    if (!request_.meta.has('b')) {
      context_.tier.remove_stale(request_.key, replies_);
      return;
    }
    char decoded[kMaxKeyLength];
    size_t length = base64_decode(request_.key, decoded);
    if (length > 0) context_.tier.remove_stale({decoded, length}, replies_);
  }
}

void Connection::handle_local_command() {
  took_command_ = true;
  record_.took_command(context_.now_ms);
  switch (request_.command) {
    case Command::kVersion:
      reply_text(kVersionReply);
      break;
    case Command::kVerbosity:
      if (!request_.noreply) reply_text(reply::kOk);
      break;
    case Command::kQuit:
      close_after_flush_ = true;
      break;
    case Command::kStats:
      if (!context_.render_stats) {
        reply_text(reply::kEnd);
      } else if (!context_.render_stats(request_.args, replies_)) {
        execute({});
      }
      break;
    default:
      break;
  }
}

void Connection::compact_receive_buffer() {
  if (receive_start_ == 0) return;
  char* base = context_.pool.data(receive_buffer_);
  std::memmove(base, base + receive_start_, receive_end_ - receive_start_);
  receive_end_ -= receive_start_;
  receive_start_ = 0;
}

void Connection::release_receive_buffer_if_empty() {
  if (receive_buffer_ == BufferPool::kNoBuffer || state_ == InputState::kValue) return;
  if (receive_start_ != receive_end_) return;
  context_.pool.release(receive_buffer_);
  receive_buffer_ = BufferPool::kNoBuffer;
  receive_start_ = receive_end_ = 0;
}

}  // namespace mcguard
