#include "proxy/core/rejection_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

namespace mcguard {
namespace {

constexpr std::string_view kReasonNames[RejectionLog::kReasonCount] = {
    "object too large", "out of memory", "over limit, let through (observe mode)", "other"};

// Every live log, so one thread can summarise what all of them suppressed.
struct Registry {
  std::mutex mutex;
  std::vector<RejectionLog*> logs;
};
Registry& registry() {
  static Registry instance;
  return instance;
}

RejectionLog::Reason reason_of(std::string_view name) {
  for (uint32_t i = 0; i < RejectionLog::kOther; ++i) {
    if (kReasonNames[i] == name) return static_cast<RejectionLog::Reason>(i);
  }
  return RejectionLog::kOther;
}

}  // namespace

std::string printable_key_prefix(std::string_view key) {
  constexpr size_t kShown = 32;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < key.size() && i < kShown; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
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

RejectionLog::RejectionLog(uint32_t per_second) : per_second_(per_second) {
  std::lock_guard lock(registry().mutex);
  registry().logs.push_back(this);
}

RejectionLog::~RejectionLog() {
  {
    std::lock_guard lock(registry().mutex);
    auto& logs = registry().logs;
    logs.erase(std::remove(logs.begin(), logs.end(), this), logs.end());
  }
  // Whatever this log still holds is not lost with it.
  uint64_t left = 0;
  for (auto& count : suppressed_) left += count.load(std::memory_order_relaxed);
  if (left > 0) spdlog::warn("{} rejection log lines suppressed", left);
}

bool RejectionLog::admit(Reason reason, uint64_t value_length) {
  const int64_t now = ::time(nullptr);
  if (now != window_second_) {
    window_second_ = now;
    logged_in_window_ = 0;
  }
  if (logged_in_window_ < per_second_) {
    ++logged_in_window_;
    return true;
  }
  suppressed_[reason].fetch_add(1, std::memory_order_relaxed);
  auto& largest = largest_suppressed_[reason];
  uint64_t seen = largest.load(std::memory_order_relaxed);
  while (value_length > seen &&
         !largest.compare_exchange_weak(seen, value_length, std::memory_order_relaxed)) {
  }
  return false;
}

void RejectionLog::rejected(std::string_view reason, std::string_view peer, std::string_view key,
                            uint64_t value_length, uint64_t limit) {
  if (!admit(reason_of(reason), value_length)) return;
  spdlog::warn("rejected {}: client {} key '{}' value {} bytes (limit {})", reason, peer,
               printable_key_prefix(key), value_length, limit);
}

void RejectionLog::observed(std::string_view peer, std::string_view key, uint64_t value_length,
                            uint64_t limit) {
  if (!admit(kObservedOverLimit, value_length)) return;
  spdlog::warn(
      "over limit, let through (observe mode): client {} key '{}' value {} bytes "
      "(limit {})",
      peer, printable_key_prefix(key), value_length, limit);
}

void RejectionLog::flush_summaries() {
  uint64_t counts[kReasonCount] = {};
  uint64_t largest[kReasonCount] = {};
  {
    std::lock_guard lock(registry().mutex);
    for (RejectionLog* log : registry().logs) {
      for (uint32_t i = 0; i < kReasonCount; ++i) {
        counts[i] += log->suppressed_[i].exchange(0, std::memory_order_relaxed);
        largest[i] = std::max(largest[i],
                              log->largest_suppressed_[i].exchange(0, std::memory_order_relaxed));
      }
    }
  }
  uint64_t total = 0;
  std::string detail;
  for (uint32_t i = 0; i < kReasonCount; ++i) {
    if (counts[i] == 0) continue;
    total += counts[i];
    if (!detail.empty()) detail += ", ";
    detail += std::string(kReasonNames[i]) + " " + std::to_string(counts[i]) + " (largest " +
              std::to_string(largest[i]) + " bytes)";
  }
  if (total > 0) spdlog::warn("suppressed {} rejection log lines: {}", total, detail);
}

}  // namespace mcguard
