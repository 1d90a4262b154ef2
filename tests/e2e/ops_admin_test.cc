// The admin HTTP listener: /metrics in the Prometheus text format (checked by
// promtool from Debian's prometheus package), /healthz and /readyz in each
// state (serving, draining, upstream unreachable), 404 for everything else,
// and a flood of bad HTTP on the admin port while a data-path client keeps
// being served.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ops_support.h"

namespace mcguard::e2e {
namespace {

class OpsAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's admin listener only";
  }

  void start(McguardOptions options = {}) {
    std::string error;
    server_ = start_with_admin(std::move(options), &admin_port_, &error);
    ASSERT_NE(server_, nullptr) << error;
  }

  std::unique_ptr<ServerProcess> server_;
  uint16_t admin_port_ = 0;
};

TEST_F(OpsAdmin, MetricsPassPromtool) {
  McguardOptions options;
  options.max_value_size = "1k";
  // "PREFIX: SIZE": the prefix is what comes before the last colon.
  options.extra_args = {"--limit", "session: 4k", "--limit", "session:admin: 16k"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  auto client = Client::connect(server_->port());
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(set_value(*client, "session:1", 3000), "STORED\r\n");
  EXPECT_EQ(set_value(*client, "session:admin:1", 10000), "STORED\r\n");
  EXPECT_EQ(set_value(*client, "other", 2000), "SERVER_ERROR object too large for cache\r\n");
  ASSERT_TRUE(client->send("get session:1 missing\r\n"));
  EXPECT_FALSE(client->read_line().bytes.empty());

  HttpReply metrics = http_get(admin_port_, "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.head;
  EXPECT_NE(metrics.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos)
      << metrics.head;
  const std::string& body = metrics.body;
  for (const char* expected : {
           "# TYPE mcguard_requests_total counter\n",
           "# TYPE mcguard_value_size_bytes histogram\n",
           "mcguard_value_size_bytes_count{prefix=\"session\"} 1\n",
           "mcguard_value_size_bytes_count{prefix=\"session:admin\"} 1\n",
           "mcguard_value_size_bytes_count{prefix=\"\"} 1\n",
           "mcguard_value_size_bytes_bucket{prefix=\"session\",le=\"4096\"} 1\n",
           "mcguard_value_size_bytes_bucket{prefix=\"session\",le=\"1024\"} 0\n",
           "mcguard_value_limit_bytes{prefix=\"session:admin\"} 16384\n",
           "mcguard_rejections_total{reason=\"over_limit\"} 1\n",
           "mcguard_connections 1\n",
           "mcguard_ready 1\n",
       }) {
    EXPECT_NE(body.find(expected), std::string::npos) << "missing: " << expected;
  }

  if (!have_promtool()) {
    GTEST_SKIP() << "promtool is not installed (scripts/setup installs Debian's prometheus)";
  }
  expect_promtool_accepts(body);
}

TEST_F(OpsAdmin, HealthAndReadinessWhileServing) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpReply health = http_get(admin_port_, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  HttpReply ready = http_get(admin_port_, "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");
  // HEAD answers the same status without a body; a query string is ignored.
  HttpReply head = http_exchange(admin_port_, "HEAD /readyz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(http_get(admin_port_, "/healthz?verbose=1").status, 200);
}

TEST_F(OpsAdmin, ReadyzTurnsUnreadyAtOnceWhenDraining) {
  McguardOptions options;
  options.extra_args = {"--drain-timeout", "60s"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  // A request in progress holds the drain open: the header and half the value,
  // once mcguard has read it (bytes_read counts each "stats\r\n" too).
  auto stats = Client::connect(server_->port());
  ASSERT_TRUE(stats.has_value());
  const long long before = stat_number(*stats, "bytes_read");
  const std::string held = "set held 0 0 10\r\n12345";
  auto client = Client::connect(server_->port());
  ASSERT_TRUE(client.has_value());
  ASSERT_TRUE(client->send(held));
  long long queries = 0;
  ASSERT_TRUE(poll_until(
      [&] {
        ++queries;
        return stat_number(*stats, "bytes_read") >=
               before + queries * 7 + static_cast<long long>(held.size());
      },
      milliseconds(10000)));
  stats->close();
  ASSERT_EQ(http_get(admin_port_, "/readyz").status, 200);

  ASSERT_TRUE(server_->signal(SIGTERM));
  HttpReply ready;
  EXPECT_TRUE(poll_until(
      [&] {
        ready = http_get(admin_port_, "/readyz");
        return ready.status == 503;
      },
      milliseconds(10000)))
      << "readyz still " << ready.status;
  EXPECT_EQ(ready.body, "not ready: draining\n");
  EXPECT_EQ(http_get(admin_port_, "/healthz").status, 200) << "the process is alive";
  HttpReply metrics = http_get(admin_port_, "/metrics");
  EXPECT_NE(metrics.body.find("mcguard_draining 1\n"), std::string::npos);

  // The request in progress still completes, then the process exits 0.
  ASSERT_TRUE(client->send("67890\r\n"));
  EXPECT_EQ(client->read_line(milliseconds(10000)).bytes, "STORED\r\n");
  EXPECT_TRUE(client->wait_for_close(milliseconds(10000)));
  ExitStatus status = server_->stop(milliseconds(20000));
  EXPECT_TRUE(status.exited && status.code == 0 && !status.needed_sigkill)
      << "exited " << status.exited << " code " << status.code << " signal " << status.signal;
}

TEST_F(OpsAdmin, ReadyzInUpstreamModeFollowsTheUpstream) {
  // Nothing listens on the first port: unready until an upstream is reachable.
  const uint16_t nowhere = pick_free_port();
  McguardOptions options;
  options.extra_args = {"--upstream", "127.0.0.1:" + std::to_string(nowhere)};
  ASSERT_NO_FATAL_FAILURE(start(options));
  HttpReply ready;
  EXPECT_TRUE(poll_until(
      [&] {
        ready = http_get(admin_port_, "/readyz");
        return ready.status == 503 && ready.body == "not ready: no upstream reachable\n";
      },
      milliseconds(10000)))
      << ready.status << " " << ready.body;
  EXPECT_EQ(http_get(admin_port_, "/healthz").status, 200);
  server_.reset();

  std::string error;
  auto upstream = start_memcached(&error);
  ASSERT_NE(upstream, nullptr) << error;
  options.extra_args = {"--upstream", "127.0.0.1:" + std::to_string(upstream->port())};
  ASSERT_NO_FATAL_FAILURE(start(options));
  EXPECT_TRUE(poll_until([&] { return http_get(admin_port_, "/readyz").status == 200; },
                         milliseconds(10000)));
  auto client = Client::connect(server_->port());
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(set_value(*client, "k", 100), "STORED\r\n");
  HttpReply metrics = http_get(admin_port_, "/metrics");
  EXPECT_NE(metrics.body.find("mcguard_upstream_reachable{upstream=\"127.0.0.1:" +
                              std::to_string(upstream->port()) + "\"} 1\n"),
            std::string::npos)
      << metrics.body;
  if (have_promtool()) expect_promtool_accepts(metrics.body);
  // The upstream goes away: unready again.
  upstream->stop();
  EXPECT_TRUE(poll_until([&] { return http_get(admin_port_, "/readyz").status == 503; },
                         milliseconds(10000)));
}

TEST_F(OpsAdmin, UpstreamReplyLatencyInStatsAndMetrics) {
  std::string error;
  auto upstream = start_memcached(&error);
  ASSERT_NE(upstream, nullptr) << error;
  McguardOptions options;
  options.threads = 1;
  options.extra_args = {"--upstream", "127.0.0.1:" + std::to_string(upstream->port())};
  ASSERT_NO_FATAL_FAILURE(start(options));
  auto client = Client::connect(server_->port());
  ASSERT_TRUE(client.has_value());
  for (int i = 0; i < 20; ++i) {
    const std::string key = "lat" + std::to_string(i);
    EXPECT_EQ(set_value(*client, key, 100), "STORED\r\n");
    ASSERT_TRUE(client->send("get " + key + "\r\n"));
    const std::string reply = "VALUE " + key + " 0 100\r\n" + std::string(100, 'v') + "\r\nEND\r\n";
    EXPECT_EQ(client->read_exactly(reply.size()).bytes, reply);
  }
  // 20 sets and 20 gets were answered by the upstream.
  EXPECT_EQ(stat_number(*client, "mcguard_upstream_0_replies"), 40);
  EXPECT_GT(stat_number(*client, "mcguard_upstream_0_reply_us_avg"), 0);
  // Each of the two stats requests then asked the upstream for its item
  // counts (after rendering its own lines): 42 replies.
  HttpReply metrics = http_get(admin_port_, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string label = "{upstream=\"127.0.0.1:" + std::to_string(upstream->port()) + "\"";
  for (const std::string& expected :
       {std::string("# TYPE mcguard_upstream_reply_duration_seconds histogram\n"),
        "mcguard_upstream_reply_duration_seconds_count" + label + "} 42\n",
        "mcguard_upstream_reply_duration_seconds_bucket" + label + ",le=\"+Inf\"} 42\n",
        "mcguard_upstream_reply_duration_seconds_bucket" + label + ",le=\"0.001\"} "}) {
    EXPECT_NE(metrics.body.find(expected), std::string::npos) << "missing: " << expected;
  }
  if (have_promtool()) expect_promtool_accepts(metrics.body);
}

TEST_F(OpsAdmin, EverythingElseIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const char* path : {"/", "/metrics/", "/healthz/x", "/favicon.ico", "/stats", "/READYZ"}) {
    EXPECT_EQ(http_get(admin_port_, path).status, 404) << path;
  }
  EXPECT_EQ(
      http_exchange(admin_port_, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status,
      405);
  EXPECT_EQ(http_exchange(admin_port_, "GET\r\n\r\n").status, 400);
  EXPECT_EQ(http_exchange(admin_port_, "get /metrics HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(http_exchange(admin_port_, "GET /metrics SPDY/3\r\n\r\n").status, 400);
  // A head larger than the listener's bound is refused, not buffered.
  const std::string huge =
      "GET /metrics HTTP/1.1\r\nX-Fill: " + std::string(20000, 'x') + "\r\n\r\n";
  EXPECT_EQ(http_exchange(admin_port_, huge).status, 431);
  EXPECT_EQ(http_get(admin_port_, "/healthz").status, 200) << "still answering";
}

TEST_F(OpsAdmin, AClientThatHalfClosesAfterItsRequestIsAnswered) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto client = Client::connect(admin_port_);
  ASSERT_TRUE(client.has_value());
  ASSERT_TRUE(client->send("GET /healthz HTTP/1.0\r\n\r\n"));
  ASSERT_EQ(::shutdown(client->fd(), SHUT_WR), 0);
  std::string received;
  EXPECT_TRUE(client->wait_for_close(milliseconds(5000), &received));
  EXPECT_EQ(received.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << escape(received);
}

TEST_F(OpsAdmin, FloodOfBadHttpLeavesTheDataPathServing) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::atomic<bool> stop{false};
  std::atomic<long> flood_connections{0};
  std::vector<std::thread> flooders;
  // Stops and joins the flood however the test leaves.
  struct Joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Joiner() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } joiner{stop, flooders};
  for (int t = 0; t < 4; ++t) {
    flooders.emplace_back([&, t] {
      std::vector<Client> held;  // half-sent requests kept open (slow clients)
      while (!stop.load()) {
        auto c = Client::connect(admin_port_, milliseconds(1000));
        if (!c) continue;
        flood_connections.fetch_add(1);
        switch (t) {
          case 0:
            c->send(std::string(3000, '\x01') + "\r\n\r\n", milliseconds(500));
            break;
          case 1:
            c->send("GET /" + std::string(8000, 'a'), milliseconds(500));
            break;
          case 2:
            c->send("GET /metrics HTTP/1.1\r\nX-Slow: ", milliseconds(500));
            held.push_back(std::move(*c));
            if (held.size() > 100) held.erase(held.begin());
            break;
          default:
            c->send("BREW /coffee HTCPCP/1.0\r\n\r\n", milliseconds(500));
            break;
        }
      }
    });
  }
  // The data path answers every request correctly while the flood goes on.
  auto client = Client::connect(server_->port());
  ASSERT_TRUE(client.has_value());
  // At least 2000 round trips, and on until the flood has made its connections.
  int answered = 0;
  for (int i = 0; (i < 2000 || flood_connections.load() < 200) && i < 100000 && !HasFailure();
       ++i) {
    const std::string key = "k" + std::to_string(i % 50);
    const std::string value = std::to_string(i);
    ASSERT_TRUE(client->send("set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" +
                             value + "\r\nget " + key + "\r\n"));
    ASSERT_EQ(client->read_line(milliseconds(10000)).bytes, "STORED\r\n") << "request " << i;
    ASSERT_EQ(client->read_line(milliseconds(10000)).bytes,
              "VALUE " + key + " 0 " + std::to_string(value.size()) + "\r\n");
    ASSERT_EQ(client->read_line(milliseconds(10000)).bytes, value + "\r\n");
    ASSERT_EQ(client->read_line(milliseconds(10000)).bytes, "END\r\n");
    ++answered;
  }
  stop = true;
  for (auto& t : flooders) t.join();
  EXPECT_GE(answered, 2000);
  EXPECT_GE(flood_connections.load(), 200) << "the flood did not happen";
  EXPECT_TRUE(poll_until([&] { return http_get(admin_port_, "/healthz").status == 200; },
                         milliseconds(15000)))
      << "the admin listener recovers once the flood stops";
  EXPECT_TRUE(server_->running());
}

}  // namespace
}  // namespace mcguard::e2e
