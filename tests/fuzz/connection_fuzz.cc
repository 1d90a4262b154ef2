// Fuzz target: the whole Connection state machine over the embedded tier, the
// way an event loop drives it, with up to three clients sharing one small pool.
// Input: a schedule byte (see SplitSchedule), a configuration byte, then each
// client's byte stream, streams separated by kStreamSeparator. The schedule
// interleaves reads of arbitrary size, full and partial writes, read-idle
// calls and clock jumps (pool waits and slow-client timeouts expire).
// After every step: the pool holds at least what the connections say they hold
// and exactly that once their replies are sent; every reply byte parses as a
// memcached reply line (with its data block); a client never gets more replies
// than it sent lines; and once every connection is gone the pool is idle.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "fuzz_split.h"
#include "pool/buffer_pool.h"
#include "protocol/reply_parser.h"
#include "proxy/core/connection.h"
#include "proxy/embedded/embedded_tier.h"

namespace mcguard::fuzz {
namespace {

constexpr std::string_view kStreamSeparator = "\xff\xfe\xfd";
constexpr uint32_t kBufferSize = 1024;
constexpr uint64_t kMaxValueSize = 16 * 1024;

// One client: its connection, what it still has to send, what it received.
struct Client {
  std::unique_ptr<Connection> connection;
  std::string_view to_send;
  bool peer_closed = false;
  size_t lines_sent = 0;   // '\n' bytes the connection has taken
  std::string received;    // reply bytes not yet checked
  uint64_t data_left = 0;  // bytes of a data block (with its CRLF) still to come
  size_t responses = 0;    // reply lines other than VALUE and STAT
};

// Checks the complete reply lines in `client.received` and drops them.
void check_replies(Client& client) {
  std::string& in = client.received;
  size_t at = 0;
  while (at < in.size()) {
    if (client.data_left > 0) {
      // A data block ends with "\r\n", which may arrive in a later write.
      const size_t take = std::min<uint64_t>(client.data_left, in.size() - at);
      for (uint64_t tail = 0; tail < 2 && tail < client.data_left; ++tail) {
        const uint64_t index = client.data_left - 1 - tail;  // of the block's last bytes
        if (index < take) {
          FUZZ_CHECK(in[at + index] == (tail == 0 ? '\n' : '\r'), "a data block not ended by CRLF");
        }
      }
      at += take;
      client.data_left -= take;
      continue;
    }
    // memcached's own answer to refresh_certs, which the upstream reply
    // grammar does not know (mcguard never forwards that command).
    constexpr std::string_view kTlsNotEnabled = "Error TLS not enabled\r\n";
    if (std::string_view(in).substr(at, kTlsNotEnabled.size()) == kTlsNotEnabled) {
      at += kTlsNotEnabled.size();
      ++client.responses;
      continue;
    }
    Reply reply;
    std::span<const char> rest(in.data() + at, in.size() - at);
    ReplyParseResult result = parse_reply_header(rest, reply, kMaxValueSize);
    std::string lenient;  // keeps the bytes `reply` borrows when re-parsed
    if (result.status == ReplyParseResult::kMalformed) {
      // The embedded tier echoes keys as memcached does, control characters
      // included; the upstream reply grammar refuses those, nothing else.
      const size_t eol = in.find("\r\n", at);
      FUZZ_CHECK(eol != std::string::npos, "a malformed reply line: %.200s", in.c_str() + at);
      lenient = in.substr(at, eol + 2 - at);
      for (size_t i = 0; i + 2 < lenient.size(); ++i) {
        const auto byte = static_cast<unsigned char>(lenient[i]);
        if (byte < 0x20 || byte == 0x7f) lenient[i] = 'x';
      }
      rest = lenient;
      result = parse_reply_header(rest, reply, kMaxValueSize);
      FUZZ_CHECK(result.status == ReplyParseResult::kReply && result.consumed == lenient.size(),
                 "a malformed reply line: %.200s", in.c_str() + at);
    }
    if (result.status == ReplyParseResult::kNeedMore) break;
    at += result.consumed;
    if (reply.has_value()) client.data_left = reply.value_length + 2;
    if (reply.kind != ReplyKind::kValue && reply.kind != ReplyKind::kStat &&
        reply.kind != ReplyKind::kItem) {
      ++client.responses;
    }
  }
  in.erase(0, at);
  // A retrieval line longer than a receive buffer is answered as it arrives,
  // so the line still arriving may have its answer (or its error) already.
  FUZZ_CHECK(client.responses <= client.lines_sent + 1, "%zu replies to %zu lines",
             client.responses, client.lines_sent);
}

// Takes up to `limit` bytes of the connection's replies, as a writev would.
void write_some(Client& client, size_t limit) {
  Connection& c = *client.connection;
  while (c.wants_write() && !c.should_close() && limit > 0) {
    iovec iov[16];
    const size_t count = c.write_iovecs(iov, 16);
    size_t total = 0;
    for (size_t i = 0; i < count && total < limit; ++i) {
      const size_t take = std::min(iov[i].iov_len, limit - total);
      client.received.append(static_cast<const char*>(iov[i].iov_base), take);
      total += take;
    }
    if (total == 0) break;
    c.on_written(total);
    limit -= total;
  }
  check_replies(client);
}

class Harness {
 public:
  Harness(uint8_t config, std::string_view streams)
      : pool_(config & 1 ? 64 : 40, kBufferSize),
        tier_([] {
          EmbeddedConfig c;
          c.memory_limit = 1u << 20;
          c.max_value_size = kMaxValueSize;
          c.shards = 1;
          c.clock = [] { return int64_t{1700000000}; };
          return c;
        }()),
        context_{pool_, tier_, stats_, nullptr, nullptr, kMaxValueSize, 1u << 20, 500, 0, nullptr} {
    context_.max_reply_backlog = config & 2 ? 4096 : 1u << 20;
    context_.chain_buffer_limit = config & 4 ? 24 : UINT32_MAX;
    context_.slow_client_timeout_ms = config & 8 ? 2000 : 0;
    context_.idle_timeout_ms = config & 16 ? 3000 : 0;
    context_.max_pool_waiters = config & 32 ? 1 : UINT32_MAX;
    const size_t count = 1 + (config >> 6) % 3;
    for (size_t i = 0; i < count; ++i) {
      const size_t end = i + 1 == count ? std::string_view::npos : streams.find(kStreamSeparator);
      Client client;
      client.to_send = streams.substr(0, end);
      streams = end == std::string_view::npos ? std::string_view()
                                              : streams.substr(end + kStreamSeparator.size());
      client.connection = std::make_unique<Connection>(context_, "fuzz", static_cast<int>(i));
      clients_.push_back(std::move(client));
    }
  }

  ~Harness() {
    clients_.clear();
    FUZZ_CHECK(pool_.in_use() == 0, "%u buffers in use with no connection left", pool_.in_use());
  }

  // One scheduled step; false once every connection is gone.
  bool step(SplitSchedule& schedule) {
    bool any = false;
    for (auto& c : clients_) any = any || c.connection != nullptr;
    if (!any) return false;
    Client& client = clients_[schedule.random() % clients_.size()];
    if (client.connection == nullptr) return true;
    Connection& c = *client.connection;
    switch (schedule.random() % 8) {
      case 0:
      case 1:
      case 2:
      case 3:
        if (client.to_send.empty()) {
          if (!client.peer_closed) {
            client.peer_closed = true;
            c.on_peer_closed();
          }
          write_some(client, SIZE_MAX);
        } else if (c.wants_read()) {
          const size_t n = schedule.next(client.to_send.size());
          const size_t taken = c.feed(client.to_send.data(), n);
          FUZZ_CHECK(taken <= n, "fed %zu of %zu", taken, n);
          for (size_t i = 0; i < taken; ++i) client.lines_sent += client.to_send[i] == '\n';
          client.to_send.remove_prefix(taken);
        }
        break;
      case 4:
        c.on_read_idle();
        break;
      case 5:
        write_some(client, SIZE_MAX);
        break;
      case 6:
        write_some(client, 1 + schedule.random() % 3000);
        break;
      case 7:
        context_.now_ms += static_cast<int64_t>(schedule.random() % 1500);
        for (auto& other : clients_) {
          if (other.connection == nullptr) continue;
          if (other.connection->timed_out(context_.now_ms)) {
            close(other);
          } else if (other.connection->waiting_for_pool()) {
            other.connection->retry_pool_wait();
          }
        }
        break;
    }
    for (auto& other : clients_) {
      if (other.connection != nullptr && other.connection->should_close()) close(other);
    }
    check_pool();
    return true;
  }

 private:
  void close(Client& client) {
    // What the loop sends before closing: replies still owed on a clean close.
    if (!client.connection->should_close() || client.connection->wants_write()) {
      write_some(client, SIZE_MAX);
    }
    client.connection.reset();
    // Connections parked for the pool may go on now.
    for (auto& other : clients_) {
      if (other.connection != nullptr && other.connection->waiting_for_pool()) {
        other.connection->retry_pool_wait();
      }
    }
  }

  void check_pool() {
    uint32_t held = 0;
    bool replies_sent = true;
    for (auto& c : clients_) {
      if (c.connection == nullptr) continue;
      held += c.connection->buffers_held();
      replies_sent = replies_sent && !c.connection->wants_write();
    }
    FUZZ_CHECK(held <= pool_.in_use(), "connections hold %u buffers, the pool lent %u", held,
               pool_.in_use());
    // Reply text is the only other holder, and it is gone once sent.
    if (replies_sent) {
      FUZZ_CHECK(held == pool_.in_use(), "connections hold %u buffers, the pool lent %u", held,
                 pool_.in_use());
    }
  }

  BufferPool pool_;
  EmbeddedTier tier_;
  WorkerStats stats_;
  ConnectionContext context_;
  std::vector<Client> clients_;
};

}  // namespace
}  // namespace mcguard::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcguard::fuzz;
  if (size < 2) return 0;
  SplitSchedule schedule(data[0]);
  Harness harness(data[1], std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2));
  // Bounded: every input ends, whatever the schedule does.
  for (size_t steps = 0; steps < 4 * size + 10000 && harness.step(schedule); ++steps) {
  }
  return 0;
}
