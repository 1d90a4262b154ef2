// RejectionLog: logs refused (and, in observe mode, let-through) values without
// letting a flood of them flood the log. Each worker's log writes at most
// `per_second` lines a second; the rest are counted by reason, and
// flush_summaries() (called about once a second from the main thread) writes
// one line saying what was suppressed. Workers never take a lock: the counts
// are atomics, and the registry of logs is locked only at construction,
// destruction and flush.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace mcguard {

class RejectionLog {
 public:
  enum Reason : uint32_t { kTooLarge, kOutOfMemory, kObservedOverLimit, kOther, kReasonCount };

  explicit RejectionLog(uint32_t per_second = 5);
  ~RejectionLog();
  RejectionLog(const RejectionLog&) = delete;
  RejectionLog& operator=(const RejectionLog&) = delete;

  // A storage command from `peer` for `key` was refused with `reason`
  // ("object too large", "out of memory", ...).
  void rejected(std::string_view reason, std::string_view peer, std::string_view key,
                uint64_t value_length, uint64_t limit);
  // Observe mode: a value over its limit was let through.
  void observed(std::string_view peer, std::string_view key, uint64_t value_length, uint64_t limit);

  // Writes one line for everything suppressed since the last call, across every
  // live RejectionLog; nothing when nothing was suppressed. Any thread.
  static void flush_summaries();

 private:
  // True when a line may be written now; otherwise counts it as suppressed.
  bool admit(Reason reason, uint64_t value_length);

  uint32_t per_second_;
  int64_t window_second_ = 0;
  uint32_t logged_in_window_ = 0;
  std::array<std::atomic<uint64_t>, kReasonCount> suppressed_{};
  std::array<std::atomic<uint64_t>, kReasonCount> largest_suppressed_{};
};

// A key made safe for a log line: at most 32 bytes, unprintable bytes as \xNN.
std::string printable_key_prefix(std::string_view key);

}  // namespace mcguard
