#include "upstream_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "differential.h"

namespace mcguard::e2e {

bool wait_until(const std::function<bool()>& condition, milliseconds timeout,
                milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);  // polling interval of the condition
  }
}

size_t tcp_receive_queue(uint16_t port) {
  size_t total = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // column titles
    while (std::getline(in, line)) {
      // "sl local_address rem_address st tx_queue:rx_queue ..."; addresses are
      // HEXADDR:HEXPORT, the state 01 is ESTABLISHED.
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      if (!(fields >> slot >> local >> remote >> state >> queues)) continue;
      if (state != "01") continue;
      const size_t colon = local.rfind(':');
      if (colon == std::string::npos ||
          std::strtoul(local.c_str() + colon + 1, nullptr, 16) != port) {
        continue;
      }
      const size_t split = queues.find(':');
      if (split == std::string::npos) continue;
      total += std::strtoul(queues.c_str() + split + 1, nullptr, 16);
    }
  }
  return total;
}

bool freeze(ServerProcess& server, milliseconds timeout) {
  if (!server.signal(SIGSTOP)) return false;
  const std::string tasks = "/proc/" + std::to_string(server.pid()) + "/task";
  return wait_until(
      [&] {
        std::error_code error;
        for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
          // "pid (comm) S ...": the state follows the last ')'.
          std::ifstream in(task.path() / "stat");
          std::string stat;
          std::getline(in, stat);
          const size_t paren = stat.rfind(')');
          if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
          const char state = stat[paren + 2];
          if (state != 'T' && state != 't') return false;
        }
        return !error;
      },
      timeout, milliseconds(1));
}

// ---- FakeUpstream ----

std::unique_ptr<FakeUpstream> FakeUpstream::start(Mode mode, uint16_t port, std::string junk,
                                                  std::string* error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = "listening on port " + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<FakeUpstream> fake(new FakeUpstream(mode, fd, ntohs(addr.sin_port), junk));
  if (::pipe2(fake->wake_fds_, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  fake->thread_ = std::thread([raw = fake.get()] { raw->run(); });
  return fake;
}

FakeUpstream::FakeUpstream(Mode mode, int listen_fd, uint16_t port, std::string junk)
    : mode_(mode), listen_fd_(listen_fd), port_(port), junk_(std::move(junk)) {}

FakeUpstream::~FakeUpstream() {
  if (thread_.joinable()) {
    const char stop = 's';
    [[maybe_unused]] ssize_t n = ::write(wake_fds_[1], &stop, 1);
    thread_.join();
  }
  for (int fd : wake_fds_) {
    if (fd >= 0) ::close(fd);
  }
  ::close(listen_fd_);
}

void FakeUpstream::run() {
  std::vector<pollfd> fds = {{wake_fds_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
  char buf[64 * 1024];
  while (true) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        ++accepted_;
        fds.push_back({conn, POLLIN, 0});
      }
    }
    for (size_t i = 2; i < fds.size();) {
      if (fds[i].revents == 0) {
        ++i;
        continue;
      }
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n > 0) {
        received_ += static_cast<size_t>(n);
        if (mode_ == Mode::kGarbage) ::send(fds[i].fd, junk_.data(), junk_.size(), MSG_NOSIGNAL);
        ++i;
        continue;
      }
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        ++i;
        continue;
      }
      ::close(fds[i].fd);
      fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  for (size_t i = 2; i < fds.size(); ++i) ::close(fds[i].fd);
}

// ---- UpstreamTest ----

void UpstreamTest::SetUp() {
  if (subject_is_memcached()) GTEST_SKIP() << "upstream tier tests need mcguard as the subject";
}

void UpstreamTest::start_upstreams(int n) {
  for (int i = 0; i < n; ++i) {
    std::string error;
    auto server = start_memcached(&error, kReferenceItemSizeMax, 4096, 0, upstream_args_);
    ASSERT_NE(server, nullptr) << "upstream memcached " << i << ": " << error;
    upstream_ports_.push_back(server->port());
    upstreams_.push_back(std::move(server));
  }
}

void UpstreamTest::start_proxy(const std::vector<std::string>& args, McguardOptions options) {
  proxy_.reset();
  for (uint16_t port : upstream_ports_) {
    options.extra_args.push_back("--upstream");
    options.extra_args.push_back("127.0.0.1:" + std::to_string(port));
  }
  options.extra_args.insert(options.extra_args.end(), args.begin(), args.end());
  std::string error;
  proxy_ = start_subject(&error, options);
  ASSERT_NE(proxy_, nullptr) << "mcguard: " << error;
}

void UpstreamTest::kill_upstream(int i) {
  ASSERT_NE(upstreams_[i], nullptr) << "upstream " << i << " is not running";
  upstreams_[i]->stop();
  upstreams_[i].reset();
}

void UpstreamTest::restart_upstream(int i) {
  upstreams_[i].reset();
  std::string error;
  upstreams_[i] =
      start_memcached(&error, kReferenceItemSizeMax, 4096, upstream_ports_[i], upstream_args_);
  ASSERT_NE(upstreams_[i], nullptr) << "restarting upstream " << i << ": " << error;
}

Client UpstreamTest::connect_proxy() {
  if (proxy_ == nullptr) {
    ADD_FAILURE() << "mcguard is not running";
    return Client();
  }
  auto c = Client::connect(proxy_->port(), milliseconds(5000));
  EXPECT_TRUE(c.has_value()) << "cannot connect to " << proxy_->command_line();
  return c ? std::move(*c) : Client();
}

Client UpstreamTest::connect_upstream(int i) {
  auto c = Client::connect(upstream_ports_[i], milliseconds(5000));
  EXPECT_TRUE(c.has_value()) << "cannot connect to upstream " << i;
  return c ? std::move(*c) : Client();
}

ReadResult UpstreamTest::ask(Client& c, std::string_view request, milliseconds timeout) {
  std::string bytes(request);
  bytes += "mn\r\n";
  EXPECT_TRUE(c.send(bytes, timeout));
  const int markers = count_noops(bytes);
  return c.read_until(
      [markers](std::string_view got) { return reply_length_through_markers(got, markers); },
      timeout);
}

std::optional<std::string> UpstreamTest::direct_get(int i, std::string_view key) {
  Client c = connect_upstream(i);
  ReadResult r = ask(c, "get " + std::string(key) + "\r\n", milliseconds(20000));
  if (r.bytes == "END\r\nMN\r\n") return std::nullopt;
  const std::string prefix = "VALUE " + std::string(key) + " ";
  const size_t eol = r.bytes.find("\r\n");
  constexpr std::string_view kTail = "\r\nEND\r\nMN\r\n";
  if (r.bytes.rfind(prefix, 0) != 0 || eol == std::string::npos ||
      r.bytes.size() < eol + 2 + kTail.size() ||
      r.bytes.compare(r.bytes.size() - kTail.size(), kTail.size(), kTail) != 0) {
    ADD_FAILURE() << "upstream " << i << " answered get " << key << " with "
                  << escape(r.bytes, 400);
    return std::nullopt;
  }
  return r.bytes.substr(eol + 2, r.bytes.size() - kTail.size() - eol - 2);
}

int UpstreamTest::owner_of(std::string_view key) {
  int owner = -1;
  for (int i = 0; i < static_cast<int>(upstreams_.size()); ++i) {
    if (upstreams_[i] == nullptr || !direct_get(i, key)) continue;
    owner = owner == -1 ? i : -2;
  }
  return owner;
}

std::vector<std::vector<std::string>> UpstreamTest::keys_by_server(std::string_view prefix,
                                                                   int per_server) {
  std::vector<std::vector<std::string>> keys(upstreams_.size());
  auto done = [&] {
    for (const auto& k : keys) {
      if (static_cast<int>(k.size()) < per_server) return false;
    }
    return true;
  };
  Client c = connect_proxy();
  for (int n = 0; n < 2000 && !done(); ++n) {
    const std::string key = std::string(prefix) + std::to_string(n);
    ReadResult r = ask(c, set_command(key, key));
    if (r.bytes != "STORED\r\nMN\r\n") {
      ADD_FAILURE() << "storing " << key << " through mcguard: " << escape(r.bytes);
      return keys;
    }
    const int owner = owner_of(key);
    if (owner < 0) {
      ADD_FAILURE() << key << " stored through mcguard is on "
                    << (owner == -1 ? "no upstream" : "several upstreams");
      return keys;
    }
    keys[owner].push_back(key);
  }
  EXPECT_TRUE(done()) << "2,000 keys did not give " << per_server << " keys on every upstream";
  return keys;
}

std::string set_command(std::string_view key, std::string_view value, uint32_t flags,
                        bool noreply) {
  std::string out = "set " + std::string(key) + " " + std::to_string(flags) + " 0 " +
                    std::to_string(value.size()) + (noreply ? " noreply" : "") + "\r\n";
  out += value;
  out += "\r\n";
  return out;
}

std::string value_block(std::string_view key, std::string_view value, uint32_t flags) {
  std::string out = "VALUE " + std::string(key) + " " + std::to_string(flags) + " " +
                    std::to_string(value.size()) + "\r\n";
  out += value;
  out += "\r\n";
  return out;
}

}  // namespace mcguard::e2e
