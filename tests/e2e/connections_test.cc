// Connection-level behaviour of the server under test: thousands of idle
// connections, replies that stay on their own connection, clients that vanish
// or stop reading, start-up with default options, and shutdown on SIGTERM.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <thread>

#include "differential.h"

namespace mcguard::e2e {
namespace {

class Connections : public ::testing::Test {
 protected:
  void SetUp() override { start(McguardOptions{}); }

  void start(const McguardOptions& options) {
    std::string error;
    server_ = start_subject(&error, options);
    ASSERT_NE(server_, nullptr) << subject_name() << ": " << error;
  }

  Client connect() {
    auto c = Client::connect(server_->port(), milliseconds(5000));
    EXPECT_TRUE(c.has_value()) << "cannot connect to " << server_->command_line();
    return c ? std::move(*c) : Client();
  }

  // Sends `request` + "mn\r\n" and returns the reply up to and including "MN\r\n".
  static ReadResult ask(Client& c, std::string_view request,
                        milliseconds timeout = milliseconds(5000)) {
    std::string bytes(request);
    bytes += "mn\r\n";
    EXPECT_TRUE(c.send(bytes, timeout));
    const int markers = count_noops(bytes);
    return c.read_until(
        [markers](std::string_view got) { return reply_length_through_markers(got, markers); },
        timeout);
  }

  std::unique_ptr<ServerProcess> server_;
};

std::string set_and_get(const std::string& key, const std::string& value) {
  return "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nget " + key +
         "\r\n";
}

std::string stored_and_value(const std::string& key, const std::string& value) {
  return "STORED\r\nVALUE " + key + " 0 " + std::to_string(value.size()) + "\r\n" + value +
         "\r\nEND\r\n";
}

TEST_F(Connections, TwoThousandIdleConnectionsAllAnswer) {
  constexpr int kConnections = 2000;
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < kConnections + 200) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, kConnections + 1000);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  ASSERT_GE(limit.rlim_cur, static_cast<rlim_t>(kConnections + 200))
      << "RLIMIT_NOFILE too low for this test";

  const long rss_before = server_->rss_kib().value_or(-1);
  std::vector<Client> clients;
  clients.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    auto c = Client::connect(server_->port(), milliseconds(5000));
    ASSERT_TRUE(c.has_value()) << "connection " << i << " failed";
    clients.push_back(std::move(*c));
  }
  ASSERT_TRUE(server_->running());
  // Connections open but idle: what do they cost?
  const long rss_idle = server_->rss_kib().value_or(-1);
  std::printf("[ INFO     ] %s VmRSS: %ld KiB at start, %ld KiB with %d idle connections\n",
              subject_name().c_str(), rss_before, rss_idle, kConnections);
  RecordProperty("rss_kib_start", static_cast<int>(rss_before));
  RecordProperty("rss_kib_2000_idle", static_cast<int>(rss_idle));

  // Every connection asks at once (one request each, all sent before any
  // reply is read), each for its own key, so a reply on the wrong connection
  // would show.
  for (int i = 0; i < kConnections; ++i) {
    const std::string key = "conn" + std::to_string(i);
    ASSERT_TRUE(clients[i].send(set_and_get(key, "value-of-" + key)));
  }
  int answered = 0;
  for (int i = 0; i < kConnections; ++i) {
    const std::string key = "conn" + std::to_string(i);
    const std::string expected = stored_and_value(key, "value-of-" + key);
    ReadResult r = clients[i].read_exactly(expected.size(), milliseconds(5000));
    EXPECT_EQ(r.bytes, expected) << "connection " << i;
    if (r.bytes == expected) ++answered;
  }
  EXPECT_EQ(answered, kConnections);
  const long rss_busy = server_->rss_kib().value_or(-1);
  std::printf("[ INFO     ] %s VmRSS: %ld KiB after every connection was served\n",
              subject_name().c_str(), rss_busy);
  RecordProperty("rss_kib_2000_served", static_cast<int>(rss_busy));
}

TEST_F(Connections, DefaultsServeSetGet) {
  if (subject_is_memcached()) GTEST_SKIP() << "mcguard's defaults only";
  server_.reset();
  McguardOptions defaults;
  defaults.defaults_only = true;  // only --listen and --config /dev/null
  start(defaults);
  Client c = connect();
  const std::string small = "hello";
  const std::string large = make_value(200000, 9);  // spans several default 64 KiB buffers
  ReadResult r = ask(c, set_and_get("small", small) + set_and_get("large", large));
  EXPECT_EQ(r.bytes, stored_and_value("small", small) + stored_and_value("large", large) + "MN\r\n")
      << escape(r.bytes, 600);
}

TEST_F(Connections, RepliesStayOnTheirConnection) {
  // 64 clients pipeline interleaved sets and gets of their own keys, with
  // values of different sizes, all sent before any reply is read.
  constexpr int kClients = 64;
  std::vector<Client> clients;
  std::vector<std::string> expected(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect());
    std::string request;
    for (int round = 0; round < 3; ++round) {
      const std::string key = "c" + std::to_string(i) + "r" + std::to_string(round);
      const std::string value =
          make_value(static_cast<size_t>(1 + (i * 7919 + round * 104729) % 150000), i * 3 + round);
      request += set_and_get(key, value);
      expected[i] += stored_and_value(key, value);
    }
    ASSERT_TRUE(clients[i].send(request));
  }
  for (int i = 0; i < kClients; ++i) {
    ReadResult r = clients[i].read_exactly(expected[i].size(), milliseconds(10000));
    EXPECT_TRUE(r.bytes == expected[i]) << "client " << i << " got: " << escape(r.bytes, 400);
  }
}

TEST_F(Connections, ClientVanishingMidValueDoesNotDisturbOthers) {
  Client steady = connect();
  ASSERT_EQ(ask(steady, "set s 0 0 1\r\ns\r\n").bytes, "STORED\r\nMN\r\n");
  {
    // Half of a 1 MiB value, then the client is gone.
    Client vanishing = connect();
    ASSERT_TRUE(vanishing.send("set v 0 0 1048576\r\n" + std::string(500000, 'v')));
    // Half of an oversized value, then gone.
    Client oversized = connect();
    ASSERT_TRUE(oversized.send("set o 0 0 " + std::to_string(kMaxValueSize + 1000) + "\r\n" +
                               std::string(300000, 'o')));
    EXPECT_TRUE(steady.send("get s\r\n"));
    EXPECT_EQ(steady.read_exactly(std::string("VALUE s 0 1\r\ns\r\nEND\r\n").size()).bytes,
              "VALUE s 0 1\r\ns\r\nEND\r\n");
  }
  EXPECT_EQ(ask(steady, "get v o s\r\n").bytes, "VALUE s 0 1\r\ns\r\nEND\r\nMN\r\n");
  Client fresh = connect();
  EXPECT_EQ(ask(fresh, set_and_get("f", "fresh")).bytes, stored_and_value("f", "fresh") + "MN\r\n");
  EXPECT_TRUE(server_->running());
}

TEST_F(Connections, SlowReaderDoesNotStallOthers) {
  // One client asks for 40 MiB of replies and reads none of them; another
  // client must still be served promptly.
  Client setup = connect();
  const std::string value = make_value(4u << 20, 11);
  ASSERT_EQ(ask(setup, "set big 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n",
                milliseconds(20000))
                .bytes,
            "STORED\r\nMN\r\n");
  Client stalled = connect();
  std::string gets;
  for (int i = 0; i < 10; ++i) gets += "get big\r\n";
  ASSERT_TRUE(stalled.send(gets));
  Client other = connect();
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    ReadResult r = ask(other, set_and_get(key, key), milliseconds(3000));
    ASSERT_EQ(r.bytes, stored_and_value(key, key) + "MN\r\n") << "request " << i;
  }
  // The stalled client still gets its replies, complete, once it reads.
  const std::string one =
      "VALUE big 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n";
  for (int i = 0; i < 10; ++i) {
    ReadResult r = stalled.read_exactly(one.size(), milliseconds(20000));
    ASSERT_TRUE(r.bytes == one) << "reply " << i << " starts: " << escape(r.bytes.substr(0, 200));
  }
}

// Reads one get reply ("VALUE ..." data "END", or "END") from `c`; returns the
// value, or nullopt on a miss. Fails the test on anything else.
std::optional<std::string> read_get_reply(Client& c, const std::string& key) {
  ReadResult line = c.read_line(milliseconds(10000));
  if (line.bytes == "END\r\n") return std::nullopt;
  const std::string prefix = "VALUE " + key + " 0 ";
  EXPECT_EQ(line.bytes.rfind(prefix, 0), 0u) << escape(line.bytes);
  if (line.bytes.rfind(prefix, 0) != 0) return std::nullopt;
  const size_t length = std::stoul(line.bytes.substr(prefix.size()));
  ReadResult data = c.read_exactly(length + 2 + 5, milliseconds(10000));
  if (data.bytes.size() < length + 7) {
    ADD_FAILURE() << "reply cut short: " << data.bytes.size() << " of " << length + 7 << " bytes";
    return std::nullopt;
  }
  EXPECT_EQ(data.bytes.substr(length), "\r\nEND\r\n");
  return data.bytes.substr(0, length);
}

TEST_F(Connections, EvictionDuringSlowReadKeepsValueIntact) {
  // A reader asks for a 3 MiB value six times (more than the socket buffers
  // hold) and reads nothing for a while; meanwhile the
  // key is overwritten and the small store is churned so the item is evicted.
  // Replies already under way must stay whole: all 'a' or all 'b', never torn.
  server_.reset();
  McguardOptions options;
  options.memory_limit = "16m";
  start(options);
  constexpr size_t kSize = 3u << 20;
  Client writer = connect();
  ASSERT_EQ(ask(writer,
                "set big 0 0 " + std::to_string(kSize) + "\r\n" + std::string(kSize, 'a') + "\r\n",
                milliseconds(10000))
                .bytes,
            "STORED\r\nMN\r\n");
  Client reader = connect();
  std::string gets;
  for (int i = 0; i < 6; ++i) gets += "get big\r\n";
  ASSERT_TRUE(reader.send(gets));
  ASSERT_FALSE(reader.quiet_for(milliseconds(3000))) << "no reply started within 3 s";
  std::string churn =
      "set big 0 0 " + std::to_string(kSize) + "\r\n" + std::string(kSize, 'b') + "\r\n";
  const std::string filler = make_value(1u << 20, 1);
  for (int i = 0; i < 40; ++i) {
    churn += "set f" + std::to_string(i) + " 0 0 " + std::to_string(filler.size()) + "\r\n" +
             filler + "\r\n";
  }
  ReadResult stored = ask(writer, churn, milliseconds(20000));
  std::string all_stored;
  for (int i = 0; i < 41; ++i) all_stored += "STORED\r\n";
  EXPECT_EQ(stored.bytes, all_stored + "MN\r\n");
  int hits = 0;
  for (int i = 0; i < 6; ++i) {
    std::optional<std::string> value = read_get_reply(reader, "big");
    if (!value) continue;
    ++hits;
    ASSERT_EQ(value->size(), kSize);
    const char first = (*value)[0];
    EXPECT_TRUE(first == 'a' || first == 'b') << "reply " << i;
    EXPECT_EQ(value->find_first_not_of(first), std::string::npos)
        << "reply " << i << " is torn: it starts with '" << first << "'";
  }
  EXPECT_GE(hits, 1);
}

TEST_F(Connections, ConcurrentLargeSetsBeyondThePoolAllComplete) {
  // Eight clients send 6 MiB values at once into a pool with room for one
  // such value per worker: the others must wait their turn (backpressure),
  // not fail or deadlock.
  server_.reset();
  McguardOptions options;
  options.pool_size = "20m";      // 10 MiB per worker, 2 workers: one 6 MiB value each
  options.memory_limit = "256m";  // room for all eight: only the pool is short
  start(options);
  constexpr int kClients = 8;
  constexpr size_t kSize = 6u << 20;
  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect());
  std::vector<std::string> replies(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      const std::string request = "set p" + std::to_string(i) + " 0 0 " + std::to_string(kSize) +
                                  "\r\n" + std::string(kSize, static_cast<char>('A' + i)) + "\r\n";
      if (!clients[i].send(request, milliseconds(30000))) return;
      replies[i] = clients[i].read_line(milliseconds(30000)).bytes;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(replies[i], "STORED\r\n") << "client " << i;
  for (int i = 0; i < kClients; ++i) {
    const std::string key = "p" + std::to_string(i);
    ASSERT_TRUE(clients[0].send("get " + key + "\r\n"));
    std::optional<std::string> value = read_get_reply(clients[0], key);
    ASSERT_TRUE(value.has_value()) << key;
    EXPECT_TRUE(*value == std::string(kSize, static_cast<char>('A' + i))) << key;
  }
}

TEST_F(Connections, SigtermExitsCleanlyWithOpenConnections) {
  if (subject_is_memcached()) GTEST_SKIP() << "the reference is stopped with SIGKILL";
  std::vector<Client> idle;
  for (int i = 0; i < 50; ++i) idle.push_back(connect());
  Client used = connect();
  ASSERT_EQ(ask(used, set_and_get("x", "y")).bytes, stored_and_value("x", "y") + "MN\r\n");
  const auto started = Clock::now();
  ExitStatus status = server_->stop(milliseconds(5000));
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  EXPECT_FALSE(status.needed_sigkill) << "still running 5 s after SIGTERM";
  EXPECT_TRUE(status.exited && status.code == 0)
      << "exit: exited=" << status.exited << " code=" << status.code << " signal=" << status.signal;
  std::printf("[ INFO     ] mcguard exited %lld ms after SIGTERM\n",
              static_cast<long long>(took.count()));
  // The clients see their connections closed.
  EXPECT_TRUE(used.wait_for_close(milliseconds(1000)));
}

}  // namespace
}  // namespace mcguard::e2e
