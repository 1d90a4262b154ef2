#include "proxy/upstream/stats_merge.h"

#include <charconv>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace mcguard {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kEndLine = "END\r\n";

// The figures of plain `stats` that are gathered, in memcached's order.
constexpr std::string_view kGeneralGathered[] = {"limit_maxbytes", "bytes", "curr_items",
                                                 "total_items", "evictions"};

enum class Rule : unsigned char { kSum, kFirst, kMax, kActiveSlabs };

// The statistic a name is about: "7:chunk_size" and "items:7:age" are about
// chunk_size and age of slab class 7.
std::string_view field_of(std::string_view name) {
  const size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

Rule rule_for(GatheredStats kind, std::string_view name) {
  const std::string_view field = field_of(name);
  // Per-class configuration: every server has the same slab sizes.
  if (field == "chunk_size" || field == "chunks_per_page") return Rule::kFirst;
  // How old the oldest item is: the oldest of any server.
  if (field == "age" || field == "age_hot" || field == "age_warm" || field == "evicted_time") {
    return Rule::kMax;
  }
  if (kind == GatheredStats::kSlabs && name == "active_slabs") return Rule::kActiveSlabs;
  return Rule::kSum;
}

bool parse_number(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// Calls `line` for each line of `reply` before its END, without "\r\n".
template <typename Fn>
void for_each_line(std::string_view reply, Fn&& line) {
  while (!reply.empty()) {
    const size_t end = reply.find(kCrlf);
    const std::string_view text = reply.substr(0, end);
    if (text == "END") return;
    line(text);
    if (end == std::string_view::npos) return;
    reply.remove_prefix(end + kCrlf.size());
  }
}

// "STAT <name> <value>": false for any other line.
bool split_stat(std::string_view line, std::string_view& name, std::string_view& value) {
  if (!line.starts_with("STAT ")) return false;
  line.remove_prefix(5);
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return false;
  name = line.substr(0, space);
  value = line.substr(space + 1);
  return true;
}

struct Entry {
  std::string_view name;
  std::string_view text;  // the value as the first server that has it wrote it
  uint64_t number = 0;
  bool numeric = false;
  size_t next = SIZE_MAX;  // output order: a list, so inserting keeps indices
};

void append_stat(std::string& out, std::string_view name, std::string_view value) {
  out.append("STAT ").append(name).append(" ").append(value).append(kCrlf);
}

std::string merge_general(std::span<const std::string_view> replies) {
  uint64_t sums[std::size(kGeneralGathered)] = {};
  for (std::string_view reply : replies) {
    for_each_line(reply, [&](std::string_view line) {
      std::string_view name, value;
      uint64_t number = 0;
      if (!split_stat(line, name, value) || !parse_number(value, number)) return;
      for (size_t i = 0; i < std::size(kGeneralGathered); ++i) {
        if (name == kGeneralGathered[i]) sums[i] += number;
      }
    });
  }
  std::string out;
  for (size_t i = 0; i < std::size(kGeneralGathered); ++i) {
    append_stat(out, kGeneralGathered[i], std::to_string(sums[i]));
  }
  return out.append(kEndLine);
}

std::string merge_cachedump(std::span<const std::string_view> replies) {
  std::string out;
  for (std::string_view reply : replies) {
    for_each_line(reply, [&](std::string_view line) {
      if (line.starts_with("ITEM ")) out.append(line).append(kCrlf);
    });
  }
  return out.append(kEndLine);
}

std::string merge_by_name(GatheredStats kind, std::span<const std::string_view> replies) {
  std::vector<Entry> entries;
  std::unordered_map<std::string_view, size_t> by_name;
  size_t head = SIZE_MAX;
  for (std::string_view reply : replies) {
    size_t cursor = SIZE_MAX;  // the entry the next new name goes after (none: the front)
    for_each_line(reply, [&](std::string_view line) {
      std::string_view name, value;
      if (!split_stat(line, name, value)) return;
      uint64_t number = 0;
      const bool numeric = parse_number(value, number);
      const auto found = by_name.find(name);
      if (found != by_name.end()) {
        Entry& entry = entries[found->second];
        cursor = found->second;
        if (!entry.numeric || !numeric) return;  // text: the first server's
        switch (rule_for(kind, name)) {
          case Rule::kSum:
            entry.number += number;
            break;
          case Rule::kMax:
            entry.number = std::max(entry.number, number);
            break;
          case Rule::kFirst:
          case Rule::kActiveSlabs:
            break;
        }
        return;
      }
      const size_t index = entries.size();
      entries.push_back(Entry{name, value, number, numeric, SIZE_MAX});
      by_name.emplace(name, index);
      size_t& link = cursor == SIZE_MAX ? head : entries[cursor].next;
      entries[index].next = link;
      link = index;
      cursor = index;
    });
  }
  // active_slabs: the classes of the merged reply ("<class>:<field>" names).
  std::unordered_map<std::string_view, bool> classes;
  for (const Entry& entry : entries) {
    const size_t colon = entry.name.find(':');
    if (colon != std::string_view::npos) classes.emplace(entry.name.substr(0, colon), true);
  }
  std::string out;
  for (size_t i = head; i != SIZE_MAX; i = entries[i].next) {
    const Entry& entry = entries[i];
    if (entry.numeric && rule_for(kind, entry.name) == Rule::kActiveSlabs) {
      append_stat(out, entry.name, std::to_string(classes.size()));
    } else if (entry.numeric) {
      append_stat(out, entry.name, std::to_string(entry.number));
    } else {
      append_stat(out, entry.name, entry.text);
    }
  }
  return out.append(kEndLine);
}

}  // namespace

std::optional<GatheredStats> gathered_stats_kind(std::string_view args) {
  if (args.empty()) return GatheredStats::kGeneral;
  // memcached reads the first word; what follows it matters to cachedump only.
  const std::string_view word = args.substr(0, args.find(' '));
  if (word == "slabs") return GatheredStats::kSlabs;
  if (word == "items") return GatheredStats::kItems;
  if (word == "sizes") return GatheredStats::kSizes;
  if (word == "cachedump" && word.size() < args.size()) return GatheredStats::kCachedump;
  if (word == "sizes_enable" || word == "sizes_disable") return GatheredStats::kSizesSwitch;
  return std::nullopt;
}

bool is_stats_reply(std::string_view reply) {
  return reply.starts_with("STAT ") || reply.starts_with("ITEM ") || reply == kEndLine;
}

std::string merge_stats_replies(GatheredStats kind, std::span<const std::string_view> replies) {
  switch (kind) {
    case GatheredStats::kGeneral:
      return merge_general(replies);
    case GatheredStats::kCachedump:
      return merge_cachedump(replies);
    case GatheredStats::kSizesSwitch:
      return replies.empty() ? std::string() : std::string(replies.front());
    case GatheredStats::kSlabs:
    case GatheredStats::kItems:
    case GatheredStats::kSizes:
      break;
  }
  return merge_by_name(kind, replies);
}

}  // namespace mcguard
