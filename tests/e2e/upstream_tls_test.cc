// mcguard towards a secured memcached (issue 15): TLS (memcached -Z) with a
// throwaway CA made by the test, mutual TLS, an untrusted certificate, a
// restart under load, and ASCII authentication (memcached -Y), alone and under
// TLS. What is checked is what a client and the memcached behind see: round
// trips byte for byte, SERVER_ERROR instead of hangs, nothing reaching a
// server mcguard must not trust, and mcguard's counters and log lines.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ops_support.h"
#include "tls_support.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

constexpr milliseconds kLong(20000);

std::string stored_reply() { return "STORED\r\nMN\r\n"; }

std::string hit_reply(std::string_view key, std::string_view value) {
  return value_block(key, value) + "END\r\nMN\r\n";
}

// A value whose bytes depend on the key and a round, so a reply carrying
// another request's value cannot pass.
std::string patterned_value(std::string_view key, size_t size, int round = 0) {
  std::string value(size, 'x');
  const std::string seed = std::string(key) + "/" + std::to_string(round) + "/";
  for (size_t i = 0; i < size; ++i) value[i] = seed[i % seed.size()];
  return value;
}

// The file's text now ("" when it cannot be read).
std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A file with mode `mode` holding `text`, removed with the object.
class SecretFile {
 public:
  SecretFile(const std::string& text, mode_t mode) {
    char pattern[] = "/tmp/mcguard_secret_XXXXXX";
    const int fd = mkstemp(pattern);
    if (fd >= 0) close(fd);
    path_ = pattern;
    rewrite(text, mode);
  }
  ~SecretFile() { unlink(path_.c_str()); }
  void rewrite(const std::string& text, mode_t mode) {
    std::ofstream(path_, std::ios::trunc) << text;
    chmod(path_.c_str(), mode);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class UpstreamTlsTest : public UpstreamTest {
 protected:
  void SetUp() override {
    UpstreamTest::SetUp();
    if (IsSkipped()) return;
    certificates_ = make_test_certificates();
    char pattern[] = "/tmp/mcguard_upstream_tls_log_XXXXXX";
    const int fd = mkstemp(pattern);
    if (fd >= 0) close(fd);
    log_ = pattern;
  }
  void TearDown() override {
    proxy_.reset();
    if (!log_.empty()) unlink(log_.c_str());
  }

  // memcached serving TLS with `cert`/`key` (session cache on, so reconnects can resume).
  void use_tls_upstream(const std::string& cert, const std::string& key,
                        const std::string& extra = "") {
    upstream_args_ = {"-Z", "-o",
                      "ssl_chain_cert=" + cert + ",ssl_key=" + key + ",ssl_session_cache" + extra};
  }

  McguardOptions logged() {
    McguardOptions options;
    options.log_file = log_;
    return options;
  }

  // memcached's own `stats` over TLS, verified against `ca`.
  std::map<std::string, std::string> tls_upstream_stats(int i, const std::string& ca) {
    std::map<std::string, std::string> stats;
    std::string error;
    auto client = TlsTestClient::connect(upstream_ports_[i], ca, "", "", &error);
    if (client == nullptr) {
      ADD_FAILURE() << "TLS connection to upstream " << i << ": " << error;
      return stats;
    }
    EXPECT_TRUE(client->send_all("stats\r\n"));
    std::istringstream lines(client->read_until("END\r\n"));
    std::string stat, name, value;
    while (lines >> stat >> name >> value) {
      if (stat == "STAT") stats[name] = value;
    }
    return stats;
  }

  long long proxy_stat(const std::string& name) {
    Client c = connect_proxy();
    return stat_number(c, name);
  }

  bool log_contains(std::string_view text, milliseconds timeout = milliseconds(5000)) {
    return poll_until([&] { return read_text(log_).find(text) != std::string::npos; }, timeout);
  }

  // set then get of `size` bytes under `key`, byte for byte.
  void expect_round_trip(Client& c, const std::string& key, size_t size) {
    const std::string value = patterned_value(key, size);
    ReadResult stored = ask(c, set_command(key, value), kLong);
    ASSERT_EQ(stored.bytes, stored_reply()) << escape(stored.bytes);
    ReadResult got = ask(c, "get " + key + "\r\n", kLong);
    ASSERT_FALSE(got.timed_out) << size;
    ASSERT_TRUE(got.bytes == hit_reply(key, value))
        << "size " << size << ": got " << got.bytes.size() << " bytes, ending "
        << escape(got.bytes.size() > 400 ? got.bytes.substr(got.bytes.size() - 80) : got.bytes,
                  400);
  }

  std::unique_ptr<TestCertificates> certificates_;
  std::string log_;
};

TEST_F(UpstreamTlsTest, RoundTripsValuesUpTo8MiBAndMultiGet) {
  use_tls_upstream(certificates_->server_cert, certificates_->server_key);
  start_upstreams(1);
  start_proxy({"--upstream-tls-ca", certificates_->ca_cert}, logged());
  Client c = connect_proxy();
  for (size_t size : {size_t{1}, size_t{100} << 10, size_t{1} << 20, size_t{8} << 20}) {
    expect_round_trip(c, "tls_value_" + std::to_string(size), size);
  }
  std::string expected;
  std::string request = "get";
  for (int i = 0; i < 20; ++i) {
    const std::string key = "tls_multi_" + std::to_string(i);
    const std::string value = patterned_value(key, 100 + i * 1000);
    ASSERT_EQ(ask(c, set_command(key, value)).bytes, stored_reply());
    request += " " + key;
    if (i % 3 != 0) expected += value_block(key, value);
  }
  for (int i = 0; i < 20; i += 3) {
    ASSERT_EQ(ask(c, "delete tls_multi_" + std::to_string(i) + "\r\n").bytes, "DELETED\r\nMN\r\n");
  }
  EXPECT_EQ(ask(c, request + "\r\n", kLong).bytes, expected + "END\r\nMN\r\n");
  EXPECT_GT(proxy_stat("mcguard_upstream_tls_handshakes"), 0);
  // memcached saw the requests over TLS (this client reads its stats over TLS too).
  const auto stats = tls_upstream_stats(0, certificates_->ca_cert);
  EXPECT_GT(std::stoll(stats.at("cmd_set")), 20);
}

// memcached reads a data block's tail straight into its item, so a request
// that followed the tail in the same TLS record would wait in its session,
// decrypted and unread, until more bytes came (with nothing else to send:
// until the upstream timeout). Requests pipelined behind values of each size,
// behind a noreply set and a quiet ms, are answered at once.
TEST_F(UpstreamTlsTest, RequestsPipelinedBehindADataBlockAreAnswered) {
  use_tls_upstream(certificates_->server_cert, certificates_->server_key);
  start_upstreams(1);
  start_proxy({"--upstream-tls-ca", certificates_->ca_cert, "--upstream-timeout", "3s"}, logged());
  Client c = connect_proxy();
  for (size_t size : {size_t{100}, size_t{20000}, size_t{300000}, size_t{1} << 20}) {
    const std::string key = "tls_pipelined_" + std::to_string(size);
    const std::string value = patterned_value(key, size);
    const std::string get = "get " + key + "\r\n";
    const std::string request = set_command(key, value) + get + set_command(key, value, 0, true) +
                                get + "ms " + key + " " + std::to_string(size) + " q\r\n" + value +
                                "\r\n";
    const ReadResult got = ask(c, request, kLong);
    const std::string expected = "STORED\r\n" + value_block(key, value) + "END\r\n" +
                                 value_block(key, value) + "END\r\nMN\r\n";
    EXPECT_TRUE(got.bytes == expected)
        << "size " << size << ": got " << got.bytes.size() << " bytes, ending "
        << escape(got.bytes.size() > 400 ? got.bytes.substr(got.bytes.size() - 80) : got.bytes,
                  400);
  }
}

TEST_F(UpstreamTlsTest, MutualTlsNeedsTheClientCertificate) {
  use_tls_upstream(certificates_->server_cert, certificates_->server_key,
                   ",ssl_ca_cert=" + certificates_->ca_cert + ",ssl_verify_mode=2");
  start_upstreams(1);
  start_proxy({"--upstream-tls-ca", certificates_->ca_cert, "--upstream-tls-cert",
               certificates_->client_cert, "--upstream-tls-key", certificates_->client_key},
              logged());
  {
    Client c = connect_proxy();
    expect_round_trip(c, "mutual", 5000);
  }
  start_proxy({"--upstream-tls-ca", certificates_->ca_cert}, logged());
  Client c = connect_proxy();
  ReadResult refused = ask(c, set_command("no_cert", "v"), kLong);
  EXPECT_TRUE(refused.bytes.starts_with(kServerError)) << escape(refused.bytes);
  ReadResult get = ask(c, "get mutual\r\n", kLong);
  EXPECT_TRUE(get.bytes.starts_with(kServerError)) << escape(get.bytes);
  EXPECT_TRUE(log_contains("TLS")) << read_text(log_);
}

TEST_F(UpstreamTlsTest, UntrustedCertificateReachesNoRequest) {
  use_tls_upstream(certificates_->untrusted_server_cert, certificates_->untrusted_server_key);
  start_upstreams(1);
  start_proxy({"--upstream-tls-ca", certificates_->ca_cert, "--upstream-failure-limit", "1"},
              logged());
  Client c = connect_proxy();
  for (int i = 0; i < 3; ++i) {
    ReadResult set = ask(c, set_command("secret_" + std::to_string(i), "payload"), kLong);
    EXPECT_TRUE(is_server_error(set.bytes.substr(0, set.bytes.find('\n') + 1)))
        << escape(set.bytes);
    ReadResult get = ask(c, "get secret_0 other\r\n", kLong);
    EXPECT_TRUE(get.bytes.starts_with(kServerError)) << escape(get.bytes);
  }
  EXPECT_TRUE(log_contains("TLS handshake failed")) << read_text(log_);
  EXPECT_NE(read_text(log_).find("certificate verify failed"), std::string::npos)
      << read_text(log_);
  EXPECT_EQ(proxy_stat("mcguard_upstream_tls_handshakes"), 0);
  EXPECT_GT(proxy_stat("mcguard_upstream_0_down_workers"), 0);
  const auto stats = tls_upstream_stats(0, certificates_->untrusted_ca_cert);
  EXPECT_EQ(stats.at("cmd_get"), "0");
  EXPECT_EQ(stats.at("cmd_set"), "0");
  EXPECT_EQ(stats.at("curr_items"), "0");
}

TEST_F(UpstreamTlsTest, RestartUnderLoadKeepsIsolationAndReconnectsResume) {
  use_tls_upstream(certificates_->server_cert, certificates_->server_key);
  start_upstreams(1);
  start_proxy({"--upstream-tls-ca", certificates_->ca_cert, "--upstream-timeout", "500ms",
               "--upstream-retry", "100ms"},
              logged());
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<int> answered{0};
  std::vector<std::string> failures(4);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      Client c = connect_proxy();
      for (int round = 0; !stop.load(); ++round) {
        const std::string key = "load_" + std::to_string(t);
        const std::string value = patterned_value(key, 2000 + 5000 * t, round);
        ReadResult set = ask(c, set_command(key, value), kLong);
        const bool set_ok = set.bytes == stored_reply();
        if (!set_ok && !set.bytes.starts_with(kServerError)) {
          failures[t] = "set: " + escape(set.bytes, 200);
          ++wrong;
          return;
        }
        ReadResult get = ask(c, "get " + key + "\r\n", kLong);
        if (get.bytes.starts_with(kServerError) || (!set_ok && get.bytes == "END\r\nMN\r\n")) {
          std::this_thread::sleep_for(milliseconds(5));  // pacing while the upstream is away
          continue;
        }
        // After a failed set the old round's value may still be there: only a
        // value this client stored under its own key may come back.
        const bool mine = get.bytes == hit_reply(key, value) ||
                          (!set_ok && get.bytes.find("VALUE " + key + " ") == 0);
        if (!mine) {
          failures[t] = "get: " + escape(get.bytes, 200);
          ++wrong;
          return;
        }
        ++answered;
      }
    });
  }
  // (No ASSERT while the clients run: they must be joined whatever happens.)
  EXPECT_TRUE(poll_until([&] { return answered.load() > 50; }, kLong));
  kill_upstream(0);
  restart_upstream(0);
  const int before = answered.load();
  EXPECT_TRUE(poll_until([&] { return answered.load() > before + 50; }, kLong))
      << "requests did not succeed again after the restart";
  stop = true;
  for (auto& thread : clients) thread.join();
  ASSERT_NE(upstreams_[0], nullptr);
  EXPECT_EQ(wrong.load(), 0) << failures[0] << failures[1] << failures[2] << failures[3];

  // A reconnect to the same memcached resumes: freeze it past the upstream
  // timeout, so mcguard drops its connections, then let it go.
  ASSERT_TRUE(freeze(*upstreams_[0]));
  {
    Client c = connect_proxy();
    ReadResult timed_out = ask(c, "get load_0\r\n", kLong);
    EXPECT_TRUE(timed_out.bytes.starts_with(kServerError)) << escape(timed_out.bytes);
  }
  upstreams_[0]->signal(SIGCONT);
  // Only the worker whose request timed out dropped its connection; it
  // reconnects when one of its clients next asks. New clients land on either
  // worker, so ask from new ones until that one has reconnected.
  EXPECT_TRUE(poll_until(
      [&] {
        Client c = connect_proxy();
        return ask(c, set_command("after", "x")).bytes == stored_reply() &&
               proxy_stat("mcguard_upstream_tls_resumptions") > 0;
      },
      kLong))
      << "no reconnect resumed its session; full handshakes: "
      << proxy_stat("mcguard_upstream_tls_handshakes");
}

class UpstreamAuthTest : public UpstreamTlsTest {
 protected:
  // memcached that authenticates against `server_file` (-Y).
  void use_auth_upstream(const std::string& server_file, bool tls = false) {
    if (tls) use_tls_upstream(certificates_->server_cert, certificates_->server_key);
    upstream_args_.push_back("-Y");
    upstream_args_.push_back(server_file);
  }

  // Whether `key` is stored on upstream 0 (plain), asked with the right credentials.
  bool stored_upstream(const std::string& key, const std::string& credentials) {
    Client c = connect_upstream(0);
    const std::string data = credentials;
    EXPECT_EQ(ask(c, "set auth 0 0 " + std::to_string(data.size()) + "\r\n" + data + "\r\n").bytes,
              stored_reply());
    return ask(c, "get " + key + "\r\n").bytes != "END\r\nMN\r\n";
  }
};

TEST_F(UpstreamAuthTest, RightPasswordWorks) {
  SecretFile server_file("alice:right\n", 0600);
  SecretFile proxy_file("alice:right\n", 0600);
  use_auth_upstream(server_file.path());
  start_upstreams(1);
  start_proxy({"--upstream-auth-file", proxy_file.path()}, logged());
  Client c = connect_proxy();
  expect_round_trip(c, "authed", 300000);
  EXPECT_TRUE(stored_upstream("authed", "alice right"));
  // The authenticating set stored nothing under its own key.
  EXPECT_FALSE(stored_upstream("mcguard_auth", "alice right"));
}

TEST_F(UpstreamAuthTest, WrongPasswordFailsMarksDownAndStoresNothing) {
  SecretFile server_file("alice:right\n", 0600);
  SecretFile proxy_file("alice:wrong\n", 0600);
  use_auth_upstream(server_file.path());
  start_upstreams(1);
  start_proxy({"--upstream-auth-file", proxy_file.path(), "--upstream-failure-limit", "1"},
              logged());
  Client c = connect_proxy();
  ReadResult set = ask(c, set_command("refused", "value"), kLong);
  EXPECT_TRUE(set.bytes.starts_with(kServerError)) << escape(set.bytes);
  ReadResult get = ask(c, "get refused\r\n", kLong);
  EXPECT_TRUE(get.bytes.starts_with(kServerError)) << escape(get.bytes);
  EXPECT_TRUE(log_contains("rejected the credentials of '" + proxy_file.path() + "'"))
      << read_text(log_);
  EXPECT_GT(proxy_stat("mcguard_upstream_0_down_workers"), 0);
  EXPECT_FALSE(stored_upstream("refused", "alice right"));
}

TEST_F(UpstreamAuthTest, FileReadableByOthersRefusedAtStart) {
  SecretFile proxy_file("alice:right\n", 0644);
  start_upstreams(1);
  std::string binary = MCGUARD_BINARY;
  if (const char* override_path = std::getenv("MCGUARD_E2E_BINARY")) binary = override_path;
  const ProgramRun run =
      run_program({binary, "--config", "/dev/null", "--admin", "off", "--listen", "127.0.0.1:0",
                   "--upstream", "127.0.0.1:" + std::to_string(upstream_ports_[0]),
                   "--upstream-auth-file", proxy_file.path()},
                  {}, {}, milliseconds(10000));
  EXPECT_TRUE(run.status.exited);
  EXPECT_EQ(run.status.code, 2) << run.output;
  EXPECT_NE(run.output.find("permissions 0644 for '" + proxy_file.path() +
                            "' are too open; it must be readable by its owner only"),
            std::string::npos)
      << run.output;
}

TEST_F(UpstreamAuthTest, SighupBringsNewCredentialsToNewConnections) {
  SecretFile server_file("alice:first\n", 0600);
  SecretFile proxy_file("alice:first\n", 0600);
  use_auth_upstream(server_file.path());
  start_upstreams(1);
  start_proxy({"--upstream-auth-file", proxy_file.path(), "--upstream-retry", "100ms"}, logged());
  Client c = connect_proxy();
  ASSERT_EQ(ask(c, set_command("k1", "one")).bytes, stored_reply());
  // The server's password changes (a restart with a new -Y file): the reconnect is refused.
  server_file.rewrite("alice:second\n", 0600);
  kill_upstream(0);
  restart_upstream(0);
  EXPECT_TRUE(ask(c, set_command("k2", "two"), kLong).bytes.starts_with(kServerError));
  // A file others may read is refused at SIGHUP: the old credentials stay.
  const long long failed_before = proxy_stat("mcguard_failed_reloads");
  proxy_file.rewrite("alice:second\n", 0644);
  ASSERT_TRUE(proxy_->signal(SIGHUP));
  EXPECT_TRUE(
      poll_until([&] { return proxy_stat("mcguard_failed_reloads") > failed_before; }, kLong));
  EXPECT_TRUE(ask(c, set_command("k3", "three"), kLong).bytes.starts_with(kServerError));
  // Fixed: new connections authenticate with the new password.
  proxy_file.rewrite("alice:second\n", 0600);
  ASSERT_TRUE(proxy_->signal(SIGHUP));
  EXPECT_TRUE(poll_until(
      [&] { return ask(c, set_command("k4", "four"), kLong).bytes == stored_reply(); }, kLong));
  EXPECT_EQ(ask(c, "get k4\r\n").bytes, hit_reply("k4", "four"));
}

TEST_F(UpstreamAuthTest, TlsAndAuthenticationTogether) {
  SecretFile server_file("alice:right\n", 0600);
  SecretFile proxy_file("alice:right\n", 0600);
  use_auth_upstream(server_file.path(), true);
  start_upstreams(1);
  start_proxy(
      {"--upstream-tls-ca", certificates_->ca_cert, "--upstream-auth-file", proxy_file.path()},
      logged());
  Client c = connect_proxy();
  expect_round_trip(c, "tls_auth", 2u << 20);
  EXPECT_GT(proxy_stat("mcguard_upstream_tls_handshakes"), 0);
  // A wrong password under TLS is refused the same way.
  SecretFile wrong_file("alice:wrong\n", 0600);
  start_proxy(
      {"--upstream-tls-ca", certificates_->ca_cert, "--upstream-auth-file", wrong_file.path()},
      logged());
  Client d = connect_proxy();
  EXPECT_TRUE(ask(d, "get tls_auth\r\n", kLong).bytes.starts_with(kServerError));
  EXPECT_TRUE(log_contains("rejected the credentials")) << read_text(log_);
}

}  // namespace
}  // namespace mcguard::e2e
