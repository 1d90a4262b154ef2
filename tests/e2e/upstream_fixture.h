// Fixture for end-to-end tests of mcguard's upstream tier: memcached servers the
// test owns (so it can kill, freeze and restart each one on its own port), fake
// upstreams that never answer or answer junk, and mcguard in front of them. Key
// placement is learnt from the servers themselves: a key stored through mcguard
// is looked for on every memcached directly, and exactly one must have it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.h"

namespace mcguard::e2e {

// What a request gets when mcguard cannot get an answer from its upstream; the
// reason after the prefix is mcguard's to choose.
inline constexpr std::string_view kServerError = "SERVER_ERROR ";

inline bool is_server_error(std::string_view line) {
  return line.substr(0, kServerError.size()) == kServerError && line.size() >= 2 &&
         line.substr(line.size() - 2) == "\r\n";
}

// Polls `condition` every `interval` until it holds (true) or `timeout` passes
// (false): for states the test can observe but not be notified of.
bool wait_until(const std::function<bool()>& condition, milliseconds timeout,
                milliseconds interval = milliseconds(5));

// Bytes received but not yet read by the process behind `port`, summed over the
// established TCP connections whose local port it is (from /proc/net/tcp). With
// a frozen memcached this is what its clients have sent it so far.
size_t tcp_receive_queue(uint16_t port);

// Sends SIGSTOP to `server` and waits until every thread of it has stopped (a
// thread busy on another CPU stops a little after kill() returns).
bool freeze(ServerProcess& server, milliseconds timeout = milliseconds(3000));

// A listening socket on 127.0.0.1 that plays a broken upstream. kSilent accepts
// connections and reads requests but never answers; kGarbage answers every
// chunk of request bytes with `junk`. It stops when destroyed.
class FakeUpstream {
 public:
  enum class Mode { kSilent, kGarbage };

  // Listens on `port` (0: a free one). nullptr and `error` when it cannot.
  static std::unique_ptr<FakeUpstream> start(Mode mode, uint16_t port, std::string junk,
                                             std::string* error);
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;
  ~FakeUpstream();

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  size_t bytes_received() const { return received_.load(); }

 private:
  FakeUpstream(Mode mode, int listen_fd, uint16_t port, std::string junk);
  void run();

  Mode mode_;
  int listen_fd_;
  int wake_fds_[2] = {-1, -1};
  uint16_t port_;
  std::string junk_;
  std::atomic<int> accepted_{0};
  std::atomic<size_t> received_{0};
  std::thread thread_;
};

class UpstreamTest : public ::testing::Test {
 public:
  // Sends `request` + "mn\r\n" and reads through the "MN" line.
  static ReadResult ask(Client& c, std::string_view request,
                        milliseconds timeout = milliseconds(5000));

 protected:
  // Skips when the suite runs against memcached (MCGUARD_E2E_SUBJECT): these
  // tests are about what mcguard does in front of memcached.
  void SetUp() override;

  // Starts `n` memcached servers; upstream i listens on upstream_ports_[i].
  void start_upstreams(int n);
  // Starts mcguard with one "--upstream 127.0.0.1:PORT" per upstream_ports_
  // entry, in that order, followed by `args`.
  void start_proxy(const std::vector<std::string>& args, McguardOptions options = {});
  // Stops upstream i with SIGKILL; its port is free afterwards.
  void kill_upstream(int i);
  // A new memcached on upstream i's port.
  void restart_upstream(int i);

  Client connect_proxy();
  Client connect_upstream(int i);

  // The value of `key` on upstream i, asked directly; nullopt on a miss.
  std::optional<std::string> direct_get(int i, std::string_view key);
  // Index of the upstream holding `key` (asked directly): -1 when none does,
  // -2 when several do.
  int owner_of(std::string_view key);
  // Stores "<prefix><n>" (value: the key) through mcguard for n = 0, 1, ...
  // until `per_server` keys are known on every upstream; result[i] are upstream
  // i's keys. Fails the test (and returns what it has) after 2,000 keys.
  std::vector<std::vector<std::string>> keys_by_server(std::string_view prefix, int per_server);

  // Appended to every upstream memcached's command line (start and restart),
  // e.g. TLS or -Y options.
  std::vector<std::string> upstream_args_;
  std::vector<uint16_t> upstream_ports_;
  std::vector<std::unique_ptr<ServerProcess>> upstreams_;  // nullptr while stopped
  std::unique_ptr<ServerProcess> proxy_;
};

// "set <key> <flags> 0 <n>\r\n<value>\r\n".
std::string set_command(std::string_view key, std::string_view value, uint32_t flags = 0,
                        bool noreply = false);
// "VALUE <key> <flags> <n>\r\n<value>\r\n".
std::string value_block(std::string_view key, std::string_view value, uint32_t flags = 0);

}  // namespace mcguard::e2e
