// Many clients through mcguard's upstream tier at once: 240 connections
// pipeline sets, multi-gets and meta gets of their own keys over three
// memcached servers (shared upstream connections), and every reply must belong
// to the request it answers: the key, the flags (the client's id) and the value
// bytes are the client's own. Also while one upstream is killed and restarted,
// and when a client disconnects with requests in flight.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "differential.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

constexpr int kKeysPerRound = 6;
constexpr int kNoreplyKey = 4;  // this key's set is sent with noreply
constexpr int kMetaKey = 2;     // this key is also read with mg

// One client's pipeline for one round and what it stored.
struct Round {
  int client = 0;
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::string miss_key;  // never stored
  std::string request;
};

Round make_round(int client, int round) {
  Round r;
  r.client = client;
  const std::string base = "c" + std::to_string(client) + "r" + std::to_string(round);
  std::string get = "get";
  for (int j = 0; j < kKeysPerRound; ++j) {
    const std::string key = base + "k" + std::to_string(j);
    // The value names its owner, then bytes that differ per key (with "\r\n",
    // "END" and "MN" traps inside), of sizes from 1 byte to 30 KB.
    const size_t size = 1 + static_cast<size_t>(client * 7919 + round * 104729 + j * 15485863) %
                                (j == 5 ? 30000 : 2000);
    std::string value =
        key + "|" + make_value(size, static_cast<uint32_t>(client * 1000003 + round * 101 + j));
    r.request += set_command(key, value, static_cast<uint32_t>(client), j == kNoreplyKey);
    get += " " + key;
    r.keys.push_back(key);
    r.values.push_back(std::move(value));
  }
  r.miss_key = base + "miss";
  r.request += get + " " + r.miss_key + "\r\n";
  r.request += "mg " + r.keys[kMetaKey] + " v f k\r\nmn\r\n";
  return r;
}

// What is wrong with a round's replies.
enum class Fault {
  kNone,
  kServerError,  // SERVER_ERROR where none may be
  kMiss,         // a value missing where it must be there
  kFraming,      // replies out of step with requests: wrong line, cut short, extra bytes
  kForeign,      // a key, flags or value bytes that are not this client's
  kTimeout,      // no complete reply in time
  kClosed,       // the connection closed
};
constexpr int kFaultKinds = 7;
const char* fault_name(Fault f) {
  static const char* kNames[] = {"none",         "SERVER_ERROR", "missing value", "out of step",
                                 "foreign data", "timed out",    "closed"};
  return kNames[static_cast<int>(f)];
}

// Reads a reply stream against the requests of one Round.
class ReplyChecker {
 public:
  ReplyChecker(std::string_view reply, const Round& round, bool strict)
      : reply_(reply), round_(round), strict_(strict) {}

  // Empty when the replies are right; otherwise what is wrong.
  std::string check() {
    for (int j = 0; j < kKeysPerRound && error_.empty(); ++j) {
      if (j == kNoreplyKey) continue;
      const std::string line = next_line();
      if (line == "STORED\r\n") continue;
      if (!strict_ && is_server_error(line)) {
        ++server_errors_;
        continue;
      }
      fail(is_server_error(line) ? Fault::kServerError : Fault::kFraming,
           "set " + round_.keys[j] + " answered " + escape(line));
    }
    if (error_.empty()) check_get();
    if (error_.empty()) check_meta_get();
    if (error_.empty() && next_line() != "MN\r\n") {
      fail(Fault::kFraming, "no MN where the pipeline ends");
    }
    if (error_.empty() && pos_ != reply_.size()) fail(Fault::kFraming, "bytes after the final MN");
    return error_;
  }
  Fault fault() const { return fault_; }
  int server_errors() const { return server_errors_; }
  int misses() const { return misses_; }

 private:
  void check_get() {
    std::string line = next_line();
    if (!strict_ && is_server_error(line)) {
      ++server_errors_;
      return;
    }
    int next_key = 0;  // values must come in request order: a subsequence of keys
    while (error_.empty() && line != "END\r\n") {
      const auto tokens = split(line);
      if (tokens.size() != 4 || tokens[0] != "VALUE") {
        return fail(is_server_error(line) ? Fault::kServerError : Fault::kFraming,
                    "get: unexpected " + escape(line));
      }
      int j = next_key;
      while (j < kKeysPerRound && round_.keys[j] != tokens[1]) ++j;
      if (j == kKeysPerRound) {
        const bool ours =
            std::find(round_.keys.begin(), round_.keys.end(), tokens[1]) != round_.keys.end();
        return fail(ours ? Fault::kFraming : Fault::kForeign,
                    "get: VALUE for " + escape(tokens[1]) +
                        (ours ? " out of order" : ", not one of this request's keys"));
      }
      if (strict_ && j != next_key) {
        return fail(Fault::kMiss, "get: " + round_.keys[next_key] + " missing");
      }
      if (tokens[2] != std::to_string(round_.client)) {
        return fail(Fault::kForeign, "get: flags " + tokens[2] + " on " + tokens[1]);
      }
      if (tokens[3] != std::to_string(round_.values[j].size())) {
        return fail(Fault::kForeign, "get: length " + tokens[3] + " for " + tokens[1]);
      }
      if (!take_data(round_.values[j])) {
        return fail(Fault::kForeign, "get: different bytes in " + tokens[1]);
      }
      misses_ += j - next_key;
      next_key = j + 1;
      line = next_line();
    }
    if (error_.empty() && strict_ && next_key != kKeysPerRound) {
      fail(Fault::kMiss, "get: only " + std::to_string(next_key) + " of " +
                             std::to_string(kKeysPerRound) + " values");
    }
    misses_ += kKeysPerRound - next_key;
  }

  void check_meta_get() {
    const std::string& key = round_.keys[kMetaKey];
    const std::string& value = round_.values[kMetaKey];
    const std::string line = next_line();
    const std::string hit = "VA " + std::to_string(value.size()) + " f" +
                            std::to_string(round_.client) + " k" + key + "\r\n";
    if (line == hit) {
      if (!take_data(value)) fail(Fault::kForeign, "mg: different bytes in " + key);
      return;
    }
    if (!strict_ && is_server_error(line)) {
      ++server_errors_;
      return;
    }
    if (!strict_ && (line == "EN\r\n" || line.rfind("EN ", 0) == 0)) {
      ++misses_;
      return;
    }
    Fault fault = Fault::kFraming;
    if (is_server_error(line)) {
      fault = Fault::kServerError;
    } else if (line == "EN\r\n" || line.rfind("EN ", 0) == 0) {
      fault = Fault::kMiss;
    } else if (line.rfind("VA ", 0) == 0) {
      fault = Fault::kForeign;
    }
    fail(fault, "mg " + key + " answered " + escape(line));
  }

  std::string next_line() {
    const size_t eol = reply_.find("\r\n", pos_);
    if (eol == std::string_view::npos) {
      fail(Fault::kFraming, "reply ends early");
      pos_ = reply_.size();
      return std::string();
    }
    std::string line(reply_.substr(pos_, eol + 2 - pos_));
    pos_ = eol + 2;
    return line;
  }

  bool take_data(const std::string& value) {
    if (reply_.substr(pos_, value.size()) != value ||
        reply_.substr(pos_ + value.size(), 2) != "\r\n") {
      return false;
    }
    pos_ += value.size() + 2;
    return true;
  }

  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    size_t i = 0;
    const size_t end = line.size() - 2;
    while (i < end) {
      const size_t space = line.find(' ', i);
      const size_t stop = space == std::string::npos || space > end ? end : space;
      out.push_back(line.substr(i, stop - i));
      i = stop + 1;
    }
    return out;
  }

  void fail(Fault fault, const std::string& what) {
    if (!error_.empty()) return;
    fault_ = fault;
    error_ = what + " (at reply byte " + std::to_string(pos_) + ")";
  }

  std::string_view reply_;
  const Round& round_;
  bool strict_;
  size_t pos_ = 0;
  int server_errors_ = 0;
  int misses_ = 0;
  Fault fault_ = Fault::kNone;
  std::string error_;
};

// Drives the clients from a few threads; each thread sends a round on each of
// its clients, then reads and checks the replies of each.
class Crowd {
 public:
  Crowd(uint16_t port, int clients, int threads) : threads_(threads) {
    for (int i = 0; i < clients; ++i) {
      auto c = Client::connect(port, milliseconds(5000));
      if (!c) {
        record(Fault::kClosed, "client " + std::to_string(i) + " cannot connect");
        clients_.emplace_back();
      } else {
        clients_.push_back(std::move(*c));
        ++alive_;
      }
      next_round_.push_back(0);
    }
  }

  // Runs rounds on every client until `rounds` each are done or stop() is
  // called (rounds < 0: until stop()). Blocks; call from another thread to
  // change the phase meanwhile.
  void run(int rounds) {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads_; ++t) {
      workers.emplace_back([this, t, rounds] {
        for (int n = 0; (rounds < 0 || n < rounds) && !stop_.load(); ++n) run_round(t);
      });
    }
    for (auto& w : workers) w.join();
  }

  // Rounds sent while strict and answered before strict ends may not show any
  // failure; other rounds may show SERVER_ERROR and misses (never foreign data).
  void set_strict(bool strict) { strict_.store(strict); }
  void stop() { stop_.store(true); }
  void resume() { stop_.store(false); }

  long rounds_done() const { return rounds_done_.load(); }
  // Clients still in use: one that timed out or saw its connection close is dropped.
  int alive() const { return alive_.load(); }
  long server_errors() const { return server_errors_.load(); }
  long misses() const { return misses_.load(); }
  long strict_rounds() const { return strict_rounds_.load(); }
  std::vector<std::string> errors() {
    std::lock_guard lock(mutex_);
    return errors_;
  }
  long error_count() {
    std::lock_guard lock(mutex_);
    return error_count_;
  }
  long faults(Fault f) {
    std::lock_guard lock(mutex_);
    return by_fault_[static_cast<int>(f)];
  }
  // "3 foreign data, 2 timed out": the kinds that occurred.
  std::string fault_summary() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (int f = 1; f < kFaultKinds; ++f) {
      if (by_fault_[f] == 0) continue;
      if (!out.empty()) out += ", ";
      out += std::to_string(by_fault_[f]) + " " + fault_name(static_cast<Fault>(f));
    }
    return out.empty() ? "none" : out;
  }

 private:
  void run_round(int thread) {
    std::vector<int> mine;
    std::vector<Round> rounds;
    std::vector<bool> strict_at_send;
    for (int i = thread; i < static_cast<int>(clients_.size()); i += threads_) {
      if (clients_[i].fd() < 0) continue;
      Round r = make_round(i, next_round_[i]++);
      strict_at_send.push_back(strict_.load());
      if (!clients_[i].send(r.request)) {
        record(Fault::kClosed, "client " + std::to_string(i) + ": send failed");
        clients_[i].close();
        --alive_;
        strict_at_send.pop_back();
        continue;
      }
      mine.push_back(i);
      rounds.push_back(std::move(r));
    }
    for (size_t k = 0; k < mine.size(); ++k) {
      Client& c = clients_[mine[k]];
      ReadResult reply =
          c.read_until([](std::string_view got) { return reply_length_through_markers(got, 1); },
                       milliseconds(20000));
      const bool strict = strict_at_send[k] && strict_.load();
      if (reply.timed_out || reply.closed) {
        record(reply.closed ? Fault::kClosed : Fault::kTimeout,
               "client " + std::to_string(mine[k]) + ": " +
                   (reply.closed ? "connection closed" : "no complete reply within 20 s") +
                   "; received: " + escape(reply.bytes, 300));
        c.close();
        --alive_;
        continue;
      }
      ReplyChecker checker(reply.bytes, rounds[k], strict);
      const std::string error = checker.check();
      if (!error.empty()) {
        record(checker.fault(), "client " + std::to_string(mine[k]) +
                                    (strict ? " (strict)" : " (lenient)") + ": " + error +
                                    "; reply: " + escape(reply.bytes, 600));
      }
      server_errors_ += checker.server_errors();
      misses_ += checker.misses();
      if (strict) ++strict_rounds_;
      ++rounds_done_;
    }
  }

  void record(Fault fault, const std::string& error) {
    std::lock_guard lock(mutex_);
    ++error_count_;
    ++by_fault_[static_cast<int>(fault)];
    // The first two examples of each kind.
    if (examples_[static_cast<int>(fault)]++ < 2) errors_.push_back(error);
  }

  int threads_;
  std::vector<Client> clients_;
  std::vector<int> next_round_;
  std::atomic<bool> strict_{true};
  std::atomic<bool> stop_{false};
  std::atomic<int> alive_{0};
  std::atomic<long> rounds_done_{0};
  std::atomic<long> server_errors_{0};
  std::atomic<long> misses_{0};
  std::atomic<long> strict_rounds_{0};
  std::mutex mutex_;
  long error_count_ = 0;
  long by_fault_[kFaultKinds] = {};
  int examples_[kFaultKinds] = {};
  std::vector<std::string> errors_;
};

void expect_no_errors(Crowd& crowd) {
  EXPECT_EQ(crowd.faults(Fault::kForeign), 0) << "replies carried another client's data";
  EXPECT_EQ(crowd.error_count(), 0) << "faulty rounds by kind: " << crowd.fault_summary();
  for (const auto& e : crowd.errors()) ADD_FAILURE() << e;
}

constexpr int kClients = 240;
constexpr int kThreads = 8;

class UpstreamClients : public UpstreamTest {
 protected:
  void SetUp() override {
    UpstreamTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_NO_FATAL_FAILURE(start_upstreams(3));
  }
};

TEST_F(UpstreamClients, TwoHundredFortyPipelinedClientsGetOnlyTheirOwnReplies) {
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "5s"}));
  Crowd crowd(proxy_->port(), kClients, kThreads);
  crowd.run(4);
  expect_no_errors(crowd);
  EXPECT_EQ(crowd.strict_rounds(), 4L * kClients);
  EXPECT_EQ(crowd.server_errors(), 0);
  EXPECT_EQ(crowd.misses(), 0);
}

TEST_F(UpstreamClients, TwoConnectionsPerUpstreamKeepRepliesApart) {
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "5s", "--upstream-connections", "2"}));
  Crowd crowd(proxy_->port(), kClients, kThreads);
  crowd.run(3);
  expect_no_errors(crowd);
  EXPECT_EQ(crowd.strict_rounds(), 3L * kClients);
}

TEST_F(UpstreamClients, OwnRepliesOnlyWhileAnUpstreamIsKilledAndRestarted) {
  ASSERT_NO_FATAL_FAILURE(start_proxy(
      {"--upstream-timeout", "1s", "--upstream-retry", "100ms", "--upstream-failure-limit", "3"}));
  const auto probe_keys = keys_by_server("probe", 1);
  ASSERT_FALSE(HasFailure());
  const std::string& probe = probe_keys[1][0];

  Crowd crowd(proxy_->port(), kClients, kThreads);
  std::thread traffic([&] { crowd.run(-1); });
  struct Join {
    Crowd& crowd;
    std::thread& t;
    ~Join() {
      crowd.stop();
      if (t.joinable()) t.join();
    }
  } join{crowd, traffic};

  auto rounds_reach = [&](long n, const char* what) {
    wait_until([&] { return crowd.rounds_done() >= n || crowd.alive() == 0; }, milliseconds(90000));
    const bool reached = crowd.rounds_done() >= n;
    EXPECT_TRUE(reached) << what << ": " << crowd.rounds_done() << " of " << n << " rounds; "
                         << crowd.alive() << " clients left";
    return reached;
  };
  ASSERT_TRUE(rounds_reach(2L * kClients, "before the kill"));

  crowd.set_strict(false);
  ASSERT_NO_FATAL_FAILURE(kill_upstream(1));
  const long at_kill = crowd.rounds_done();
  ASSERT_TRUE(rounds_reach(at_kill + 2L * kClients, "while upstream 1 is down"));
  const long errors_while_down = crowd.server_errors();

  ASSERT_NO_FATAL_FAILURE(restart_upstream(1));
  Client probe_client = connect_proxy();
  const bool back = wait_until(
      [&] {
        return ask(probe_client, set_command(probe, "back"), milliseconds(5000)).bytes ==
               "STORED\r\nMN\r\n";
      },
      milliseconds(20000), milliseconds(20));
  EXPECT_TRUE(back) << "mcguard did not use the restarted upstream within 20 s";
  const long at_restart = crowd.rounds_done();
  ASSERT_TRUE(rounds_reach(at_restart + kClients, "after the restart"));
  crowd.stop();
  traffic.join();

  // Each worker finds the server back on its own retry schedule: wait until a
  // whole round on every client goes through without SERVER_ERROR.
  crowd.resume();
  const auto deadline = Clock::now() + milliseconds(30000);
  long errors_before = 0;
  do {
    errors_before = crowd.server_errors();
    crowd.run(1);
  } while (crowd.server_errors() != errors_before && Clock::now() < deadline);
  EXPECT_EQ(crowd.server_errors(), errors_before)
      << "SERVER_ERROR still 30 s after upstream 1 was restarted";

  // Back to normal: one more round on every client, all of it right.
  crowd.set_strict(true);
  const long strict_before = crowd.strict_rounds();
  crowd.run(1);
  EXPECT_EQ(crowd.strict_rounds() - strict_before, static_cast<long>(kClients))
      << "not every client completed the round after the restart";

  std::printf(
      "[ INFO     ] %ld rounds; %ld SERVER_ERROR and %ld misses while upstream 1 was down "
      "or coming back\n",
      crowd.rounds_done(), crowd.server_errors(), crowd.misses());
  expect_no_errors(crowd);
  EXPECT_GT(errors_while_down + crowd.misses(), 0)
      << "no request noticed the dead upstream: the test did not exercise it";
  EXPECT_TRUE(proxy_->running());
}

TEST_F(UpstreamClients, ClientLeavingWithRequestsInFlightDisturbsNoOne) {
  // One worker and one connection per upstream: every client's requests share
  // the same three upstream connections.
  McguardOptions options;
  options.threads = 1;
  ASSERT_NO_FATAL_FAILURE(
      start_proxy({"--upstream-timeout", "10s", "--upstream-connections", "1"}, options));
  const auto keys = keys_by_server("gone", 4);
  ASSERT_FALSE(HasFailure());

  // The leaving client's values carry a marker that must never reach anyone else.
  const std::string marker = "LEAVING-CLIENT-DATA";
  Client setup = connect_proxy();
  std::string leaving_request;
  std::vector<size_t> set_bytes(3, 0);  // value bytes of its sets per upstream
  for (int server = 0; server < 3; ++server) {
    const std::string value = marker + make_value(8000, static_cast<uint32_t>(server));
    ASSERT_EQ(ask(setup, set_command(keys[server][0], value, 66)).bytes, "STORED\r\nMN\r\n");
  }
  for (int repeat = 0; repeat < 5; ++repeat) {
    leaving_request += "get " + keys[0][0] + " " + keys[1][0] + " " + keys[2][0] + "\r\n";
    for (int server = 0; server < 3; ++server)
      leaving_request += "mg " + keys[server][0] + " v\r\n";
  }
  // Sets last: once their bytes sit in each upstream's socket, everything
  // before them was sent there too.
  for (int server = 0; server < 3; ++server) {
    const std::string value = marker + make_value(4000, 10 + static_cast<uint32_t>(server));
    leaving_request += set_command(keys[server][1], value, 66);
    set_bytes[server] = value.size();
  }

  // The staying clients' own keys and values, and a key they all read.
  constexpr int kStaying = 4;
  const std::string& shared = keys[2][3];
  std::vector<Client> staying;
  std::vector<std::string> staying_request(kStaying);
  std::vector<std::string> staying_expected(kStaying);
  for (int s = 0; s < kStaying; ++s) {
    staying.push_back(connect_proxy());
    const std::string& key = s < 3 ? keys[s][2] : keys[0][3];
    const std::string value = "stay" + std::to_string(s) + make_value(3000, 40 + s);
    const auto flags = static_cast<uint32_t>(s);
    ASSERT_EQ(ask(setup, set_command(key, value, flags)).bytes, "STORED\r\nMN\r\n");
    staying_request[s] = "get " + key + "\r\nmg " + key + " v\r\n" +
                         set_command(key, value, flags) + "get " + shared + " " + key + "\r\n";
    const std::string block = value_block(key, value, flags);
    staying_expected[s] = block + "END\r\nVA " + std::to_string(value.size()) + "\r\n" + value +
                          "\r\nSTORED\r\n" + value_block(shared, shared) + block + "END\r\nMN\r\n";
  }

  // Freeze the three servers, so nothing is answered while requests queue up.
  std::vector<size_t> queued(3);
  for (int server = 0; server < 3; ++server) {
    ASSERT_TRUE(freeze(*upstreams_[server])) << "upstream " << server << " did not stop";
    queued[server] = tcp_receive_queue(upstream_ports_[server]);
  }
  struct Thaw {
    std::vector<std::unique_ptr<ServerProcess>>& servers;
    ~Thaw() {
      for (auto& s : servers) {
        if (s) s->signal(SIGCONT);
      }
    }
  } thaw{upstreams_};

  {
    Client leaving = connect_proxy();
    ASSERT_TRUE(leaving.send(leaving_request));
    const bool forwarded = wait_until(
        [&] {
          for (int server = 0; server < 3; ++server) {
            if (tcp_receive_queue(upstream_ports_[server]) < queued[server] + set_bytes[server]) {
              return false;
            }
          }
          return true;
        },
        milliseconds(5000));
    ASSERT_TRUE(forwarded) << "the leaving client's requests never all reached the upstreams: " <<
        [&] {
          std::string queues;
          for (int server = 0; server < 3; ++server) {
            queues += " upstream " + std::to_string(server) + ": " +
                      std::to_string(tcp_receive_queue(upstream_ports_[server])) +
                      " bytes queued of " + std::to_string(queued[server] + set_bytes[server]) +
                      ";";
          }
          return queues;
        }();
    // The staying clients' requests queue behind the leaving client's.
    for (int s = 0; s < kStaying; ++s) ASSERT_TRUE(staying[s].send(staying_request[s] + "mn\r\n"));
    EXPECT_TRUE(leaving.quiet_for(milliseconds(0)));
  }  // the leaving client closes its connection here, its replies not yet sent
  for (int server = 0; server < 3; ++server) ASSERT_TRUE(upstreams_[server]->signal(SIGCONT));

  for (int s = 0; s < kStaying; ++s) {
    ReadResult r = staying[s].read_until(
        [](std::string_view got) { return reply_length_through_markers(got, 1); },
        milliseconds(10000));
    EXPECT_EQ(r.bytes.find(marker), std::string::npos)
        << "client " << s << " received the leaving client's data: " << escape(r.bytes, 600);
    EXPECT_EQ(escape(r.bytes), escape(staying_expected[s])) << "client " << s;
  }
  // Still in step afterwards, for old and new connections alike.
  Client fresh = connect_proxy();
  for (Client* c : {&staying[0], &fresh}) {
    ReadResult r = ask(*c, "get " + keys[1][3] + " " + keys[2][3] + "\r\n");
    EXPECT_EQ(escape(r.bytes), escape(value_block(keys[1][3], keys[1][3]) +
                                      value_block(keys[2][3], keys[2][3]) + "END\r\nMN\r\n"));
  }
  // The leaving client's sets were still carried out.
  for (int server = 0; server < 3; ++server) {
    const auto held = direct_get(server, keys[server][1]);
    EXPECT_TRUE(held && held->rfind(marker, 0) == 0) << keys[server][1];
  }
  EXPECT_TRUE(proxy_->running());
}

}  // namespace
}  // namespace mcguard::e2e
