#include "proxy/core/limits.h"

#include <algorithm>

#include "proxy/core/units.h"

namespace mcguard {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<PrefixLimit> parse_prefix_limit(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view prefix = trim(text.substr(0, colon));
  const auto size = parse_byte_size(trim(text.substr(colon + 1)));
  // Keys hold no spaces or control bytes, so a prefix with them never matches.
  if (prefix.empty() || !size || *size == 0) return std::nullopt;
  for (char c : prefix) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
  }
  return PrefixLimit{std::string(prefix), *size};
}

LimitPolicy::LimitPolicy(LimitMode mode, uint64_t default_limit, uint64_t ceiling,
                         std::vector<Rule> rules)
    : mode_(mode), default_limit_(default_limit), ceiling_(ceiling), rules_(std::move(rules)) {
  std::stable_sort(rules_.begin(), rules_.end(),
                   [](const Rule& a, const Rule& b) { return a.prefix.size() > b.prefix.size(); });
}

LimitPolicy::Match LimitPolicy::match(std::string_view key) const {
  for (const Rule& rule : rules_) {
    if (key.starts_with(rule.prefix)) return {rule.limit, rule.slot};
  }
  return {default_limit_, 0};
}

std::shared_ptr<const LimitPolicy> LimitBox::build(LimitMode mode, uint64_t default_limit,
                                                   uint64_t ceiling,
                                                   const std::vector<PrefixLimit>& prefix_limits,
                                                   std::string* error) {
  if (default_limit > ceiling) {
    *error = "max-value-size " + std::to_string(default_limit) + " exceeds the value ceiling " +
             std::to_string(ceiling) + " fixed at start-up";
    return nullptr;
  }
  std::vector<LimitPolicy::Rule> rules;
  std::vector<std::string> new_prefixes;
  uint32_t count = slot_count();
  for (const PrefixLimit& entry : prefix_limits) {
    if (entry.limit > ceiling) {
      *error = "limit for prefix '" + entry.prefix + "' (" + std::to_string(entry.limit) +
               ") exceeds the value ceiling " + std::to_string(ceiling) + " fixed at start-up";
      return nullptr;
    }
    for (const LimitPolicy::Rule& rule : rules) {
      if (rule.prefix == entry.prefix) {
        *error = "prefix '" + entry.prefix + "' has two limits";
        return nullptr;
      }
    }
    uint32_t slot = 0;
    for (uint32_t i = 1; i < count && slot == 0; ++i) {
      if (slot_names_[i] == entry.prefix) slot = i;
    }
    for (size_t i = 0; i < new_prefixes.size() && slot == 0; ++i) {
      if (new_prefixes[i] == entry.prefix) slot = count + static_cast<uint32_t>(i);
    }
    if (slot == 0) {
      if (count + new_prefixes.size() > kMaxPrefixSlots) {
        *error = "more than " + std::to_string(kMaxPrefixSlots) +
                 " distinct key prefixes configured since start-up";
        return nullptr;
      }
      slot = count + static_cast<uint32_t>(new_prefixes.size());
      new_prefixes.push_back(entry.prefix);
    }
    rules.push_back({entry.prefix, entry.limit, slot});
  }
  // Only a policy that will be published claims slots.
  for (size_t i = 0; i < new_prefixes.size(); ++i) slot_names_[count + i] = new_prefixes[i];
  slot_count_.store(count + static_cast<uint32_t>(new_prefixes.size()), std::memory_order_release);
  return std::make_shared<const LimitPolicy>(mode, default_limit, ceiling, std::move(rules));
}

void LimitBox::publish(std::shared_ptr<const LimitPolicy> policy) {
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(policy);
  }
  generation_.fetch_add(1, std::memory_order_release);
}

}  // namespace mcguard
