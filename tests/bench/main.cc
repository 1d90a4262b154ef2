// mcguard-bench: load generator and correctness check for memcached text-protocol servers.
// Parses the options, sets up the shared state and one LoadThread per --threads, runs them
// through the phases together and prints the merged report. Exit status 1 when any error was seen.
#include <netdb.h>
#include <sys/resource.h>
#include <sys/un.h>

#include <atomic>
#include <barrier>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/bench/key_chooser.h"
#include "tests/bench/load_thread.h"
#include "tests/bench/options.h"
#include "tests/bench/report.h"
#include "tests/bench/value_codec.h"

namespace {

// Counts operator new calls, to show that the measured loop does not allocate.
std::atomic<uint64_t> g_allocations{0};
std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

// Many connections need many descriptors; raise the soft limit (and the hard one when allowed).
bool raise_fd_limit(rlim_t need, rlim_t* have) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur < need) {
    rlimit want{need, std::max(need, lim.rlim_max)};
    if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
      want = rlimit{lim.rlim_max, lim.rlim_max};
      setrlimit(RLIMIT_NOFILE, &want);
    }
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  *have = lim.rlim_cur;
  return lim.rlim_cur >= need;
}

}  // namespace

// The replacements stay out of line: inlined, GCC 12 pairs the malloc with operator delete and
// warns (wrongly) about a mismatch. ThreadSanitizer's runtime defines them itself (its build
// counts no allocations; the count is a benchmark figure, not a check).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MCGUARD_BENCH_SANITIZER_NEW 1
#endif
#endif
#ifndef MCGUARD_BENCH_SANITIZER_NEW
__attribute__((noinline)) void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

int main(int argc, char** argv) {
  using namespace mcguard::bench;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const ParseResult parsed = parse_options(args);
  if (parsed.help) {
    fputs(parsed.message.c_str(), stdout);
    return 0;
  }
  if (!parsed.options) {
    fprintf(stderr, "mcguard-bench: %s\n", parsed.message.c_str());
    return 2;
  }
  const BenchOptions options = *parsed.options;

  SharedRun run;
  if (!options.unix_path.empty()) {
    sockaddr_un unix_address{};
    unix_address.sun_family = AF_UNIX;
    std::memcpy(unix_address.sun_path, options.unix_path.c_str(), options.unix_path.size() + 1);
    std::memcpy(&run.address, &unix_address, sizeof unix_address);
    run.address_len = sizeof unix_address;
  } else {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* resolved = nullptr;
    if (const int rc = getaddrinfo(options.host.c_str(), options.port.c_str(), &hints, &resolved);
        rc != 0) {
      fprintf(stderr, "mcguard-bench: cannot resolve %s: %s\n", options.host.c_str(),
              gai_strerror(rc));
      return 2;
    }
    std::memcpy(&run.address, resolved->ai_addr, resolved->ai_addrlen);
    run.address_len = resolved->ai_addrlen;
    freeaddrinfo(resolved);
  }

  rlim_t fd_limit = 0;
  if (!raise_fd_limit(rlim_t{options.connections} + options.threads + 64, &fd_limit)) {
    fprintf(stderr, "mcguard-bench: %u connections need more descriptors than the limit (%llu)\n",
            options.connections, static_cast<unsigned long long>(fd_limit));
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  // Values shorter than their header grow to hold it, hence the slack.
  const ValuePattern pattern(options.value_max + max_value_header(options.key_prefix.size() + 20));
  const KeyChooser chooser(options.distribution, options.keys, options.zipf_theta);
  WrittenKeys written(options.keys);
  std::atomic<uint64_t> phase_start{0};
  // The main thread takes part in the barrier to read the allocation count at the start.
  std::barrier<PhaseClock> barrier(options.threads + 1, PhaseClock{&phase_start});
  run.options = &options;
  run.pattern = &pattern;
  run.chooser = &chooser;
  run.written = &written;
  run.barrier = &barrier;
  run.phase_start_ns = &phase_start;
  run.stop = &g_stop;

  std::vector<std::unique_ptr<LoadThread>> loads;
  unsigned first = 0;
  for (unsigned t = 0; t < options.threads; ++t) {
    const unsigned count =
        options.connections / options.threads + (t < options.connections % options.threads);
    loads.push_back(std::make_unique<LoadThread>(run, t, first, count));
    first += count;
  }
  std::vector<std::thread> threads;
  for (auto& load : loads) threads.emplace_back([&load] { load->run(); });
  barrier.arrive_and_wait();  // connected
  barrier.arrive_and_wait();  // warmed up: measuring from here
  const uint64_t allocations_before = g_allocations.load();
  for (auto& thread : threads) thread.join();
  const uint64_t allocations = g_allocations.load() - allocations_before;

  RunReport report;
  report.options = &options;
  report.heap_allocations = allocations;
  uint64_t warmup_end = 0;
  uint64_t measure_end = 0;
  for (const auto& load : loads) {
    report.warmup.merge(load->warmup_stats());
    report.measure.merge(load->measure_stats());
    warmup_end = std::max(warmup_end, load->warmup_end_ns());
    measure_end = std::max(measure_end, load->measure_end_ns());
  }
  const uint64_t measure_start = phase_start.load();
  const uint64_t warmup_start = loads.front()->warmup_start_ns();
  report.warmup_s =
      warmup_end > warmup_start ? static_cast<double>(warmup_end - warmup_start) / 1e9 : 0;
  report.elapsed_s =
      measure_end > measure_start ? static_cast<double>(measure_end - measure_start) / 1e9 : 0;

  const uint64_t errors = report.errors();
  const uint64_t printed = std::min<uint64_t>(run.errors_printed.load(), kErrorsPrinted);
  if (errors > printed) {
    fprintf(stderr, "mcguard-bench: %llu more errors not printed\n",
            static_cast<unsigned long long>(errors - printed));
  }
  const std::string text = options.json ? format_json(report) : format_text(report);
  fputs(text.c_str(), stdout);
  return errors > 0 ? 1 : 0;
}
