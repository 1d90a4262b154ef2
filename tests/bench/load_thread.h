// LoadThread: one event-loop thread of mcguard-bench. It owns a share of the connections and
// drives them through three phases that all threads enter together (a shared barrier): connect,
// warm-up (optional: set every key once), measure. Everything it needs per request is allocated
// when it is built; the loop itself only reuses slots, iovecs and one read buffer.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "tests/bench/key_chooser.h"
#include "tests/bench/options.h"
#include "tests/bench/reply_reader.h"
#include "tests/bench/stats.h"
#include "tests/bench/value_codec.h"

namespace mcguard::bench {

uint64_t monotonic_ns();

// Stamps the start of each phase; runs once when the last thread arrives at the barrier.
struct PhaseClock {
  std::atomic<uint64_t>* phase_start_ns;
  void operator()() noexcept { phase_start_ns->store(monotonic_ns()); }
};

// Which keys have had a SET acknowledged: a GET miss on such a key is reported apart (the server
// evicted or lost it). One bit per key, shared by all threads.
class WrittenKeys {
 public:
  explicit WrittenKeys(uint64_t keys);
  void mark(uint64_t key) { words_[key / 64].fetch_or(bit(key), std::memory_order_relaxed); }
  bool written(uint64_t key) const {
    return (words_[key / 64].load(std::memory_order_relaxed) & bit(key)) != 0;
  }

 private:
  static uint64_t bit(uint64_t key) { return uint64_t{1} << (key % 64); }
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

// What all threads share; read-only during the run except the atomics.
struct SharedRun {
  const BenchOptions* options = nullptr;
  const ValuePattern* pattern = nullptr;
  const KeyChooser* chooser = nullptr;
  sockaddr_storage address{};
  socklen_t address_len = 0;
  WrittenKeys* written = nullptr;
  std::barrier<PhaseClock>* barrier = nullptr;
  std::atomic<uint64_t>* phase_start_ns = nullptr;
  const std::atomic<bool>* stop = nullptr;  // set by SIGINT/SIGTERM: wind down early
  std::atomic<uint64_t> errors_printed{0};
};

// The first few errors of a run are printed to stderr as they happen; the rest are only counted.
inline constexpr uint64_t kErrorsPrinted = 10;

class LoadThread {
 public:
  // Connections [first_connection, first_connection + connection_count) of the run's total.
  LoadThread(SharedRun& run, unsigned thread_index, unsigned first_connection,
             unsigned connection_count);
  ~LoadThread();
  LoadThread(const LoadThread&) = delete;
  LoadThread& operator=(const LoadThread&) = delete;

  // Runs all phases; returns when this thread's measurement is over.
  void run();

  const PhaseStats& warmup_stats() const { return warmup_; }
  const PhaseStats& measure_stats() const { return measure_; }
  uint64_t warmup_start_ns() const { return warmup_start_ns_; }
  uint64_t warmup_end_ns() const { return warmup_end_ns_; }
  uint64_t measure_end_ns() const { return measure_end_ns_; }

 private:
  struct Slot;
  struct Conn;
  enum class Phase { kConnect, kWarmup, kMeasure };

  enum class FailKind { kDropped, kTimeout, kProtocol };  // kProtocol: already counted

  void run_phase(Phase phase);
  bool phase_done() const;
  uint64_t work_of(const Conn& c) const;
  void start_connects(uint64_t now);
  void handle_event(Conn& c, uint32_t events, uint64_t now);
  void read_ready(Conn& c, bool drain);
  void process(Conn& c, std::span<const char> data, uint64_t now);
  void complete(Conn& c, const Reply& reply, uint64_t now);
  void pump(Conn& c, uint64_t now);
  void issue(Conn& c, bool is_set, uint64_t key, uint64_t now);
  void flush(Conn& c, uint64_t now);
  void fail(Conn& c, FailKind kind, const char* what, int err);
  void check_timeouts(uint64_t now);
  void fire_timers(uint64_t now);
  uint64_t value_length();
  void report_error(const char* format, ...) __attribute__((format(printf, 2, 3)));

  SharedRun& run_;
  const BenchOptions& opt_;
  Rng rng_;
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Slot> slots_;
  std::vector<char> slot_bytes_;  // keys and request headers of all slots
  std::vector<iovec> iovs_;
  std::vector<char> line_bytes_;  // per-connection line and value-header storage
  std::vector<char> read_buffer_;
  std::vector<std::pair<uint64_t, Conn*>> timers_;  // min-heap of rate-limited connections
  size_t key_capacity_ = 0;
  size_t header_capacity_ = 0;
  size_t command_room_ = 0;

  Phase phase_ = Phase::kConnect;
  PhaseStats warmup_;
  PhaseStats measure_;
  PhaseStats* stats_ = &measure_;
  uint64_t deadline_ns_ = 0;  // measure phase with --duration
  uint64_t rate_interval_ns_ = 0;
  unsigned next_to_connect_ = 0;
  unsigned connecting_ = 0;
  unsigned ready_ = 0;      // connections up and usable
  uint64_t in_flight_ = 0;  // requests in flight over all connections
  uint64_t work_left_ = 0;  // warm-up keys / --requests quota not yet issued
  bool stopping_ = false;
  uint64_t warmup_start_ns_ = 0;
  uint64_t warmup_end_ns_ = 0;
  uint64_t measure_end_ns_ = 0;
};

}  // namespace mcguard::bench
