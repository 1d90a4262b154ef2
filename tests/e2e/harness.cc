#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "port_owner.h"

namespace mcguard::e2e {
namespace {

#ifndef MCGUARD_BINARY
#define MCGUARD_BINARY "build/mcguard"
#endif

constexpr milliseconds kPollInterval(2);

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A connect to the UNIX socket at `path` (non-blocking afterwards), or -1.
int connect_unix_path(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // A local connect never waits for a handshake: it succeeds or fails at once.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// A non-blocking connect to 127.0.0.1:port that completes within `deadline`.
int connect_loopback(uint16_t port, Clock::time_point deadline) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, remaining_ms(deadline)) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

ExitStatus decode(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

// Waits for `pid` to end until `deadline`; true (and *status) when it did.
bool wait_exit(pid_t pid, Clock::time_point deadline, int* wstatus) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  while (true) {
    pid_t r = ::waitpid(pid, wstatus, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      if (pidfd >= 0) ::close(pidfd);
      return r == pid;
    }
    if (Clock::now() >= deadline) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, remaining_ms(deadline));
    } else {
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return false;
}

// This process's environment without the variables whose names start with one
// of `unset_prefixes` or that `set_env` sets, followed by `set_env`.
std::vector<std::string> child_environment(const std::vector<std::string>& set_env,
                                           const std::vector<std::string>& unset_prefixes) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry = *e;
    bool drop = false;
    for (const auto& prefix : unset_prefixes) drop = drop || entry.rfind(prefix, 0) == 0;
    for (const auto& set : set_env) {
      drop = drop || entry.substr(0, entry.find('=') + 1) == set.substr(0, set.find('=') + 1);
    }
    if (!drop) env.emplace_back(entry);
  }
  env.insert(env.end(), set_env.begin(), set_env.end());
  return env;
}

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace

uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::unique_ptr<ServerProcess> ServerProcess::start(const std::vector<std::string>& argv,
                                                    std::string* error, int stop_signal,
                                                    milliseconds timeout, uint16_t fixed_port,
                                                    const std::vector<std::string>& env,
                                                    const std::string& ready_unix_path) {
  const int attempts = fixed_port == 0 ? 5 : 1;
  std::string failures;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    const uint16_t port = fixed_port == 0 ? pick_free_port() : fixed_port;
    std::vector<std::string> args = argv;
    for (auto& a : args) {
      if (auto at = a.find("{port}"); at != std::string::npos) {
        a.replace(at, 6, std::to_string(port));
      }
    }
    // Everything the child needs is built before fork: only async-signal-safe
    // calls may run between fork and exec in a threaded process.
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<std::string> child_env = child_environment(env, {});
    std::vector<char*> cenv;
    for (auto& e : child_env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
      *error = std::string("fork: ") + std::strerror(errno);
      return nullptr;
    }
    if (pid == 0) {
      // A crashed test run must not leave servers behind.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
      ::execve(cargv[0], cargv.data(), cenv.data());
      ::_exit(127);
    }

    std::unique_ptr<ServerProcess> server(new ServerProcess(pid, port, join(args), stop_signal));
    const auto deadline = Clock::now() + timeout;
    while (true) {
      int wstatus = 0;
      if (::waitpid(pid, &wstatus, WNOHANG) == pid) {
        server->reaped_ = true;
        server->status_ = decode(wstatus);
        failures += "  " + server->command_line_ + ": exited before accepting (" +
                    (server->status_.exited ? "code " + std::to_string(server->status_.code)
                                            : "signal " + std::to_string(server->status_.signal)) +
                    ")\n";
        if (server->status_.exited && server->status_.code == 127) {
          *error = "cannot execute " + args[0] + "\n" + failures;
          return nullptr;
        }
        break;  // probably lost the port: retry on another one
      }
      // Another test's server may hold the port our child is about to fail to
      // bind: only a listener of our child's counts. A listening socket is
      // ready, so a TCP child is not probed with a connection: one accepted
      // late (by a busy worker of a loaded machine) would count in the
      // server's connection stats after the test had read or reset them.
      bool ready = false;
      if (ready_unix_path.empty()) {
        ready = holds_listener(pid, port);
      } else if (const int fd = connect_unix_path(ready_unix_path); fd >= 0) {
        ::close(fd);
        ready = true;
      }
      if (ready) return server;
      if (Clock::now() >= deadline) {
        server->stop(milliseconds(1000));
        *error = server->command_line_ + ": port " + std::to_string(port) +
                 " did not accept connections within " + std::to_string(timeout.count()) + " ms";
        return nullptr;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  *error = "server did not start after " + std::to_string(attempts) + " attempts:\n" + failures;
  return nullptr;
}

ServerProcess::~ServerProcess() { stop(); }

bool ServerProcess::running() {
  if (reaped_) return false;
  int wstatus = 0;
  if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = decode(wstatus);
    return false;
  }
  return true;
}

ExitStatus ServerProcess::stop(milliseconds grace) {
  if (reaped_) return status_;
  ::kill(pid_, stop_signal_);
  int wstatus = 0;
  if (wait_exit(pid_, Clock::now() + grace, &wstatus)) {
    status_ = decode(wstatus);
  } else {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &wstatus, 0);
    status_ = decode(wstatus);
    status_.needed_sigkill = true;
  }
  reaped_ = true;
  return status_;
}

bool ServerProcess::signal(int sig) { return !reaped_ && ::kill(pid_, sig) == 0; }

void ServerProcess::attach(std::unique_ptr<ServerProcess> companion) {
  companions_.push_back(std::move(companion));
}

std::optional<long> ServerProcess::rss_kib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

// ---- Client ----

std::optional<Client> Client::connect(uint16_t port, milliseconds timeout) {
  int fd = connect_loopback(port, Clock::now() + timeout);
  if (fd < 0) return std::nullopt;
  return Client(fd);
}

std::optional<Client> Client::connect_unix(const std::string& path, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // A full backlog refuses at once (EAGAIN): try again until the deadline.
    if (int fd = connect_unix_path(path); fd >= 0) return Client(fd);
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

Client::Client(Client&& other) noexcept
    : fd_(other.fd_), eof_(other.eof_), pending_(std::move(other.pending_)) {
  other.fd_ = -1;
}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    eof_ = other.eof_;
    pending_ = std::move(other.pending_);
    other.fd_ = -1;
  }
  return *this;
}

Client::~Client() { close(); }

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Client::drain_readable() {
  char buf[256 * 1024];
  while (!eof_) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      pending_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    eof_ = true;  // 0 = orderly close; other errors (reset) end the stream too
  }
  return false;
}

bool Client::send(std::string_view bytes, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd p{fd_, static_cast<short>(POLLOUT | (eof_ ? 0 : POLLIN)), 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
    if (p.revents & POLLIN) drain_readable();
  }
  return true;
}

bool Client::receive_more(Clock::time_point deadline, ReadResult& result) {
  const size_t before = pending_.size();
  while (pending_.size() == before) {
    if (eof_ || fd_ < 0) {
      result.closed = true;
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      result.timed_out = true;
      return false;
    }
    drain_readable();
  }
  return true;
}

ReadResult Client::read_exactly(size_t n, milliseconds timeout) {
  return read_until([n](std::string_view got) { return got.size() >= n ? n : 0; }, timeout);
}

ReadResult Client::read_line(milliseconds timeout) {
  return read_until(
      [](std::string_view got) {
        size_t at = got.find("\r\n");
        return at == std::string_view::npos ? 0 : at + 2;
      },
      timeout);
}

bool Client::wait_for_close(milliseconds timeout, std::string* received) {
  ReadResult r = read_until([](std::string_view) { return size_t{0}; }, timeout);
  if (received != nullptr) *received = std::move(r.bytes);
  return r.closed;
}

bool Client::quiet_for(milliseconds timeout) {
  if (!pending_.empty() || eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 0;
}

// ---- formatting ----

namespace {
void escape_into(std::string_view bytes, std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n\n";  // keep one protocol line per output line
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
    }
  }
}
}  // namespace

std::string escape(std::string_view bytes, size_t max_chars) {
  std::string out;
  if (bytes.size() <= max_chars) {
    escape_into(bytes, out);
    return out;
  }
  escape_into(bytes.substr(0, max_chars / 2), out);
  out += "\n...[" + std::to_string(bytes.size() - max_chars) + " bytes elided]...\n";
  escape_into(bytes.substr(bytes.size() - max_chars / 2), out);
  return out;
}

// ---- servers ----

bool subject_is_memcached() {
  const char* subject = std::getenv("MCGUARD_E2E_SUBJECT");
  return subject != nullptr && std::string_view(subject) == "memcached";
}

std::string subject_name() { return subject_is_memcached() ? "memcached" : "mcguard"; }

std::unique_ptr<ServerProcess> start_memcached(std::string* error, size_t item_size_max,
                                               int max_connections, uint16_t port,
                                               const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {"/usr/bin/memcached",
                                   "-U",
                                   "0",
                                   "-l",
                                   "127.0.0.1",
                                   "-p",
                                   "{port}",
                                   "-m",
                                   "256",
                                   "-I",
                                   std::to_string(item_size_max),
                                   "-t",
                                   "2",
                                   "-c",
                                   std::to_string(max_connections)};
  // memcached refuses to run as root unless told which user to be.
  if (::geteuid() == 0) {
    argv.push_back("-u");
    argv.push_back("root");
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return ServerProcess::start(argv, error, SIGKILL, milliseconds(10000), port);
}

int subject_upstreams_from_env() {
  const char* text = std::getenv("MCGUARD_E2E_UPSTREAMS");
  if (text == nullptr) return 0;
  const int n = std::atoi(text);
  return n >= 1 && n <= 8 ? n : 0;
}

namespace {

// Stores and deletes one item `count` times on the memcached at `port`: each
// store takes the next CAS value, so later items get CAS values above `count`.
bool advance_cas(uint16_t port, int count, std::string* error) {
  if (count == 0) return true;
  auto c = Client::connect(port);
  if (!c) {
    *error = "cannot connect to memcached on port " + std::to_string(port);
    return false;
  }
  std::string request;
  for (int i = 0; i < count; ++i) request += "set mcguard-e2e-cas 0 0 0 noreply\r\n\r\n";
  request += "delete mcguard-e2e-cas\r\n";
  ReadResult r;
  if (c->send(request)) r = c->read_line(milliseconds(10000));
  if (r.bytes != "DELETED\r\n") {
    *error = "advancing the CAS counter of memcached on port " + std::to_string(port) +
             " failed: " + escape(r.bytes);
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<ServerProcess> start_subject(std::string* error, const McguardOptions& options) {
  if (subject_is_memcached()) return start_memcached(error);
  std::string binary = MCGUARD_BINARY;
  if (const char* override_path = std::getenv("MCGUARD_E2E_BINARY")) binary = override_path;
  if (::access(binary.c_str(), X_OK) != 0) {
    *error = "mcguard binary not found or not executable: " + binary;
    return nullptr;
  }
  std::vector<std::string> argv = {binary,         "--listen", "127.0.0.1:{port}", "--config",
                                   options.config, "--admin",  options.admin};
  if (!options.defaults_only) {
    const std::vector<std::string> rest = {"--threads",        std::to_string(options.threads),
                                           "--max-value-size", options.max_value_size,
                                           "--memory-limit",   options.memory_limit,
                                           "--buffer-size",    options.buffer_size,
                                           "--pool-size",      options.pool_size,
                                           "--log-level",      "warn"};
    argv.insert(argv.end(), rest.begin(), rest.end());
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  // The whole suite through the upstream tier: the upstreams are started here.
  std::vector<std::unique_ptr<ServerProcess>> upstreams;
  const bool upstream_given = std::find(options.extra_args.begin(), options.extra_args.end(),
                                        "--upstream") != options.extra_args.end();
  constexpr int kCasSpacing = 10000;
  for (int i = 0, n = upstream_given ? 0 : subject_upstreams_from_env(); i < n; ++i) {
    auto upstream = start_memcached(error);
    if (upstream == nullptr) {
      *error = "upstream memcached: " + *error;
      return nullptr;
    }
    if (!advance_cas(upstream->port(), i * kCasSpacing, error)) return nullptr;
    argv.push_back("--upstream");
    argv.push_back("127.0.0.1:" + std::to_string(upstream->port()));
    upstreams.push_back(std::move(upstream));
  }
  // The suites compare replies, not timings: an 8 MiB value on a loaded
  // machine may take longer than the 1 s default to come back.
  if (!upstreams.empty() && std::find(options.extra_args.begin(), options.extra_args.end(),
                                      "--upstream-timeout") == options.extra_args.end()) {
    argv.push_back("--upstream-timeout");
    argv.push_back("10s");
  }
  // The suite runs once per I/O engine: MCGUARD_E2E_IO_ENGINE picks it, unless
  // the test chose one itself.
  const char* engine = std::getenv("MCGUARD_E2E_IO_ENGINE");
  if (engine != nullptr && *engine != '\0' &&
      std::find(argv.begin(), argv.end(), "--io-engine") == argv.end()) {
    argv.push_back("--io-engine");
    argv.push_back(engine);
  }
  // Lets a run repeat the suite under other settings (e.g. another I/O engine).
  if (const char* extra = std::getenv("MCGUARD_E2E_EXTRA_ARGS")) {
    std::string_view rest = extra;
    while (!rest.empty()) {
      const size_t space = rest.find(' ');
      if (space != 0) argv.emplace_back(rest.substr(0, space));
      rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
    }
  }
  if (!options.log_file.empty()) {
    // The shell redirects stdout and stderr and execs mcguard in its own place (same pid).
    const std::string redirect = "exec \"$0\" \"$@\" >>'" + options.log_file + "' 2>&1";
    argv.insert(argv.begin(), {"/bin/sh", "-c", redirect});
  }
  auto subject = ServerProcess::start(argv, error, SIGTERM, milliseconds(10000), 0, options.env);
  if (subject == nullptr) return nullptr;
  for (auto& upstream : upstreams) subject->attach(std::move(upstream));
  return subject;
}

ProgramRun run_program(const std::vector<std::string>& argv,
                       const std::vector<std::string>& set_env,
                       const std::vector<std::string>& unset_prefixes, milliseconds timeout) {
  ProgramRun run;
  char path[] = "/tmp/mcguard-e2e-run-XXXXXX";
  const int out = ::mkstemp(path);
  if (out < 0) {
    run.output = std::string("mkstemp: ") + std::strerror(errno);
    return run;
  }
  ::unlink(path);
  // As in ServerProcess::start, the child only calls async-signal-safe functions.
  std::vector<std::string> env = child_environment(set_env, unset_prefixes);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  std::vector<char*> cenv;
  for (auto& a : args) cargv.push_back(a.data());
  for (auto& e : env) cenv.push_back(e.data());
  cargv.push_back(nullptr);
  cenv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    run.output = std::string("fork: ") + std::strerror(errno);
    return run;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  int wstatus = 0;
  if (wait_exit(pid, Clock::now() + timeout, &wstatus)) {
    run.status = decode(wstatus);
  } else {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &wstatus, 0);
    run.status = decode(wstatus);
    run.timed_out = true;
  }
  char buf[64 * 1024];
  ::lseek(out, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(out, buf, sizeof buf)) > 0;) run.output.append(buf, n);
  ::close(out);
  return run;
}

}  // namespace mcguard::e2e
