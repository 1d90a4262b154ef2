// The I/O engines: auto picks io_uring where the kernel allows it and falls
// back to epoll when the probe fails; --io-engine uring refuses to start
// without it; io_uring with far fewer receive buffers than busy connections
// answers every request intact; and under either engine, clients that vanish
// mid-value, mid-reply or with sends in flight leave no pool buffer behind.
#include <dirent.h>
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "differential.h"
#include "ops_support.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

// The kinds of anonymous descriptors a process holds ("io_uring", "eventpoll").
bool holds_anon_inode(pid_t pid, const std::string& kind) {
  const std::string folder = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return false;
  bool found = false;
  while (dirent* entry = ::readdir(dir)) {
    char target[256];
    const std::string link = folder + "/" + entry->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (std::string(target).find("[" + kind + "]") != std::string::npos) found = true;
  }
  ::closedir(dir);
  return found;
}

bool uring_pass_or_default() {
  const char* engine = std::getenv("MCGUARD_E2E_IO_ENGINE");
  return engine == nullptr || std::string(engine) != "epoll";
}

// Whether this kernel lets this process set up an io_uring at all.
bool kernel_allows_io_uring() {
  io_uring_params params{};
  const long fd = ::syscall(__NR_io_uring_setup, 4, &params);
  if (fd < 0) return false;
  ::close(static_cast<int>(fd));
  return true;
}

class IoEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's engines only";
  }

  void start(McguardOptions options) {
    std::string error;
    server_ = start_subject(&error, options);
    ASSERT_NE(server_, nullptr) << error;
    admin_ = connect();
  }

  Client connect() {
    auto c = Client::connect(server_->port(), milliseconds(5000));
    EXPECT_TRUE(c.has_value()) << "cannot connect to " << server_->command_line();
    return c ? std::move(*c) : Client();
  }

  void expect_round_trip(const std::string& key) {
    Client c = connect();
    const std::string value = make_value(3000, 7);
    ASSERT_TRUE(c.send(set_command(key, value) + "get " + key + "\r\n"));
    const std::string expected = "STORED\r\n" + value_block(key, value) + "END\r\n";
    EXPECT_EQ(c.read_exactly(expected.size()).bytes, expected);
  }

  std::unique_ptr<ServerProcess> server_;
  Client admin_;
};

TEST_F(IoEngine, AutoUsesIoUringWhereTheKernelAllowsIt) {
  McguardOptions options;
  options.extra_args = {"--io-engine", "auto"};
  if (!kernel_allows_io_uring())
    GTEST_SKIP() << "io_uring is refused here; the fallback test covers auto";
  ASSERT_NO_FATAL_FAILURE(start(options));
  expect_round_trip("auto_uring");
  EXPECT_TRUE(holds_anon_inode(server_->pid(), "io_uring"))
      << "auto should run io_uring here: " << server_->command_line();
}

TEST_F(IoEngine, AutoFallsBackToEpollWhenTheProbeFails) {
  McguardOptions options;
  options.extra_args = {"--io-engine", "auto"};
  options.env = {"MCGUARD_IO_URING_PROBE=fail"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  // A round trip first: the port accepts before every worker's loop exists.
  expect_round_trip("fallback_epoll");
  EXPECT_FALSE(holds_anon_inode(server_->pid(), "io_uring"));
  EXPECT_TRUE(holds_anon_inode(server_->pid(), "eventpoll"));
}

TEST_F(IoEngine, UringRefusesToStartWhereIoUringIsUnavailable) {
  const ProgramRun run =
      run_program({MCGUARD_BINARY, "--config", "/dev/null", "--admin", "off", "--listen",
                   "127.0.0.1:" + std::to_string(pick_free_port()), "--io-engine", "uring"},
                  {"MCGUARD_IO_URING_PROBE=fail"}, {}, milliseconds(10000));
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.status.code, 2) << run.output;
  EXPECT_NE(run.output.find("io_uring is unavailable"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("MCGUARD_IO_URING_PROBE"), std::string::npos) << run.output;
}

TEST_F(IoEngine, UringServesFarMoreConnectionsThanReceiveBuffers) {
  if (!uring_pass_or_default()) GTEST_SKIP() << "io_uring's receive buffers: not in the epoll pass";
  if (!kernel_allows_io_uring()) GTEST_SKIP() << "io_uring is refused here";
  // 8 buffers of 1 KiB for 200 connections that each send 20 values of 3000
  // bytes at once: the ring runs dry again and again, receives pause and
  // resume, and every byte must still arrive in order.
  McguardOptions options;
  options.threads = 1;
  options.extra_args = {
      "--io-engine", "uring", "--uring-recv-buffers", "8", "--uring-recv-buffer-size", "1k"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  constexpr int kClients = 200;
  constexpr int kValues = 20;
  std::vector<Client> clients;
  std::vector<std::string> expected(kClients);
  for (int i = 0; i < kClients; ++i) clients.push_back(connect());
  std::vector<std::string> requests(kClients);
  for (int i = 0; i < kClients; ++i) {
    std::string gets;
    for (int v = 0; v < kValues; ++v) {
      const std::string key = "c" + std::to_string(i) + "v" + std::to_string(v);
      const std::string value = make_value(3000, static_cast<uint32_t>(i * kValues + v));
      requests[i] += set_command(key, value);
      expected[i] += "STORED\r\n";
      gets += "get " + key + "\r\n";
    }
    requests[i] += gets;
    for (int v = 0; v < kValues; ++v) {
      const std::string key = "c" + std::to_string(i) + "v" + std::to_string(v);
      expected[i] +=
          value_block(key, make_value(3000, static_cast<uint32_t>(i * kValues + v))) + "END\r\n";
    }
  }
  // Everyone sends before anyone reads, from two threads.
  std::vector<std::thread> senders;
  std::vector<char> sent(kClients, 0);
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kClients; i += 2) sent[i] = clients[i].send(requests[i]);
    });
  }
  for (auto& s : senders) s.join();
  int intact = 0;
  for (int i = 0; i < kClients; ++i) {
    EXPECT_TRUE(sent[i]) << "client " << i;
    ReadResult r = clients[i].read_exactly(expected[i].size(), milliseconds(20000));
    if (r.bytes == expected[i]) {
      ++intact;
    } else {
      ADD_FAILURE() << "client " << i << " got " << r.bytes.size() << " of " << expected[i].size()
                    << " bytes, or different ones";
    }
  }
  EXPECT_EQ(intact, kClients);
  std::printf("[ INFO     ] %d clients x %d values through 8 receive buffers of 1 KiB: %d intact\n",
              kClients, kValues, intact);
}

TEST_F(IoEngine, ClientsVanishingMidValueMidReplyOrMidSendLeaveNoBuffers) {
  McguardOptions options;
  options.threads = 1;
  ASSERT_NO_FATAL_FAILURE(start(options));
  const long long idle = stat_number(admin_, "mcguard_pool_buffers_in_use");
  ASSERT_GE(idle, 0);
  // Values large enough that replies outrun the socket buffers.
  Client setter = connect();
  std::string sets;
  for (int k = 0; k < 4; ++k)
    sets += set_command("big" + std::to_string(k), make_value(2 << 20, k));
  ASSERT_TRUE(setter.send(sets, milliseconds(20000)));
  EXPECT_EQ(setter.read_exactly(4 * 8, milliseconds(20000)).bytes,
            "STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n");
  setter.close();

  std::vector<Client> vanishing;
  // Mid-value: a 1 MiB set's header and half its data, then gone.
  for (int i = 0; i < 20; ++i) {
    Client c = connect();
    ASSERT_TRUE(
        c.send("set half" + std::to_string(i) + " 0 0 1048576\r\n" + std::string(512 << 10, 'h')));
    vanishing.push_back(std::move(c));
  }
  // Mid-send: many large replies asked for and never read.
  for (int i = 0; i < 20; ++i) {
    Client c = connect();
    ASSERT_TRUE(c.send("get big0 big1 big2 big3\r\nget big0 big1 big2 big3\r\n"));
    vanishing.push_back(std::move(c));
  }
  // Mid-reply: part of a large reply read, then gone.
  for (int i = 0; i < 20; ++i) {
    Client c = connect();
    ASSERT_TRUE(c.send("get big1\r\n"));
    EXPECT_EQ(c.read_exactly(100000, milliseconds(10000)).bytes.size(), 100000u);
    vanishing.push_back(std::move(c));
  }
  for (Client& c : vanishing) c.close();

  long long in_use = -1, connections = -1;
  const bool released = poll_until(
      [&] {
        in_use = stat_number(admin_, "mcguard_pool_buffers_in_use");
        connections = stat_number(admin_, "curr_connections");
        return in_use == idle && connections == 1;
      },
      milliseconds(15000));
  EXPECT_TRUE(released) << "pool buffers in use " << in_use << " (idle " << idle
                        << "), connections " << connections;
  EXPECT_TRUE(server_->running());
  // Nothing stored was harmed, and no half value was stored.
  Client after = connect();
  ASSERT_TRUE(after.send("get half0\r\nget big3\r\n"));
  const std::string expected = "END\r\n" + value_block("big3", make_value(2 << 20, 3)) + "END\r\n";
  EXPECT_TRUE(after.read_exactly(expected.size(), milliseconds(10000)).bytes == expected);
}

}  // namespace
}  // namespace mcguard::e2e
