// RejectionLog: logs rejected requests without letting a flood of them flood
// the log. At most `per_second` lines a second per worker; the rest are counted
// and summarised on the next line that is allowed through.
#pragma once

#include <cstdint>
#include <string_view>

namespace mcguard {

class RejectionLog {
 public:
  explicit RejectionLog(uint32_t per_second = 5) : per_second_(per_second) {}
  // A storage command from `peer` for `key` was refused with `reason`.
  void rejected(std::string_view reason, std::string_view peer, std::string_view key,
                uint64_t value_length, uint64_t limit);

 private:
  uint32_t per_second_;
  int64_t window_second_ = 0;
  uint32_t logged_in_window_ = 0;
  uint64_t suppressed_ = 0;
};

// A key made safe for a log line: at most 32 bytes, unprintable bytes as \xNN.
std::string printable_key_prefix(std::string_view key);

}  // namespace mcguard
