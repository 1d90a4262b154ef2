// UpstreamCommandStats: what one worker's upstream tier saw of memcached's
// command counters, counted from the requests it forwards and the replies the
// upstreams send back (memcached's own names, as `stats` shows them). One
// relaxed add per event, on the worker's thread; `stats` sums the workers.
//
// A request is counted once per client request, however it was carried: a
// split value counts as one set or one hit, not one per chunk. What a reply
// hides cannot be counted: classic noreply commands count the command only,
// and get_expired/get_flushed are never known (memcached answers a miss alike).
#pragma once

#include <cstdint>
#include <string_view>

#include "cache/counter.h"

namespace mcguard {

struct UpstreamCommandStats {
  Counter cmd_get;  // keys asked by get/gets, and mg (except an mg with T that hit)
  Counter get_hits;
  Counter get_misses;
  Counter cmd_set;    // storage commands and ms
  Counter cmd_touch;  // touch, keys asked by gat/gats, an mg with T that hit
  Counter touch_hits;
  Counter touch_misses;
  Counter delete_hits;
  Counter delete_misses;
  Counter incr_hits;
  Counter incr_misses;
  Counter decr_hits;
  Counter decr_misses;
  Counter cas_hits;
  Counter cas_misses;
  Counter cas_badval;
  Counter cmd_flush;
  // Gathered stats (`stats`, `stats slabs|items|sizes|cachedump`): upstreams
  // left out of a reply because they were down, failed or timed out, and
  // replies cut short at kMaxGatheredStatsReply.
  Counter stats_upstreams_skipped;
  Counter stats_replies_cut;
};

// How a client request's reply is counted when its group completes (kept in
// PendingReply::tag of the group's leader). Values from 1: 0 is "nothing".
enum class CountAs : uint8_t {
  kNone = 0,
  kGet,           // get, gets: a slot with bytes is a hit, an empty one a miss
  kTouchGet,      // gat, gats: the same, as touch hits and misses
  kMetaGet,       // mg without T: VA/HD hit, EN (or nothing, with q) miss
  kMetaGetTouch,  // mg with T: a hit is a touch, a miss a get (as memcached counts it)
  kCas,           // cas: STORED, EXISTS (badval), NOT_FOUND
  kMetaSetCas,    // ms with C: HD (or nothing, with q), EX, NF
  kDelete,        // delete: DELETED, NOT_FOUND
  kMetaDelete,    // md: HD (or nothing, with q), NF
  kIncr,          // incr: a number, NOT_FOUND
  kDecr,
  kMetaIncr,  // ma: HD/VA (or nothing, with q), NF
  kMetaDecr,
  kTouch,  // touch: TOUCHED, NOT_FOUND
  kLast = kTouch,
};

// Counts one completed, successful reply of a single-reply request whose
// first bytes are `head` (empty: no reply, as quiet meta commands give).
void count_single_reply(UpstreamCommandStats& stats, CountAs as, std::string_view head);
// Counts one key of a get-family request: `hit` when a VALUE answered it.
inline void count_retrieval_key(UpstreamCommandStats& stats, CountAs as, bool hit) {
  if (as == CountAs::kGet) {
    (hit ? stats.get_hits : stats.get_misses).add();
  } else if (as == CountAs::kTouchGet) {
    (hit ? stats.touch_hits : stats.touch_misses).add();
  }
}

}  // namespace mcguard
