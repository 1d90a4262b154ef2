// End-to-end harness: server child processes on loopback ports and a blocking
// test client with deadlines. A ServerProcess is ready when the child itself
// listens on its port and the port accepts connections, and is stopped
// (SIGTERM, then SIGKILL past a deadline) when it is destroyed; a Client never
// blocks longer than the deadline it is given.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcguard::e2e {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long a wait for a reply that must come may last by default. A wait ends
// as soon as its reply is in, so a generous deadline costs a passing test
// nothing; it only has to outlast a loaded machine (ctest -j2 beside a build,
// sanitizers), where a few seconds can pass before a process is scheduled,
// and a hang still fails. Waits that expect silence give their own.
inline constexpr milliseconds kReplyDeadline(30000);

// How a stopped child ended.
struct ExitStatus {
  bool exited = false;          // returned from main / called exit
  int code = -1;                // exit code when `exited`
  int signal = 0;               // terminating signal otherwise
  bool needed_sigkill = false;  // the stop signal was not enough within the deadline
};

class ServerProcess {
 public:
  // Spawns `argv` (argv[0] is the program path; "{port}" in any argument is
  // replaced by a free loopback port) and waits until the child holds a socket
  // listening there and the port accepts connections; a port answered by
  // another process (which took it between the pick and the child's bind) is
  // never probed. A child that exits before that (e.g. it lost the port to
  // another process) is retried on a new port a few times. Returns nullptr and
  // fills `error` when the server never became ready.
  // `stop_signal` is what the destructor sends first: SIGTERM for servers
  // whose shutdown is under test, SIGKILL for memcached, which only notices
  // SIGTERM on its next one-second clock tick.
  // A non-zero `port` is used instead of a free one (no retries elsewhere).
  // The child gets this process's environment plus the "NAME=value" entries of
  // `env`, which replace variables of the same name.
  // A non-empty `ready_unix_path`: the server is ready when that UNIX socket
  // accepts connections instead (for a server with no TCP listener).
  static std::unique_ptr<ServerProcess> start(const std::vector<std::string>& argv,
                                              std::string* error, int stop_signal,
                                              milliseconds timeout = milliseconds(10000),
                                              uint16_t port = 0,
                                              const std::vector<std::string>& env = {},
                                              const std::string& ready_unix_path = "");

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& command_line() const { return command_line_; }
  bool running();
  // Sends the stop signal, waits up to `grace`, then SIGKILL. Idempotent.
  ExitStatus stop(milliseconds grace = milliseconds(5000));
  // Sends `sig` (e.g. SIGSTOP, SIGCONT) to the child; false once it has been reaped.
  bool signal(int sig);
  // Processes that live as long as this one and are stopped after it (e.g. the
  // memcached servers behind an mcguard started by start_subject).
  void attach(std::unique_ptr<ServerProcess> companion);
  const std::vector<std::unique_ptr<ServerProcess>>& companions() const { return companions_; }
  // VmRSS of the child in KiB, from /proc/<pid>/status; nullopt when unreadable.
  std::optional<long> rss_kib() const;

 private:
  ServerProcess(pid_t pid, uint16_t port, std::string command_line, int stop_signal)
      : pid_(pid), port_(port), command_line_(std::move(command_line)), stop_signal_(stop_signal) {}

  pid_t pid_;
  uint16_t port_;
  std::string command_line_;
  int stop_signal_;
  bool reaped_ = false;
  ExitStatus status_;
  std::vector<std::unique_ptr<ServerProcess>> companions_;
};

// A port that was free a moment ago (bound to 127.0.0.1:0, then closed).
uint16_t pick_free_port();

// Result of a read with a deadline.
struct ReadResult {
  std::string bytes;
  bool closed = false;     // the peer closed (EOF or reset)
  bool timed_out = false;  // the deadline passed before the condition held
};

// Blocking client for one connection to 127.0.0.1 (or a UNIX socket).
class Client {
 public:
  static std::optional<Client> connect(uint16_t port, milliseconds timeout = milliseconds(3000));
  // The same over the UNIX socket at `path`.
  static std::optional<Client> connect_unix(const std::string& path,
                                            milliseconds timeout = milliseconds(3000));

  // An unconnected client: sends fail and reads report a closed peer.
  Client() = default;

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  int fd() const { return fd_; }
  // Writes every byte. Replies that arrive meanwhile are buffered, so a server
  // that answers while the request is still being written cannot deadlock us.
  bool send(std::string_view bytes, milliseconds timeout = milliseconds(10000));
  // Reads until `complete(received)` returns the length of a finished prefix
  // (0: not finished yet), the peer closes, or the deadline passes. Bytes past
  // the finished prefix stay buffered for the next read. On close or timeout
  // everything received is returned with the flag set.
  template <typename F>
  ReadResult read_until(F&& complete, milliseconds timeout);
  ReadResult read_exactly(size_t n, milliseconds timeout = kReplyDeadline);
  // One "\r\n"-terminated line (terminator included).
  ReadResult read_line(milliseconds timeout = kReplyDeadline);
  // True when the peer closes within `timeout`; bytes that arrive meanwhile are
  // stored in `*received` (if given).
  bool wait_for_close(milliseconds timeout, std::string* received = nullptr);
  // True when nothing at all arrives within `timeout` (and the peer stays open).
  bool quiet_for(milliseconds timeout);
  void close();

 private:
  explicit Client(int fd) : fd_(fd) {}
  // Receives once, waiting until `deadline`; appends to pending_. Returns
  // false on timeout or close (setting the flags in `result`).
  bool receive_more(Clock::time_point deadline, ReadResult& result);
  // One non-blocking recv into pending_; false when the peer closed.
  bool drain_readable();

  int fd_ = -1;
  bool eof_ = false;     // the peer closed; pending_ may still hold bytes
  std::string pending_;  // received but not yet handed out
};

template <typename F>
ReadResult Client::read_until(F&& complete, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  ReadResult result;
  while (true) {
    if (size_t done = complete(std::string_view(pending_)); done > 0) {
      result.bytes = pending_.substr(0, done);
      pending_.erase(0, done);
      return result;
    }
    if (!receive_more(deadline, result)) {
      result.bytes = std::move(pending_);
      pending_.clear();
      return result;
    }
  }
}

// Printable form of raw protocol bytes: \r, \n, \\ and non-printable bytes
// escaped; long runs are elided in the middle so a 5 MiB value stays readable.
std::string escape(std::string_view bytes, size_t max_chars = 4000);

// ---- servers used by the suite ----

struct McguardOptions {
  int threads = 2;
  std::string max_value_size = "8m";
  std::string memory_limit = "64m";
  std::string buffer_size = "64k";
  std::string pool_size = "64m";
  // Only --listen, --config /dev/null and --admin: checks that the defaults work.
  bool defaults_only = false;
  // --admin: off, so parallel tests never share the default admin port; tests
  // of the admin listener give "127.0.0.1:<free port>".
  std::string admin = "off";
  // --config: no file unless a test gives one.
  std::string config = "/dev/null";
  // Appended after the options above (e.g. "--upstream", "127.0.0.1:PORT"). When they
  // name an upstream, MCGUARD_E2E_UPSTREAMS is ignored.
  std::vector<std::string> extra_args;
  // "NAME=value" entries added to mcguard's environment (e.g. LD_PRELOAD); the
  // upstream memcached servers started for MCGUARD_E2E_UPSTREAMS do not get them.
  std::vector<std::string> env;
  // Non-empty: mcguard's log (stdout and stderr) is appended to this file, for tests of what it
  // logs.
  std::string log_file;
};

constexpr size_t kMaxValueSize = 8u << 20;  // McguardOptions::max_value_size
constexpr size_t kBufferSize = 64u << 10;   // McguardOptions::buffer_size
// The reference memcached's -I: larger than kMaxValueSize so values of exactly
// kMaxValueSize fit despite memcached counting its item header in the limit.
constexpr size_t kReferenceItemSizeMax = 16u << 20;

// memcached (the behaviour reference) with -I `item_size_max`, on a free port,
// or on `port` when it is not 0 (e.g. to restart an upstream where it was), with
// `extra_args` appended (e.g. options that turn features off).
std::unique_ptr<ServerProcess> start_memcached(std::string* error,
                                               size_t item_size_max = kReferenceItemSizeMax,
                                               int max_connections = 4096, uint16_t port = 0,
                                               const std::vector<std::string>& extra_args = {});

// The server under test: mcguard (MCGUARD_BINARY, or MCGUARD_E2E_BINARY from
// the environment, with MCGUARD_E2E_EXTRA_ARGS appended, and --io-engine
// MCGUARD_E2E_IO_ENGINE unless the options give one), or a second memcached
// when the environment sets MCGUARD_E2E_SUBJECT=memcached, which checks the
// suite itself against the reference.
// With MCGUARD_E2E_UPSTREAMS=N (1..8) mcguard runs its upstream tier in front
// of N fresh memcached servers it is given with --upstream; they are attached
// to the returned process. Their CAS counters start 10,000 apart, so CAS
// values from different servers never collide within a test and compare by
// identity as they do on one memcached.
std::unique_ptr<ServerProcess> start_subject(std::string* error,
                                             const McguardOptions& options = {});
bool subject_is_memcached();
std::string subject_name();
// N from MCGUARD_E2E_UPSTREAMS, or 0 when unset or out of range.
int subject_upstreams_from_env();

// Result of a program run to completion by run_program.
struct ProgramRun {
  ExitStatus status;
  bool timed_out = false;  // it was killed at the deadline
  std::string output;      // its stdout and stderr, interleaved
};

// Runs `argv` until it exits or `timeout` passes (then SIGKILL), in this
// process's environment without the variables whose names start with one of
// `unset_prefixes`, plus the "NAME=value" entries of `set_env`.
ProgramRun run_program(const std::vector<std::string>& argv,
                       const std::vector<std::string>& set_env,
                       const std::vector<std::string>& unset_prefixes, milliseconds timeout);

}  // namespace mcguard::e2e
