// No heap allocation per request on the hot path: mcguard runs with an
// LD_PRELOAD shim (tests/bench/alloc_counter.c) that counts every malloc,
// calloc, realloc and aligned allocation in a file shared with this test. After
// a warm-up that brings the store (or the upstream connections) to a steady
// state, 100,000 small pipelined gets and sets on 16 connections may add at
// most one allocation per thousand requests, for the embedded and the upstream
// tier alike.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "differential.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

#ifdef MCGUARD_ALLOC_COUNTER

constexpr int kConnections = 16;
constexpr int kKeys = 1000;
constexpr int kBatch = 100;  // requests per pipelined round trip
constexpr int kWarmupRequests = 20000;
constexpr int kMeasuredRequests = 100000;
constexpr uint64_t kAllowedAllocations = kMeasuredRequests / 1000;
const std::string kValue(100, 'v');

// The shim's counter, mapped from the file it writes to.
class AllocationCounter {
 public:
  AllocationCounter() {
    char path[] = "/tmp/mcguard-alloc-count-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) return;
    path_ = path;
    if (::ftruncate(fd, sizeof(uint64_t)) == 0) {
      void* page = ::mmap(nullptr, sizeof(uint64_t), PROT_READ, MAP_SHARED, fd, 0);
      if (page != MAP_FAILED) count_ = static_cast<uint64_t*>(page);
    }
    ::close(fd);
  }
  ~AllocationCounter() {
    if (count_ != nullptr) ::munmap(count_, sizeof(uint64_t));
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;

  bool ok() const { return count_ != nullptr; }
  std::vector<std::string> env() const {
    return {"LD_PRELOAD=" MCGUARD_ALLOC_COUNTER, "MCGUARD_ALLOC_COUNT_FILE=" + path_};
  }
  uint64_t read() const { return std::atomic_ref<uint64_t>(*count_).load(); }

 private:
  std::string path_;
  uint64_t* count_ = nullptr;
};

// Sends `requests` gets and sets (one set in five) spread over `clients`, each
// client pipelining kBatch requests followed by "mn" and reading through "MN".
// Returns the first problem seen, or an empty string; adds the gets that hit to `*hits`.
std::string run_load(std::vector<Client>& clients, int requests, int round, int* hits) {
  const int per_client = requests / static_cast<int>(clients.size());
  std::vector<std::string> problems(clients.size());
  std::vector<int> client_hits(clients.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < clients.size(); ++t) {
    threads.emplace_back([&, t] {
      Client& c = clients[t];
      std::string batch;
      for (int done = 0; done < per_client && problems[t].empty(); done += kBatch) {
        batch.clear();
        for (int i = done; i < done + kBatch && i < per_client; ++i) {
          const std::string key =
              "alloc-" + std::to_string((i * 7 + static_cast<int>(t) * 131 + round) % kKeys);
          batch += i % 5 == 0 ? set_command(key, kValue) : "get " + key + "\r\n";
        }
        batch += "mn\r\n";
        if (!c.send(batch)) {
          problems[t] = "send failed on connection " + std::to_string(t);
          break;
        }
        ReadResult r =
            c.read_until([](std::string_view got) { return reply_length_through_markers(got, 1); },
                         milliseconds(10000));
        if (r.closed || r.timed_out) {
          problems[t] = "connection " + std::to_string(t) + (r.closed ? " closed" : " timed out") +
                        " after " + escape(r.bytes, 400);
        } else if (r.bytes.find("ERROR") != std::string::npos) {
          problems[t] =
              "error reply on connection " + std::to_string(t) + ": " + escape(r.bytes, 400);
        }
        for (size_t at = r.bytes.find("VALUE "); at != std::string::npos;
             at = r.bytes.find("VALUE ", at + 1)) {
          ++client_hits[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int h : client_hits) *hits += h;
  for (const auto& p : problems) {
    if (!p.empty()) return p;
  }
  return {};
}

// Warms up, then measures; returns the allocations counted during the measured load.
uint64_t measure(ServerProcess& server, const AllocationCounter& counter, const char* tier) {
  std::vector<Client> clients;
  for (int i = 0; i < kConnections; ++i) {
    auto c = Client::connect(server.port(), milliseconds(5000));
    EXPECT_TRUE(c.has_value()) << "cannot connect to " << server.command_line();
    if (!c) return 0;
    clients.push_back(std::move(*c));
  }
  int hits = 0;
  std::string problem = run_load(clients, kWarmupRequests, 0, &hits);
  EXPECT_EQ(problem, "") << tier << " warm-up";
  const uint64_t before = counter.read();
  EXPECT_GT(before, 0u) << "the shim counted nothing: was it preloaded?";
  hits = 0;
  problem = run_load(clients, kMeasuredRequests, 1, &hits);
  EXPECT_EQ(problem, "") << tier << " measured load";
  const uint64_t allocations = counter.read() - before;
  // After the warm-up nearly every key is stored: the gets (four in five) must hit.
  EXPECT_GE(hits, kMeasuredRequests / 2) << tier << ": gets that hit";
  std::printf("%s tier: %llu allocations for %d requests, %d hits (start and warm-up: %llu)\n",
              tier, static_cast<unsigned long long>(allocations), kMeasuredRequests, hits,
              static_cast<unsigned long long>(before));
  std::fflush(stdout);
  return allocations;
}

class HotPathAllocations : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "counts mcguard's allocations only";
    ASSERT_TRUE(counter_.ok()) << "cannot create the allocation counter file";
  }
  AllocationCounter counter_;
};

TEST_F(HotPathAllocations, EmbeddedTierAllocatesAtMostOnePerThousandRequests) {
  McguardOptions options;
  options.env = counter_.env();
  std::string error;
  auto server = start_subject(&error, options);
  ASSERT_NE(server, nullptr) << error;
  const uint64_t allocations = measure(*server, counter_, "embedded");
  EXPECT_LE(allocations, kAllowedAllocations);
  EXPECT_TRUE(server->running()) << "mcguard ended during the load";
}

TEST_F(HotPathAllocations, UpstreamTierAllocatesAtMostOnePerThousandRequests) {
  std::string error;
  auto upstream = start_memcached(&error);
  ASSERT_NE(upstream, nullptr) << "memcached: " << error;
  McguardOptions options;
  options.env = counter_.env();
  options.extra_args = {"--upstream", "127.0.0.1:" + std::to_string(upstream->port())};
  auto server = start_subject(&error, options);
  ASSERT_NE(server, nullptr) << error;
  const uint64_t allocations = measure(*server, counter_, "upstream");
  EXPECT_LE(allocations, kAllowedAllocations);
  EXPECT_TRUE(server->running()) << "mcguard ended during the load";
}

#else

TEST(HotPathAllocations, DISABLED_NeedsTheAllocationCounterShim) {}

#endif  // MCGUARD_ALLOC_COUNTER

}  // namespace
}  // namespace mcguard::e2e
