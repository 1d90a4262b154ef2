// parse_settings: every option of `mcguard --help` in the forms it accepts, the one-line
// error each bad value gets, an INI file under the command line (which wins), --help and
// --version as print-and-exit, and the values derived once the rest is known (buffers per
// worker, the chain share, the reply pool, the value ceiling).
#include "proxy/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "proxy/core/version.h"

namespace mcguard {
namespace {

using ::testing::HasSubstr;
using Action = SettingsResult::Action;

SettingsResult parse(const std::vector<std::string>& args, const std::string& default_config = "") {
  std::vector<const char*> argv{"mcguard"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return parse_settings(static_cast<int>(argv.size()), argv.data(), default_config);
}

// The settings `args` give; a test failure (with the message) when they are refused.
Settings accepted(const std::vector<std::string>& args, const std::string& default_config = "") {
  SettingsResult result = parse(args, default_config);
  EXPECT_EQ(result.action, Action::kRun) << result.message;
  return result.settings;
}

// The error `args` get; a test failure when they are accepted.
std::string refused(const std::vector<std::string>& args) {
  SettingsResult result = parse(args);
  EXPECT_EQ(result.action, Action::kFail) << "accepted";
  return result.message;
}

// `--option=text`, or `--option ""` for an empty text (which the '=' form cannot carry).
std::vector<std::string> option_with(const std::string& option, const std::string& text) {
  if (text.empty()) return {"--" + option, ""};
  return {"--" + option + "=" + text};
}

// An INI file in the test's temporary directory, removed at the end of the test.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text) {
    path_ = ::testing::TempDir() + "mcguard_config_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".conf";
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigDefaults, NoOptionsGiveTheDocumentedDefaults) {
  const Settings s = accepted({"--threads", "2"});
  EXPECT_EQ(s.listen_host, "127.0.0.1");
  EXPECT_EQ(s.listen_port, 11211);
  EXPECT_EQ(s.threads, 2u);
  EXPECT_EQ(s.max_connections, 10000u);
  EXPECT_EQ(s.max_value_size, 8ull << 20);
  EXPECT_EQ(s.value_limit, 8ull << 20);
  EXPECT_EQ(s.memory_limit, 64ull << 20);
  EXPECT_EQ(s.buffer_size, 64u << 10);
  EXPECT_EQ(s.pool_size, 64ull << 20) << "32m per worker";
  EXPECT_EQ(s.max_reply_backlog, 4ull << 20);
  EXPECT_EQ(s.pool_wait_timeout_ms, 2000);
  EXPECT_EQ(s.slow_client_timeout_ms, 30000);
  EXPECT_EQ(s.idle_timeout_ms, 0);
  EXPECT_TRUE(s.upstreams.empty());
  EXPECT_EQ(s.upstream_connections, 1u);
  EXPECT_EQ(s.upstream_timeout_ms, 1000);
  EXPECT_EQ(s.upstream_failure_limit, 3u);
  EXPECT_FALSE(s.upstream_failover);
  EXPECT_EQ(s.upstream_retry_ms, 1000);
  EXPECT_EQ(s.upstream_max_pending, 4096u);
  EXPECT_EQ(s.reply_pool_size, 0u) << "embedded tier: no reply pool";
  EXPECT_TRUE(s.delete_on_reject);
  EXPECT_EQ(s.upstream_item_size_max, 0u) << "auto";
  EXPECT_EQ(s.upstream_split, SplitMode::kOn);
  EXPECT_EQ(s.upstream_split_threshold, 0u) << "found by the Server at start-up";
  EXPECT_EQ(s.io_engine, IoEngine::kAuto);
  EXPECT_EQ(s.uring_recv_buffers, 256u);
  EXPECT_EQ(s.uring_recv_buffer_size, 16u << 10);
  EXPECT_EQ(s.log_level, "info");
  EXPECT_EQ(s.log_format, "text");
  EXPECT_TRUE(s.admin_enabled);
  EXPECT_EQ(s.admin_host, "127.0.0.1");
  EXPECT_EQ(s.admin_port, 11299);
  EXPECT_EQ(s.limit_mode, LimitMode::kEnforce);
  EXPECT_TRUE(s.prefix_limits.empty());
  EXPECT_EQ(s.drain_timeout_ms, 10000);
  EXPECT_FALSE(s.check_config);
  EXPECT_EQ(s.config_path, "");
}

TEST(ConfigDefaults, ThreadsDefaultToTheCoreCount) {
  const Settings s = accepted({});
  EXPECT_GE(s.threads, 1u);
  EXPECT_EQ(s.pool_size, (32ull << 20) * s.threads);
}

TEST(ConfigPrintAndExit, HelpListsEveryOption) {
  for (const char* flag : {"--help", "-h"}) {
    const SettingsResult result = parse({flag, "--log-level", "not-checked"});
    EXPECT_EQ(result.action, Action::kPrintAndExit) << flag;
    EXPECT_THAT(result.message, HasSubstr("mcguard " MCGUARD_VERSION));
    EXPECT_THAT(result.message, HasSubstr("Usage: mcguard [options]"));
    for (const char* option : {"--help",
                               "--version",
                               "--config",
                               "--listen",
                               "-l [ --listen-host ]",
                               "-p [ --port ]",
                               "--reuse-port",
                               "-t [ --threads ]",
                               "-c [ --max-connections ]",
                               "-I [ --max-value-size ]",
                               "-m [ --memory-limit ]",
                               "--buffer-size",
                               "--pool-size",
                               "--max-reply-backlog",
                               "--pool-wait-timeout",
                               "--slow-client-timeout",
                               "--idle-timeout",
                               "--chain-share",
                               "--upstream ",
                               "--upstream-connections",
                               "--upstream-timeout",
                               "--upstream-failure-limit",
                               "--upstream-failover",
                               "--upstream-retry",
                               "--reply-pool-size",
                               "--upstream-max-pending",
                               "--upstream-item-size-max",
                               "--upstream-split ",
                               "--upstream-split-grace",
                               "--on-reject",
                               "--io-engine",
                               "--uring-recv-buffers",
                               "--uring-recv-buffer-size",
                               "--log-level",
                               "--log-format",
                               "--admin",
                               "--limit-mode",
                               "--limit ",
                               "--value-ceiling",
                               "--drain-timeout",
                               "--check-config"}) {
      EXPECT_THAT(result.message, HasSubstr(option)) << flag;
    }
  }
}

TEST(ConfigPrintAndExit, VersionPrintsTheVersionLine) {
  const SettingsResult result = parse({"--version"});
  EXPECT_EQ(result.action, Action::kPrintAndExit);
  // mcguard's own version first (packaging/manpage reads the second word), then the
  // memcached protocol it speaks, which is what the `version` command answers.
  EXPECT_EQ(result.message,
            "mcguard " MCGUARD_VERSION " (memcached protocol " MCGUARD_PROTOCOL_VERSION ")\n");
}

TEST(ConfigPrintAndExit, HelpWinsOverVersion) {
  const SettingsResult result = parse({"--version", "--help"});
  EXPECT_EQ(result.action, Action::kPrintAndExit);
  EXPECT_THAT(result.message, HasSubstr("Usage:"));
}

TEST(ConfigErrors, UnknownOptionAndMissingValueAreRefused) {
  EXPECT_THAT(refused({"--bogus"}), HasSubstr("--bogus"));
  EXPECT_THAT(refused({"--port"}), HasSubstr("--port"));
  EXPECT_THAT(refused({"--threads", "two"}), HasSubstr("--threads"));
}

TEST(ConfigListen, HostPortForms) {
  Settings s = accepted({"--listen", "0.0.0.0:11311"});
  EXPECT_EQ(s.listen_host, "0.0.0.0");
  EXPECT_EQ(s.listen_port, 11311);
  s = accepted({"--listen", "[::1]:0"});
  EXPECT_EQ(s.listen_host, "::1");
  EXPECT_EQ(s.listen_port, 0);
  s = accepted({"-l", "10.0.0.1", "-p", "2000"});
  EXPECT_EQ(s.listen_host, "10.0.0.1");
  EXPECT_EQ(s.listen_port, 2000);
  s = accepted({"--listen-host=::", "--port=65535"});
  EXPECT_EQ(s.listen_host, "::");
  EXPECT_EQ(s.listen_port, 65535);
  // -l and -p name a TCP listener of their own, after every --listen.
  s = accepted({"--listen", "1.2.3.4:5", "-p", "6"});
  ASSERT_EQ(s.listeners.size(), 2u);
  EXPECT_EQ(listen_address_text(s.listeners[1]), "127.0.0.1:6");
  EXPECT_EQ(s.listen_host, "1.2.3.4") << "the first TCP listener";
  EXPECT_EQ(s.listen_port, 5);
  s = accepted({"-l", "10.0.0.1"});
  EXPECT_EQ(listen_address_text(s.listeners.at(0)), "10.0.0.1:11211");
}

TEST(ConfigListen, BadValuesAreRefused) {
  for (const char* text : {"localhost", ":11211", "host:", "host:99999", "host:12x", "host:-1",
                           "tls:host", "tls::1", "[::1:5", "::1]:5"}) {
    EXPECT_EQ(refused({"--listen", text}),
              std::string("--listen wants HOST:PORT, [IPv6]:PORT, unix:PATH or tls:HOST:PORT, "
                          "got '") +
                  text + "'");
  }
  EXPECT_EQ(refused({"-p", "65536"}), "--port out of range: 65536");
  EXPECT_EQ(refused({"--listen", "unix:"}), "--listen unix: wants a PATH");
  EXPECT_THAT(refused({"--listen", "unix:/" + std::string(120, 'x')}),
              HasSubstr("UNIX socket path longer than 107 bytes"));
  EXPECT_EQ(refused({"--listen", "127.0.0.1:7", "--listen", "127.0.0.1:7"}),
            "listener 127.0.0.1:7 is given twice");
  EXPECT_EQ(refused({"--listen", "unix:/tmp/a", "-s", "/tmp/a"}),
            "listener unix:/tmp/a is given twice");
}

TEST(ConfigListen, SeveralListenersKeepTheirOrder) {
  const Settings s =
      accepted({"--listen", "unix:/run/mc.sock", "--listen", "[::1]:7000", "--listen",
                "tls:127.0.0.1:7001", "--listen", "tls:[::1]:7002", "--listen", "0.0.0.0:7003",
                "--tls-cert", "c.pem", "--tls-key", "k.pem"});
  ASSERT_EQ(s.listeners.size(), 5u);
  EXPECT_EQ(s.listeners[0].kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(s.listeners[0].path, "/run/mc.sock");
  EXPECT_EQ(s.listeners[1].kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(s.listeners[1].host, "::1");
  EXPECT_EQ(s.listeners[1].port, 7000);
  EXPECT_EQ(s.listeners[2].kind, ListenAddress::Kind::kTls);
  EXPECT_EQ(s.listeners[2].host, "127.0.0.1");
  EXPECT_EQ(s.listeners[2].port, 7001);
  EXPECT_EQ(listen_address_text(s.listeners[3]), "tls:[::1]:7002");
  EXPECT_EQ(listen_address_text(s.listeners[4]), "0.0.0.0:7003");
  // listen_host/listen_port: the first TCP listener, not the unix: or tls: ones.
  EXPECT_EQ(s.listen_host, "::1");
  EXPECT_EQ(s.listen_port, 7000);
}

TEST(ConfigListen, DefaultIsOneTcpListener) {
  const Settings s = accepted({});
  ASSERT_EQ(s.listeners.size(), 1u);
  EXPECT_EQ(listen_address_text(s.listeners[0]), "127.0.0.1:11211");
  EXPECT_EQ(s.unix_mask, 0700u);
}

TEST(ConfigListen, UnixSocketAloneHasNoTcpListener) {
  Settings s = accepted({"-s", "/tmp/mcguard.sock"});
  ASSERT_EQ(s.listeners.size(), 1u);
  EXPECT_EQ(s.listeners[0].kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(s.listeners[0].path, "/tmp/mcguard.sock");
  EXPECT_EQ(s.listen_port, 0) << "no TCP listener";
  // With -p as well, memcached's pair: a TCP listener and the socket.
  s = accepted({"--unix-socket", "/tmp/mcguard.sock", "-p", "7000"});
  ASSERT_EQ(s.listeners.size(), 2u);
  EXPECT_EQ(listen_address_text(s.listeners[0]), "127.0.0.1:7000");
  EXPECT_EQ(listen_address_text(s.listeners[1]), "unix:/tmp/mcguard.sock");
  EXPECT_EQ(s.listen_port, 7000);
}

TEST(ConfigListen, UnixMaskIsOctal) {
  EXPECT_EQ(accepted({"-a", "0660"}).unix_mask, 0660u);
  EXPECT_EQ(accepted({"--unix-mask", "777"}).unix_mask, 0777u);
  EXPECT_EQ(accepted({"--unix-mask=0"}).unix_mask, 0u);
  for (const char* text : {"0800", "1000", "rw", "", "0x1ff", "-1", "0777 "}) {
    EXPECT_EQ(refused({"--unix-mask", text}),
              std::string("--unix-mask wants an octal mode of at most 0777, got '") + text + "'");
  }
}

TEST(ConfigListen, ListenersFromFileAndCommandLineAddUp) {
  const ConfigFile file(
      "listen = unix:/tmp/from-file.sock\n"
      "unix-mask = 0660\n");
  const Settings s = accepted({"--config", file.path(), "--listen", "127.0.0.1:9000"});
  ASSERT_EQ(s.listeners.size(), 2u);
  EXPECT_EQ(listen_address_text(s.listeners[0]), "127.0.0.1:9000");
  EXPECT_EQ(listen_address_text(s.listeners[1]), "unix:/tmp/from-file.sock");
  EXPECT_EQ(s.unix_mask, 0660u);
}

TEST(ConfigTls, ClientTlsOptions) {
  const Settings s = accepted({"--listen", "tls:127.0.0.1:0", "--tls-cert", "/c.pem", "--tls-key",
                               "/k.pem", "--tls-ca", "/ca.pem", "--tls-verify-client", "require",
                               "--tls-ciphers", "ECDHE+AESGCM"});
  EXPECT_EQ(s.tls_cert, "/c.pem");
  EXPECT_EQ(s.tls_key, "/k.pem");
  EXPECT_EQ(s.tls_ca, "/ca.pem");
  EXPECT_EQ(s.tls_ciphers, "ECDHE+AESGCM");
  EXPECT_EQ(s.tls_verify_client, TlsVerifyClient::kRequire);
  EXPECT_EQ(accepted({}).tls_verify_client, TlsVerifyClient::kNone);
  EXPECT_EQ(accepted({"--tls-ca", "/ca", "--tls-verify-client", "optional"}).tls_verify_client,
            TlsVerifyClient::kOptional);
  EXPECT_EQ(accepted({"--tls-verify-client", "none"}).tls_verify_client, TlsVerifyClient::kNone);
}

TEST(ConfigTls, ClientTlsErrors) {
  EXPECT_EQ(refused({"--listen", "tls:127.0.0.1:0"}),
            "a tls: listener needs --tls-cert and --tls-key");
  EXPECT_EQ(refused({"--listen", "tls:127.0.0.1:0", "--tls-cert", "/c.pem"}),
            "a tls: listener needs --tls-cert and --tls-key");
  EXPECT_EQ(refused({"--tls-verify-client", "require"}),
            "--tls-verify-client optional or require needs --tls-ca");
  EXPECT_EQ(refused({"--tls-verify-client", "always"}),
            "--tls-verify-client must be none, optional or require");
  EXPECT_EQ(refused({"--tls-cert", ""}), "--tls-cert wants a file name");
}

TEST(ConfigTls, UpstreamTlsOptionsImplyUpstreamTls) {
  const std::vector<std::string> upstream = {"--upstream", "127.0.0.1:11211"};
  auto with_upstream = [&](std::vector<std::string> args) {
    args.insert(args.end(), upstream.begin(), upstream.end());
    return accepted(args);
  };
  EXPECT_FALSE(with_upstream({}).upstream_tls);
  EXPECT_TRUE(with_upstream({"--upstream-tls"}).upstream_tls);
  Settings s = with_upstream({"--upstream-tls-ca", "/ca.pem"});
  EXPECT_TRUE(s.upstream_tls);
  EXPECT_EQ(s.upstream_tls_ca, "/ca.pem");
  s = with_upstream({"--upstream-tls-cert", "/c.pem", "--upstream-tls-key", "/k.pem"});
  EXPECT_TRUE(s.upstream_tls);
  EXPECT_EQ(s.upstream_tls_cert, "/c.pem");
  EXPECT_EQ(s.upstream_tls_key, "/k.pem");
  s = with_upstream({"--upstream-tls-server-name", "cache.internal"});
  EXPECT_TRUE(s.upstream_tls);
  EXPECT_EQ(s.upstream_tls_server_name, "cache.internal");
  s = with_upstream({"--upstream-auth-file", "/etc/mcguard/auth"});
  EXPECT_FALSE(s.upstream_tls) << "authentication alone does not imply TLS";
  EXPECT_EQ(s.upstream_auth_file, "/etc/mcguard/auth");
  const ConfigFile file("upstream-tls = true\nupstream = 127.0.0.1:11211\n");
  EXPECT_TRUE(accepted({"--config", file.path()}).upstream_tls);
}

TEST(ConfigTls, UpstreamTlsErrors) {
  EXPECT_EQ(refused({"--upstream", "127.0.0.1:1", "--upstream-tls-cert", "/c.pem"}),
            "--upstream-tls-cert and --upstream-tls-key go together");
  EXPECT_EQ(refused({"--upstream", "127.0.0.1:1", "--upstream-tls-key", "/k.pem"}),
            "--upstream-tls-cert and --upstream-tls-key go together");
  EXPECT_EQ(refused({"--upstream-tls"}), "--upstream-tls needs at least one --upstream");
  EXPECT_EQ(refused({"--upstream-tls-ca", "/ca.pem"}),
            "--upstream-tls needs at least one --upstream");
  EXPECT_EQ(refused({"--upstream-auth-file", "/auth"}),
            "--upstream-auth-file needs at least one --upstream");
  EXPECT_EQ(refused({"--upstream", "127.0.0.1:1", "--upstream-auth-file", ""}),
            "--upstream-auth-file wants a file name");
}

TEST(ConfigListen, ReusePortIsAnOptInSwitch) {
  EXPECT_FALSE(accepted({}).reuse_port);
  EXPECT_TRUE(accepted({"--reuse-port"}).reuse_port);
  ConfigFile file("reuse-port = true\n");
  EXPECT_TRUE(accepted({"--config", file.path()}).reuse_port);
  ConfigFile off("reuse-port = false\n");
  EXPECT_FALSE(accepted({"--config", off.path()}).reuse_port);
}

TEST(ConfigCounts, ThreadsAndConnections) {
  Settings s = accepted({"-t", "3", "-c", "50"});
  EXPECT_EQ(s.threads, 3u);
  EXPECT_EQ(s.max_connections, 50u);
  s = accepted({"--threads", "1024", "--max-connections", "1", "--pool-size", "10g"});
  EXPECT_EQ(s.threads, 1024u);
  EXPECT_EQ(refused({"-t", "1025"}), "--threads must be 1..1024");
  EXPECT_EQ(refused({"-c", "0"}), "--max-connections must be at least 1");
}

TEST(ConfigSizes, SuffixesAndPlainNumbers) {
  Settings s = accepted({"-t", "1", "-I", "512k", "--buffer-size", "4096", "--pool-size", "1G",
                         "--max-reply-backlog", "100"});
  EXPECT_EQ(s.max_value_size, 512u << 10);
  EXPECT_EQ(s.buffer_size, 4096u);
  EXPECT_EQ(s.pool_size, 1ull << 30);
  EXPECT_EQ(s.max_reply_backlog, 100u);
  // -m counts megabytes when plain, as memcached's does.
  EXPECT_EQ(accepted({"-m", "128"}).memory_limit, 128ull << 20);
  EXPECT_EQ(accepted({"--memory-limit", "2g"}).memory_limit, 2ull << 30);
  EXPECT_EQ(accepted({"--memory-limit", "65536k"}).memory_limit, 64ull << 20);
}

TEST(ConfigSizes, BadSizesNameTheirOption) {
  for (const char* option :
       {"max-value-size", "memory-limit", "buffer-size", "pool-size", "max-reply-backlog",
        "reply-pool-size", "value-ceiling", "uring-recv-buffer-size"}) {
    for (const char* text : {"", "12x", "k", "1.5m", "-1"}) {
      EXPECT_EQ(refused(option_with(option, text)),
                std::string("invalid size for --") + option + ": '" + text + "'");
    }
  }
}

TEST(ConfigSizes, RangesAreChecked) {
  EXPECT_EQ(refused({"--buffer-size", "4095"}), "--buffer-size must be 4k..16m");
  EXPECT_EQ(refused({"--buffer-size", "17m"}), "--buffer-size must be 4k..16m");
  EXPECT_EQ(accepted({"--buffer-size", "16m", "-t", "1", "--pool-size", "1g"}).buffer_size,
            16u << 20);
  EXPECT_EQ(refused({"-I", "0"}), "--max-value-size must be at least 1 byte");
  EXPECT_EQ(refused({"-m", "1023k"}), "--memory-limit must be at least 1m");
  EXPECT_EQ(refused({"-m", "8m"}), "--memory-limit must exceed --max-value-size so one value fits");
  EXPECT_EQ(refused({"-I", "100m", "-m", "1g"}),
            "--buffer-size too small for --max-value-size: a value may span at most 1000 buffers");
}

TEST(ConfigDurations, SuffixesAndPlainSeconds) {
  const Settings s = accepted({"--pool-wait-timeout", "500ms", "--slow-client-timeout", "2m",
                               "--idle-timeout", "7", "--upstream-timeout", "250ms",
                               "--upstream-retry", "3s", "--drain-timeout", "0"});
  EXPECT_EQ(s.pool_wait_timeout_ms, 500);
  EXPECT_EQ(s.slow_client_timeout_ms, 120000);
  EXPECT_EQ(s.idle_timeout_ms, 7000);
  EXPECT_EQ(s.upstream_timeout_ms, 250);
  EXPECT_EQ(s.upstream_retry_ms, 3000);
  EXPECT_EQ(s.drain_timeout_ms, 0);
}

TEST(ConfigDurations, BadDurationsNameTheirOption) {
  for (const char* option : {"pool-wait-timeout", "slow-client-timeout", "idle-timeout",
                             "upstream-timeout", "upstream-retry", "drain-timeout"}) {
    for (const char* text : {"", "soon", "-5s", "1h", "2.5s"}) {
      EXPECT_EQ(refused(option_with(option, text)),
                std::string("invalid duration for --") + option + ": '" + text + "'");
    }
  }
  // Upstream waits of zero would fail every request at once.
  EXPECT_EQ(refused({"--upstream-timeout", "0"}), "invalid duration for --upstream-timeout: '0'");
  EXPECT_EQ(refused({"--upstream-retry", "0ms"}), "invalid duration for --upstream-retry: '0ms'");
  EXPECT_EQ(accepted({"--idle-timeout", "0"}).idle_timeout_ms, 0);
}

TEST(ConfigUpstream, AddressesAreRepeatableAndKeptInOrder) {
  const Settings s = accepted({"--upstream", "10.0.0.1:11211", "--upstream", "[::1]:11212:3",
                               "--upstream", "cache.local:5"});
  ASSERT_EQ(s.upstreams.size(), 3u);
  EXPECT_EQ(s.upstreams[0].host, "10.0.0.1");
  EXPECT_EQ(s.upstreams[0].port, 11211);
  EXPECT_EQ(s.upstreams[0].weight, 1u);
  EXPECT_EQ(s.upstreams[1].host, "::1");
  EXPECT_EQ(s.upstreams[1].weight, 3u);
  EXPECT_EQ(s.upstreams[2].host, "cache.local");
  EXPECT_EQ(s.upstreams[2].port, 5);
}

TEST(ConfigUpstream, BadAddressesAreRefused) {
  for (const char* text : {"nohost", "host:0", "::1:11211", "host:1:0", "host:70000"}) {
    EXPECT_EQ(refused({"--upstream", text}),
              std::string("--upstream wants HOST:PORT[:WEIGHT], got '") + text + "'");
  }
}

TEST(ConfigUpstream, ConnectionsFailureLimitFailoverPending) {
  const Settings s =
      accepted({"--upstream", "h:1", "--upstream-connections", "64", "--upstream-failure-limit",
                "5", "--upstream-failover", "--upstream-max-pending", "16"});
  EXPECT_EQ(s.upstream_connections, 64u);
  EXPECT_EQ(s.upstream_failure_limit, 5u);
  EXPECT_TRUE(s.upstream_failover);
  EXPECT_EQ(s.upstream_max_pending, 16u);
  EXPECT_EQ(accepted({"--upstream-failure-limit", "0"}).upstream_failure_limit, 1u)
      << "0 counts as 1";
  EXPECT_EQ(refused({"--upstream-connections", "0"}), "--upstream-connections must be 1..64");
  EXPECT_EQ(refused({"--upstream-connections", "65"}), "--upstream-connections must be 1..64");
  EXPECT_EQ(refused({"--upstream-max-pending", "15"}),
            "--upstream-max-pending must be at least 16");
}

TEST(ConfigUpstream, OnReject) {
  EXPECT_FALSE(accepted({"--on-reject", "keep"}).delete_on_reject);
  EXPECT_TRUE(accepted({"--on-reject", "delete"}).delete_on_reject);
  EXPECT_EQ(refused({"--on-reject", "drop"}), "--on-reject must be delete or keep");
}

TEST(ConfigUpstream, ItemSizeMaxIsAutoOrMemcachedsRange) {
  EXPECT_EQ(accepted({"--upstream-item-size-max", "2m"}).upstream_item_size_max, 2ull << 20);
  EXPECT_EQ(accepted({"--upstream-item-size-max", "1k"}).upstream_item_size_max, 1024u);
  EXPECT_EQ(accepted({"--upstream-item-size-max", "1g"}).upstream_item_size_max, 1ull << 30);
  EXPECT_EQ(accepted({"--upstream-item-size-max", "4194304"}).upstream_item_size_max, 4ull << 20);
  EXPECT_EQ(accepted({"--upstream-item-size-max", "auto"}).upstream_item_size_max, 0u);
  for (const char* text : {"", "0", "1023", "1025m", "auto2", "lots", "-1m"}) {
    EXPECT_EQ(refused(option_with("upstream-item-size-max", text)),
              std::string("--upstream-item-size-max must be auto or a size of 1k..1g, got '") +
                  text + "'");
  }
}

TEST(ConfigUpstream, SplitModes) {
  EXPECT_EQ(accepted({"--upstream-split", "on"}).upstream_split, SplitMode::kOn);
  EXPECT_EQ(accepted({"--upstream-split", "read-only"}).upstream_split, SplitMode::kReadOnly);
  EXPECT_EQ(accepted({"--upstream-split", "off"}).upstream_split, SplitMode::kOff);
  for (const char* text : {"", "yes", "readonly", "ON"}) {
    EXPECT_EQ(refused(option_with("upstream-split", text)),
              "--upstream-split must be on, read-only or off");
  }
}

TEST(ConfigUpstream, SplitGrace) {
  EXPECT_EQ(accepted({}).upstream_split_grace_ms, 2000);
  EXPECT_EQ(accepted({"--upstream-split-grace", "250ms"}).upstream_split_grace_ms, 250);
  EXPECT_EQ(accepted({"--upstream-split-grace", "1m"}).upstream_split_grace_ms, 60000);
  EXPECT_EQ(accepted({"--upstream-split-grace", "0"}).upstream_split_grace_ms, 0);
  for (const char* text : {"", "soon", "-1s"}) {
    EXPECT_EQ(refused(option_with("upstream-split-grace", text)),
              std::string("invalid duration for --upstream-split-grace: '") + text + "'");
  }
}

TEST(ConfigUpstream, ReplyPoolDefaultsAndMinimum) {
  // Per worker: 16m, or four max-size values with 1m each if that is more.
  Settings s = accepted({"--upstream", "h:1", "-t", "2"});
  EXPECT_EQ(s.reply_pool_size, 2 * 4 * ((8ull << 20) + (1ull << 20)));
  EXPECT_EQ(s.reply_buffers_per_worker(), 4 * ((8u << 20) + (1u << 20)) / 4096);
  s = accepted({"--upstream", "h:1", "-t", "2", "-I", "1m"});
  EXPECT_EQ(s.reply_pool_size, 2 * (16ull << 20));
  s = accepted({"--upstream", "h:1", "-t", "1", "--reply-pool-size", "9m"});
  EXPECT_EQ(s.reply_pool_size, 9ull << 20);
  EXPECT_EQ(refused({"--upstream", "h:1", "-t", "2", "--reply-pool-size", "17m"}),
            "--reply-pool-size must give each worker at least one max-size value and 1m "
            "(9437184 bytes)");
  EXPECT_EQ(accepted({"--reply-pool-size", "1g"}).reply_pool_size, 0u) << "embedded: unused";
}

TEST(ConfigEngine, IoEngineAndUringBuffers) {
  EXPECT_EQ(accepted({"--io-engine", "epoll"}).io_engine, IoEngine::kEpoll);
  EXPECT_EQ(accepted({"--io-engine", "uring"}).io_engine, IoEngine::kUring);
  EXPECT_EQ(accepted({"--io-engine", "auto"}).io_engine, IoEngine::kAuto);
  EXPECT_EQ(refused({"--io-engine", "kqueue"}), "--io-engine must be auto, uring or epoll");
  EXPECT_EQ(accepted({"--uring-recv-buffers", "100"}).uring_recv_buffers, 128u)
      << "rounded up to a power of two";
  EXPECT_EQ(accepted({"--uring-recv-buffers", "8"}).uring_recv_buffers, 8u);
  EXPECT_EQ(accepted({"--uring-recv-buffers", "32768"}).uring_recv_buffers, 32768u);
  EXPECT_EQ(refused({"--uring-recv-buffers", "7"}), "--uring-recv-buffers must be 8..32768");
  EXPECT_EQ(refused({"--uring-recv-buffers", "32769"}), "--uring-recv-buffers must be 8..32768");
  EXPECT_EQ(accepted({"--uring-recv-buffer-size", "1k"}).uring_recv_buffer_size, 1024u);
  EXPECT_EQ(accepted({"--uring-recv-buffer-size", "1m"}).uring_recv_buffer_size, 1u << 20);
  EXPECT_EQ(refused({"--uring-recv-buffer-size", "1023"}),
            "--uring-recv-buffer-size must be 1k..1m");
  EXPECT_EQ(refused({"--uring-recv-buffer-size", "2m"}), "--uring-recv-buffer-size must be 1k..1m");
}

TEST(ConfigLogging, LevelAndFormat) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(accepted({"--log-level", level}).log_level, level);
  }
  EXPECT_EQ(refused({"--log-level", "verbose"}),
            "--log-level must be one of trace, debug, info, warn, error, off");
  EXPECT_EQ(accepted({"--log-format", "json"}).log_format, "json");
  EXPECT_EQ(accepted({"--log-format", "text"}).log_format, "text");
  EXPECT_EQ(refused({"--log-format", "xml"}), "--log-format must be text or json");
}

TEST(ConfigOperations, AdminListener) {
  EXPECT_FALSE(accepted({"--admin", "off"}).admin_enabled);
  Settings s = accepted({"--admin", "0.0.0.0:9100"});
  EXPECT_TRUE(s.admin_enabled);
  EXPECT_EQ(s.admin_host, "0.0.0.0");
  EXPECT_EQ(s.admin_port, 9100);
  s = accepted({"--admin", "[::1]:9101"});
  EXPECT_EQ(s.admin_host, "::1");
  EXPECT_EQ(s.admin_port, 9101);
  EXPECT_EQ(refused({"--admin", "on"}), "--admin wants HOST:PORT or off, got 'on'");
  EXPECT_EQ(refused({"--admin", "h:70000"}), "--admin wants HOST:PORT or off, got 'h:70000'");
}

TEST(ConfigOperations, CheckConfigIsASwitch) {
  EXPECT_TRUE(accepted({"--check-config"}).check_config);
  EXPECT_FALSE(accepted({}).check_config);
}

TEST(ConfigLimits, PrefixLimitsRaiseTheCeiling) {
  const Settings s = accepted({"-t", "1", "--limit", "big: 16m", "--limit", "tiny:1k"});
  ASSERT_EQ(s.prefix_limits.size(), 2u);
  EXPECT_EQ(s.prefix_limits[0].prefix, "big");
  EXPECT_EQ(s.prefix_limits[0].limit, 16ull << 20);
  EXPECT_EQ(s.prefix_limits[1].prefix, "tiny");
  EXPECT_EQ(s.prefix_limits[1].limit, 1024u);
  EXPECT_EQ(s.value_limit, 8ull << 20) << "keys matching no prefix";
  EXPECT_EQ(s.max_value_size, 16ull << 20) << "buffers are sized for the largest limit";
}

TEST(ConfigLimits, BadOrDuplicatePrefixLimits) {
  for (const char* text : {"nocolon", ": 1k", "p: 0", "p: lots", "a b: 1k"}) {
    EXPECT_EQ(refused({"--limit", text}),
              std::string("--limit wants 'PREFIX: SIZE', got '") + text + "'");
  }
  EXPECT_EQ(refused({"--limit", "a: 1k", "--limit", "a:2k"}), "prefix 'a' has two limits");
}

TEST(ConfigLimits, ValueCeiling) {
  Settings s = accepted({"-t", "1", "--value-ceiling", "16m", "-m", "64m"});
  EXPECT_EQ(s.value_ceiling, 16ull << 20);
  EXPECT_EQ(s.max_value_size, 16ull << 20);
  EXPECT_EQ(s.value_limit, 8ull << 20);
  EXPECT_EQ(refused({"--value-ceiling", "4m"}),
            "--value-ceiling 4194304 is below the largest limit, 8388608");
}

TEST(ConfigLimits, ObserveModeCeilingIsAtLeast8m) {
  Settings s = accepted({"--limit-mode", "observe", "-I", "1m"});
  EXPECT_EQ(s.limit_mode, LimitMode::kObserve);
  EXPECT_EQ(s.value_limit, 1ull << 20);
  EXPECT_EQ(s.max_value_size, 8ull << 20);
  // The embedded store must still hold one value of the ceiling.
  s = accepted({"--limit-mode", "observe", "-I", "1m", "-m", "4m"});
  EXPECT_EQ(s.max_value_size, (4ull << 20) - 1024);
  EXPECT_EQ(accepted({"--limit-mode", "enforce", "-I", "1m"}).max_value_size, 1ull << 20);
  EXPECT_EQ(refused({"--limit-mode", "warn"}), "--limit-mode must be enforce or observe");
}

TEST(ConfigDerived, BuffersPerWorkerAndChainShare) {
  // 2 workers x 32m of 64k buffers: 512 each; chains may hold 3/4 of them.
  Settings s = accepted({"-t", "2"});
  EXPECT_EQ(s.buffers_per_worker(), 512u);
  EXPECT_EQ(s.buffers_per_max_value(), 129u) << "8m and its \\r\\n";
  EXPECT_EQ(s.chain_buffer_limit(), 384u);

  s = accepted({"-t", "2", "--chain-share", "0.5"});
  EXPECT_TRUE(s.chain_share_given);
  EXPECT_DOUBLE_EQ(s.chain_share, 0.5);
  EXPECT_EQ(s.chain_buffer_limit(), 256u);

  s = accepted({"-t", "2", "--chain-share", "200"});
  EXPECT_EQ(s.chain_buffers, 200u);
  EXPECT_EQ(s.chain_buffer_limit(), 200u);

  s = accepted({"-t", "4", "--pool-size", "1g", "--buffer-size", "16k"});
  EXPECT_EQ(s.buffers_per_worker(), 16384u);
  EXPECT_EQ(s.buffers_per_max_value(), 513u);
  EXPECT_EQ(s.chain_buffer_limit(), 12288u);
}

TEST(ConfigDerived, DefaultShareGrowsToHoldOneMaxSizeValueInASmallPool) {
  // 10m for one worker: 160 buffers; 3/4 is 120, below the 129 one value needs.
  Settings s = accepted({"-t", "1", "--pool-size", "10m"});
  EXPECT_EQ(s.buffers_per_worker(), 160u);
  EXPECT_EQ(s.chain_buffer_limit(), 129u);
  // The same share given explicitly is taken as meant, and refused.
  EXPECT_EQ(refused({"-t", "1", "--pool-size", "10m", "--chain-share", "0.75"}),
            "--chain-share gives value chains 120 of each worker's 160 buffers: it must hold one "
            "max-size value (129) and leave at least 4");
}

TEST(ConfigDerived, ChainShareErrors) {
  const std::string message = "--chain-share must be a fraction between 0 and 1, or a buffer count";
  for (const char* text : {"0", "1.0", "0.0", "1.5", "abc", "0.5x", "-3", ""}) {
    EXPECT_EQ(refused({"--chain-share", text}), message) << "'" << text << "'";
  }
  EXPECT_EQ(refused({"-t", "2", "--chain-share", "100"}),
            "--chain-share gives value chains 100 of each worker's 512 buffers: it must hold one "
            "max-size value (129) and leave at least 4");
  EXPECT_EQ(refused({"-t", "2", "--chain-share", "509"}),
            "--chain-share gives value chains 509 of each worker's 512 buffers: it must hold one "
            "max-size value (129) and leave at least 4");
  EXPECT_EQ(accepted({"-t", "2", "--chain-share", "508"}).chain_buffer_limit(), 508u);
}

TEST(ConfigDerived, ConnectionChainBudget) {
  // By default a quarter of the chains' share, but one max-size value at least.
  EXPECT_EQ(accepted({"-t", "2"}).connection_chain_buffer_limit(), 129u) << "384 / 4 < 129";
  EXPECT_EQ(accepted({"-t", "1", "--pool-size", "256m"}).connection_chain_buffer_limit(), 768u);
  EXPECT_EQ(accepted({"-t", "1", "-I", "1m"}).connection_chain_buffer_limit(), 96u);
  // Given, in any size syntax, as whole buffers.
  Settings s = accepted({"-t", "1", "-I", "1m", "--max-connection-chain", "2m"});
  EXPECT_EQ(s.max_connection_chain, 2ull << 20);
  EXPECT_EQ(s.connection_chain_buffer_limit(), 32u);
  EXPECT_EQ(accepted({"-t", "1", "-I", "1m", "--max-connection-chain", "1114112"})
                .connection_chain_buffer_limit(),
            17u);
  // It must hold one max-size value's chain, or that value would wait for ever.
  EXPECT_EQ(refused({"-t", "1", "-I", "1m", "--max-connection-chain", "1m"}),
            "--max-connection-chain 1048576 is less than one max-size value's chain: 17 buffers "
            "of 65536 bytes (1114112); raise it or lower --max-value-size");
  EXPECT_EQ(refused({"--max-connection-chain", "0"}),
            "--max-connection-chain must hold at least one max-size value");
  EXPECT_EQ(refused({"--max-connection-chain", "lots"}),
            "invalid size for --max-connection-chain: 'lots'");
}

TEST(ConfigDerived, PoolMustHoldOneMaxSizeValuePerWorker) {
  EXPECT_EQ(refused({"-t", "1", "--pool-size", "8m"}),
            "--pool-size gives each of 1 workers 8388608 bytes, less than the 9502720 one "
            "max-size value and its I/O buffers need");
  EXPECT_EQ(refused({"-t", "4", "--pool-size", "32m"}),
            "--pool-size gives each of 4 workers 8388608 bytes, less than the 9502720 one "
            "max-size value and its I/O buffers need");
}

TEST(ConfigFile, FileSetsOptionsAndTheCommandLineWins) {
  const ConfigFile file(
      "# comment\n"
      "port = 1111\n"
      "threads = 3\n"
      "log-level = debug\n"
      "max-value-size = 1m\n"
      "upstream-failover = true\n"
      "upstream-item-size-max = 4m\n"
      "upstream-split = read-only\n"
      "admin = off\n");
  const Settings s = accepted({"--config", file.path(), "-p", "2222", "-I", "2m"});
  EXPECT_EQ(s.config_path, file.path());
  EXPECT_EQ(s.listen_port, 2222) << "the command line wins";
  EXPECT_EQ(s.max_value_size, 2ull << 20) << "the command line wins";
  EXPECT_EQ(s.threads, 3u);
  EXPECT_EQ(s.log_level, "debug");
  EXPECT_TRUE(s.upstream_failover);
  EXPECT_EQ(s.upstream_item_size_max, 4ull << 20);
  EXPECT_EQ(s.upstream_split, SplitMode::kReadOnly);
  EXPECT_FALSE(s.admin_enabled);
}

TEST(ConfigFile, DefaultFileIsReadWhenPresent) {
  const ConfigFile file("listen = 0.0.0.0:4000\n");
  Settings s = accepted({}, file.path());
  EXPECT_EQ(s.config_path, file.path());
  EXPECT_EQ(s.listen_host, "0.0.0.0");
  EXPECT_EQ(s.listen_port, 4000);
  // --config replaces it.
  const ConfigFile other("listen = 0.0.0.0:5000\n");
  s = accepted({"--config", other.path()}, file.path());
  EXPECT_EQ(s.listen_port, 5000);
  // A missing default file is no error.
  s = accepted({}, file.path() + ".missing");
  EXPECT_EQ(s.config_path, "");
  EXPECT_EQ(s.listen_port, 11211);
}

TEST(ConfigFile, MissingExplicitFileIsAnError) {
  EXPECT_EQ(refused({"--config", "/nonexistent/mcguard.conf"}),
            "cannot read config file '/nonexistent/mcguard.conf'");
}

TEST(ConfigFile, BadValuesInTheFileGetTheSameErrors) {
  const ConfigFile file("io-engine = kqueue\n");
  EXPECT_EQ(refused({"--config", file.path()}), "--io-engine must be auto, uring or epoll");
  const ConfigFile unknown("no-such-option = 1\n");
  EXPECT_THAT(refused({"--config", unknown.path()}), HasSubstr("no-such-option"));
}

TEST(ConfigFile, RepeatableOptionsFromTheFileAndTheCommandLine) {
  const ConfigFile file("upstream = 10.0.0.1:11211\nlimit = a: 1k\n");
  const Settings s =
      accepted({"--config", file.path(), "--upstream", "10.0.0.2:11211", "--limit", "b: 2k"});
  std::vector<std::string> hosts;
  for (const UpstreamAddress& address : s.upstreams) hosts.push_back(address.host);
  EXPECT_EQ(hosts, (std::vector<std::string>{"10.0.0.2", "10.0.0.1"}));
  ASSERT_EQ(s.prefix_limits.size(), 2u);
  EXPECT_EQ(s.prefix_limits[0].prefix, "b");
  EXPECT_EQ(s.prefix_limits[1].prefix, "a");
}

}  // namespace
}  // namespace mcguard
