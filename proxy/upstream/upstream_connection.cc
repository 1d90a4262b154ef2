#include "proxy/upstream/upstream_connection.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <utility>

#include "protocol/split_manifest.h"
#include "proxy/upstream/stats_merge.h"

namespace mcguard {
namespace {

constexpr size_t kInitialInflight = 64;
// Request bytes queued for one upstream connection, at most (in buffers).
constexpr uint32_t kMaxQueuedBuffers = UINT32_MAX;

bool is_error(ReplyKind kind) {
  return kind == ReplyKind::kError || kind == ReplyKind::kClientError ||
         kind == ReplyKind::kServerError;
}

}  // namespace

uint64_t upstream_key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

std::string_view without_meta_token(std::string_view line, char flag, std::span<char> out) {
  // Tokens after the status word (and a VA's size) are flags: a letter, then a token.
  size_t length = 0;
  size_t start = 0;
  bool first = true;
  while (start < line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view token = line.substr(start, end - start);
    const bool numeric_size = !first && line.starts_with("VA ") && start == 3;
    if (first || numeric_size || token.empty() || token[0] != flag) {
      if (length > 0) out[length++] = ' ';
      std::memcpy(out.data() + length, token.data(), token.size());
      length += token.size();
    }
    first = false;
    start = end + 1;
  }
  return {out.data(), length};
}

UpstreamConnection::UpstreamConnection(UpstreamServer& server, UpstreamContext& context)
    : server_(server),
      context_(context),
      out_(context.pool, kMaxQueuedBuffers),
      inflight_(kInitialInflight),
      receive_buffer_(BufferPool::kNoBuffer) {
  line_text_.reserve(kMaxLineBytes);
}

UpstreamConnection::~UpstreamConnection() {
  if (fd_ >= 0) context_.reactor.close_socket(fd_);
  release_receive_buffer();
  // At shutdown: the engine has stopped, nothing more will complete.
  for (Retired& old : retired_) {
    context_.reactor.close_socket(old.fd);
    if (old.receive_buffer != BufferPool::kNoBuffer) context_.pool.release(old.receive_buffer);
    if (old.tls_landing != BufferPool::kNoBuffer) context_.tls_pool->release(old.tls_landing);
    old.out.release();
  }
  if (tls_landing_ != BufferPool::kNoBuffer) context_.tls_pool->release(tls_landing_);
}

bool UpstreamConnection::queue(std::string_view bytes) {
  if (!out_.reserve(bytes.size())) return false;
  out_.append({bytes.data(), bytes.size()});
  return true;
}

bool UpstreamConnection::queue(std::span<const iovec> bytes) {
  size_t total = 0;
  for (const iovec& part : bytes) total += part.iov_len;
  if (!out_.reserve(total)) return false;
  for (const iovec& part : bytes)
    out_.append({static_cast<const char*>(part.iov_base), part.iov_len});
  return true;
}

void UpstreamConnection::end_data_block() {
  const UpstreamSecurity* security = context_.security;
  if (security == nullptr || security->tls() == nullptr) return;
  const uint64_t end = out_taken_ + out_.length();
  if (record_ends_head_ < record_ends_.size() && record_ends_.back() == end) return;
  record_ends_.push_back(end);
}

void UpstreamConnection::expect(Expectation expectation, Command command, PendingReply* slot) {
  context_.unflushed = true;
  if (inflight_count_ == inflight_.size()) {
    std::vector<Inflight> grown(inflight_.size() * 2);
    for (size_t i = 0; i < inflight_count_; ++i) {
      grown[i] = inflight_[(inflight_head_ + i) % inflight_.size()];
    }
    inflight_.swap(grown);
    inflight_head_ = 0;
  }
  const int64_t deadline = context_.reactor.now_ms() + context_.settings.timeout_ms;
  inflight_[(inflight_head_ + inflight_count_) % inflight_.size()] =
      Inflight{expectation, command, slot, deadline, monotonic_us(), false};
  ++inflight_count_;
  server_.requests.add();
}

void UpstreamConnection::flush() {
  if (!end_retrieval_line()) {
    fail("out of memory");
    return;
  }
  if (out_.empty()) return;
  if (state_ == State::kClosed && !connect()) return;
  if (state_ == State::kConnected) write_queued();
}

bool UpstreamConnection::connect() {
  fd_ = socket(server_.socket_address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    fail("upstream unavailable");
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  receive_buffer_ = context_.pool.acquire();
  if (receive_buffer_ == BufferPool::kNoBuffer) {
    fail("out of memory");
    return false;
  }
  if (!start_session()) return false;
  int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&server_.socket_address),
                     server_.socket_address_length);
  if (rc == 0) {
    if (!context_.reactor.completes_io()) context_.reactor.watch(fd_, this, false);
    if (!on_connected()) return false;
    if (context_.reactor.completes_io()) start_completion_io();
    return true;
  }
  if (errno != EINPROGRESS) {
    fail(errno == ECONNREFUSED ? "upstream connection refused" : "upstream unavailable");
    return false;
  }
  state_ = State::kConnecting;
  connect_deadline_ms_ = context_.reactor.now_ms() + context_.settings.timeout_ms;
  watching_write_ = true;
  context_.reactor.watch(fd_, this, true);
  return true;
}

bool UpstreamConnection::start_session() {
  handshake_counted_ = false;
  auth_sent_ = 0;
  sending_auth_ = false;
  const UpstreamSecurity* security = context_.security;
  // Loaded per connection: after SIGHUP new connections use the new credentials.
  credentials_ = security != nullptr ? security->credentials() : nullptr;
  authenticated_ = credentials_ == nullptr;
  if (security == nullptr || security->tls() == nullptr) return true;
  tls_ = tls::TlsStream::connect(*context_.tls_pool, *security->tls(), server_.address.host,
                                 server_.name);
  if (tls_ == nullptr) {
    server_.log_security_failure(context_.reactor.now_ms(), "cannot start a TLS session");
    fail("upstream TLS handshake failed");
    return false;
  }
  return true;
}

bool UpstreamConnection::on_connected() {
  state_ = State::kConnected;
  // Under TLS the first read queues the ClientHello.
  return tls_ == nullptr || drain_tls();
}

void UpstreamConnection::on_writable() {
  if (state_ == State::kConnecting) {
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      fail(error == ECONNREFUSED ? "upstream connection refused" : "upstream unavailable");
      return;
    }
    if (!on_connected()) return;
    if (context_.reactor.completes_io()) {
      // Connected: from here the engine moves the bytes.
      context_.reactor.unwatch(fd_);
      watching_write_ = false;
      start_completion_io();
      return;
    }
  }
  write_queued();
}

void UpstreamConnection::start_completion_io() {
  submit_receive();
  if (state_ == State::kConnected) write_queued();
}

bool UpstreamConnection::make_receive_room() {
  const uint32_t size = context_.pool.buffer_size();
  if (receive_end_ < size) return true;
  if (receive_start_ == 0) return false;
  char* base = context_.pool.data(receive_buffer_);
  std::memmove(base, base + receive_start_, receive_end_ - receive_start_);
  receive_end_ -= receive_start_;
  receive_start_ = 0;
  return true;
}

void UpstreamConnection::submit_receive() {
  if (tls_ != nullptr) {
    if (tls_landing_ == BufferPool::kNoBuffer) tls_landing_ = context_.tls_pool->acquire();
    if (tls_landing_ == BufferPool::kNoBuffer) {
      fail("out of memory");
      return;
    }
    context_.reactor.submit_receive(fd_, this, context_.tls_pool->data(tls_landing_),
                                    context_.tls_pool->buffer_size());
    receive_inflight_ = true;
    return;
  }
  if (!make_receive_room()) {
    fail("upstream sent a malformed reply");
    return;
  }
  context_.reactor.submit_receive(fd_, this, context_.pool.data(receive_buffer_) + receive_end_,
                                  context_.pool.buffer_size() - receive_end_);
  receive_inflight_ = true;
}

void UpstreamConnection::on_received(int fd, int result) {
  if (fd != fd_) {
    on_retired_io(fd, true);
    return;
  }
  receive_inflight_ = false;
  if (result <= 0) {
    fail(result == 0 ? "upstream closed the connection" : "upstream connection lost");
    return;
  }
  if (tls_ != nullptr) {
    const char* landed = context_.tls_pool->data(tls_landing_);
    size_t left = static_cast<size_t>(result);
    int stalls = 0;
    while (left > 0) {
      const size_t taken = tls_->put_wire(landed, left);
      landed += taken;
      left -= taken;
      if (!drain_tls()) return;  // makes room in the session
      stalls = taken == 0 ? stalls + 1 : 0;
      if (stalls > 1) {
        fail("upstream TLS session stalled");
        return;
      }
    }
    if (!drain_tls()) return;
    write_queued();  // handshake messages, the auth request, requests held for the handshake
  } else {
    receive_end_ += static_cast<uint32_t>(result);
    handle_replies();
  }
  if (state_ == State::kConnected && fd == fd_ && !receive_inflight_) submit_receive();
}

void UpstreamConnection::on_sent(int fd, int result) {
  if (fd != fd_) {
    on_retired_io(fd, false);
    return;
  }
  send_inflight_ = false;
  if (result < 0) {
    fail("upstream connection lost");
    return;
  }
  sent(static_cast<size_t>(result));
  write_queued();
}

void UpstreamConnection::retire_socket() {
  context_.reactor.cancel_io(fd_);
  retired_.push_back(Retired{fd_, receive_buffer_, std::move(out_), std::move(tls_),
                             std::move(credentials_), receive_inflight_, send_inflight_,
                             tls_landing_});
  tls_landing_ = BufferPool::kNoBuffer;
  receive_buffer_ = BufferPool::kNoBuffer;
  receive_start_ = receive_end_ = 0;
  receive_inflight_ = send_inflight_ = false;
  fd_ = -1;
}

void UpstreamConnection::on_retired_io(int fd, bool receive) {
  for (size_t i = 0; i < retired_.size(); ++i) {
    Retired& old = retired_[i];
    if (old.fd != fd) continue;
    (receive ? old.receive_inflight : old.send_inflight) = false;
    if (old.receive_inflight || old.send_inflight) return;
    context_.reactor.close_socket(old.fd);
    if (old.receive_buffer != BufferPool::kNoBuffer) context_.pool.release(old.receive_buffer);
    old.out.release();
    old.tls.reset();
    if (old.tls_landing != BufferPool::kNoBuffer) context_.tls_pool->release(old.tls_landing);
    retired_.erase(retired_.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
}

size_t UpstreamConnection::next_send(iovec* iov, size_t max_iov) {
  sending_auth_ = false;
  if (tls_ != nullptr) {
    encrypt_queued();
    return tls_->has_wire_output() ? tls_->wire_output(iov, max_iov) : 0;
  }
  if (!authenticated_) {
    // Nothing else goes until the server has accepted the credentials.
    const std::string& request = credentials_->request;
    if (auth_sent_ >= request.size()) return 0;
    sending_auth_ = true;
    iov[0] = {const_cast<char*>(request.data()) + auth_sent_, request.size() - auth_sent_};
    return 1;
  }
  return out_.empty() ? 0 : out_.iovecs(0, out_.length(), iov, max_iov);
}

void UpstreamConnection::sent(size_t n) {
  if (tls_ != nullptr) {
    tls_->wire_sent(n);
  } else if (sending_auth_) {
    auth_sent_ += n;
  } else {
    out_.consume(n);
  }
}

void UpstreamConnection::encrypt_queued() {
  if (!tls_->handshake_done() || tls_->status() != Transport::Status::kOpen) return;
  if (!authenticated_) {
    const std::string& request = credentials_->request;
    if (auth_sent_ < request.size()) {
      const iovec part{const_cast<char*>(request.data()) + auth_sent_, request.size() - auth_sent_};
      auth_sent_ += tls_->write_plain(&part, 1);
    }
    return;
  }
  // The session copies what it takes into its output: the chain's buffers go back at once.
  // Each iovec is a write of its own, so a record ends where a write stops: at the
  // next data block's end at the latest.
  while (!out_.empty()) {
    while (record_ends_head_ < record_ends_.size() && record_ends_[record_ends_head_] <= out_taken_)
      ++record_ends_head_;
    if (record_ends_head_ == record_ends_.size()) {
      record_ends_.clear();
      record_ends_head_ = 0;
    }
    size_t length = out_.length();
    if (record_ends_head_ < record_ends_.size()) {
      length = std::min<uint64_t>(length, record_ends_[record_ends_head_] - out_taken_);
    }
    iovec iov[IOV_MAX];
    const size_t count = out_.iovecs(0, length, iov, IOV_MAX);
    const size_t taken = tls_->write_plain(iov, count);
    if (taken == 0) break;
    out_.consume(taken);
    out_taken_ += taken;
  }
}

bool UpstreamConnection::drain_tls() {
  const uint32_t size = context_.pool.buffer_size();
  for (;;) {
    if (!make_receive_room()) {
      fail("upstream sent a malformed reply");
      return false;
    }
    char* base = context_.pool.data(receive_buffer_);
    const size_t got = tls_->read_plain(base + receive_end_, size - receive_end_);
    if (!check_tls()) return false;
    if (got == 0) return true;
    receive_end_ += static_cast<uint32_t>(got);
    handle_replies();
    if (state_ != State::kConnected) return false;
  }
}

bool UpstreamConnection::check_tls() {
  const bool established = tls_->handshake_done();
  if (tls_->status() == Transport::Status::kFailed) {
    server_.log_security_failure(
        context_.reactor.now_ms(),
        std::string(established ? "TLS session failed: " : "TLS handshake failed: ") +
            tls_->failure());
    fail(established ? "upstream TLS session failed" : "upstream TLS handshake failed");
    return false;
  }
  if (tls_->status() == Transport::Status::kClosed) {
    fail("upstream closed the connection");
    return false;
  }
  if (established && !handshake_counted_) {
    handshake_counted_ = true;
    (tls_->session_reused() ? server_.tls_resumptions : server_.tls_handshakes).add();
    context_.unflushed = true;  // requests held for the handshake may go now
  }
  return true;
}

void UpstreamConnection::read_tls() {
  for (;;) {
    std::span<char> space = tls_->wire_receive_space();
    if (space.empty()) {
      if (!drain_tls()) return;
      space = tls_->wire_receive_space();
      if (space.empty()) {
        fail("upstream TLS session stalled");
        return;
      }
    }
    const ssize_t n = read(fd_, space.data(), space.size());
    if (n > 0) {
      tls_->wire_received(static_cast<size_t>(n));
      if (!drain_tls()) return;
      if (static_cast<size_t>(n) < space.size()) break;  // drained for now
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail(n == 0 ? "upstream closed the connection" : "upstream connection lost");
    return;
  }
  write_queued();  // handshake messages, the auth request, requests held for the handshake
}

bool UpstreamConnection::handle_auth_reply(const Reply& reply, std::string_view line) {
  if (reply.kind == ReplyKind::kStored) {
    authenticated_ = true;
    context_.unflushed = true;  // the requests held for it may go now
    return true;
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  server_.log_security_failure(
      context_.reactor.now_ms(),
      "rejected the credentials of '" + context_.security->auth_file() + "': " + std::string(line));
  fail("upstream authentication failed");
  return false;
}

void UpstreamConnection::write_queued() {
  if (context_.reactor.completes_io()) {
    // One send in flight at a time; what is queued meanwhile goes in the next.
    if (send_inflight_ || state_ != State::kConnected) return;
    iovec iov[IOV_MAX];
    const size_t count = next_send(iov, IOV_MAX);
    if (count == 0) return;
    context_.reactor.submit_send(fd_, this, iov, count);
    send_inflight_ = true;
    return;
  }
  for (;;) {
    iovec iov[IOV_MAX];
    const size_t count = next_send(iov, IOV_MAX);
    if (count == 0) break;
    ssize_t n = writev(fd_, iov, static_cast<int>(count));
    if (n > 0) {
      sent(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail("upstream connection lost");
    return;
  }
  update_watch();
}

void UpstreamConnection::update_watch() {
  bool want_write;
  if (tls_ != nullptr) {
    want_write = tls_->has_wire_output();
  } else if (!authenticated_) {
    want_write = auth_sent_ < credentials_->request.size();
  } else {
    want_write = !out_.empty();
  }
  if (fd_ >= 0 && want_write != watching_write_) {
    watching_write_ = want_write;
    context_.reactor.watch(fd_, this, want_write);
  }
}

void UpstreamConnection::on_readable() {
  if (state_ != State::kConnected) {
    if (state_ == State::kConnecting) on_writable();
    // Once connected under a completion engine, receives are submitted instead.
    if (state_ != State::kConnected || context_.reactor.completes_io()) return;
  }
  if (tls_ != nullptr) {
    read_tls();
    return;
  }
  const uint32_t size = context_.pool.buffer_size();
  for (;;) {
    if (receive_end_ == size) {
      if (receive_start_ == 0) {
        fail("upstream sent a malformed reply");
        return;
      }
      char* base = context_.pool.data(receive_buffer_);
      std::memmove(base, base + receive_start_, receive_end_ - receive_start_);
      receive_end_ -= receive_start_;
      receive_start_ = 0;
    }
    const uint32_t room = size - receive_end_;
    ssize_t n = read(fd_, context_.pool.data(receive_buffer_) + receive_end_, room);
    if (n > 0) {
      receive_end_ += static_cast<uint32_t>(n);
      handle_replies();
      if (state_ != State::kConnected) return;
      if (static_cast<uint32_t>(n) < room) return;  // drained for now
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fail(n == 0 ? "upstream closed the connection" : "upstream connection lost");
    return;
  }
}

void UpstreamConnection::handle_replies() {
  char* base = context_.pool.data(receive_buffer_);
  while (receive_start_ < receive_end_) {
    if (!authenticated_) {
      Reply reply;
      const ReplyParseResult result =
          parse_reply_header({base + receive_start_, receive_end_ - receive_start_}, reply, 0);
      if (result.status == ReplyParseResult::kNeedMore) break;
      const std::string_view line(base + receive_start_, result.consumed);
      if (result.status == ReplyParseResult::kMalformed) {
        fail("upstream sent a malformed reply");
        return;
      }
      receive_start_ += static_cast<uint32_t>(result.consumed);
      if (!handle_auth_reply(reply, line)) return;
      continue;
    }
    if (in_data_) {
      const uint64_t available = receive_end_ - receive_start_;
      const uint64_t take = std::min(available, data_remaining_);
      // The block must end in "\r\n": check the bytes that fall on those two places.
      for (uint64_t left = 2; left >= 1; --left) {
        if (data_remaining_ >= left && data_remaining_ - left < take &&
            base[receive_start_ + (data_remaining_ - left)] != (left == 2 ? '\r' : '\n')) {
          fail("upstream sent a malformed reply");
          return;
        }
      }
      if (data_target_ != nullptr) data_target_->append_reserved({base + receive_start_, take});
      receive_start_ += static_cast<uint32_t>(take);
      data_remaining_ -= take;
      if (data_remaining_ > 0) break;
      finish_data();
      continue;
    }
    Reply reply;
    ReplyParseResult result =
        parse_reply_header({base + receive_start_, receive_end_ - receive_start_}, reply,
                           context_.settings.max_value_size);
    if (result.status == ReplyParseResult::kNeedMore) break;
    if (result.status == ReplyParseResult::kMalformed) {
      fail("upstream sent a malformed reply");
      return;
    }
    std::string_view line(base + receive_start_, result.consumed);
    receive_start_ += static_cast<uint32_t>(result.consumed);
    if (!handle_reply(reply, line)) {
      fail("upstream sent an unexpected reply");
      return;
    }
  }
  if (receive_start_ == receive_end_) receive_start_ = receive_end_ = 0;
}

bool UpstreamConnection::handle_reply(const Reply& reply, std::string_view line) {
  if (inflight_count_ == 0) return false;
  Inflight& head = inflight_[inflight_head_];
  switch (head.expectation) {
    case Expectation::kSingle:
      if (reply_role(head.command, reply.kind) != ReplyRole::kLast) return false;
      server_.record_success();
      deliver(head.slot, line, reply);
      if (!reply.has_value()) {
        complete(head.slot);
        pop_front();
      }
      return true;
    case Expectation::kQuiet:
      if (reply.kind == ReplyKind::kMetaNoop) {
        server_.record_success();
        complete(head.slot);
        pop_front();
        return true;
      }
      deliver(head.slot, line, reply);
      return true;
    case Expectation::kGather:
    case Expectation::kGatherLine: {
      ReplyRole role = reply_role(head.command, reply.kind);
      if (role == ReplyRole::kUnexpected || reply.has_value()) return false;
      if (head.expectation == Expectation::kGatherLine) role = ReplyRole::kLast;
      gather(head, line, role == ReplyRole::kLast);
      if (role == ReplyRole::kLast) {
        server_.record_success();
        complete(head.slot);
        pop_front();
      }
      return true;
    }
    case Expectation::kRetrieval:
      if (reply.kind == ReplyKind::kEnd || is_error(reply.kind)) {
        server_.record_success();
        for (PendingReply* slot = head.slot; slot != nullptr;) {
          PendingReply* next = slot->next_in_batch;
          if (is_error(reply.kind)) {
            context_.groups.fail(slot, "upstream error");
          } else {
            context_.groups.complete(slot);
          }
          slot = next;
        }
        pop_front();
        return true;
      }
      if (reply.kind != ReplyKind::kValue) return false;
      {
        // Servers answer hits in the order asked; keys before this one missed.
        const uint64_t hash = upstream_key_hash(reply.key);
        // A VALUE for no key still awaited means the server is out of step: fail
        // before completing any slot, or the keys skipped so far would reach their
        // clients as misses rather than errors. The scan stops where the skip
        // below would, so a batch costs no more than before.
        PendingReply* match = head.slot;
        while (match != nullptr && match->key_hash != hash) match = match->next_in_batch;
        if (match == nullptr) return false;
        while (head.slot != match) {
          PendingReply* missed = head.slot;
          head.slot = missed->next_in_batch;
          context_.groups.complete(missed);
        }
        deliver(head.slot, line, reply);
      }
      return true;
  }
  return false;
}

void UpstreamConnection::gather(Inflight& head, std::string_view line, bool last) {
  PendingReply* slot = head.slot;
  if (slot == nullptr) return;
  // Past the bound, lines are dropped; the END always fits (it is the last line).
  const bool within = last || slot->size() + line.size() <= kMaxGatheredStatsReply;
  if (within && slot->append(line)) return;
  if (last) {
    // No room even for END: this upstream is left out of the merged reply.
    context_.groups.fail(slot, "out of memory");
    head.slot = nullptr;
    return;
  }
  if (!head.cut && context_.command_stats != nullptr)
    context_.command_stats->stats_replies_cut.add();
  head.cut = true;
}

bool UpstreamConnection::deliver(PendingReply* slot, std::string_view line, const Reply& reply) {
  char stripped[kMaxReplyLineLength + 2];
  if (slot != nullptr && slot->leader->strip_key_token) {
    // The "k" mcguard added goes, except on what may be an index, which keeps
    // it until the key is read (the split read drops it then).
    const std::string_view body = line.substr(0, line.size() - 2);
    if (!may_be_index(slot, reply)) {
      line = without_meta_token(body, 'k', stripped);
      stripped[line.size()] = '\r';
      stripped[line.size() + 1] = '\n';
      line = {stripped, line.size() + 2};
    }
  }
  if (!reply.has_value()) {
    if (slot != nullptr && !slot->append(line) && slot->leader->failure == nullptr) {
      slot->leader->failure = "out of memory";
    }
    return true;
  }
  in_data_ = true;
  data_remaining_ = reply.value_length + 2;
  data_target_ = nullptr;
  // Only a client's get-family reply can be a split value's index: internal
  // requests read their replies as they are.
  data_may_be_index_ = may_be_index(slot, reply);
  if (slot == nullptr) return true;
  if (slot->reserve(line.size() + data_remaining_)) {
    slot->append_reserved({line.data(), line.size()});
    data_target_ = slot;
  } else if (slot->leader->failure == nullptr) {
    slot->leader->failure = "out of memory";  // the data is read and dropped
  }
  return true;
}

bool UpstreamConnection::may_be_index(const PendingReply* slot, const Reply& reply) const {
  // (An mg reply carries flags only when asked for them: its data tells.)
  const Inflight& head = inflight_[inflight_head_];
  return context_.split != nullptr && slot != nullptr && slot->leader->observer == nullptr &&
         reply.value_length >= split::encoded_size(1) &&
         reply.value_length <= context_.settings.max_manifest_bytes &&
         ((reply.kind == ReplyKind::kValue && reply.flags == split::kIndexFlags) ||
          (reply.kind == ReplyKind::kMetaValue && head.expectation != Expectation::kRetrieval));
}

void UpstreamConnection::finish_data() {
  in_data_ = false;
  data_target_ = nullptr;
  const bool index_candidate = std::exchange(data_may_be_index_, false);
  Inflight& head = inflight_[inflight_head_];
  switch (head.expectation) {
    case Expectation::kSingle:
      if (index_candidate && head.slot->leader->failure == nullptr) {
        PendingReply* done = head.slot;
        pop_front();
        context_.split->take_index(done);
      } else {
        complete(head.slot);
        pop_front();
      }
      break;
    case Expectation::kQuiet:
      if (index_candidate && head.slot->leader->failure == nullptr) {
        context_.split->screen_meta_value(head.slot);
      }
      break;  // more replies may follow until MN
    case Expectation::kGather:
    case Expectation::kGatherLine:
      break;  // stats replies carry no data blocks
    case Expectation::kRetrieval: {
      PendingReply* done = head.slot;
      head.slot = done->next_in_batch;
      if (index_candidate && done->leader->failure == nullptr) {
        context_.split->take_index(done);
      } else {
        complete(done);
      }
      break;
    }
  }
}

void UpstreamConnection::complete(PendingReply* slot) {
  if (slot != nullptr) context_.groups.complete(slot);
}

void UpstreamConnection::pop_front() {
  const int64_t elapsed = monotonic_us() - inflight_[inflight_head_].queued_us;
  server_.reply_latency.record(static_cast<uint64_t>(elapsed > 0 ? elapsed : 0));
  inflight_head_ = (inflight_head_ + 1) % inflight_.size();
  --inflight_count_;
}

void UpstreamConnection::check_timeout(int64_t now_ms) {
  if (state_ == State::kConnecting && now_ms >= connect_deadline_ms_) {
    fail("upstream connect timeout");
  } else if (inflight_count_ > 0 && inflight_[inflight_head_].deadline_ms <= now_ms) {
    if (state_ == State::kConnected && !session_ready()) {
      fail(tls_ != nullptr && !tls_->handshake_done() ? "upstream TLS handshake timeout"
                                                      : "upstream authentication timeout");
    } else {
      fail("upstream timeout");
    }
  }
}

int64_t UpstreamConnection::next_deadline_ms() const {
  if (state_ == State::kConnecting) return connect_deadline_ms_;
  if (inflight_count_ > 0) return inflight_[inflight_head_].deadline_ms;
  return -1;
}

void UpstreamConnection::fail(const char* reason) {
  if (fd_ >= 0) {
    context_.reactor.unwatch(fd_);
    if (receive_inflight_ || send_inflight_) {
      // The kernel may still write into the receive buffer or read the queued
      // bytes: they stay out of the pool until it has let go.
      retire_socket();
    } else {
      context_.reactor.close_socket(fd_);
      fd_ = -1;
    }
  }
  const bool had_requests = inflight_count_ > 0 || !out_.empty() || line_.head != nullptr;
  state_ = State::kClosed;
  tls_.reset();  // (moved to retired_ when the kernel may still use its buffers)
  if (tls_landing_ != BufferPool::kNoBuffer) context_.tls_pool->release(tls_landing_);
  tls_landing_ = BufferPool::kNoBuffer;
  credentials_.reset();
  authenticated_ = true;
  auth_sent_ = 0;
  sending_auth_ = false;
  watching_write_ = false;
  out_.release();
  record_ends_.clear();
  record_ends_head_ = 0;
  out_taken_ = 0;
  release_receive_buffer();
  in_data_ = false;
  data_target_ = nullptr;
  data_may_be_index_ = false;
  // Take the queue first: failing a group can run code that queues new requests.
  size_t count = inflight_count_;
  size_t head = inflight_head_;
  inflight_count_ = 0;
  inflight_head_ = 0;
  std::vector<Inflight> failed(count);
  for (size_t i = 0; i < count; ++i) failed[i] = inflight_[(head + i) % inflight_.size()];
  for (const Inflight& request : failed) {
    if (request.expectation == Expectation::kRetrieval) {
      for (PendingReply* slot = request.slot; slot != nullptr;) {
        PendingReply* next = slot->next_in_batch;
        context_.groups.fail(slot, reason);
        slot = next;
      }
    } else if (request.slot != nullptr) {
      context_.groups.fail(request.slot, reason);
    }
  }
  fail_open_line(reason);
  if (had_requests) {
    server_.record_failure(context_.reactor.now_ms(), context_.settings);
    spdlog::warn("upstream {}: {}; {} requests failed", server_.name, reason, count);
  }
}

void UpstreamConnection::release_receive_buffer() {
  if (receive_buffer_ != BufferPool::kNoBuffer) context_.pool.release(receive_buffer_);
  receive_buffer_ = BufferPool::kNoBuffer;
  receive_start_ = receive_end_ = 0;
}

}  // namespace mcguard
