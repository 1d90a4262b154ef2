// Broken upstreams: down when mcguard starts, killed while a request waits on
// it, restarted, accepting connections but never answering, answering junk.
// Each time the requests it owns get "SERVER_ERROR ..." within a bounded time
// (never a hang), mcguard keeps serving the keys of healthy servers, and it
// uses a server again once it is back, without being restarted itself.
#include <signal.h>

#include "differential.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

using std::chrono::duration_cast;

long long ms_since(Clock::time_point start) {
  return duration_cast<milliseconds>(Clock::now() - start).count();
}

// Splits a reply into "\r\n"-terminated lines (no value blocks expected).
std::vector<std::string> lines_of(const std::string& reply) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < reply.size()) {
    const size_t eol = reply.find("\r\n", pos);
    if (eol == std::string::npos) {
      lines.push_back(reply.substr(pos));
      break;
    }
    lines.push_back(reply.substr(pos, eol + 2 - pos));
    pos = eol + 2;
  }
  return lines;
}

// Expects `reply` to be `errors` SERVER_ERROR lines and then "MN".
void expect_server_errors(const ReadResult& reply, size_t errors) {
  EXPECT_FALSE(reply.timed_out) << "no complete reply: " << escape(reply.bytes);
  const auto lines = lines_of(reply.bytes);
  ASSERT_EQ(lines.size(), errors + 1) << escape(reply.bytes);
  for (size_t i = 0; i < errors; ++i) {
    EXPECT_TRUE(is_server_error(lines[i])) << "reply " << i << ": " << escape(lines[i]);
  }
  EXPECT_EQ(lines.back(), "MN\r\n");
}

// Polls with a set through mcguard until it is stored (the upstream is used
// again) or `timeout` passes.
bool wait_until_stored(Client& c, const std::string& key, milliseconds timeout) {
  return wait_until(
      [&] {
        ReadResult r = UpstreamTest::ask(c, set_command(key, "back"), milliseconds(5000));
        return r.bytes == "STORED\r\nMN\r\n";
      },
      timeout, milliseconds(20));
}

class UpstreamFailures : public UpstreamTest {};

TEST_F(UpstreamFailures, DownAtStartThenServedOnceItListens) {
  // Nothing listens on the port yet: connections are refused at once, so the
  // errors must come long before the 3 s reply timeout.
  upstream_ports_ = {pick_free_port()};
  upstreams_.resize(1);
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "3s", "--upstream-retry", "100ms"}));
  Client c = connect_proxy();
  auto started = Clock::now();
  ReadResult r = ask(c,
                     "get k\r\nset k 0 0 1\r\nx\r\nset k 0 0 1 noreply\r\nx\r\nmg k v\r\n"
                     "get a b c\r\ndelete k noreply\r\nincr n 1\r\n");
  const long long took = ms_since(started);
  expect_server_errors(r, 5);  // the two noreply requests say nothing
  EXPECT_LT(took, 1500) << "errors for a refused upstream took " << took << " ms";

  // Repeatedly, while it stays down.
  for (int i = 0; i < 5; ++i) {
    started = Clock::now();
    expect_server_errors(ask(c, "get k" + std::to_string(i) + "\r\n"), 1);
    EXPECT_LT(ms_since(started), 1500);
  }

  // The server comes up on that port: mcguard uses it without a restart.
  ASSERT_NO_FATAL_FAILURE(restart_upstream(0));
  const pid_t pid = proxy_->pid();
  ASSERT_TRUE(wait_until_stored(c, "k", milliseconds(15000)))
      << "mcguard did not use the upstream within 15 s of it starting";
  EXPECT_EQ(escape(ask(c, "get k\r\n").bytes), escape(value_block("k", "back") + "END\r\nMN\r\n"));
  EXPECT_EQ(direct_get(0, "k"), "back");
  EXPECT_EQ(proxy_->pid(), pid);
  EXPECT_TRUE(proxy_->running());
}

TEST_F(UpstreamFailures, KilledWhileRequestsWaitThenRestarted) {
  ASSERT_NO_FATAL_FAILURE(start_upstreams(1));
  // A long reply timeout: errors that come quickly come from noticing the
  // closed connection, not from the timeout.
  ASSERT_NO_FATAL_FAILURE(start_proxy(
      {"--upstream-timeout", "5s", "--upstream-retry", "100ms", "--upstream-connections", "1"}, [] {
        McguardOptions o;
        o.threads = 1;
        return o;
      }()));
  Client c = connect_proxy();
  ASSERT_EQ(ask(c, set_command("a", "alpha")).bytes, "STORED\r\nMN\r\n");

  // Frozen, memcached takes requests into its socket buffer but answers none;
  // once they are there, they are in flight.
  ASSERT_TRUE(freeze(*upstreams_[0])) << "the upstream did not stop";
  const size_t queued_before = tcp_receive_queue(upstream_ports_[0]);
  const std::string request = "get a\r\n" + set_command("b", std::string(3000, 'b')) + "mg a v\r\n";
  ASSERT_TRUE(c.send(request + "mn\r\n"));
  const bool forwarded =
      wait_until([&] { return tcp_receive_queue(upstream_ports_[0]) >= queued_before + 3000; },
                 milliseconds(3000));
  EXPECT_TRUE(forwarded) << "the requests never reached the upstream's socket ("
                         << tcp_receive_queue(upstream_ports_[0]) << " bytes queued)";
  EXPECT_TRUE(c.quiet_for(milliseconds(0)));
  const auto killed = Clock::now();
  ASSERT_NO_FATAL_FAILURE(kill_upstream(0));
  ReadResult r =
      c.read_until([](std::string_view got) { return reply_length_through_markers(got, 1); },
                   milliseconds(8000));
  const long long took = ms_since(killed);
  expect_server_errors(r, 3);
  EXPECT_LT(took, 3000) << "the requests waited " << took
                        << " ms after their upstream died: was the close noticed?";

  // Another connection meanwhile: errors, not a hang.
  Client other = connect_proxy();
  expect_server_errors(ask(other, "get a\r\n"), 1);

  // Restarted on the same port: served again, without restarting mcguard.
  ASSERT_NO_FATAL_FAILURE(restart_upstream(0));
  ASSERT_TRUE(wait_until_stored(c, "c", milliseconds(15000)))
      << "mcguard did not use the restarted upstream within 15 s";
  // The new memcached started empty.
  EXPECT_EQ(escape(ask(c, "get a b c\r\n").bytes),
            escape(value_block("c", "back") + "END\r\nMN\r\n"));
  EXPECT_EQ(escape(ask(other, "get c\r\n").bytes),
            escape(value_block("c", "back") + "END\r\nMN\r\n"));
  EXPECT_TRUE(proxy_->running());
}

TEST_F(UpstreamFailures, FailoverMovesADownServersKeysToTheNextOnTheRing) {
  ASSERT_NO_FATAL_FAILURE(start_upstreams(3));
  // One failure marks a server down, and it is not retried within the test.
  ASSERT_NO_FATAL_FAILURE(start_proxy(
      {"--upstream-failover", "--upstream-failure-limit", "1", "--upstream-retry", "60s"}, [] {
        McguardOptions o;
        o.threads = 1;
        return o;
      }()));
  const auto keys = keys_by_server("failover", 4);
  ASSERT_EQ(keys.size(), 3u);
  ASSERT_NO_FATAL_FAILURE(kill_upstream(1));
  Client c = connect_proxy();
  // The first request for upstream 1 finds it gone and marks it down; from
  // then on its keys are stored on, and read from, the servers that follow it.
  ASSERT_TRUE(wait_until_stored(c, keys[1][0], milliseconds(10000)))
      << "upstream 1's keys were not failed over";
  for (const std::string& key : keys[1]) {
    EXPECT_EQ(ask(c, set_command(key, "moved")).bytes, "STORED\r\nMN\r\n") << key;
    EXPECT_EQ(escape(ask(c, "get " + key + "\r\n").bytes),
              escape(value_block(key, "moved") + "END\r\nMN\r\n"));
    const bool on_0 = direct_get(0, key) == std::optional<std::string>("moved");
    const bool on_2 = direct_get(2, key) == std::optional<std::string>("moved");
    EXPECT_TRUE(on_0 != on_2) << key << " should be on exactly one remaining server";
  }
  // The other servers' keys did not move: each still reads its first value.
  for (int server : {0, 2}) {
    for (const std::string& key : keys[server]) {
      EXPECT_EQ(escape(ask(c, "get " + key + "\r\n").bytes),
                escape(value_block(key, key) + "END\r\nMN\r\n"));
    }
  }
  EXPECT_TRUE(proxy_->running());
}

// Learns which keys live on upstream 0 and upstream 1 while both are real
// memcached servers, then puts `fake` in place of upstream 1 (same address, so
// the same keys map to it) and starts a fresh mcguard.
class UpstreamBroken : public UpstreamTest {
 protected:
  void start_with_fake(FakeUpstream::Mode mode, std::string junk,
                       const std::vector<std::string>& args) {
    ASSERT_NO_FATAL_FAILURE(start_upstreams(2));
    ASSERT_NO_FATAL_FAILURE(start_proxy({}));
    keys_ = keys_by_server("fk", 4);
    ASSERT_FALSE(HasFailure());
    proxy_.reset();
    ASSERT_NO_FATAL_FAILURE(kill_upstream(1));
    std::string error;
    fake_ = FakeUpstream::start(mode, upstream_ports_[1], std::move(junk), &error);
    ASSERT_NE(fake_, nullptr) << error;
    // An item limit given, so no start-up `stats settings` reaches the fake: what
    // it receives is the tests' requests only.
    std::vector<std::string> all_args = {"--upstream-item-size-max", "1m"};
    all_args.insert(all_args.end(), args.begin(), args.end());
    ASSERT_NO_FATAL_FAILURE(start_proxy(all_args));
  }

  // keys_[0] stay on memcached; their values are the keys themselves.
  void expect_healthy_keys_served(Client& c) {
    for (const auto& key : keys_[0]) {
      const auto started = Clock::now();
      EXPECT_EQ(escape(ask(c, "get " + key + "\r\n").bytes),
                escape(value_block(key, key) + "END\r\nMN\r\n"));
      EXPECT_LT(ms_since(started), 1000) << "a key of the healthy server waited";
    }
    const std::string& key = keys_[0][0];
    EXPECT_EQ(ask(c, set_command(key, "fresh")).bytes, "STORED\r\nMN\r\n");
    EXPECT_EQ(direct_get(0, key), "fresh");
    EXPECT_EQ(ask(c, set_command(key, key)).bytes, "STORED\r\nMN\r\n");
  }

  std::vector<std::vector<std::string>> keys_;
  std::unique_ptr<FakeUpstream> fake_;
};

TEST_F(UpstreamBroken, NeverAnsweringUpstreamTimesOut) {
  ASSERT_NO_FATAL_FAILURE(start_with_fake(FakeUpstream::Mode::kSilent, "",
                                          {"--upstream-timeout", "400ms", "--upstream-retry",
                                           "100ms", "--upstream-failure-limit", "100"}));
  Client c = connect_proxy();
  Client healthy = connect_proxy();
  for (int i = 0; i < 3; ++i) {
    const std::string& key = keys_[1][i];
    const auto started = Clock::now();
    ReadResult r = ask(c, "get " + key + "\r\n", milliseconds(5000));
    const long long took = ms_since(started);
    expect_server_errors(r, 1);
    EXPECT_GE(took, 300) << "SERVER_ERROR before the 400 ms timeout could have passed";
    EXPECT_LT(took, 2500) << "a 400 ms timeout took " << took << " ms";
    // The healthy server meanwhile, on another connection.
    expect_healthy_keys_served(healthy);
  }
  EXPECT_GE(fake_->accepted(), 1);
  EXPECT_GT(fake_->bytes_received(), 0u) << "the requests never reached the silent upstream";

  // A multi-get that needs both servers: the whole reply is one SERVER_ERROR.
  const auto started = Clock::now();
  ReadResult r = ask(c, "get " + keys_[0][0] + " " + keys_[1][0] + " " + keys_[0][1] + "\r\n");
  expect_server_errors(r, 1);
  EXPECT_LT(ms_since(started), 2500);
  // A set and a pipeline behind it on the same connection: answered, in order.
  r = ask(c, set_command(keys_[1][1], "v") + "get " + keys_[0][2] + "\r\n", milliseconds(5000));
  const auto lines = lines_of(r.bytes);
  ASSERT_GE(lines.size(), 1u);
  EXPECT_TRUE(is_server_error(lines[0])) << escape(r.bytes);
  EXPECT_EQ(escape(r.bytes.substr(lines[0].size())),
            escape(value_block(keys_[0][2], keys_[0][2]) + "END\r\nMN\r\n"));
  EXPECT_TRUE(proxy_->running());
}

// Junk of several kinds, none of which starts like a reply to any request: not
// a memcached reply at all, binary bytes with no line end, a value whose length
// is not a number, lines ended by a bare "\n".
const std::string kJunk[] = {
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    std::string("\x00\x01\x02\xff\xfe\x80 junk without an end of line", 34),
    "VALUE k 0 notanumber\r\nEND\r\n",
    "garbage\ngarbage\n",
};

class UpstreamGarbage : public UpstreamBroken, public ::testing::WithParamInterface<int> {};

TEST_P(UpstreamGarbage, JunkFromAnUpstreamIsAnErrorAndOthersKeepWorking) {
  ASSERT_NO_FATAL_FAILURE(
      start_with_fake(FakeUpstream::Mode::kGarbage, kJunk[GetParam()],
                      {"--upstream-timeout", "2s", "--upstream-retry", "100ms"}));
  Client c = connect_proxy();
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    const std::string& key = keys_[1][i];
    const auto started = Clock::now();
    // A get, and a set, owned by the junk server; then a healthy key on the
    // same connection, whose reply must follow in order.
    ReadResult r =
        ask(c, "get " + key + "\r\n" + set_command(key, "v") + "get " + keys_[0][i] + "\r\n",
            milliseconds(6000));
    EXPECT_LT(ms_since(started), 4500) << "junk was not recognised before the 2 s timeout";
    const auto lines = lines_of(r.bytes);
    ASSERT_GE(lines.size(), 2u) << escape(r.bytes);
    EXPECT_TRUE(is_server_error(lines[0])) << escape(r.bytes);
    EXPECT_TRUE(is_server_error(lines[1])) << escape(r.bytes);
    EXPECT_EQ(escape(r.bytes.substr(std::min(r.bytes.size(), lines[0].size() + lines[1].size()))),
              escape(value_block(keys_[0][i], keys_[0][i]) + "END\r\nMN\r\n"));
    Client other = connect_proxy();
    expect_healthy_keys_served(other);
  }
  EXPECT_GT(fake_->bytes_received(), 0u) << "no request reached the junk upstream";
  EXPECT_TRUE(proxy_->running());
}

INSTANTIATE_TEST_SUITE_P(Kinds, UpstreamGarbage, ::testing::Range(0, 4));

}  // namespace
}  // namespace mcguard::e2e
