// Fault injection on the upstream tier: mcguard in front of a ScriptedUpstream
// that misbehaves on every get of a "fault" key (stall or close mid-reply, a
// byte at a time, late, unsolicited replies before and after the real one, a
// value longer than announced, a reset), while bystander clients on the same
// upstream connections keep working. After each fault kind: mcguard is alive,
// every request got its right answer or a SERVER_ERROR (the faulty gets exactly
// SERVER_ERROR where the reply was broken), no client ever saw bytes of another
// client or of a reply nobody asked for, service recovers, and the pool is back
// to idle.
// Already covered elsewhere and not repeated here: an upstream down at start,
// killed with requests waiting and restarted (upstream_failures_test.cc), one
// that never answers (UpstreamBroken.NeverAnsweringUpstreamTimesOut), junk
// replies (UpstreamGarbage), and a real memcached killed and restarted under
// 240 clients (upstream_clients_test.cc); isolation_soak_test.cc restarts three
// at random under 500.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "differential.h"
#include "fault_support.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

using Fault = ScriptedUpstream::Fault;

constexpr int kRounds = 5;
constexpr int kBystanders = 4;
constexpr int kWorkers = 2;  // McguardOptions::threads, one upstream connection each

// What one "set key; get key; mn" exchange showed.
struct Outcome {
  std::string error;  // empty when every reply is acceptable
  bool set_failed = false;
  bool get_failed = false;  // the get was answered SERVER_ERROR
};

// Reads `reply` as the answer to set_command(key, value) + "get key" + "mn":
// each reply is the right one or a SERVER_ERROR, and nothing else is there.
Outcome check_exchange(const ReadResult& reply, const std::string& key, const std::string& value) {
  Outcome out;
  std::string_view rest = reply.bytes;
  auto take_line = [&]() -> std::string {
    const size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) return std::string(rest);
    std::string line(rest.substr(0, eol + 2));
    rest.remove_prefix(eol + 2);
    return line;
  };
  if (reply.timed_out || reply.closed) {
    out.error = reply.closed ? "connection closed" : "no complete reply in time";
    return out;
  }
  if (reply.bytes.find(kGhostMarker) != std::string::npos) {
    out.error = "a reply nobody asked for reached this client";
    return out;
  }
  const std::string set_line = take_line();
  if (is_server_error(set_line)) {
    out.set_failed = true;
  } else if (set_line != "STORED\r\n") {
    out.error = "set answered " + escape(set_line);
    return out;
  }
  const std::string block = value_block(key, value) + "END\r\n";
  if (rest.starts_with(block)) {
    rest.remove_prefix(block.size());
  } else if (out.set_failed && rest.starts_with("END\r\n")) {
    rest.remove_prefix(5);
  } else {
    const std::string line = take_line();
    if (!is_server_error(line)) {
      out.error = "get answered " + escape(line, 300);
      return out;
    }
    out.get_failed = true;
  }
  if (rest != "MN\r\n") out.error = "after the get: " + escape(std::string(rest), 300);
  return out;
}

class UpstreamFaults : public UpstreamTest, public ::testing::WithParamInterface<Fault> {
 protected:
  std::unique_ptr<ScriptedUpstream> fake_;
};

TEST_P(UpstreamFaults, AnsweredOrFailedNeverCrossedAndThePoolGoesIdle) {
  const Fault fault = GetParam();
  std::string error;
  fake_ = ScriptedUpstream::start(fault, &error);
  ASSERT_NE(fake_, nullptr) << error;
  upstream_ports_ = {fake_->port()};
  upstreams_.resize(1);
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "1s", "--upstream-retry", "50ms",
                                       "--upstream-failure-limit", "1000"}));
  Client admin = connect_proxy();
  const long long idle_in_use = mcguard_stat(admin, "mcguard_pool_buffers_in_use");
  ASSERT_GE(idle_in_use, 0) << "stats lacks mcguard_pool_buffers_in_use";

  std::mutex mutex;
  std::vector<std::string> errors;
  std::atomic<int> bystander_failures{0};
  auto record = [&](const std::string& who, const Outcome& o, const ReadResult& r) {
    if (o.error.empty()) return;
    std::lock_guard lock(mutex);
    errors.push_back(who + ": " + o.error + "; reply: " + escape(r.bytes, 400));
  };

  // Bystanders: their own keys, pipelined on the same upstream connections.
  std::vector<std::thread> bystanders;
  for (int b = 0; b < kBystanders; ++b) {
    bystanders.emplace_back([&, b] {
      Client c = connect_proxy();
      for (int round = 0; round < kRounds; ++round) {
        const std::string key = "bystander" + std::to_string(b) + "r" + std::to_string(round);
        const std::string value = key + "|" + make_value(64 + 300 * b, b * 10 + round);
        ReadResult r = ask(c, set_command(key, value) + "get " + key + "\r\n", milliseconds(10000));
        const Outcome o = check_exchange(r, key, value);
        record("bystander " + std::to_string(b), o, r);
        if (o.set_failed || o.get_failed) ++bystander_failures;
        if (r.closed || r.timed_out) return;
      }
    });
  }

  // The victim: every get of its "fault" key triggers the fault.
  Client victim = connect_proxy();
  int victim_get_errors = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = std::string(kFaultKeyPrefix) + std::to_string(round);
    const std::string value = key + "|" + make_value(200, 99 + round);
    ReadResult r =
        ask(victim, set_command(key, value) + "get " + key + "\r\n", milliseconds(10000));
    const Outcome o = check_exchange(r, key, value);
    record("victim round " + std::to_string(round), o, r);
    victim_get_errors += o.get_failed ? 1 : 0;
    if (r.closed || r.timed_out) break;
  }
  for (auto& t : bystanders) t.join();
  for (const auto& e : errors) ADD_FAILURE() << e;

  EXPECT_GE(fake_->faults_injected(), kRounds) << "the fault was not triggered every round";
  switch (fault) {
    case Fault::kSlowBytes:
    case Fault::kDelayed:
      EXPECT_EQ(victim_get_errors, 0) << "a slow but timely reply must be delivered";
      EXPECT_EQ(bystander_failures.load(), 0);
      break;
    case Fault::kUnsolicitedAfter:
      break;  // whichever request the stray reply lands on fails; checked above
    default:
      EXPECT_EQ(victim_get_errors, kRounds) << "a broken reply must be a SERVER_ERROR";
  }

  // Service recovers for old and new connections alike.
  Client fresh = connect_proxy();
  for (Client* c : {&fresh, &victim}) {
    const bool served = wait_until(
        [&] {
          ReadResult r = ask(*c, set_command("after", "fine") + "get after\r\n");
          return r.bytes == "STORED\r\n" + value_block("after", "fine") + "END\r\nMN\r\n";
        },
        milliseconds(10000), milliseconds(50));
    EXPECT_TRUE(served) << "no normal service after the faults";
  }
  // Idle: what the admin connection held before any upstream was used, plus the
  // one receive buffer each worker's open upstream connection keeps.
  long long in_use = -1;
  const bool idle = wait_until(
      [&] {
        in_use = mcguard_stat(admin, "mcguard_pool_buffers_in_use");
        return in_use >= 0 && in_use <= idle_in_use + kWorkers;
      },
      milliseconds(5000), milliseconds(20));
  EXPECT_TRUE(idle) << "pool buffers in use: " << in_use << ", before any upstream traffic "
                    << idle_in_use;
  EXPECT_TRUE(proxy_->running()) << "mcguard died";
  std::printf(
      "[ INFO     ] %s: %d faults injected over %d upstream connections; %d victim "
      "SERVER_ERRORs, %d bystander\n",
      ScriptedUpstream::fault_name(fault), fake_->faults_injected(), fake_->connections_accepted(),
      victim_get_errors, bystander_failures.load());
}

INSTANTIATE_TEST_SUITE_P(Kinds, UpstreamFaults,
                         ::testing::Values(Fault::kStallMidReply, Fault::kCloseMidReply,
                                           Fault::kSlowBytes, Fault::kDelayed,
                                           Fault::kUnsolicitedAfter, Fault::kUnsolicitedFirst,
                                           Fault::kValueTooLong, Fault::kReset),
                         [](const ::testing::TestParamInfo<Fault>& info) {
                           return std::string(ScriptedUpstream::fault_name(info.param));
                         });

}  // namespace
}  // namespace mcguard::e2e
