// UpstreamConnection: one persistent, pipelined connection from a worker to a
// memcached server, shared by all that worker's clients. Requests are queued
// as bytes with what their reply looks like (Expectation); replies are parsed
// strictly and matched to requests in FIFO order, and each reply's bytes are
// copied into the PendingReply of the client that asked. A malformed,
// unexpected or late reply fails the connection: it is closed and every
// request on it fails with SERVER_ERROR; nothing is forwarded raw. With
// UpstreamSecurity, a new connection first runs its TLS handshake and then
// authenticates; queued requests wait until both succeed, and either failing
// fails the connection (never a fall back to plaintext).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "pool/buffer_chain.h"
#include "protocol/reply_parser.h"
#include "protocol/request.h"
#include "proxy/core/reactor.h"
#include "proxy/tls/tls_stream.h"
#include "proxy/upstream/command_stats.h"
#include "proxy/upstream/reply_groups.h"
#include "proxy/upstream/upstream_security.h"
#include "proxy/upstream/upstream_server.h"

namespace mcguard {

// What the reply to one forwarded request looks like.
enum class Expectation : uint8_t {
  kSingle,      // one reply (with its data block, if any)
  kQuiet,       // any replies, then "MN" (the request was followed by "mn")
  kRetrieval,   // VALUE lines for a batch of keys, then END
  kGather,      // a whole stats reply (STAT or ITEM lines, then END), captured as one text
  kGatherLine,  // a stats reply of one line (stats sizes_enable), captured the same way
};

// How a multi-get's key is recognised in the VALUE lines that answer it.
uint64_t upstream_key_hash(std::string_view key);

// A meta reply line without its return flag `flag` (e.g. the "k<key>" mcguard
// asked for itself), written into `out` (at least line.size() bytes).
std::string_view without_meta_token(std::string_view line, char flag, std::span<char> out);

// Takes a client's get-family reply slot, complete with its VALUE line and
// data, whose value may be a split value's index; it completes the slot itself.
class SplitIndexHandler {
 public:
  virtual void take_index(PendingReply* slot) = 0;
  // The same for a quiet mg's slot, which completes only at the "MN" after it:
  // an index's bytes are replaced there and then.
  virtual void screen_meta_value(PendingReply* slot) = 0;

 protected:
  ~SplitIndexHandler() = default;
};

struct UpstreamContext {
  BufferPool& pool;
  Reactor& reactor;
  ReplyGroups& groups;
  const UpstreamSettings& settings;
  SplitIndexHandler* split = nullptr;  // null: values are never split (--upstream-split off)
  // A request was queued since the tier last flushed. Set by expect(); the
  // tier clears it when it flushes, and while it is set the loop must not
  // sleep: requests queued after the turn's flush (a client taking bytes of
  // a split read, a connection closed by the timeout scan) would otherwise
  // wait for the next event.
  bool unflushed = false;
  UpstreamCommandStats* command_stats = nullptr;  // counts gathered replies cut short
  // TLS and authentication for new connections (null: plaintext, no auth).
  const UpstreamSecurity* security = nullptr;
  // Where TLS sessions take their ciphertext buffers: the worker's upstream
  // TLS pool, apart from the clients' so neither side can starve the other.
  BufferPool* tls_pool = nullptr;
};

class UpstreamConnection final : public IoHandler {
 public:
  UpstreamConnection(UpstreamServer& server, UpstreamContext& context);
  ~UpstreamConnection() override;
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Appends request bytes to send; false when the pool cannot hold them.
  bool queue(std::string_view bytes);
  bool queue(std::span<const iovec> bytes);
  // Takes a chain's bytes (its buffers, when they line up; it ends empty).
  bool queue(BufferChain& chain) { return out_.splice_from(chain); }
  // Marks the end of a data block just queued. Under TLS the record that
  // carries its last bytes ends there: memcached reads a data block's tail
  // straight into its item, and bytes after it in the same record would sit
  // decrypted in its TLS session, unread until more arrive on the socket.
  void end_data_block();
  // Adds client `client_id`'s get-family `key`, answered into `slot`, to the
  // line of keys open on this connection when its command and exptime match
  // and it has room; otherwise queues that line and opens another
  // (retrieval_line.cc). The open line is queued behind every other request
  // until the turn's flush, or until end_retrieval_line_of() one of its
  // clients, so the gets a turn takes from every client reach the server as
  // few lines: memcached answers each get line with a write of its own.
  // False (the slot is not taken) when the pool cannot hold the bytes.
  bool queue_retrieval_key(Command command, int64_t exptime, std::string_view key,
                           PendingReply* slot, int client_id);
  // Queues the open line now if it holds a key of `client_id`: that client's
  // next request must reach the server after its gets. False when the pool
  // cannot hold the line.
  bool end_retrieval_line_of(int client_id);
  // Registers the reply expected for the request just queued. `slot` receives
  // it (a batch head for kRetrieval); null drops it.
  void expect(Expectation expectation, Command command, PendingReply* slot);
  // Connects if needed and writes what is queued.
  void flush();
  void check_timeout(int64_t now_ms);
  // Closes the connection and fails every request on it with `reason`.
  void fail(const char* reason);

  void on_readable() override;
  void on_writable() override;
  void on_received(int fd, int result) override;
  void on_sent(int fd, int result) override;

  bool connected() const { return state_ == State::kConnected; }
  // Connected, and its TLS handshake and authentication (when asked) are done.
  bool ready() const { return state_ == State::kConnected && session_ready(); }
  // When check_timeout next has something to do (-1: nothing pending).
  int64_t next_deadline_ms() const;

 private:
  enum class State : uint8_t { kClosed, kConnecting, kConnected };
  struct Inflight {
    Expectation expectation;
    Command command;
    PendingReply* slot;  // kRetrieval: the next key of the batch
    int64_t deadline_ms;
    int64_t queued_us;  // for the reply latency
    bool cut = false;   // kGather: lines were dropped past the reply's bound
  };

  // Queues the open retrieval line, if any, and registers its reply; false
  // when the pool cannot hold it (the line stays open).
  bool end_retrieval_line();
  // Fails the slots of a line not queued yet (the connection failed).
  void fail_open_line(const char* reason);
  bool connect();
  // Starts the TLS session and loads the credentials; false when it failed the connection.
  bool start_session();
  // The TCP connection is up: under TLS, the handshake starts. False when it failed.
  bool on_connected();
  bool session_ready() const {
    return (tls_ == nullptr || tls_->handshake_done()) && authenticated_;
  }
  // The next bytes to send (ciphertext under TLS); 0 when nothing can go now.
  size_t next_send(iovec* iov, size_t max_iov);
  // `n` bytes of what next_send named went out.
  void sent(size_t n);
  // Encrypts the authentication request, or the queued requests once
  // authenticated, while the TLS session takes them.
  void encrypt_queued();
  // Reads the TLS session's plaintext into the receive buffer and handles the
  // replies; false when the connection failed.
  bool drain_tls();
  // Fails the connection when the TLS session failed or was closed; counts a
  // finished handshake. False when the connection failed.
  bool check_tls();
  // The answer to the authentication request; false when it failed the connection.
  bool handle_auth_reply(const Reply& reply, std::string_view line);
  void read_tls();
  void write_queued();
  void handle_replies();
  bool handle_reply(const Reply& reply, std::string_view line);
  bool deliver(PendingReply* slot, std::string_view line, const Reply& reply);
  // kGather: keeps one line of a stats reply (`last`: its END or error line).
  void gather(Inflight& head, std::string_view line, bool last);
  // Whether `reply`, for `slot`, could carry a split value's index.
  bool may_be_index(const PendingReply* slot, const Reply& reply) const;
  void finish_data();
  void pop_front();
  void complete(PendingReply* slot);
  void update_watch();
  void release_receive_buffer();
  // Completion engines: the connection is up; start receiving and sending.
  void start_completion_io();
  void submit_receive();
  // Room to receive into: compacts the receive buffer; false when a reply
  // line fills it whole (malformed).
  bool make_receive_room();
  // A failed socket whose operations are still in the engine's hands: its
  // descriptor, receive buffer and queued bytes are kept until both report.
  void retire_socket();
  void on_retired_io(int fd, bool receive);

  UpstreamServer& server_;
  UpstreamContext& context_;
  int fd_ = -1;
  State state_ = State::kClosed;
  int64_t connect_deadline_ms_ = 0;
  bool watching_write_ = false;

  // The connection's session: TLS (null: plaintext) and authentication.
  std::unique_ptr<tls::TlsStream> tls_;
  bool handshake_counted_ = false;
  std::shared_ptr<const UpstreamCredentials> credentials_;  // null: no authentication
  size_t auth_sent_ = 0;       // bytes of credentials_->request handed on
  bool authenticated_ = true;  // false until the auth request is answered STORED
  bool sending_auth_ = false;  // the send in progress is from the auth request
  // Completion engines under TLS: where the kernel receives ciphertext (a TLS
  // pool buffer held while connected), copied into the session on completion,
  // because the session's own buffers may move while a receive is in flight.
  uint32_t tls_landing_ = BufferPool::kNoBuffer;

  BufferChain out_;  // request bytes not yet written
  // TLS: where records must end (end_data_block), as counts of out_'s bytes
  // since it was last emptied by a failure, ascending from record_ends_head_.
  std::vector<uint64_t> record_ends_;
  size_t record_ends_head_ = 0;
  uint64_t out_taken_ = 0;  // bytes of out_ encrypted since then

  // The get-family line open for more keys (head null: none). Its text waits
  // apart from out_, so requests of clients without a key in it go first.
  static constexpr size_t kMaxLineClients = 32;
  // memcached closes a connection whose unfinished line passes 2048 bytes
  // unless it is a get or gets line: a line kept within that is always safe.
  static constexpr size_t kMaxLineBytes = 2048;
  struct RetrievalLine {
    PendingReply* head = nullptr;
    PendingReply* tail = nullptr;
    Command command = Command::kNone;
    int64_t exptime = 0;
    uint32_t client_count = 0;
    int clients[kMaxLineClients];
  };
  RetrievalLine line_;
  std::string line_text_;  // capacity kept: no allocation per line

  std::vector<Inflight> inflight_;  // ring; capacity kept
  size_t inflight_head_ = 0;
  size_t inflight_count_ = 0;

  uint32_t receive_buffer_;
  uint32_t receive_start_ = 0;
  uint32_t receive_end_ = 0;
  // A value's data block being copied: where to (null: dropped) and how much is left.
  PendingReply* data_target_ = nullptr;
  uint64_t data_remaining_ = 0;
  bool in_data_ = false;
  bool data_may_be_index_ = false;  // the value may be a split value's index

  // Completion engines only.
  bool receive_inflight_ = false;
  bool send_inflight_ = false;
  struct Retired {
    int fd;
    uint32_t receive_buffer;
    BufferChain out;
    std::unique_ptr<tls::TlsStream> tls;  // its wire buffers may be in the kernel's hands
    std::shared_ptr<const UpstreamCredentials> credentials;
    bool receive_inflight;
    bool send_inflight;
    uint32_t tls_landing;
  };
  std::vector<Retired> retired_;
};

}  // namespace mcguard
