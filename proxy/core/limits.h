// Value-size limit policy: a default limit, per key-prefix limits (the longest
// matching prefix wins) and a mode, enforce or observe. A LimitPolicy is
// immutable; SIGHUP builds a new one and publishes it through a LimitBox.
// Each worker reads the box through its own LimitView, which costs one atomic
// load of the box's generation per storage command and takes the new snapshot
// (under the box's mutex) only when the generation changed, so the request path
// takes a lock once per reload, never per request.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcguard {

enum class LimitMode : uint8_t { kEnforce, kObserve };

// "session: 64k" -> {"session", 65536}: the text before the last ':' is the
// prefix, the size after it accepts k, m, g. nullopt when malformed.
struct PrefixLimit {
  std::string prefix;
  uint64_t limit = 0;
};
std::optional<PrefixLimit> parse_prefix_limit(std::string_view text);

// Value-size histogram slots: slot 0 counts keys that match no prefix; each
// prefix ever configured gets its own slot for the life of the process, so a
// reload never mixes one prefix's counts into another's.
inline constexpr uint32_t kMaxPrefixSlots = 64;

class LimitPolicy {
 public:
  struct Rule {
    std::string prefix;
    uint64_t limit = 0;
    uint32_t slot = 0;
  };
  // `rules` in any order; they are matched longest prefix first.
  LimitPolicy(LimitMode mode, uint64_t default_limit, uint64_t ceiling, std::vector<Rule> rules);

  // What applies to `key`: its limit and its histogram slot.
  struct Match {
    uint64_t limit;
    uint32_t slot;
  };
  Match match(std::string_view key) const;

  LimitMode mode() const { return mode_; }
  uint64_t default_limit() const { return default_limit_; }
  // The largest value ever let through, in either mode: what buffers, chains
  // and the store were sized for at start-up.
  uint64_t ceiling() const { return ceiling_; }
  // Longest prefix first.
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  LimitMode mode_;
  uint64_t default_limit_;
  uint64_t ceiling_;
  std::vector<Rule> rules_;
};

// The current policy of the process. publish() is called by one thread at a
// time (start-up, SIGHUP); load() and the views work from any thread.
class LimitBox {
 public:
  // Builds a policy from settings-like inputs, giving each new prefix a slot.
  // Fails (nullopt, with `error`) when a limit exceeds the ceiling or the
  // prefixes would need more than kMaxPrefixSlots slots.
  std::shared_ptr<const LimitPolicy> build(LimitMode mode, uint64_t default_limit, uint64_t ceiling,
                                           const std::vector<PrefixLimit>& prefix_limits,
                                           std::string* error);
  void publish(std::shared_ptr<const LimitPolicy> policy);
  std::shared_ptr<const LimitPolicy> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // The prefix of each slot handed out so far (slot 0: ""). Safe from any
  // thread: names are written before the count that makes them visible.
  uint32_t slot_count() const { return slot_count_.load(std::memory_order_acquire); }
  const std::string& slot_prefix(uint32_t slot) const { return slot_names_[slot]; }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const LimitPolicy> current_;
  std::atomic<uint64_t> generation_{0};
  std::string slot_names_[kMaxPrefixSlots + 1];
  std::atomic<uint32_t> slot_count_{1};
};

// One worker's window on a LimitBox. Not thread-safe: one per worker.
class LimitView {
 public:
  void attach(const LimitBox* box) { box_ = box; }
  bool attached() const { return box_ != nullptr; }
  // The current policy; nullptr when not attached.
  const LimitPolicy* current() {
    if (box_ == nullptr) return nullptr;
    const uint64_t generation = box_->generation();
    if (generation != seen_generation_ || policy_ == nullptr) {
      policy_ = box_->load();
      seen_generation_ = generation;
    }
    return policy_.get();
  }

 private:
  const LimitBox* box_ = nullptr;
  uint64_t seen_generation_ = 0;
  std::shared_ptr<const LimitPolicy> policy_;
};

}  // namespace mcguard
