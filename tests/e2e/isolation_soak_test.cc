// Response isolation soak: 500 clients at once through mcguard's upstream tier
// to three memcached servers, each client pipelining sets, a multi-get and a
// meta get of keys and values no other client uses, while a restarter kills
// and restarts a random upstream every few hundred milliseconds. A reply that
// does not belong to its request (a foreign or misordered key, other bytes,
// a reply where none was due, a missing one) is a mismatch; there must be none.
// SERVER_ERROR and misses are what a restart may cost and are only counted.
// Bounded: it stops once ten restarts are done (at least four rounds per client),
// after 400 rounds per client, or after 40 s, whichever comes first.
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "differential.h"
#include "fault_support.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

constexpr int kClients = 500;
constexpr int kThreads = 10;
constexpr int kMinRounds = 4;    // per client, however soon the restarts are done
constexpr int kMaxRounds = 400;  // per client: at most 1.4 million requests in all
constexpr int kRestarts = 10;    // upstream restarts the soak runs through
constexpr int kKeys = 4;         // sets per round, all read back by one get
constexpr int kUpstreams = 3;
constexpr auto kTimeBudget = milliseconds(40000);

struct Tally {
  std::atomic<long> requests{0};
  std::atomic<long> mismatched{0};
  std::atomic<long> unanswered{0};  // no complete reply in time, or the connection closed
  std::atomic<long> server_errors{0};
  std::atomic<long> misses{0};
  std::mutex mutex;
  std::vector<std::string> examples;

  void mismatch(const std::string& what) {
    ++mismatched;
    std::lock_guard lock(mutex);
    if (examples.size() < 5) examples.push_back(what);
  }
};

struct Round {
  std::vector<std::string> keys, values;
  std::string request;
};

Round make_round(int client, int round) {
  Round r;
  std::string get = "get";
  for (int j = 0; j < kKeys; ++j) {
    const std::string key =
        "iso" + std::to_string(client) + "." + std::to_string(round) + "." + std::to_string(j);
    std::string value = key + "=" +
                        make_value(1 + (client * 31 + round * 7 + j * 1013) % 1500,
                                   static_cast<uint32_t>(client * 100 + round * 10 + j));
    r.request += set_command(key, value);
    get += " " + key;
    r.keys.push_back(key);
    r.values.push_back(std::move(value));
  }
  r.request += get + "\r\nmg " + r.keys[1] + " v k\r\nmn\r\n";
  return r;
}

// Walks one round's reply; returns what does not belong, empty when all does.
std::string check_round(std::string_view reply, const Round& round, Tally& tally) {
  size_t pos = 0;
  auto line = [&]() -> std::string {
    const size_t eol = reply.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      pos = reply.size();
      return "<cut short>";
    }
    std::string out(reply.substr(pos, eol + 2 - pos));
    pos = eol + 2;
    return out;
  };
  auto data = [&](const std::string& value) {
    if (reply.substr(pos, value.size()) != value || reply.substr(pos + value.size(), 2) != "\r\n")
      return false;
    pos += value.size() + 2;
    return true;
  };
  for (int j = 0; j < kKeys; ++j) {
    const std::string l = line();
    if (is_server_error(l)) {
      ++tally.server_errors;
    } else if (l != "STORED\r\n") {
      return "set " + round.keys[j] + " answered " + escape(l);
    }
  }
  std::string l = line();
  if (is_server_error(l)) {
    ++tally.server_errors;
  } else {
    int next = 0;
    for (; l != "END\r\n"; l = line()) {
      int j = next;
      while (j < kKeys && l != "VALUE " + round.keys[j] + " 0 " +
                                   std::to_string(round.values[j].size()) + "\r\n") {
        ++j;
      }
      if (j == kKeys) return "get: " + escape(l) + " is not the next of this get's values";
      if (!data(round.values[j])) return "get: other bytes in " + round.keys[j];
      tally.misses += j - next;
      next = j + 1;
    }
    tally.misses += kKeys - next;
  }
  l = line();
  if (is_server_error(l)) {
    ++tally.server_errors;
  } else if (l == "EN\r\n") {
    ++tally.misses;
  } else if (l == "VA " + std::to_string(round.values[1].size()) + " k" + round.keys[1] + "\r\n") {
    if (!data(round.values[1])) return "mg: other bytes in " + round.keys[1];
  } else {
    return "mg " + round.keys[1] + " answered " + escape(l);
  }
  if (line() != "MN\r\n") return "no MN where the pipeline ends";
  if (pos != reply.size()) return "bytes after the final MN";
  return "";
}

class IsolationSoak : public UpstreamTest {};

TEST_F(IsolationSoak, FiveHundredClientsNeverGetAnotherClientsReply) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 2 * kClients) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4 * kClients);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ASSERT_NO_FATAL_FAILURE(start_upstreams(kUpstreams));
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "1s", "--upstream-retry", "50ms",
                                       "--upstream-failure-limit", "1000"}));
  Client admin = connect_proxy();
  const long long idle_in_use = mcguard_stat(admin, "mcguard_pool_buffers_in_use");
  ASSERT_GE(idle_in_use, 0);

  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect_proxy());
  ASSERT_FALSE(HasFailure()) << "not every client connected";

  Tally tally;
  std::atomic<int> drivers_left{kThreads};
  std::atomic<bool> stop{false};
  const auto started = Clock::now();
  const unsigned seed = std::random_device{}();
  std::atomic<int> restarts{0};
  std::vector<std::thread> drivers;
  for (int t = 0; t < kThreads; ++t) {
    drivers.emplace_back([&, t] {
      for (int round = 0;
           round < kMaxRounds && !stop.load() && Clock::now() - started < kTimeBudget &&
           (round < kMinRounds || restarts.load() < kRestarts);
           ++round) {
        std::vector<std::pair<int, Round>> sent;
        for (int c = t; c < kClients; c += kThreads) {
          if (clients[c].fd() < 0) continue;
          Round r = make_round(c, round);
          if (!clients[c].send(r.request)) {
            ++tally.unanswered;
            clients[c].close();
            continue;
          }
          tally.requests += kKeys + 3;
          sent.emplace_back(c, std::move(r));
        }
        for (auto& [c, r] : sent) {
          ReadResult reply = clients[c].read_until(
              [](std::string_view got) { return reply_length_through_markers(got, 1); },
              milliseconds(20000));
          if (reply.timed_out || reply.closed) {
            ++tally.unanswered;
            clients[c].close();
            continue;
          }
          const std::string error = check_round(reply.bytes, r, tally);
          if (!error.empty()) {
            tally.mismatch("client " + std::to_string(c) + ": " + error + "; reply " +
                           escape(reply.bytes, 500));
          }
        }
      }
      --drivers_left;
    });
  }
  struct JoinAll {  // also when an assertion below returns early
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinAll() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_all{stop, drivers};
  // Restarts from this thread: the harness ties each server to the life of the
  // thread that started it (PR_SET_PDEATHSIG), so a helper thread would take the
  // restarted servers with it when it ends.
  std::mt19937 random(seed);
  while (drivers_left.load() > 0) {
    // Traffic between restarts; the pause is the soak's rhythm, not a wait.
    std::this_thread::sleep_for(milliseconds(100 + random() % 200));
    if (drivers_left.load() == 0) break;
    const int victim = static_cast<int>(random() % kUpstreams);
    ASSERT_NO_FATAL_FAILURE(kill_upstream(victim));
    std::this_thread::sleep_for(milliseconds(random() % 150));  // down for a while
    ASSERT_NO_FATAL_FAILURE(restart_upstream(victim));
    ++restarts;
  }
  for (auto& d : drivers) d.join();
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();

  std::printf(
      "[ INFO     ] %ld requests from %d clients in %lld ms, %d upstream restarts (seed %u): "
      "%ld mismatched replies, %ld unanswered, %ld SERVER_ERROR, %ld misses\n",
      tally.requests.load(), kClients, static_cast<long long>(took), restarts.load(), seed,
      tally.mismatched.load(), tally.unanswered.load(), tally.server_errors.load(),
      tally.misses.load());
  EXPECT_EQ(tally.mismatched.load(), 0) << "replies that do not match their request";
  for (const auto& e : tally.examples) ADD_FAILURE() << e;
  EXPECT_EQ(tally.unanswered.load(), 0) << "requests neither answered nor failed";
  EXPECT_GE(restarts.load(), kRestarts) << "the soak ended before its restarts were done";
  EXPECT_TRUE(proxy_->running());

  // Afterwards: served again, and nothing held beyond the open upstream connections.
  for (int i = 0; i < kUpstreams; ++i) {
    EXPECT_TRUE(upstreams_[i] != nullptr && upstreams_[i]->running()) << "upstream " << i;
  }
  Client fresh = connect_proxy();
  std::string last;
  const bool served = wait_until(
      [&] {
        for (int k = 0; k < 12; ++k) {
          const std::string key = "after" + std::to_string(k);
          last = ask(fresh, set_command(key, key) + "get " + key + "\r\n").bytes;
          if (last != "STORED\r\n" + value_block(key, key) + "END\r\nMN\r\n") return false;
        }
        return true;
      },
      milliseconds(15000), milliseconds(50));
  EXPECT_TRUE(served) << "not every upstream serves again after the restarts; last reply "
                      << escape(last);
  const long long workers = McguardOptions{}.threads;
  long long in_use = -1;
  EXPECT_TRUE(wait_until(
      [&] {
        in_use = mcguard_stat(admin, "mcguard_pool_buffers_in_use");
        return in_use >= 0 && in_use <= idle_in_use + workers * kUpstreams;
      },
      milliseconds(5000), milliseconds(20)))
      << "pool buffers in use: " << in_use << ", before any traffic " << idle_in_use;
}

}  // namespace
}  // namespace mcguard::e2e
