#include "proxy/rejection_log.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <string>

namespace mcguard {

std::string printable_key_prefix(std::string_view key) {
  constexpr size_t kShown = 32;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < key.size() && i < kShown; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (key.size() > kShown) out += "...";
  return out;
}

void RejectionLog::rejected(std::string_view reason, std::string_view peer, std::string_view key,
                            uint64_t value_length, uint64_t limit) {
  int64_t now = ::time(nullptr);
  if (now != window_second_) {
    window_second_ = now;
    logged_in_window_ = 0;
  }
  if (logged_in_window_ >= per_second_) {
    ++suppressed_;
    return;
  }
  ++logged_in_window_;
  if (suppressed_ > 0) {
    spdlog::warn("rejected {}: client {} key '{}' value {} bytes (limit {}); {} similar suppressed",
                 reason, peer, printable_key_prefix(key), value_length, limit, suppressed_);
    suppressed_ = 0;
  } else {
    spdlog::warn("rejected {}: client {} key '{}' value {} bytes (limit {})", reason, peer,
                 printable_key_prefix(key), value_length, limit);
  }
}

}  // namespace mcguard
