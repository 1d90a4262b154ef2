// Keys through mcguard's upstream tier to three memcached servers: a multi-get
// split across servers comes back in the client's key order with one END, CAS
// values are the owning server's, 5 MiB values pass both ways, and a value
// rejected at the proxy for its size removes (or, with --on-reject keep, leaves)
// the old value on the server that owns the key.
#include <algorithm>
#include <map>
#include <set>

#include "differential.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

class UpstreamRouting : public UpstreamTest {
 protected:
  void SetUp() override {
    UpstreamTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_NO_FATAL_FAILURE(start_upstreams(3));
  }
};

TEST_F(UpstreamRouting, MultiGetAcrossServersInClientKeyOrder) {
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "2s"}));
  Client c = connect_proxy();
  constexpr int kKeys = 24;
  std::map<std::string, std::string> values;
  std::map<std::string, uint32_t> flags;
  std::string sets;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "mk" + std::to_string(i);
    values[key] = make_value(static_cast<size_t>(10 + i * 397), static_cast<uint32_t>(i));
    flags[key] = static_cast<uint32_t>(1000 + i);
    sets += set_command(key, values[key], flags[key]);
  }
  std::string stored;
  for (int i = 0; i < kKeys; ++i) stored += "STORED\r\n";
  ASSERT_EQ(escape(ask(c, sets).bytes), escape(stored + "MN\r\n"));

  std::set<int> owners;
  std::map<std::string, int> owner;
  for (const auto& [key, value] : values) {
    owner[key] = owner_of(key);
    ASSERT_GE(owner[key], 0) << key << (owner[key] == -1 ? " is on no upstream" : " is on several");
    EXPECT_EQ(direct_get(owner[key], key), value) << key;
    owners.insert(owner[key]);
  }
  ASSERT_GE(owners.size(), 2u) << "24 keys all landed on one server: the test proves nothing";

  // Keys in an order that jumps between servers, with misses and a repeat.
  const std::vector<std::string> order = {"mk17", "mk3",  "missing1", "mk9",  "mk0", "mk3",
                                          "mk22", "mk11", "mk5",      "mk14", "mk8", "missing2",
                                          "mk1",  "mk20", "mk6",      "mk23"};
  std::set<int> spanned;
  std::string get = "get";
  std::string expected;
  for (const auto& key : order) {
    get += " " + key;
    if (values.count(key) == 0) continue;
    spanned.insert(owner[key]);
    expected += value_block(key, values[key], flags[key]);
  }
  ASSERT_GE(spanned.size(), 2u);
  expected += "END\r\n";
  // Twice in one pipeline, with a single-key get between: each reply whole and in order.
  ReadResult r = ask(c, get + "\r\nget mk3\r\n" + get + "\r\n");
  EXPECT_EQ(escape(r.bytes), escape(expected + value_block("mk3", values["mk3"], flags["mk3"]) +
                                    "END\r\n" + expected + "MN\r\n"));

  // gets: the same order, and each CAS is the one the owning server reports.
  std::string gets_expected;
  std::string gets = "gets";
  for (const auto& key : order) {
    gets += " " + key;
    if (values.count(key) == 0) continue;
    Client direct = connect_upstream(owner[key]);
    ReadResult d = ask(direct, "gets " + key + "\r\n");
    const std::string head = "VALUE " + key + " " + std::to_string(flags[key]) + " " +
                             std::to_string(values[key].size()) + " ";
    ASSERT_EQ(d.bytes.rfind(head, 0), 0u) << escape(d.bytes, 300);
    const std::string cas = d.bytes.substr(head.size(), d.bytes.find("\r\n") - head.size());
    gets_expected += head + cas + "\r\n" + values[key] + "\r\n";
  }
  r = ask(c, gets + "\r\n");
  EXPECT_EQ(escape(r.bytes), escape(gets_expected + "END\r\nMN\r\n"));
}

TEST_F(UpstreamRouting, MetaGetsAndMultiGetPipelinedAcrossServers) {
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "2s"}));
  auto keys = keys_by_server("pm", 2);
  ASSERT_FALSE(HasFailure());
  Client c = connect_proxy();
  // Alternating servers, meta and classic interleaved in one write.
  std::string request;
  std::string expected;
  for (int round = 0; round < 2; ++round) {
    for (int server = 0; server < 3; ++server) {
      const std::string& key = keys[server][round];
      request += "mg " + key + " v k\r\n";
      expected += "VA " + std::to_string(key.size()) + " k" + key + "\r\n" + key + "\r\n";
    }
    request += "get " + keys[0][round] + " " + keys[1][round] + " " + keys[2][round] + "\r\n";
    for (int server = 0; server < 3; ++server) {
      expected += value_block(keys[server][round], keys[server][round]);
    }
    expected += "END\r\n";
  }
  EXPECT_EQ(escape(ask(c, request).bytes), escape(expected + "MN\r\n"));
}

TEST_F(UpstreamRouting, FiveMiBValuesBothWays) {
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "5s"}));
  auto keys = keys_by_server("big", 1);
  ASSERT_FALSE(HasFailure());
  constexpr size_t kSize = 5u << 20;
  Client c = connect_proxy();
  std::string get_all = "get";
  std::string expected_all;
  for (int server = 0; server < 3; ++server) {
    // Client -> mcguard -> memcached: the owner holds exactly the bytes sent.
    const std::string& key = keys[server][0];
    const std::string value = make_value(kSize, 500 + static_cast<uint32_t>(server));
    ReadResult r = ask(c, set_command(key, value, 9), milliseconds(30000));
    ASSERT_EQ(r.bytes, "STORED\r\nMN\r\n") << key;
    std::optional<std::string> held = direct_get(server, key);
    ASSERT_TRUE(held.has_value()) << key << " is not on upstream " << server;
    EXPECT_TRUE(*held == value) << key << ": upstream " << server << " holds different bytes";

    // memcached -> mcguard -> client: a value stored directly on the owner.
    const std::string direct_value = make_value(kSize + 3, 600 + static_cast<uint32_t>(server));
    Client direct = connect_upstream(server);
    ASSERT_EQ(ask(direct, set_command(key, direct_value, 4), milliseconds(30000)).bytes,
              "STORED\r\nMN\r\n");
    const std::string expected = value_block(key, direct_value, 4) + "END\r\n";
    r = ask(c, "get " + key + "\r\n", milliseconds(30000));
    EXPECT_TRUE(r.bytes == expected + "MN\r\n")
        << key << ": got " << r.bytes.size() << " bytes, expected " << expected.size() + 4
        << "; starts: " << escape(r.bytes.substr(0, 200));
    get_all += " " + key;
    expected_all += value_block(key, direct_value, 4);
  }
  // 15 MiB in one multi-get spanning the three servers.
  ReadResult r = ask(c, get_all + "\r\n", milliseconds(60000));
  expected_all += "END\r\nMN\r\n";
  EXPECT_TRUE(r.bytes == expected_all)
      << "got " << r.bytes.size() << " bytes, expected " << expected_all.size()
      << (r.timed_out ? " [timed out]" : "") << "; starts: " << escape(r.bytes.substr(0, 200));
}

constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";

// mcguard with a 1 MiB value limit in front of three servers, and a key owned
// by each (keys_[server][0]).
class UpstreamOnReject : public UpstreamRouting {
 protected:
  static constexpr size_t kLimit = 1u << 20;

  void start_with(const std::vector<std::string>& args) {
    McguardOptions options;
    options.max_value_size = "1m";
    std::vector<std::string> all = {"--upstream-timeout", "2s"};
    all.insert(all.end(), args.begin(), args.end());
    ASSERT_NO_FATAL_FAILURE(start_proxy(all, options));
    keys_ = keys_by_server("rej", 1);
  }

  // The old value goes in directly on the owner (one key) or through mcguard.
  void store_old(Client& c, int server) {
    const std::string& key = keys_[server][0];
    Client direct = connect_upstream(server);
    ASSERT_EQ(ask(direct, set_command(key, "old-direct")).bytes, "STORED\r\nMN\r\n");
    if (server != 0) {
      ASSERT_EQ(ask(c, set_command(key, "old")).bytes, "STORED\r\nMN\r\n");
    }
  }
  std::string old_value(int server) const { return server == 0 ? "old-direct" : "old"; }

  std::vector<std::vector<std::string>> keys_;
};

TEST_F(UpstreamOnReject, OversizedSetRemovesTheOldValueUpstream) {
  ASSERT_NO_FATAL_FAILURE(start_with({}));
  ASSERT_FALSE(HasFailure());
  Client c = connect_proxy();
  for (int server = 0; server < 3; ++server) {
    SCOPED_TRACE("upstream " + std::to_string(server));
    ASSERT_NO_FATAL_FAILURE(store_old(c, server));
    const std::string& key = keys_[server][0];
    const bool noreply = server == 2;
    // The get after it on the same connection reaches the same server after
    // the delete, so its miss shows the delete has been done.
    ReadResult r =
        ask(c, set_command(key, std::string(kLimit + 1, 'x'), 0, noreply) + "get " + key + "\r\n",
            milliseconds(20000));
    EXPECT_EQ(r.bytes, (noreply ? std::string() : std::string(kTooLarge)) + "END\r\nMN\r\n");
    EXPECT_EQ(direct_get(server, key), std::nullopt)
        << "the old value is still on the owning memcached";
  }
  // A rejected meta set does the same.
  ASSERT_NO_FATAL_FAILURE(store_old(c, 1));
  const std::string& key = keys_[1][0];
  ReadResult r = ask(c,
                     "ms " + key + " " + std::to_string(kLimit + 1) + " T0\r\n" +
                         std::string(kLimit + 1, 'm') + "\r\nmg " + key + " v\r\n",
                     milliseconds(20000));
  EXPECT_EQ(r.bytes, std::string(kTooLarge) + "EN\r\nMN\r\n");
  EXPECT_EQ(direct_get(1, key), std::nullopt);
  // Values within the limit still pass.
  EXPECT_EQ(ask(c, set_command(key, std::string(kLimit, 'y'))).bytes, "STORED\r\nMN\r\n");
  EXPECT_EQ(direct_get(1, key), std::string(kLimit, 'y'));
}

TEST_F(UpstreamOnReject, KeepLeavesTheOldValueUpstream) {
  ASSERT_NO_FATAL_FAILURE(start_with({"--on-reject", "keep"}));
  ASSERT_FALSE(HasFailure());
  Client c = connect_proxy();
  for (int server = 0; server < 3; ++server) {
    SCOPED_TRACE("upstream " + std::to_string(server));
    ASSERT_NO_FATAL_FAILURE(store_old(c, server));
    const std::string& key = keys_[server][0];
    const bool noreply = server == 2;
    ReadResult r =
        ask(c, set_command(key, std::string(kLimit + 1, 'x'), 0, noreply) + "get " + key + "\r\n",
            milliseconds(20000));
    EXPECT_EQ(r.bytes, (noreply ? std::string() : std::string(kTooLarge)) +
                           value_block(key, old_value(server)) + "END\r\nMN\r\n");
    EXPECT_EQ(direct_get(server, key), old_value(server))
        << "the old value is gone from the owning memcached";
  }
}

}  // namespace
}  // namespace mcguard::e2e
