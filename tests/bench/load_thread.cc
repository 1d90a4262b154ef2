#include "tests/bench/load_thread.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <system_error>

namespace mcguard::bench {
namespace {

constexpr unsigned kMaxConnecting = 128;  // per thread: stay under a server's listen backlog
constexpr size_t kReadBufferSize = 256 * 1024;
constexpr size_t kLineStorage = 1024;
constexpr int kMaxEvents = 256;
constexpr uint64_t kTimeoutScanNs = 100'000'000;
constexpr unsigned kMaxIovPerSend = IOV_MAX;
constexpr char kCrlf[] = "\r\n";

// Copies `text` for printing: at most 100 bytes, control and non-ASCII bytes as '?'.
const char* printable(std::string_view text, char (&out)[104]) {
  const size_t n = std::min<size_t>(text.size(), 100);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out[i] = c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?';
  }
  std::strcpy(out + n, text.size() > n ? "..." : "");
  return out;
}

const char* error_text(int err) {
  const char* text = err == 0 ? nullptr : strerrordesc_np(err);
  return text == nullptr ? "" : text;
}

}  // namespace

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

WrittenKeys::WrittenKeys(uint64_t keys)
    : words_(std::make_unique<std::atomic<uint64_t>[]>((keys + 63) / 64)) {}

struct LoadThread::Slot {
  uint64_t key = 0;
  uint64_t issued_ns = 0;
  uint64_t end_offset = 0;  // the connection's queued_bytes once this request was queued
  char* key_text = nullptr;
  char* header = nullptr;  // command room, then the value header
  uint16_t key_len = 0;
  bool is_get = false;
  bool key_was_written = false;
};

struct LoadThread::Conn {
  enum class State : uint8_t { kIdle, kConnecting, kReady, kDead };

  Conn(std::span<char> line_storage, const ValuePattern& pattern, std::span<char> header_storage,
       bool verify)
      : verifier(pattern, header_storage), reader(line_storage, verify ? &verifier : nullptr) {}

  ValueVerifier verifier;  // before reader, which points at it
  ReplyReader reader;
  int fd = -1;
  State state = State::kIdle;
  unsigned global_index = 0;
  Slot* slots = nullptr;  // ring of `pipeline` requests; [slot_head, +in_flight) await replies
  unsigned slot_head = 0;
  unsigned in_flight = 0;
  iovec* iov = nullptr;  // ring of bytes queued for sending
  unsigned iov_head = 0;
  unsigned iov_count = 0;
  uint64_t queued_bytes = 0;
  uint64_t sent_bytes = 0;
  uint64_t next_send_ns = 0;  // --rate: earliest next request
  bool in_timer = false;
  uint64_t quota = 0;      // --requests: this connection's share not yet issued
  uint64_t warm_next = 0;  // warm-up: next key this connection sets
  uint64_t version_seq = 0;
  uint64_t last_progress_ns = 0;
};

LoadThread::LoadThread(SharedRun& run, unsigned thread_index, unsigned first_connection,
                       unsigned connection_count)
    : run_(run), opt_(*run.options), rng_(opt_.seed * 0x9E3779B97F4A7C15ull + thread_index + 1) {
  const unsigned pipeline = opt_.pipeline;
  key_capacity_ = opt_.key_prefix.size() + 20;
  command_room_ = key_capacity_ + 48;  // "set <key> <flags> 0 <bytes>\r\n"
  header_capacity_ = command_room_ + max_value_header(key_capacity_);
  const size_t slot_stride = key_capacity_ + header_capacity_;
  const size_t slot_total = size_t{connection_count} * pipeline;
  const size_t iov_ring = size_t{pipeline} * 3;  // header, body, "\r\n" per request
  const size_t line_stride = kLineStorage + max_value_header(key_capacity_);

  slots_.resize(slot_total);
  slot_bytes_.resize(slot_total * slot_stride);
  for (size_t i = 0; i < slot_total; ++i) {
    slots_[i].key_text = slot_bytes_.data() + i * slot_stride;
    slots_[i].header = slots_[i].key_text + key_capacity_;
  }
  iovs_.resize(size_t{connection_count} * iov_ring);
  line_bytes_.resize(size_t{connection_count} * line_stride);
  read_buffer_.resize(kReadBufferSize);
  timers_.reserve(connection_count);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");

  conns_.reserve(connection_count);
  for (unsigned i = 0; i < connection_count; ++i) {
    char* line = line_bytes_.data() + i * line_stride;
    auto c = std::make_unique<Conn>(
        std::span<char>(line, kLineStorage), *run.pattern,
        std::span<char>(line + kLineStorage, line_stride - kLineStorage), opt_.verify);
    c->global_index = first_connection + i;
    c->slots = slots_.data() + size_t{i} * pipeline;
    c->iov = iovs_.data() + i * iov_ring;
    if (opt_.requests != 0) {
      c->quota = opt_.requests / opt_.connections +
                 (c->global_index < opt_.requests % opt_.connections ? 1 : 0);
    }
    c->warm_next = c->global_index;
    conns_.push_back(std::move(c));
  }
}

LoadThread::~LoadThread() {
  for (auto& c : conns_) {
    if (c->fd >= 0) close(c->fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void LoadThread::report_error(const char* format, ...) {
  if (run_.errors_printed.fetch_add(1, std::memory_order_relaxed) >= kErrorsPrinted) return;
  char message[512];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  fprintf(stderr, "mcguard-bench: error: %s\n", message);
}

uint64_t LoadThread::value_length() {
  if (opt_.value_max == opt_.value_min) return opt_.value_min;
  return opt_.value_min + rng_.below(opt_.value_max - opt_.value_min + 1);
}

uint64_t LoadThread::work_of(const Conn& c) const {
  if (phase_ == Phase::kWarmup) {
    return c.warm_next < opt_.keys ? (opt_.keys - c.warm_next - 1) / opt_.connections + 1 : 0;
  }
  if (phase_ == Phase::kMeasure) return c.quota;
  return 0;
}

void LoadThread::run() {
  run_phase(Phase::kConnect);
  run_.barrier->arrive_and_wait();

  warmup_start_ns_ = run_.phase_start_ns->load();
  if (opt_.warmup) {
    stats_ = &warmup_;
    phase_ = Phase::kWarmup;
    work_left_ = 0;
    for (auto& c : conns_) {
      if (c->state == Conn::State::kReady) work_left_ += work_of(*c);
    }
    run_phase(Phase::kWarmup);
  }
  warmup_end_ns_ = monotonic_ns();
  run_.barrier->arrive_and_wait();

  const uint64_t start = run_.phase_start_ns->load();
  stats_ = &measure_;
  phase_ = Phase::kMeasure;
  if (opt_.requests == 0) deadline_ns_ = start + static_cast<uint64_t>(opt_.duration_s * 1e9);
  if (opt_.rate > 0)
    rate_interval_ns_ = std::max<uint64_t>(1, static_cast<uint64_t>(1e9 / opt_.rate));
  work_left_ = 0;
  for (auto& c : conns_) {
    if (c->state != Conn::State::kReady) continue;
    work_left_ += work_of(*c);
    // Spread the first requests over one interval so paced connections do not move in step.
    if (rate_interval_ns_ != 0) c->next_send_ns = start + rng_.below(rate_interval_ns_);
  }
  run_phase(Phase::kMeasure);
  measure_end_ns_ = monotonic_ns();

  for (auto& c : conns_) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
  }
}

bool LoadThread::phase_done() const {
  switch (phase_) {
    case Phase::kConnect:
      return next_to_connect_ == conns_.size() && connecting_ == 0;
    case Phase::kWarmup:
      return in_flight_ == 0 && (work_left_ == 0 || stopping_ || ready_ == 0);
    case Phase::kMeasure:
      return in_flight_ == 0 &&
             (stopping_ || ready_ == 0 || (opt_.requests != 0 && work_left_ == 0));
  }
  return true;
}

void LoadThread::run_phase(Phase phase) {
  phase_ = phase;
  stopping_ = false;
  uint64_t now = monotonic_ns();
  if (phase == Phase::kConnect) {
    start_connects(now);
  } else {
    for (auto& c : conns_) pump(*c, now);
  }
  uint64_t next_scan = now + kTimeoutScanNs;
  epoll_event events[kMaxEvents];
  for (;;) {
    now = monotonic_ns();
    if (!stopping_ && phase != Phase::kConnect &&
        ((deadline_ns_ != 0 && now >= deadline_ns_) ||
         run_.stop->load(std::memory_order_relaxed))) {
      stopping_ = true;
    }
    fire_timers(now);
    if (now >= next_scan) {
      check_timeouts(now);
      next_scan = now + kTimeoutScanNs;
    }
    if (phase_done()) return;

    uint64_t wake = next_scan;
    if (!timers_.empty()) wake = std::min(wake, timers_.front().first);
    if (deadline_ns_ != 0 && !stopping_) wake = std::min(wake, deadline_ns_);
    const int timeout_ms = wake <= now ? 0 : static_cast<int>((wake - now + 999'999) / 1'000'000);
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      report_error("epoll_wait: %s", error_text(errno));
      return;
    }
    now = monotonic_ns();
    for (int i = 0; i < n; ++i) {
      handle_event(*static_cast<Conn*>(events[i].data.ptr), events[i].events, now);
    }
    if (phase == Phase::kConnect) start_connects(now);
  }
}

void LoadThread::start_connects(uint64_t now) {
  while (connecting_ < kMaxConnecting && next_to_connect_ < conns_.size()) {
    Conn& c = *conns_[next_to_connect_++];
    c.fd = socket(run_.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      fail(c, FailKind::kDropped, "socket", errno);
      continue;
    }
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.state = Conn::State::kConnecting;
    ++connecting_;
    c.last_progress_ns = now;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = &c;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      fail(c, FailKind::kDropped, "epoll_ctl", errno);
      continue;
    }
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&run_.address), run_.address_len) != 0 &&
        errno != EINPROGRESS) {
      fail(c, FailKind::kDropped, "connect", errno);
    }
    // Completion (even an immediate one) is reported by epoll as EPOLLOUT.
  }
}

void LoadThread::handle_event(Conn& c, uint32_t events, uint64_t now) {
  if (c.state == Conn::State::kConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      fail(c, FailKind::kDropped, "connect", err);
      return;
    }
    c.state = Conn::State::kReady;
    --connecting_;
    ++ready_;
    c.last_progress_ns = now;
  }
  if (c.state != Conn::State::kReady) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    read_ready(c, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
    if (c.state != Conn::State::kReady) return;
  }
  if ((events & EPOLLOUT) != 0) {
    flush(c, now);
    if (c.state != Conn::State::kReady) return;
  }
  pump(c, now);
}

void LoadThread::read_ready(Conn& c, bool drain) {
  for (;;) {
    const ssize_t n = recv(c.fd, read_buffer_.data(), read_buffer_.size(), MSG_DONTWAIT);
    if (n > 0) {
      const uint64_t now = monotonic_ns();
      c.last_progress_ns = now;
      stats_->bytes_received += static_cast<uint64_t>(n);
      process(c, std::span<const char>(read_buffer_.data(), static_cast<size_t>(n)), now);
      if (c.state != Conn::State::kReady) return;
      // A short read emptied the socket; with edge triggering, later data raises a new event.
      if (!drain && static_cast<size_t>(n) < read_buffer_.size()) return;
      continue;
    }
    if (n == 0) {
      fail(c, FailKind::kDropped, "connection closed by the server", 0);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, FailKind::kDropped, "recv", errno);
    return;
  }
}

void LoadThread::process(Conn& c, std::span<const char> data, uint64_t now) {
  while (!data.empty()) {
    if (c.in_flight == 0) {
      char shown[104];
      report_error("connection %u: bytes with no request in flight: '%s'", c.global_index,
                   printable(std::string_view(data.data(), data.size()), shown));
      ++stats_->reply_errors;
      fail(c, FailKind::kProtocol, "unsolicited bytes", 0);
      return;
    }
    const Slot& s = c.slots[c.slot_head];
    const Reply reply =
        c.reader.feed(data, ReplyExpectation{s.is_get, std::string_view(s.key_text, s.key_len)});
    if (reply.kind == ReplyKind::kIncomplete) return;
    complete(c, reply, now);
    if (c.state != Conn::State::kReady) return;
  }
}

void LoadThread::complete(Conn& c, const Reply& reply, uint64_t now) {
  const Slot& s = c.slots[c.slot_head];
  c.slot_head = (c.slot_head + 1) % opt_.pipeline;
  --c.in_flight;
  --in_flight_;
  const uint64_t latency = now - s.issued_ns;
  ++stats_->requests;
  if (s.is_get) {
    ++stats_->gets;
    stats_->get_latency.record(latency);
  } else {
    ++stats_->sets;
    stats_->set_latency.record(latency);
  }
  const std::string_view key(s.key_text, s.key_len);
  char shown[104];
  switch (reply.kind) {
    case ReplyKind::kIncomplete:
      break;
    case ReplyKind::kStored:
      run_.written->mark(s.key);
      break;
    case ReplyKind::kHit:
      ++stats_->hits;
      break;
    case ReplyKind::kMiss:
      ++stats_->misses;
      if (s.key_was_written) ++stats_->misses_of_written;
      break;
    case ReplyKind::kBadValue:
      ++stats_->verify_errors;
      if (reply.check == ValueCheck::kBodyMismatch) {
        report_error("connection %u: get %s: %s at byte %llu of %llu", c.global_index,
                     printable(key, shown), to_string(reply.check).data(),
                     static_cast<unsigned long long>(reply.mismatch_at),
                     static_cast<unsigned long long>(reply.value_bytes));
      } else {
        report_error("connection %u: get %s: %s (%llu bytes)", c.global_index,
                     printable(key, shown), to_string(reply.check).data(),
                     static_cast<unsigned long long>(reply.value_bytes));
      }
      break;
    case ReplyKind::kUnexpectedReply:
      ++stats_->reply_errors;
      {
        char line[104];
        report_error("connection %u: %s %s: unexpected reply '%s'", c.global_index,
                     s.is_get ? "get" : "set", printable(key, shown), printable(reply.line, line));
      }
      // memcached answers ERROR and CLIENT_ERROR when it misread the stream: later replies
      // would not line up with requests any more.
      if (reply.line == "ERROR" || reply.line.starts_with("CLIENT_ERROR")) {
        fail(c, FailKind::kProtocol, "stream out of step after an error reply", 0);
      }
      break;
    case ReplyKind::kProtocolError:
      ++stats_->reply_errors;
      {
        char line[104];
        report_error("connection %u: %s %s: malformed reply: %s", c.global_index,
                     s.is_get ? "get" : "set", printable(key, shown), printable(reply.line, line));
      }
      fail(c, FailKind::kProtocol, "malformed reply", 0);
      break;
  }
}

void LoadThread::pump(Conn& c, uint64_t now) {
  if (c.state != Conn::State::kReady) return;
  bool issued = false;
  while (c.in_flight < opt_.pipeline) {
    // A slot is reused only once its request has left, even if its reply came early.
    const Slot& tail = c.slots[(c.slot_head + c.in_flight) % opt_.pipeline];
    if (tail.end_offset > c.sent_bytes || stopping_) break;
    if (phase_ == Phase::kWarmup) {
      if (c.warm_next >= opt_.keys) break;
      const uint64_t key = c.warm_next;
      c.warm_next += opt_.connections;
      --work_left_;
      issue(c, true, key, now);
    } else if (phase_ == Phase::kMeasure) {
      if (opt_.requests != 0 && c.quota == 0) break;
      if (rate_interval_ns_ != 0) {
        if (now < c.next_send_ns) {
          if (!c.in_timer) {
            timers_.emplace_back(c.next_send_ns, &c);
            std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
            c.in_timer = true;
          }
          break;
        }
        // No catching up beyond one request after a stall: the rate is a cap.
        c.next_send_ns = std::max(c.next_send_ns + rate_interval_ns_, now);
      }
      if (opt_.requests != 0) {
        --c.quota;
        --work_left_;
      }
      const bool is_set = rng_.below(uint64_t{opt_.set_weight} + opt_.get_weight) < opt_.set_weight;
      issue(c, is_set, run_.chooser->next(rng_), now);
    } else {
      break;
    }
    issued = true;
  }
  if (issued) flush(c, now);
}

void LoadThread::issue(Conn& c, bool is_set, uint64_t key, uint64_t now) {
  Slot& s = c.slots[(c.slot_head + c.in_flight) % opt_.pipeline];
  const unsigned ring = opt_.pipeline * 3;
  auto push = [&](const char* base, size_t len) {
    c.iov[(c.iov_head + c.iov_count) % ring] = iovec{const_cast<char*>(base), len};
    ++c.iov_count;
    c.queued_bytes += len;
  };
  if (c.in_flight == 0) c.last_progress_ns = now;
  s.key = key;
  s.is_get = !is_set;
  s.issued_ns = now;
  const std::string& prefix = opt_.key_prefix;
  std::memcpy(s.key_text, prefix.data(), prefix.size());
  char* key_end = std::to_chars(s.key_text + prefix.size(), s.key_text + key_capacity_, key).ptr;
  s.key_len = static_cast<uint16_t>(key_end - s.key_text);
  const std::string_view key_view(s.key_text, s.key_len);

  if (!is_set) {
    s.key_was_written = run_.written->written(key);
    char* p = s.header;
    std::memcpy(p, "get ", 4);
    std::memcpy(p + 4, key_view.data(), key_view.size());
    std::memcpy(p + 4 + key_view.size(), kCrlf, 2);
    push(p, key_view.size() + 6);
  } else {
    // Value header first (its length settles the total), then the command line placed right
    // before it so that both go out as one iovec.
    char* value_header = s.header + command_room_;
    const uint64_t version =
        (uint64_t{c.global_index} << 40) | (++c.version_seq & ((1ull << 40) - 1));
    const EncodedValue v =
        run_.pattern->encode(key_view, version, value_length(),
                             std::span<char>(value_header, max_value_header(key_capacity_)));
    char flags_text[12];
    const size_t flags_len =
        static_cast<size_t>(std::to_chars(flags_text, flags_text + 12, v.crc).ptr - flags_text);
    char total_text[24];
    const size_t total_len =
        static_cast<size_t>(std::to_chars(total_text, total_text + 24, v.total).ptr - total_text);
    // "set <key> <flags> 0 <bytes>\r\n": fits command_room_ by its definition.
    const size_t line_len = 4 + key_view.size() + 1 + flags_len + 3 + total_len + 2;
    char* p = value_header - line_len;
    auto put = [&p](const char* bytes, size_t n) {
      std::memcpy(p, bytes, n);
      p += n;
    };
    put("set ", 4);
    put(key_view.data(), key_view.size());
    put(" ", 1);
    put(flags_text, flags_len);
    put(" 0 ", 3);
    put(total_text, total_len);
    put(kCrlf, 2);
    push(value_header - line_len, line_len + v.header_len);
    if (!v.body.empty()) push(v.body.data(), v.body.size());
    push(kCrlf, 2);
  }
  s.end_offset = c.queued_bytes;
  ++c.in_flight;
  ++in_flight_;
}

void LoadThread::flush(Conn& c, uint64_t now) {
  const unsigned ring = opt_.pipeline * 3;
  while (c.iov_count > 0 && c.state == Conn::State::kReady) {
    const unsigned contiguous = std::min({c.iov_count, ring - c.iov_head, kMaxIovPerSend});
    msghdr msg{};
    msg.msg_iov = c.iov + c.iov_head;
    msg.msg_iovlen = contiguous;
    const ssize_t n = sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, FailKind::kDropped, "send", errno);
      return;  // EAGAIN: EPOLLOUT resumes
    }
    c.sent_bytes += static_cast<uint64_t>(n);
    stats_->bytes_sent += static_cast<uint64_t>(n);
    c.last_progress_ns = now;
    auto left = static_cast<size_t>(n);
    while (left > 0) {
      iovec& v = c.iov[c.iov_head];
      if (left < v.iov_len) {
        v.iov_base = static_cast<char*>(v.iov_base) + left;
        v.iov_len -= left;
        break;
      }
      left -= v.iov_len;
      c.iov_head = (c.iov_head + 1) % ring;
      --c.iov_count;
    }
  }
}

void LoadThread::fail(Conn& c, FailKind kind, const char* what, int err) {
  if (c.state == Conn::State::kDead) return;
  if (c.state == Conn::State::kConnecting) --connecting_;
  if (c.state == Conn::State::kReady) --ready_;
  if (kind == FailKind::kTimeout) {
    ++stats_->timeouts;
  } else if (kind == FailKind::kDropped) {
    ++stats_->connection_errors;
  }
  if (kind != FailKind::kProtocol) {
    report_error("connection %u: %s%s%s (%u in flight)", c.global_index, what, err != 0 ? ": " : "",
                 error_text(err), c.in_flight);
  }
  stats_->lost_requests += c.in_flight;
  in_flight_ -= c.in_flight;
  c.in_flight = 0;
  work_left_ -= work_of(c);
  c.quota = 0;
  c.warm_next = opt_.keys;
  c.iov_count = 0;
  c.reader.reset();
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.state = Conn::State::kDead;
}

void LoadThread::check_timeouts(uint64_t now) {
  const auto limit = static_cast<uint64_t>(opt_.timeout_s * 1e9);
  for (auto& conn : conns_) {
    Conn& c = *conn;
    const bool waiting = c.state == Conn::State::kConnecting ||
                         (c.state == Conn::State::kReady && (c.in_flight > 0 || c.iov_count > 0));
    if (waiting && now - c.last_progress_ns > limit) {
      fail(c, FailKind::kTimeout,
           c.state == Conn::State::kConnecting ? "connect timed out"
                                               : "no progress within --timeout",
           0);
    }
  }
}

void LoadThread::fire_timers(uint64_t now) {
  while (!timers_.empty() && timers_.front().first <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
    Conn* c = timers_.back().second;
    timers_.pop_back();
    c->in_timer = false;
    pump(*c, now);
  }
}

}  // namespace mcguard::bench
