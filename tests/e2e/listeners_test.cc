// Several listeners and UNIX sockets: one store served over TCP, IPv6 and a
// UNIX socket at once (to the suite's client, pymemcache and mcguard-bench);
// the socket file's mode, its replacement when stale, the refusal when live
// or not a socket, its removal at exit; -s alone without TCP; every listener
// in `stats settings`; and a tls: listener without a certificate refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "harness.h"

#ifndef MCGUARD_BINARY
#define MCGUARD_BINARY "build/mcguard"
#endif
#ifndef MCGUARD_BENCH
#define MCGUARD_BENCH "build/tests/bench/mcguard-bench"
#endif

namespace mcguard::e2e {
namespace {

std::string mcguard_binary() {
  const char* override_path = std::getenv("MCGUARD_E2E_BINARY");
  return override_path != nullptr ? override_path : MCGUARD_BINARY;
}

// mcguard with no listener of the harness's: the test gives them all.
std::vector<std::string> bare_mcguard(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {mcguard_binary(), "--config", "/dev/null",   "--admin", "off",
                                   "--threads",      "2",        "--pool-size", "32m"};
  const char* engine = std::getenv("MCGUARD_E2E_IO_ENGINE");
  if (engine != nullptr && *engine != '\0') {
    argv.push_back("--io-engine");
    argv.push_back(engine);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// The reply up to and including END.
std::string stats(Client& client, const std::string& command) {
  if (!client.send(command + "\r\n")) return "send failed";
  ReadResult r = client.read_until(
      [](std::string_view got) {
        const size_t end = got.find("END\r\n");
        return end == std::string_view::npos ? 0 : end + 5;
      },
      milliseconds(5000));
  return r.bytes;
}

// Every "STAT name value" line of `reply` named `name`, in order.
std::vector<std::string> stat_values(const std::string& reply, const std::string& name) {
  std::vector<std::string> values;
  const std::string prefix = "STAT " + name + " ";
  size_t at = 0;
  while ((at = reply.find(prefix, at)) != std::string::npos) {
    const size_t end = reply.find("\r\n", at);
    values.push_back(reply.substr(at + prefix.size(), end - at - prefix.size()));
    at = end;
  }
  return values;
}

bool store(Client& client, const std::string& key, const std::string& value) {
  return client.send("set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value +
                     "\r\n") &&
         client.read_line().bytes == "STORED\r\n";
}

// The value of `key` as a get returns it ("<miss>" when absent).
std::string fetch(Client& client, const std::string& key) {
  if (!client.send("get " + key + "\r\n")) return "<send failed>";
  ReadResult r = client.read_until(
      [](std::string_view got) {
        const size_t end = got.find("END\r\n");
        return end == std::string_view::npos ? 0 : end + 5;
      },
      milliseconds(5000));
  if (r.bytes == "END\r\n") return "<miss>";
  const size_t header_end = r.bytes.find("\r\n");
  const size_t tail = r.bytes.rfind("\r\nEND\r\n");
  if (header_end == std::string::npos || tail == std::string::npos || tail < header_end) {
    return "<bad reply " + escape(r.bytes) + ">";
  }
  return r.bytes.substr(header_end + 2, tail - header_end - 2);
}

// A blocking client of [::1]:port, through the harness's Client (it takes any socket).
bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

class Listeners : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's listeners only";
    // Short and unique across the engines' parallel runs (sun_path holds 107 bytes).
    path_ = "/tmp/mcguard-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock";
    ::unlink(path_.c_str());
  }
  void TearDown() override { ::unlink(path_.c_str()); }

  // mcguard with the harness's TCP listener and `extra`; once it serves, the
  // socket at path_ too (the harness waits for the TCP port only, which may
  // accept before the later listeners are open).
  std::unique_ptr<ServerProcess> start_with(const std::vector<std::string>& extra) {
    McguardOptions options;
    options.extra_args = extra;
    std::string error;
    auto server = start_subject(&error, options);
    EXPECT_NE(server, nullptr) << error;
    if (server != nullptr) {
      EXPECT_TRUE(Client::connect_unix(path_, milliseconds(10000)).has_value())
          << path_ << " never accepted";
    }
    return server;
  }

  std::string path_;
};

TEST_F(Listeners, UnixSocketBesideTcpServesBoth) {
  auto server = start_with({"--listen", "unix:" + path_, "--unix-mask", "0660"});
  ASSERT_NE(server, nullptr);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0) << path_;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u) << std::oct << (st.st_mode & 0777);

  auto over_unix = Client::connect_unix(path_);
  ASSERT_TRUE(over_unix.has_value()) << path_;
  auto over_tcp = Client::connect(server->port());
  ASSERT_TRUE(over_tcp.has_value());
  ASSERT_TRUE(store(*over_unix, "from_unix", "set over the socket"));
  EXPECT_EQ(fetch(*over_tcp, "from_unix"), "set over the socket");
  ASSERT_TRUE(store(*over_tcp, "from_tcp", std::string(200000, 'v')));
  EXPECT_EQ(fetch(*over_unix, "from_tcp"), std::string(200000, 'v'));

  // The UNIX client is named by its socket in `stats conns`, as memcached names the listener.
  const std::string conns = stats(*over_tcp, "stats conns");
  EXPECT_NE(conns.find("addr unix:" + path_ + "\r\n"), std::string::npos) << escape(conns);
  EXPECT_NE(conns.find("listen_addr unix:" + path_ + "\r\n"), std::string::npos) << escape(conns);
}

TEST_F(Listeners, PymemcacheOverUnixSocket) {
  auto server = start_with({"--listen", "unix:" + path_});
  ASSERT_NE(server, nullptr);
  const std::string script = path_ + ".py";
  std::ofstream(script) << R"(import sys
from pymemcache.client.base import Client
c = Client(sys.argv[1], connect_timeout=5, timeout=5)
big = bytes(range(256)) * 4096
assert c.set('py:a', b'alpha') is True
assert c.set('py:big', big) is True
assert c.get('py:a') == b'alpha'
assert c.get('py:big') == big, 'the 1 MiB value came back changed'
assert c.get_many(['py:a', 'py:none', 'py:big']) == {'py:a': b'alpha', 'py:big': big}
assert c.set('py:n', b'41') is True
assert c.incr('py:n', 1) == 42
assert c.delete('py:a', noreply=False) is True
assert c.get('py:a') is None
print('pymemcache ok')
)";
  const ProgramRun run =
      run_program({"/usr/bin/python3", script, path_}, {}, {}, milliseconds(30000));
  ::unlink(script.c_str());
  ASSERT_FALSE(run.timed_out) << run.output;
  ASSERT_TRUE(run.output.find("No module named") == std::string::npos)
      << "install python3-pymemcache (scripts/setup lists it)";
  EXPECT_TRUE(run.status.exited && run.status.code == 0) << run.output;
  EXPECT_NE(run.output.find("pymemcache ok"), std::string::npos) << run.output;
}

TEST_F(Listeners, BenchOverUnixSocket) {
  auto server = start_with({"--listen", "unix:" + path_});
  ASSERT_NE(server, nullptr);
  const ProgramRun run =
      run_program({MCGUARD_BENCH, "--server", "unix:" + path_, "--threads", "2", "--connections",
                   "8", "--pipeline", "4", "--requests", "20000", "--value-size", "10-100k",
                   "--keys", "500", "--warmup", "--json"},
                  {}, {}, milliseconds(60000));
  ASSERT_FALSE(run.timed_out) << run.output;
  EXPECT_TRUE(run.status.exited && run.status.code == 0) << run.output;
  EXPECT_NE(run.output.find("\"server\":\"unix:" + path_ + "\""), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("\"verify\":true"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("\"errors\":0,\"verify_errors\":0,"), std::string::npos) << run.output;
}

TEST_F(Listeners, StaleSocketFileIsReplaced) {
  // What a killed process leaves: a socket file nobody listens on.
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
  }
  struct stat before {};
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  auto server = start_with({"-s", path_});
  ASSERT_NE(server, nullptr);
  auto client = Client::connect_unix(path_);
  ASSERT_TRUE(client.has_value()) << "the stale file was not replaced by a live socket";
  ASSERT_TRUE(store(*client, "k", "v"));
  EXPECT_EQ(fetch(*client, "k"), "v");
}

TEST_F(Listeners, LiveSocketFileStopsStartUp) {
  auto first = start_with({"-s", path_});
  ASSERT_NE(first, nullptr);
  const ProgramRun second = run_program(bare_mcguard({"-s", path_}), {}, {}, milliseconds(20000));
  ASSERT_FALSE(second.timed_out) << second.output;
  EXPECT_TRUE(second.status.exited && second.status.code == 2) << second.output;
  EXPECT_NE(second.output.find("unix:" + path_), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("another process is listening"), std::string::npos) << second.output;
  // The first still serves through the file the second left alone.
  auto client = Client::connect_unix(path_);
  ASSERT_TRUE(client.has_value());
  EXPECT_TRUE(store(*client, "still", "here"));
}

TEST_F(Listeners, PathThatIsNoSocketStopsStartUp) {
  std::ofstream(path_) << "not a socket\n";
  const ProgramRun run = run_program(bare_mcguard({"-s", path_}), {}, {}, milliseconds(20000));
  ASSERT_FALSE(run.timed_out) << run.output;
  EXPECT_TRUE(run.status.exited && run.status.code == 2) << run.output;
  EXPECT_NE(run.output.find("unix:" + path_ + ": the file exists and is not a socket"),
            std::string::npos)
      << run.output;
  std::ifstream kept(path_);
  std::string line;
  std::getline(kept, line);
  EXPECT_EQ(line, "not a socket") << "the file was touched";
}

TEST_F(Listeners, SocketFileIsRemovedOnSigterm) {
  auto server = start_with({"-s", path_});
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(::access(path_.c_str(), F_OK), 0);
  const ExitStatus status = server->stop();
  EXPECT_TRUE(status.exited && status.code == 0 && !status.needed_sigkill);
  EXPECT_NE(::access(path_.c_str(), F_OK), 0) << path_ << " is still there";
}

TEST_F(Listeners, UnixSocketAloneHasNoTcpListener) {
  std::string error;
  auto server = ServerProcess::start(bare_mcguard({"-s", path_, "-a", "0600"}), &error, SIGTERM,
                                     milliseconds(10000), 0, {}, path_);
  ASSERT_NE(server, nullptr) << error;
  auto client = Client::connect_unix(path_);
  ASSERT_TRUE(client.has_value());
  const std::string settings = stats(*client, "stats settings");
  EXPECT_EQ(stat_values(settings, "mcguard_listen"), std::vector<std::string>{"unix:" + path_})
      << escape(settings);
  EXPECT_EQ(stat_values(settings, "tcpport"), std::vector<std::string>{"0"});
  EXPECT_EQ(stat_values(settings, "inter"), std::vector<std::string>{"NULL"});
  EXPECT_EQ(stat_values(settings, "domain_socket"), std::vector<std::string>{path_});
  EXPECT_EQ(stat_values(settings, "umask"), std::vector<std::string>{"600"});
  const std::string conns = stats(*client, "stats conns");
  EXPECT_EQ(conns.find("tcp"), std::string::npos) << "a TCP socket is open: " << escape(conns);
  const ExitStatus status = server->stop();
  EXPECT_TRUE(status.exited && status.code == 0);
}

TEST_F(Listeners, SeveralListenersIncludingIpv6ShareOneStore) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  auto server = start_with({"--listen", "[::1]:0", "--listen", "127.0.0.1:0", "--listen",
                            "unix:" + path_, "-a", "0640"});
  ASSERT_NE(server, nullptr);
  auto tcp = Client::connect(server->port());
  ASSERT_TRUE(tcp.has_value());
  const std::string settings = stats(*tcp, "stats settings");
  const std::vector<std::string> listeners = stat_values(settings, "mcguard_listen");
  ASSERT_EQ(listeners.size(), 4u) << escape(settings);
  EXPECT_EQ(listeners[0], "127.0.0.1:" + std::to_string(server->port())) << "the harness's";
  ASSERT_TRUE(listeners[1].starts_with("[::1]:")) << listeners[1];
  EXPECT_TRUE(listeners[2].starts_with("127.0.0.1:")) << listeners[2];
  EXPECT_NE(listeners[2], listeners[0]);
  EXPECT_EQ(listeners[3], "unix:" + path_);
  EXPECT_EQ(stat_values(settings, "domain_socket"), std::vector<std::string>{path_});
  EXPECT_EQ(stat_values(settings, "umask"), std::vector<std::string>{"640"});
  EXPECT_EQ(stat_values(settings, "tcpport"),
            std::vector<std::string>{std::to_string(server->port())});

  // Over IPv6: a plain socket handed to nothing but send/recv.
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  address.sin6_port = htons(static_cast<uint16_t>(std::stoi(listeners[1].substr(6))));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
      << std::strerror(errno);
  const std::string request = "set six 0 0 4\r\nipv6\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  char reply[16] = {};
  timeval wait{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  size_t got = 0;
  while (got < 8) {
    const ssize_t n = ::recv(fd, reply + got, 8 - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  EXPECT_EQ(std::string(reply, got), "STORED\r\n");
  EXPECT_EQ(fetch(*tcp, "six"), "ipv6");
  auto over_unix = Client::connect_unix(path_);
  ASSERT_TRUE(over_unix.has_value());
  EXPECT_EQ(fetch(*over_unix, "six"), "ipv6");
}

TEST_F(Listeners, TlsListenerWithoutCertificateIsAStartUpError) {
  const ProgramRun run =
      run_program(bare_mcguard({"--listen", "tls:127.0.0.1:0"}), {}, {}, milliseconds(20000));
  ASSERT_FALSE(run.timed_out) << run.output;
  EXPECT_TRUE(run.status.exited && run.status.code == 2) << run.output;
  EXPECT_NE(run.output.find("a tls: listener needs --tls-cert and --tls-key"), std::string::npos)
      << run.output;
}

}  // namespace
}  // namespace mcguard::e2e
