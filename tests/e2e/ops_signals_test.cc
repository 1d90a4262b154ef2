// Signals and configuration from an operator's side: SIGTERM during a load run
// answers every request sent before it and exits 0; SIGHUP changes limits
// mid-run without dropping a connection; a broken file on SIGHUP keeps the old
// limits; --check-config validates a file and exits.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "ops_support.h"

#ifndef MCGUARD_BINARY
#define MCGUARD_BINARY "build/mcguard"
#endif

namespace mcguard::e2e {
namespace {

constexpr std::string_view kStored = "STORED\r\n";
constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";

std::string mcguard_binary() {
  const char* override_path = std::getenv("MCGUARD_E2E_BINARY");
  return override_path != nullptr ? override_path : MCGUARD_BINARY;
}

class OpsSignals : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's signal handling only";
  }

  void start(const McguardOptions& options) {
    std::string error;
    server_ = start_subject(&error, options);
    ASSERT_NE(server_, nullptr) << error;
    auto c = Client::connect(server_->port());
    ASSERT_TRUE(c.has_value());
    stats_client_ = std::move(*c);
  }

  // Sends SIGHUP and waits until the server counted it as applied or rejected.
  void reload() {
    const long long before = stat_number(stats_client_, "mcguard_reloads") +
                             stat_number(stats_client_, "mcguard_failed_reloads");
    ASSERT_TRUE(server_->signal(SIGHUP));
    ASSERT_TRUE(poll_until(
        [&] {
          return stat_number(stats_client_, "mcguard_reloads") +
                     stat_number(stats_client_, "mcguard_failed_reloads") >
                 before;
        },
        milliseconds(10000)))
        << "SIGHUP was not handled";
  }

  std::unique_ptr<ServerProcess> server_;
  Client stats_client_;
};

// Client threads that store and read back values in pipelined batches until
// told to stop; each remembers whether a request was ever left unanswered.
TEST_F(OpsSignals, SigtermDuringLoadAnswersEveryRequestSentBeforeIt) {
  McguardOptions options;
  options.extra_args = {"--drain-timeout", "60s"};
  ASSERT_NO_FATAL_FAILURE(start(options));
  stats_client_.close();

  constexpr int kClients = 8;
  constexpr int kBatch = 16;
  std::atomic<bool> signalled{false};
  std::vector<std::atomic<int>> batches_before(kClients);
  std::vector<std::string> failures(kClients);
  std::vector<uint8_t> closed_after(kClients, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client = Client::connect(server_->port());
      if (!client) {
        failures[c] = "cannot connect";
        return;
      }
      for (int round = 0;; ++round) {
        std::string request, expected;
        for (int i = 0; i < kBatch; ++i) {
          const std::string key = "c" + std::to_string(c) + "_" + std::to_string(i);
          const std::string value(100 + (round * kBatch + i) % 900, 'a' + c);
          request += "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value +
                     "\r\nget " + key + "\r\n";
          expected += "STORED\r\nVALUE " + key + " 0 " + std::to_string(value.size()) + "\r\n" +
                      value + "\r\nEND\r\n";
        }
        const bool sent = client->send(request, milliseconds(15000));
        // Sent whole before the signal: every reply must come.
        const bool before = sent && !signalled.load();
        ReadResult r = client->read_exactly(expected.size(), milliseconds(30000));
        if (before) {
          if (r.bytes != expected) {
            failures[c] = "round " + std::to_string(round) + ": got " +
                          std::to_string(r.bytes.size()) + " of " +
                          std::to_string(expected.size()) + " reply bytes" +
                          (r.closed ? " (closed)" : "") + (r.timed_out ? " (timed out)" : "");
            return;
          }
          batches_before[c].fetch_add(1);
          continue;
        }
        // After the signal: the connection is closed once idle.
        closed_after[c] = r.closed || client->wait_for_close(milliseconds(30000));
        return;
      }
    });
  }
  for (int c = 0; c < kClients; ++c) {
    EXPECT_TRUE(poll_until([&] { return batches_before[c].load() >= 5; }, milliseconds(30000)))
        << "client " << c << " made no progress: " << failures[c];
  }
  signalled = true;
  ASSERT_TRUE(server_->signal(SIGTERM));
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(failures[c], "") << "client " << c;
    if (failures[c].empty()) {
      EXPECT_TRUE(closed_after[c]) << "client " << c << " was not closed by the drain";
    }
  }
  ExitStatus status = server_->stop(milliseconds(30000));
  EXPECT_TRUE(status.exited && status.code == 0 && !status.needed_sigkill)
      << "exited " << status.exited << " code " << status.code << " signal " << status.signal;
}

TEST_F(OpsSignals, SighupChangesALimitMidRunWithoutDroppingConnections) {
  TempFile config("value-ceiling = 1m\nmax-value-size = 2k\nlog-level = warn\n");
  McguardOptions options;
  options.defaults_only = true;  // the file, not the command line, sets the limits
  options.config = config.path();
  ASSERT_NO_FATAL_FAILURE(start(options));

  constexpr int kClients = 4;
  std::atomic<bool> stop{false};
  std::vector<std::atomic<int>> too_large(kClients), stored(kClients);
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client = Client::connect(server_->port());
      if (!client) {
        failures[c] = "cannot connect";
        return;
      }
      while (!stop.load()) {
        const std::string reply = set_value(*client, "k" + std::to_string(c), 4000);
        if (reply == kTooLarge) {
          too_large[c].fetch_add(1);
        } else if (reply == kStored) {
          stored[c].fetch_add(1);
        } else {
          failures[c] = "unexpected reply: " + escape(reply);
          return;
        }
      }
    });
  }
  struct Joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Joiner() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } joiner{stop, clients};

  for (int c = 0; c < kClients; ++c) {
    ASSERT_TRUE(poll_until([&] { return too_large[c].load() >= 3 || !failures[c].empty(); },
                           milliseconds(30000)));
  }
  const long long connections_before = stat_number(stats_client_, "total_connections");
  config.rewrite("value-ceiling = 1m\nmax-value-size = 8k\nlog-level = debug\n");
  ASSERT_NO_FATAL_FAILURE(reload());
  for (int c = 0; c < kClients; ++c) {
    EXPECT_TRUE(poll_until([&] { return stored[c].load() >= 3 || !failures[c].empty(); },
                           milliseconds(30000)))
        << "client " << c << " never saw the new limit";
  }
  // No connection was dropped or replaced: the clients and the stats client.
  EXPECT_EQ(stat_number(stats_client_, "total_connections"), connections_before);
  EXPECT_EQ(stat_number(stats_client_, "curr_connections"), kClients + 1);
  stop = true;
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(failures[c], "") << "client " << c;
  auto settings = stats_of(stats_client_, "settings");
  EXPECT_EQ(settings["mcguard_max_value_size"], "8192");
  EXPECT_EQ(settings["mcguard_log_level"], "debug");
  EXPECT_EQ(stat_number(stats_client_, "mcguard_reloads"), 1);
}

TEST_F(OpsSignals, BrokenConfigOnSighupKeepsTheOldLimits) {
  TempFile config("limit = k: 2k\n");
  McguardOptions options;
  options.config = config.path();
  ASSERT_NO_FATAL_FAILURE(start(options));
  auto client = Client::connect(server_->port());
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(set_value(*client, "k1", 4000), kTooLarge);

  int failed = 0;
  for (const char* broken : {
           "limit = k: 8k\nlimit = k: lots\n",     // a malformed size
           "limit = k: 8k\nno-such-option = 1\n",  // an unknown option
           "limit = k: 16m\n",                     // over the ceiling fixed at start-up (8m)
           "limit = k: 8k\nlimit = k: 4k\n",       // one prefix, two limits
       }) {
    SCOPED_TRACE(broken);
    config.rewrite(broken);
    ASSERT_NO_FATAL_FAILURE(reload());
    EXPECT_EQ(stat_number(stats_client_, "mcguard_failed_reloads"), ++failed);
    EXPECT_EQ(set_value(*client, "k1", 4000), kTooLarge) << "the old 2k limit still holds";
    EXPECT_EQ(set_value(*client, "k1", 2000), kStored);
    EXPECT_EQ(stats_of(stats_client_, "settings")["mcguard_limit:k"], "2048");
  }
  // A good file still applies after the broken ones.
  config.rewrite("limit = k: 8k\n");
  ASSERT_NO_FATAL_FAILURE(reload());
  EXPECT_EQ(stat_number(stats_client_, "mcguard_reloads"), 1);
  EXPECT_EQ(set_value(*client, "k1", 4000), kStored);
  // Removing the file is a broken configuration too.
  const std::string path = config.path();
  config.rewrite("");
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(reload());
  EXPECT_EQ(stat_number(stats_client_, "mcguard_failed_reloads"), failed + 1);
  EXPECT_EQ(set_value(*client, "k1", 4000), kStored);
  config.rewrite("");  // puts it back for the TempFile's clean-up
}

TEST_F(OpsSignals, CheckConfigValidatesAFileAndExits) {
  TempFile good(
      "max-value-size = 1m\nlimit = session: 64k\nlimit = report: 4m\n"
      "limit-mode = observe\nadmin = 127.0.0.1:0\ndrain-timeout = 5s\n");
  ProgramRun run = run_program({mcguard_binary(), "--check-config", "--config", good.path()}, {},
                               {}, milliseconds(20000));
  EXPECT_TRUE(run.status.exited && run.status.code == 0) << run.output;
  EXPECT_NE(run.output.find("configuration OK"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("limit mode observe"), std::string::npos) << run.output;

  for (const auto& [text, complaint] : std::vector<std::pair<std::string, std::string>>{
           {"limit = session 64k\n", "--limit wants"},
           {"limit-mode = sometimes\n", "--limit-mode must be"},
           {"max-value-size = 2m\nvalue-ceiling = 1m\n", "--value-ceiling"},
           {"admin = nowhere\n", "--admin wants"},
           {"log-format = xml\n", "--log-format must be"},
           {"frobnicate = 1\n", "frobnicate"},
       }) {
    TempFile bad(text);
    run = run_program({mcguard_binary(), "--check-config", "--config", bad.path()}, {}, {},
                      milliseconds(20000));
    EXPECT_TRUE(run.status.exited && run.status.code == 2) << text << run.output;
    EXPECT_NE(run.output.find(complaint), std::string::npos) << text << run.output;
  }
}

}  // namespace
}  // namespace mcguard::e2e
