#include "proxy/core/prefix_stats.h"

#include <array>
#include <cstring>

namespace mcguard {

struct PrefixStats::Entry {
  uint8_t length = 0;
  char text[kMaxPrefixLength];
  std::array<uint64_t, 4> counts{};
  std::string_view prefix() const { return {text, length}; }
};

PrefixStats::PrefixStats() = default;
PrefixStats::~PrefixStats() = default;

void PrefixStats::set_enabled(bool on) {
  if (on) {
    std::lock_guard lock(mutex_);
    if (!entries_) entries_ = std::make_unique<Entry[]>(kMaxPrefixes);
  }
  enabled_.store(on, std::memory_order_relaxed);
}

void PrefixStats::record_request(const Request& request) {
  if (!enabled()) return;
  switch (request.command) {
    case Command::kGet:
    case Command::kGets:
    case Command::kGat:
    case Command::kGats: {
      KeyCursor keys(request.keys);
      for (std::string_view key; keys.next(key);) count(key, kGet);
      break;
    }
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas:
      count(request.key, kSet);
      break;
    case Command::kDelete:
      count(request.key, kDelete);
      break;
    default:
      break;
  }
}

void PrefixStats::record_hit(std::string_view key) {
  if (enabled()) count(key, kHit);
}

void PrefixStats::count(std::string_view key, Field field) {
  const size_t colon = key.find(':');
  if (colon == std::string_view::npos || colon > kMaxPrefixLength) return;
  std::lock_guard lock(mutex_);
  if (Entry* entry = find_or_add(key.substr(0, colon)); entry != nullptr) {
    ++entry->counts[field];
  }
}

PrefixStats::Entry* PrefixStats::find_or_add(std::string_view prefix) {
  if (!entries_) return nullptr;
  // A linear scan of at most kMaxPrefixes short strings, only while detail is on.
  for (size_t i = 0; i < used_; ++i) {
    if (entries_[i].prefix() == prefix) return &entries_[i];
  }
  if (used_ == kMaxPrefixes) return nullptr;
  Entry& entry = entries_[used_++];
  entry.length = static_cast<uint8_t>(prefix.size());
  std::memcpy(entry.text, prefix.data(), prefix.size());
  entry.counts = {};
  return &entry;
}

std::string PrefixStats::dump() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < used_; ++i) {
    const Entry& e = entries_[i];
    out += "PREFIX ";
    out += e.prefix();
    out += " get " + std::to_string(e.counts[kGet]) + " hit " + std::to_string(e.counts[kHit]) +
           " set " + std::to_string(e.counts[kSet]) + " del " + std::to_string(e.counts[kDelete]) +
           "\r\n";
  }
  out += "END\r\n";
  return out;
}

void PrefixStats::clear() {
  std::lock_guard lock(mutex_);
  used_ = 0;
}

}  // namespace mcguard
