#include "proxy/upstream/stats_gather.h"

#include <string>
#include <string_view>
#include <vector>

namespace mcguard {
namespace {

std::string slot_text(const PendingReply& slot) {
  std::string text;
  text.reserve(slot.size());
  iovec iov[64];
  while (text.size() < slot.size()) {
    const size_t count = slot.iovecs(text.size(), iov, 64);
    if (count == 0) break;
    for (size_t i = 0; i < count; ++i)
      text.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  return text;
}

// Writes `text` over the group's (cleared) slots in order, a line-bounded
// piece at a time; false when they cannot hold it all.
bool write_over_slots(PendingReply* leader, std::string_view text) {
  // Small pieces, so that each slot is filled before the next is used.
  constexpr size_t kPiece = 4u << 10;
  PendingReply* slot = leader;
  while (!text.empty()) {
    size_t length = text.size();
    if (length > kPiece) {
      const size_t newline = text.rfind('\n', kPiece - 1);
      length = newline == std::string_view::npos ? kPiece : newline + 1;
    }
    while (slot != nullptr && !slot->append(text.substr(0, length))) slot = slot->next_in_group;
    if (slot == nullptr) return false;
    text.remove_prefix(length);
  }
  return true;
}

}  // namespace

void merge_gathered_group(PendingReply* leader, UpstreamCommandStats* stats) {
  const auto kind = static_cast<GatheredStats>(leader->tag & ~kGatherTag);
  std::vector<std::string> texts;
  std::vector<std::string_view> answers;
  std::string first_error;
  uint64_t left_out = 0;
  for (PendingReply* slot = leader; slot != nullptr; slot = slot->next_in_group) {
    if (slot->failed) {
      ++left_out;
      continue;
    }
    texts.push_back(slot_text(*slot));
  }
  for (const std::string& text : texts) {
    if (is_stats_reply(text)) {
      answers.push_back(text);
    } else {
      // The same bytes went to every server: an error line is the request's.
      if (first_error.empty()) first_error = text.substr(0, text.find('\n') + 1);
      ++left_out;
    }
  }
  if (stats != nullptr && left_out > 0) stats->stats_upstreams_skipped.add(left_out);
  std::string merged;
  if (!answers.empty()) {
    merged = merge_stats_replies(kind, answers);
  } else if (kind == GatheredStats::kGeneral) {
    merged = "END\r\n";  // no figure rather than a false zero
  } else if (!first_error.empty()) {
    merged = first_error;
  } else {
    return;  // every upstream failed: the leader's failure answers
  }
  for (PendingReply* slot = leader; slot != nullptr; slot = slot->next_in_group) slot->clear();
  leader->failure = write_over_slots(leader, merged) ? nullptr : "out of memory";
}

}  // namespace mcguard
