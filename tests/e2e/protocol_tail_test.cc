// mcguard's own behaviour at the edges of the protocol (issue 14), where there is no
// reference to compare with byte for byte: a connection over --max-connections gets
// memcached's line before it is closed, a second process cannot take the port unless it
// opts in with --reuse-port (and then only joins an mcguard, for a hand-over), a
// binary-protocol request closes the connection and is counted, cache_memlimit changes
// the embedded cache's limit (and reaches every upstream), and `lru_crawler enable` is
// refused. Each runs under both I/O engines.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"
#include "ops_support.h"

namespace mcguard::e2e {
namespace {

constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";
// A binary-protocol "version" request: magic 0x80, opcode 0x0b, all else zero.
const std::string kBinaryVersion = std::string("\x80\x0b", 2) + std::string(22, '\0');

std::unique_ptr<ServerProcess> start_or_fail(const McguardOptions& options) {
  std::string error;
  auto server = start_subject(&error, options);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

bool embedded_subject() { return !subject_is_memcached() && subject_upstreams_from_env() == 0; }

// mcguard's command line for a second process on `port`, under this pass's engine.
std::vector<std::string> mcguard_argv(uint16_t port, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {MCGUARD_BINARY,
                                   "--config",
                                   "/dev/null",
                                   "--admin",
                                   "off",
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--threads",
                                   "3",
                                   "--log-level",
                                   "warn"};
  if (const char* engine = std::getenv("MCGUARD_E2E_IO_ENGINE"); engine && *engine) {
    argv.insert(argv.end(), {"--io-engine", engine});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

class ProtocolTail : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard-only behaviour";
  }
};

TEST_F(ProtocolTail, ConnectionOverTheLimitGetsMemcachedsLineThenClose) {
  McguardOptions options;
  options.extra_args = {"--max-connections", "2"};
  auto server = start_or_fail(options);
  ASSERT_NE(server, nullptr);
  // Two connections that are served (a round trip: admitted, not just queued). The
  // harness's readiness probe may still hold a place for a moment, so a connection
  // turned away meanwhile is retried.
  std::vector<Client> held;
  for (int i = 0; i < 2; ++i) {
    const bool admitted = poll_until(
        [&] {
          auto c = Client::connect(server->port());
          if (!c || !c->send("version\r\n")) return false;
          if (!c->read_line().bytes.starts_with("VERSION ")) return false;
          held.push_back(std::move(*c));
          return true;
        },
        milliseconds(5000));
    ASSERT_TRUE(admitted) << "connection " << i << " was not served";
  }
  const long long rejected_before = stat_number(held[0], "rejected_connections");
  auto over = Client::connect(server->port());
  ASSERT_TRUE(over.has_value());
  std::string received;
  EXPECT_TRUE(over->wait_for_close(milliseconds(5000), &received)) << escape(received);
  EXPECT_EQ(received, kTooManyConnections);
  // At least this one: under a parallel run, another test's harness may probe a
  // port it was given that this server already holds, and be turned away too.
  EXPECT_GE(stat_number(held[0], "rejected_connections"), rejected_before + 1);
  // A place frees up: the next connection is served.
  held[1].close();
  bool served = poll_until(
      [&] {
        auto c = Client::connect(server->port());
        if (!c || !c->send("version\r\n")) return false;
        return c->read_line(milliseconds(2000)).bytes.starts_with("VERSION ");
      },
      milliseconds(5000));
  EXPECT_TRUE(served);
}

TEST_F(ProtocolTail, SecondProcessOnATakenAddressRefusesToStart) {
  auto server = start_or_fail({});
  ASSERT_NE(server, nullptr);
  const ProgramRun run =
      run_program(mcguard_argv(server->port(), {}), {}, {"MCGUARD_"}, milliseconds(10000));
  ASSERT_FALSE(run.timed_out) << "a second mcguard started on a taken port: " << run.output;
  EXPECT_TRUE(run.status.exited) << run.output;
  EXPECT_EQ(run.status.code, 2) << run.output;
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  EXPECT_NE(run.output.find("cannot listen on " + address), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Address already in use"), std::string::npos) << run.output;
  // The first one still serves.
  auto c = Client::connect(server->port());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(stats_of(*c, "settings")["mcguard_reuse_port"], "no");
}

TEST_F(ProtocolTail, ReusePortDoesNotJoinAProcessThatDoesNotShare) {
  // memcached's listening socket has no SO_REUSEPORT: --reuse-port cannot take its port.
  std::string error;
  auto memcached = start_memcached(&error);
  ASSERT_NE(memcached, nullptr) << error;
  const ProgramRun run = run_program(mcguard_argv(memcached->port(), {"--reuse-port"}), {},
                                     {"MCGUARD_"}, milliseconds(10000));
  ASSERT_FALSE(run.timed_out) << "mcguard --reuse-port started on memcached's port";
  EXPECT_EQ(run.status.code, 2) << run.output;
  EXPECT_NE(run.output.find("Address already in use"), std::string::npos) << run.output;
}

TEST_F(ProtocolTail, ReusePortJoinsARunningMcguardForAHandOver) {
  // The running process needs no flag: its per-worker sockets always allow joining.
  McguardOptions options;
  options.threads = 3;
  auto first = start_or_fail(options);
  ASSERT_NE(first, nullptr);
  std::string error;
  auto second = ServerProcess::start(mcguard_argv(first->port(), {"--reuse-port"}), &error, SIGTERM,
                                     milliseconds(10000), first->port());
  ASSERT_NE(second, nullptr) << error;
  // The kernel spreads new connections over both processes' sockets: within a few
  // connections, each process has answered one.
  std::set<std::string> pids;
  const bool both = poll_until(
      [&] {
        auto c = Client::connect(first->port());
        if (!c) return false;
        const std::map<std::string, std::string> stats = stats_of(*c);
        if (auto pid = stats.find("pid"); pid != stats.end()) pids.insert(pid->second);
        return pids.count(std::to_string(first->pid())) > 0 &&
               pids.count(std::to_string(second->pid())) > 0;
      },
      milliseconds(10000));
  EXPECT_TRUE(both) << "processes that answered: " << pids.size() << " (" << second->running()
                    << ")";
  // Each says whether it was started with --reuse-port.
  std::set<std::string> settings;
  poll_until(
      [&] {
        auto c = Client::connect(first->port());
        if (!c) return false;
        const std::string pid = stats_of(*c)["pid"];
        settings.insert(pid + ":" + stats_of(*c, "settings")["mcguard_reuse_port"]);
        return settings.size() >= 2;
      },
      milliseconds(10000));
  EXPECT_EQ(settings, (std::set<std::string>{std::to_string(first->pid()) + ":no",
                                             std::to_string(second->pid()) + ":yes"}));
  // The old one drains and exits; the new one has the address alone.
  EXPECT_TRUE(first->stop().exited);
  auto c = Client::connect(second->port());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(stat_number(*c, "pid"), second->pid());
}

TEST_F(ProtocolTail, BinaryProtocolRequestClosesTheConnectionAndIsCounted) {
  auto server = start_or_fail({});
  ASSERT_NE(server, nullptr);
  auto binary = Client::connect(server->port());
  ASSERT_TRUE(binary.has_value());
  ASSERT_TRUE(binary->send(kBinaryVersion));
  std::string received;
  EXPECT_TRUE(binary->wait_for_close(milliseconds(5000), &received))
      << "a binary request got no close; received " << escape(received);
  EXPECT_EQ(received, "");
  // Text that merely contains 0x80 later in a request is not binary.
  auto text = Client::connect(server->port());
  ASSERT_TRUE(text.has_value());
  ASSERT_TRUE(text->send("get \x80key\r\n"));
  EXPECT_EQ(text->read_line().bytes, "END\r\n");
  EXPECT_EQ(stat_number(*text, "mcguard_binary_protocol_closes"), 1);
}

TEST_F(ProtocolTail, AdminCommandsMemcachedWouldTakeAreNotProtocolErrors) {
  auto server = start_or_fail({});
  ASSERT_NE(server, nullptr);
  auto c = Client::connect(server->port());
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->send("slabs automove 1\r\nlru tune 10 20 0.1 2.0\r\nextstore item_size 10\r\n"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c->read_line().bytes, "OK\r\n");
  EXPECT_EQ(stat_number(*c, "mcguard_protocol_errors"), 0);
  // memcached would start its LRU crawler here; mcguard has none, and says so with
  // memcached's line for a crawler that cannot start (OK would promise crawls).
  ASSERT_TRUE(c->send("lru_crawler enable\r\nlru_crawler crawl all\r\n"));
  EXPECT_EQ(c->read_line().bytes, "ERROR failed to start lru crawler thread\r\n");
  EXPECT_EQ(c->read_line().bytes, "CLIENT_ERROR lru crawler disabled\r\n");
}

TEST_F(ProtocolTail, CacheMemlimitChangesTheEmbeddedLimit) {
  if (!embedded_subject()) GTEST_SKIP() << "the embedded cache's limit";
  McguardOptions options;
  options.memory_limit = "32m";
  auto server = start_or_fail(options);
  ASSERT_NE(server, nullptr);
  auto c = Client::connect(server->port());
  ASSERT_TRUE(c.has_value());
  // About 20 MiB of items.
  const std::string value(10000, 'v');
  std::string fill;
  for (int i = 0; i < 2000; ++i) {
    fill += "set k" + std::to_string(i) + " 0 0 " + std::to_string(value.size()) + " noreply\r\n" +
            value + "\r\n";
  }
  ASSERT_TRUE(c->send(fill + "mn\r\n"));
  ASSERT_EQ(c->read_line(milliseconds(10000)).bytes, "MN\r\n");
  ASSERT_GT(stat_number(*c, "bytes"), 16ll << 20);
  EXPECT_EQ(stat_number(*c, "limit_maxbytes"), 32ll << 20);

  // Lowering evicts down to the new limit before the reply.
  ASSERT_TRUE(c->send("cache_memlimit 8\r\n"));
  EXPECT_EQ(c->read_line().bytes, "OK\r\n");
  EXPECT_EQ(stat_number(*c, "limit_maxbytes"), 8ll << 20);
  EXPECT_EQ(stat_number(*c, "maxbytes", "settings"), 8ll << 20);
  EXPECT_LE(stat_number(*c, "bytes"), 8ll << 20);
  EXPECT_GT(stat_number(*c, "evictions"), 0);
  // New items keep it there.
  ASSERT_TRUE(c->send(fill + "mn\r\n"));
  ASSERT_EQ(c->read_line(milliseconds(10000)).bytes, "MN\r\n");
  EXPECT_LE(stat_number(*c, "bytes"), 8ll << 20);
  ASSERT_TRUE(c->send("get k1999\r\n"));
  EXPECT_EQ(c->read_line().bytes, "VALUE k1999 0 10000\r\n");
  EXPECT_EQ(c->read_exactly(value.size() + 2).bytes, value + "\r\n");
  EXPECT_EQ(c->read_line().bytes, "END\r\n");

  // Raising goes back up to --memory-limit and no further (the memory mapped at start).
  ASSERT_TRUE(c->send("cache_memlimit 16 noreply\r\ncache_memlimit 1000\r\n"));
  EXPECT_EQ(c->read_line().bytes, "OK\r\n");
  EXPECT_EQ(stat_number(*c, "limit_maxbytes"), 32ll << 20);
}

TEST_F(ProtocolTail, CacheMemlimitReachesEveryUpstream) {
  std::string error;
  std::vector<std::unique_ptr<ServerProcess>> upstreams;
  McguardOptions options;
  for (int i = 0; i < 2; ++i) {
    upstreams.push_back(start_memcached(&error));
    ASSERT_NE(upstreams.back(), nullptr) << error;
    options.extra_args.push_back("--upstream");
    options.extra_args.push_back("127.0.0.1:" + std::to_string(upstreams.back()->port()));
  }
  auto server = start_or_fail(options);
  ASSERT_NE(server, nullptr);
  auto c = Client::connect(server->port());
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->send("cache_memlimit 100\r\ncache_memlimit 7\r\n"));
  EXPECT_EQ(c->read_line().bytes, "OK\r\n");
  EXPECT_EQ(c->read_line().bytes, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
  for (const auto& upstream : upstreams) {
    auto direct = Client::connect(upstream->port());
    ASSERT_TRUE(direct.has_value());
    EXPECT_EQ(stat_number(*direct, "limit_maxbytes"), 100ll << 20);
  }
}

}  // namespace
}  // namespace mcguard::e2e
