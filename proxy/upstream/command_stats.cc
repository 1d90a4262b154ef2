#include "proxy/upstream/command_stats.h"

namespace mcguard {
namespace {

// Meta replies: "HD", "VA ...", "EN" are two letters, then a space or "\r\n".
bool meta_code(std::string_view head, std::string_view code) {
  return head.size() >= 3 && head.starts_with(code) && (head[2] == ' ' || head[2] == '\r');
}

bool is_number(std::string_view head) { return !head.empty() && head[0] >= '0' && head[0] <= '9'; }

void hit_or_miss(bool hit, bool miss, Counter& hits, Counter& misses) {
  if (hit) hits.add();
  if (miss) misses.add();
}

}  // namespace

void count_single_reply(UpstreamCommandStats& s, CountAs as, std::string_view head) {
  const bool quiet_success = head.empty();
  const bool meta_hit = quiet_success || meta_code(head, "HD") || meta_code(head, "VA");
  switch (as) {
    case CountAs::kNone:
    case CountAs::kGet:
    case CountAs::kTouchGet:
      return;
    case CountAs::kMetaGet:
    case CountAs::kMetaGetTouch: {
      // With q, a miss is the reply left out; a hit always answers.
      const bool hit = meta_code(head, "VA") || meta_code(head, "HD");
      const bool miss = quiet_success || meta_code(head, "EN");
      if (hit && as == CountAs::kMetaGetTouch) {
        s.cmd_touch.add();
        s.touch_hits.add();
      } else if (hit || miss) {
        s.cmd_get.add();
        hit_or_miss(hit, miss, s.get_hits, s.get_misses);
      }
      return;
    }
    case CountAs::kCas:
      if (head.starts_with("STORED\r")) s.cas_hits.add();
      if (head.starts_with("EXISTS\r")) s.cas_badval.add();
      if (head.starts_with("NOT_FOUND\r")) s.cas_misses.add();
      return;
    case CountAs::kMetaSetCas:
      if (quiet_success || meta_code(head, "HD")) s.cas_hits.add();
      if (meta_code(head, "EX")) s.cas_badval.add();
      if (meta_code(head, "NF")) s.cas_misses.add();
      return;
    case CountAs::kDelete:
      hit_or_miss(head.starts_with("DELETED\r"), head.starts_with("NOT_FOUND\r"), s.delete_hits,
                  s.delete_misses);
      return;
    case CountAs::kMetaDelete:
      hit_or_miss(quiet_success || meta_code(head, "HD"), meta_code(head, "NF"), s.delete_hits,
                  s.delete_misses);
      return;
    case CountAs::kIncr:
      hit_or_miss(is_number(head), head.starts_with("NOT_FOUND\r"), s.incr_hits, s.incr_misses);
      return;
    case CountAs::kDecr:
      hit_or_miss(is_number(head), head.starts_with("NOT_FOUND\r"), s.decr_hits, s.decr_misses);
      return;
    case CountAs::kMetaIncr:
      hit_or_miss(meta_hit, meta_code(head, "NF"), s.incr_hits, s.incr_misses);
      return;
    case CountAs::kMetaDecr:
      hit_or_miss(meta_hit, meta_code(head, "NF"), s.decr_hits, s.decr_misses);
      return;
    case CountAs::kTouch:
      hit_or_miss(head.starts_with("TOUCHED\r"), head.starts_with("NOT_FOUND\r"), s.touch_hits,
                  s.touch_misses);
      return;
  }
}

}  // namespace mcguard
