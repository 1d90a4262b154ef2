// parse_reply_header and reply_role against replies captured from a real memcached
// 1.6.18 (Debian's /usr/bin/memcached, started on a loopback port, every request sent
// on one connection followed by an "mn" sentinel): each captured reply parses, ends the
// response of the request that produced it, and parses the same split anywhere. Mutated
// and random lines are compared with an independent regex grammar, so the parser never
// returns a kReply the grammar rejects, nor rejects a line the grammar accepts.
#include "protocol/reply_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/parser.h"
#include "protocol/request.h"
#include "test_util.h"

namespace mcguard {

inline std::ostream& operator<<(std::ostream& os, ReplyParseResult::Status status) {
  switch (status) {
    case ReplyParseResult::kNeedMore:
      return os << "kNeedMore";
    case ReplyParseResult::kReply:
      return os << "kReply";
    case ReplyParseResult::kMalformed:
      return os << "kMalformed";
  }
  return os << "?";
}
inline std::ostream& operator<<(std::ostream& os, ReplyKind kind) {
  return os << "ReplyKind(" << static_cast<int>(kind) << ")";
}
inline std::ostream& operator<<(std::ostream& os, ReplyRole role) {
  return os << "ReplyRole(" << static_cast<int>(role) << ")";
}

namespace {

using testing::expand;

constexpr uint64_t kMaxValue = 1 << 20;  // memcached's default item size limit

struct Transcript {
  std::string_view request;  // the header line sent ("{n*k}" repeats k); data not shown
  std::string_view reply;    // every byte memcached answered, data blocks included
};

// clang-format off
// BEGIN CAPTURED
constexpr Transcript kCaptured[] = {
    {"set k 5 0 3\r\n", "STORED\r\n"},
    {"get k\r\n",
     "VALUE k 5 3\r\n"
     "abc\r\n"
     "END\r\n"},
    {"gets k\r\n",
     "VALUE k 5 3 35\r\n"
     "abc\r\n"
     "END\r\n"},
    {"get nokey\r\n", "END\r\n"},
    {"gets nokey\r\n", "END\r\n"},
    {"set k2 4294967295 0 0\r\n", "STORED\r\n"},
    {"get k nokey k2 k\r\n",
     "VALUE k 5 3\r\n"
     "abc\r\n"
     "VALUE k2 4294967295 0\r\n"
     "\r\n"
     "VALUE k 5 3\r\n"
     "abc\r\n"
     "END\r\n"},
    {"gets k2 k\r\n",
     "VALUE k2 4294967295 0 36\r\n"
     "\r\n"
     "VALUE k 5 3 35\r\n"
     "abc\r\n"
     "END\r\n"},
    {"gat 100 k\r\n",
     "VALUE k 5 3\r\n"
     "abc\r\n"
     "END\r\n"},
    {"gats 100 k k2\r\n",
     "VALUE k 5 3 35\r\n"
     "abc\r\n"
     "VALUE k2 4294967295 0 36\r\n"
     "\r\n"
     "END\r\n"},
    {"gat 100 nokey\r\n", "END\r\n"},
    {"gats 0 nokey\r\n", "END\r\n"},
    {"set bin 1 0 6\r\n", "STORED\r\n"},
    {"get bin\r\n",
     "VALUE bin 1 6\r\n"
     "a\r\n"
     "b\r\n"
     "\r\n"
     "END\r\n"},
    {"set {250*k} 7 0 2\r\n", "STORED\r\n"},
    {"gets {250*k}\r\n",
     "VALUE {250*k} 7 2 38\r\n"
     "xy\r\n"
     "END\r\n"},
    {"add k 0 0 1\r\n", "NOT_STORED\r\n"},
    {"add k3 0 0 1\r\n", "STORED\r\n"},
    {"replace nokey 0 0 1\r\n", "NOT_STORED\r\n"},
    {"replace k3 0 0 1\r\n", "STORED\r\n"},
    {"append k3 0 0 1\r\n", "STORED\r\n"},
    {"prepend k3 0 0 1\r\n", "STORED\r\n"},
    {"append nokey 0 0 1\r\n", "NOT_STORED\r\n"},
    {"prepend nokey 0 0 1\r\n", "NOT_STORED\r\n"},
    {"cas k3 0 0 1 1\r\n", "EXISTS\r\n"},
    {"cas nokey 0 0 1 1\r\n", "NOT_FOUND\r\n"},
    {"cas k3 0 0 1 42\r\n", "STORED\r\n"},
    {"delete k3\r\n", "DELETED\r\n"},
    {"delete k3\r\n", "NOT_FOUND\r\n"},
    {"delete k2 0\r\n", "DELETED\r\n"},
    {"set n 0 0 3\r\n", "STORED\r\n"},
    {"incr n 5\r\n", "105\r\n"},
    {"decr n 200\r\n", "0\r\n"},
    {"incr nokey 1\r\n", "NOT_FOUND\r\n"},
    {"decr nokey 1\r\n", "NOT_FOUND\r\n"},
    {"set n 0 0 3\r\n", "STORED\r\n"},
    {"decr n 1\r\n", "99\r\n"},
    {"get n\r\n",
     "VALUE n 0 3\r\n"
     "99 \r\n"
     "END\r\n"},
    {"set n 0 0 20\r\n", "STORED\r\n"},
    {"incr n 1\r\n", "18446744073709551615\r\n"},
    {"incr n 1\r\n", "0\r\n"},
    {"incr k 1\r\n",
     "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
    {"touch k 100\r\n", "TOUCHED\r\n"},
    {"touch nokey 100\r\n", "NOT_FOUND\r\n"},
    {"version\r\n", "VERSION 1.6.18\r\n"},
    {"verbosity 0\r\n", "OK\r\n"},
    {"flush_all 0\r\n", "OK\r\n"},
    {"flush_all\r\n", "OK\r\n"},
    {"stats\r\n",
     "STAT pid 17318\r\n"
     "STAT uptime 129\r\n"
     "STAT time 1795620249\r\n"
     "STAT version 1.6.18\r\n"
     "STAT libevent 2.1.12-stable\r\n"
     "STAT pointer_size 64\r\n"
     "STAT rusage_user 0.020174\r\n"
     "STAT rusage_system 0.017040\r\n"
     "STAT max_connections 1024\r\n"
     "STAT curr_connections 1\r\n"
     "STAT total_connections 1\r\n"
     "STAT rejected_connections 0\r\n"
     "STAT connection_structures 2\r\n"
     "STAT response_obj_oom 0\r\n"
     "STAT response_obj_count 0\r\n"
     "STAT response_obj_bytes 16384\r\n"
     "STAT read_buf_count 4\r\n"
     "STAT read_buf_bytes 65536\r\n"
     "STAT read_buf_bytes_free 16384\r\n"
     "STAT read_buf_oom 0\r\n"
     "STAT reserved_fds 20\r\n"
     "STAT cmd_get 29\r\n"
     "STAT cmd_set 27\r\n"
     "STAT cmd_flush 3\r\n"
     "STAT cmd_touch 7\r\n"
     "STAT cmd_meta 3\r\n"
     "STAT get_hits 22\r\n"
     "STAT get_misses 7\r\n"
     "STAT get_expired 0\r\n"
     "STAT get_flushed 3\r\n"
     "STAT delete_misses 5\r\n"
     "STAT delete_hits 3\r\n"
     "STAT incr_misses 2\r\n"
     "STAT incr_hits 5\r\n"
     "STAT decr_misses 1\r\n"
     "STAT decr_hits 3\r\n"
     "STAT cas_misses 2\r\n"
     "STAT cas_hits 1\r\n"
     "STAT cas_badval 2\r\n"
     "STAT touch_hits 4\r\n"
     "STAT touch_misses 3\r\n"
     "STAT store_too_large 1\r\n"
     "STAT store_no_memory 0\r\n"
     "STAT auth_cmds 0\r\n"
     "STAT auth_errors 0\r\n"
     "STAT bytes_read 2002981\r\n"
     "STAT bytes_written 2482\r\n"
     "STAT limit_maxbytes 67108864\r\n"
     "STAT accepting_conns 1\r\n"
     "STAT listen_disabled_num 0\r\n"
     "STAT time_in_listen_disabled_us 0\r\n"
     "STAT threads 4\r\n"
     "STAT conn_yields 0\r\n"
     "STAT hash_power_level 16\r\n"
     "STAT hash_bytes 524288\r\n"
     "STAT hash_is_expanding 0\r\n"
     "STAT slab_reassign_rescues 0\r\n"
     "STAT slab_reassign_chunk_rescues 0\r\n"
     "STAT slab_reassign_evictions_nomem 0\r\n"
     "STAT slab_reassign_inline_reclaim 0\r\n"
     "STAT slab_reassign_busy_items 0\r\n"
     "STAT slab_reassign_busy_deletes 0\r\n"
     "STAT slab_reassign_running 0\r\n"
     "STAT slabs_moved 0\r\n"
     "STAT lru_crawler_running 0\r\n"
     "STAT lru_crawler_starts 1\r\n"
     "STAT lru_maintainer_juggles 328\r\n"
     "STAT malloc_fails 0\r\n"
     "STAT log_worker_dropped 0\r\n"
     "STAT log_worker_written 0\r\n"
     "STAT log_watcher_skipped 0\r\n"
     "STAT log_watcher_sent 0\r\n"
     "STAT log_watchers 0\r\n"
     "STAT unexpected_napi_ids 0\r\n"
     "STAT round_robin_fallback 0\r\n"
     "STAT bytes 663\r\n"
     "STAT curr_items 6\r\n"
     "STAT total_items 20\r\n"
     "STAT slab_global_page_pool 0\r\n"
     "STAT expired_unfetched 0\r\n"
     "STAT evicted_unfetched 0\r\n"
     "STAT evicted_active 0\r\n"
     "STAT evictions 0\r\n"
     "STAT reclaimed 3\r\n"
     "STAT crawler_reclaimed 0\r\n"
     "STAT crawler_items_checked 4\r\n"
     "STAT lrutail_reflocked 0\r\n"
     "STAT moves_to_cold 4\r\n"
     "STAT moves_to_warm 1\r\n"
     "STAT moves_within_lru 0\r\n"
     "STAT direct_reclaims 0\r\n"
     "STAT lru_bumps_dropped 0\r\n"
     "END\r\n"},
    {"stats settings\r\n",
     "STAT maxbytes 67108864\r\n"
     "STAT maxconns 1024\r\n"
     "STAT tcpport 43689\r\n"
     "STAT udpport 0\r\n"
     "STAT inter 127.0.0.1\r\n"
     "STAT verbosity 0\r\n"
     "STAT oldest 188\r\n"
     "STAT evictions on\r\n"
     "STAT domain_socket NULL\r\n"
     "STAT umask 700\r\n"
     "STAT shutdown_command no\r\n"
     "STAT growth_factor 1.25\r\n"
     "STAT chunk_size 48\r\n"
     "STAT num_threads 4\r\n"
     "STAT num_threads_per_udp 4\r\n"
     "STAT stat_key_prefix :\r\n"
     "STAT detail_enabled no\r\n"
     "STAT reqs_per_event 20\r\n"
     "STAT cas_enabled yes\r\n"
     "STAT tcp_backlog 1024\r\n"
     "STAT binding_protocol auto-negotiate\r\n"
     "STAT auth_enabled_sasl no\r\n"
     "STAT auth_enabled_ascii no\r\n"
     "STAT item_size_max 1048576\r\n"
     "STAT maxconns_fast yes\r\n"
     "STAT hashpower_init 0\r\n"
     "STAT slab_reassign yes\r\n"
     "STAT slab_automove 1\r\n"
     "STAT slab_automove_ratio 0.80\r\n"
     "STAT slab_automove_window 30\r\n"
     "STAT slab_chunk_max 524288\r\n"
     "STAT lru_crawler yes\r\n"
     "STAT lru_crawler_sleep 100\r\n"
     "STAT lru_crawler_tocrawl 0\r\n"
     "STAT tail_repair_time 0\r\n"
     "STAT flush_enabled yes\r\n"
     "STAT dump_enabled yes\r\n"
     "STAT hash_algorithm murmur3\r\n"
     "STAT lru_maintainer_thread yes\r\n"
     "STAT lru_segmented yes\r\n"
     "STAT hot_lru_pct 20\r\n"
     "STAT warm_lru_pct 40\r\n"
     "STAT hot_max_factor 0.20\r\n"
     "STAT warm_max_factor 2.00\r\n"
     "STAT temp_lru no\r\n"
     "STAT temporary_ttl 61\r\n"
     "STAT idle_timeout 0\r\n"
     "STAT watcher_logbuf_size 262144\r\n"
     "STAT worker_logbuf_size 65536\r\n"
     "STAT read_buf_mem_limit 0\r\n"
     "STAT track_sizes no\r\n"
     "STAT inline_ascii_response no\r\n"
     "STAT ext_item_size 512\r\n"
     "STAT ext_item_age 4294967295\r\n"
     "STAT ext_low_ttl 0\r\n"
     "STAT ext_recache_rate 2000\r\n"
     "STAT ext_wbuf_size 4194304\r\n"
     "STAT ext_compact_under 0\r\n"
     "STAT ext_drop_under 0\r\n"
     "STAT ext_max_sleep 1000000\r\n"
     "STAT ext_max_frag 0.80\r\n"
     "STAT slab_automove_freeratio 0.010\r\n"
     "STAT ext_drop_unread no\r\n"
     "STAT ssl_enabled no\r\n"
     "STAT ssl_chain_cert (null)\r\n"
     "STAT ssl_key (null)\r\n"
     "STAT ssl_verify_mode 0\r\n"
     "STAT ssl_keyformat 1\r\n"
     "STAT ssl_ciphers NULL\r\n"
     "STAT ssl_ca_cert NULL\r\n"
     "STAT ssl_wbuf_size 16384\r\n"
     "STAT ssl_session_cache no\r\n"
     "STAT ssl_kernel_tls no\r\n"
     "STAT ssl_min_version tlsv1.2\r\n"
     "STAT num_napi_ids (null)\r\n"
     "STAT memory_file (null)\r\n"
     "END\r\n"},
    {"stats slabs\r\n",
     "STAT 1:chunk_size 96\r\n"
     "STAT 1:chunks_per_page 10922\r\n"
     "STAT 1:total_pages 1\r\n"
     "STAT 1:total_chunks 10922\r\n"
     "STAT 1:used_chunks 5\r\n"
     "STAT 1:free_chunks 10917\r\n"
     "STAT 1:free_chunks_end 0\r\n"
     "STAT 1:get_hits 21\r\n"
     "STAT 1:cmd_set 27\r\n"
     "STAT 1:delete_hits 3\r\n"
     "STAT 1:incr_hits 5\r\n"
     "STAT 1:decr_hits 3\r\n"
     "STAT 1:cas_hits 1\r\n"
     "STAT 1:cas_badval 2\r\n"
     "STAT 1:touch_hits 4\r\n"
     "STAT 7:chunk_size 384\r\n"
     "STAT 7:chunks_per_page 2730\r\n"
     "STAT 7:total_pages 1\r\n"
     "STAT 7:total_chunks 2730\r\n"
     "STAT 7:used_chunks 1\r\n"
     "STAT 7:free_chunks 2729\r\n"
     "STAT 7:free_chunks_end 0\r\n"
     "STAT 7:get_hits 1\r\n"
     "STAT 7:cmd_set 1\r\n"
     "STAT 7:delete_hits 0\r\n"
     "STAT 7:incr_hits 0\r\n"
     "STAT 7:decr_hits 0\r\n"
     "STAT 7:cas_hits 0\r\n"
     "STAT 7:cas_badval 0\r\n"
     "STAT 7:touch_hits 0\r\n"
     "STAT active_slabs 2\r\n"
     "STAT total_malloced 2097152\r\n"
     "END\r\n"},
    {"stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n"},
    {"stats reset\r\n", "RESET\r\n"},
    {"stats detail off\r\n", "OK\r\n"},
    {"bogus\r\n", "ERROR\r\n"},
    {"set k 0 0 abc\r\n", "CLIENT_ERROR bad command line format\r\n"},
    {"incr k abc\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n"},
    {"delete a b c\r\n",
     "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"},
    {"gat abc k\r\n", "CLIENT_ERROR invalid exptime argument\r\n"},
    {"get {251*k}\r\n", "CLIENT_ERROR bad command line format\r\n"},
    {"shutdown\r\n", "ERROR: shutdown not enabled\r\n"},
    {"set big 0 0 2000000\r\n", "SERVER_ERROR object too large for cache\r\n"},
    {"ms mk 3 T0 F7\r\n", "HD\r\n"},
    {"ms bWs= 3 b c k\r\n", "HD c56 kbWs= b\r\n"},
    {"ms mk 3 c k Oab b\r\n", "CLIENT_ERROR error decoding key\r\n"},
    {"mg mk v\r\n", "VA 3\r\nabc\r\n"},
    {"mg mk s v f t c k Oab\r\n", "VA 3 s3 f0 t-1 c56 kbWs= b Oab\r\nabc\r\n"},
    {"mg mk\r\n", "HD\r\n"},
    {"mg mk k q\r\n", "HD kbWs= b\r\n"},
    {"mg bWs= b v k\r\n", "VA 3 kbWs= b\r\nabc\r\n"},
    {"mg mk h l t\r\n", "HD h1 l0 t-1\r\n"},
    {"mg nokey v\r\n", "EN\r\n"},
    {"mg nokey\r\n", "EN\r\n"},
    {"mg nokey v Oxx k\r\n", "EN Oxx knokey\r\n"},
    {"ms mk 3 MA\r\n", "HD\r\n"},
    {"ms mk 3 MP I\r\n", "HD\r\n"},
    {"ms nokey 3 MR\r\n", "NS\r\n"},
    {"ms mk 3 C1\r\n", "EX\r\n"},
    {"ms nokey 3 C1\r\n", "NF\r\n"},
    {"ms mk 3 MZ\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n"},
    {"ms empty 0 T0\r\n", "HD\r\n"},
    {"mg empty v s\r\n", "VA 0 s0\r\n\r\n"},
    {"md mk I T30\r\n", "HD\r\n"},
    {"mg mk v c\r\n", "VA 9 c60 X W\r\n123abcdef\r\n"},
    {"mg mk v c\r\n", "VA 9 c60 Z X\r\n123abcdef\r\n"},
    {"mg viv v N30\r\n", "VA 0 W\r\n\r\n"},
    {"mg viv v N30\r\n", "VA 0 Z\r\n\r\n"},
    {"md mk\r\n", "HD\r\n"},
    {"md mk\r\n", "NF\r\n"},
    {"md mk q\r\n", "NF\r\n"},
    {"md nokey Oq k\r\n", "NF Oq knokey\r\n"},
    {"md n C1\r\n", "EX\r\n"},
    {"ma n C1\r\n", "EX\r\n"},
    {"ma n\r\n", "HD\r\n"},
    {"ma n v\r\n", "VA 1\r\n7\r\n"},
    {"ma n v t c N0 MD D3\r\n", "VA 1 t-1 c65\r\n4\r\n"},
    {"ma nokey\r\n", "NF\r\n"},
    {"ma viv2 N0 J13 v\r\n", "VA 2\r\n13\r\n"},
    {"ma k\r\n",
     "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
    {"mn\r\n", "MN\r\n"},
    {"me empty\r\n", "ME empty exp=-1 la=0 cas=59 fetch=yes cls=1 size=64\r\n"},
    {"me bWs= b\r\n", "EN\r\n"},
    {"me nokey\r\n", "EN\r\n"},
    {"mg mk zz\r\n", "CLIENT_ERROR invalid flag\r\n"},
    {"mg\r\n", "ERROR\r\n"},
    {"ms mk abc\r\n", "CLIENT_ERROR bad command line format\r\n"},
    {"mg mk v v\r\n", "CLIENT_ERROR duplicate flag\r\n"},
    {"mg {251*k} v\r\n", "CLIENT_ERROR bad command line format\r\n"},
    {"mg mk v Ooooooooooooooooooooooooooooooooooooooooo\r\n", "CLIENT_ERROR opaque token too long\r\n"},
    {"mg mk s v k b\r\n", "CLIENT_ERROR error decoding key\r\n"},
    // Unsolicited: written to a connection beyond memcached -c 30, then closed.
    {"", "ERROR Too many open connections\r\n"},
};
// END CAPTURED
// clang-format on

ReplyParseResult parse(std::string_view bytes, Reply& out, uint64_t max = kMaxValue) {
  return parse_reply_header(std::span<const char>(bytes.data(), bytes.size()), out, max);
}

ReplyParseResult::Status status_of(std::string_view bytes, uint64_t max = kMaxValue) {
  Reply reply;
  return parse(bytes, reply, max).status;
}

struct Step {
  Reply reply;
  size_t offset = 0;    // where the reply's line starts in the stream
  size_t consumed = 0;  // bytes of the line
};

// Parses a whole reply stream, streaming each data block past as a caller would.
std::vector<Step> walk(std::string_view bytes) {
  std::vector<Step> steps;
  size_t pos = 0;
  while (pos < bytes.size()) {
    Step step;
    step.offset = pos;
    const ReplyParseResult r = parse(bytes.substr(pos), step.reply);
    EXPECT_EQ(r.status, ReplyParseResult::kReply) << "at " << pos << " of " << bytes;
    if (r.status != ReplyParseResult::kReply) break;
    step.consumed = r.consumed;
    pos += r.consumed;
    if (step.reply.has_value()) {
      const uint64_t block = step.reply.value_length + 2;
      EXPECT_LE(pos + block, bytes.size()) << bytes;
      EXPECT_EQ(bytes.substr(pos + step.reply.value_length, 2), "\r\n") << bytes;
      pos += block;
    }
    steps.push_back(step);
  }
  return steps;
}

bool is_error(ReplyKind kind) {
  return kind == ReplyKind::kError || kind == ReplyKind::kClientError ||
         kind == ReplyKind::kServerError;
}

// Every captured reply parses to the end, and ends the response of its own request:
// all but the last reply are kPart, the last is kLast. Requests mcguard's own parser
// refuses (so they would never be forwarded) were answered with one error line.
TEST(ReplyCaptured, EachReplyParsesAndEndsItsRequest) {
  size_t replies = 0;
  for (const Transcript& t : kCaptured) {
    const std::string request = expand(t.request);
    const std::string reply = expand(t.reply);
    SCOPED_TRACE(request + " => " + reply);
    Request parsed;
    const ParseResult header = testing::parse(request, parsed);
    const std::vector<Step> steps = walk(reply);
    ASSERT_FALSE(steps.empty());
    replies += steps.size();
    if (header.status != ParseResult::Status::kRequest) {
      ASSERT_EQ(steps.size(), 1u);
      EXPECT_TRUE(is_error(steps[0].reply.kind));
      continue;
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      const ReplyRole want = i + 1 == steps.size() ? ReplyRole::kLast : ReplyRole::kPart;
      EXPECT_EQ(reply_role(parsed.command, steps[i].reply.kind), want) << steps[i].reply.line;
    }
    EXPECT_TRUE(reply_ends_response(parsed.command, steps.back().reply.kind));
  }
  EXPECT_GT(replies, 300u);
}

// Each reply line, cut short anywhere, waits for more; whole, it parses the same with or
// without the bytes that follow it.
TEST(ReplyCaptured, EveryPrefixOfEveryLineNeedsMore) {
  for (const Transcript& t : kCaptured) {
    const std::string reply = expand(t.reply);
    for (const Step& step : walk(reply)) {
      const std::string line = reply.substr(step.offset, step.consumed);
      for (size_t cut = 0; cut < line.size(); ++cut) {
        Reply untouched;
        untouched.number = 77;
        const ReplyParseResult r = parse(std::string_view(line).substr(0, cut), untouched);
        EXPECT_EQ(r.status, ReplyParseResult::kNeedMore) << line << " cut at " << cut;
        EXPECT_EQ(untouched.number, 77u);  // not written
      }
      Reply alone;
      const ReplyParseResult r = parse(line, alone);
      ASSERT_EQ(r.status, ReplyParseResult::kReply) << line;
      EXPECT_EQ(r.consumed, line.size());
      EXPECT_EQ(alone.kind, step.reply.kind);
      EXPECT_EQ(alone.line, step.reply.line);
    }
  }
}

// The whole capture as one pipelined stream, arriving in chunks of varying sizes
// into a receive buffer: the same replies, in order, as parsing it whole.
TEST(ReplyCaptured, ChunkedStreamParsesTheSame) {
  std::string stream;
  for (const Transcript& t : kCaptured) stream += expand(t.reply);
  const std::vector<Step> whole = walk(stream);
  for (size_t chunk : {1u, 2u, 3u, 7u, 64u, 1000u, 4096u}) {
    SCOPED_TRACE(chunk);
    std::string buffer;
    size_t fed = 0;
    size_t next = 0;
    uint64_t data_left = 0;  // bytes of a data block still to skip
    while (fed < stream.size() || !buffer.empty()) {
      if (fed < stream.size()) {
        buffer.append(stream, fed, chunk);
        fed += std::min(chunk, stream.size() - fed);
      }
      for (;;) {
        if (data_left > 0) {
          const uint64_t skip = std::min<uint64_t>(data_left, buffer.size());
          buffer.erase(0, skip);
          data_left -= skip;
          if (data_left > 0) break;
        }
        Reply reply;
        const ReplyParseResult r = parse(buffer, reply);
        ASSERT_NE(r.status, ReplyParseResult::kMalformed);
        if (r.status == ReplyParseResult::kNeedMore) break;
        ASSERT_LT(next, whole.size());
        EXPECT_EQ(reply.kind, whole[next].reply.kind);
        EXPECT_EQ(reply.line, whole[next].reply.line);
        EXPECT_EQ(reply.value_length, whole[next].reply.value_length);
        ++next;
        if (reply.has_value()) data_left = reply.value_length + 2;
        buffer.erase(0, r.consumed);
      }
      if (fed == stream.size() && data_left == 0 && next == whole.size()) break;
    }
    EXPECT_EQ(next, whole.size());
    EXPECT_TRUE(buffer.empty());
  }
}

Reply must_parse(std::string_view line, uint64_t max = kMaxValue) {
  Reply reply;
  const ReplyParseResult r = parse(line, reply, max);
  EXPECT_EQ(r.status, ReplyParseResult::kReply) << line;
  EXPECT_EQ(r.consumed, line.size()) << line;
  return reply;
}

// Field values of captured lines.
TEST(ReplyFields, ClassicLines) {
  Reply r = must_parse("VALUE k 5 3\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kValue);
  EXPECT_EQ(r.line, "VALUE k 5 3");
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.flags, 5u);
  EXPECT_EQ(r.value_length, 3u);
  EXPECT_FALSE(r.has_cas);

  r = must_parse("VALUE k2 4294967295 0 36\r\n");
  EXPECT_EQ(r.key, "k2");
  EXPECT_EQ(r.flags, 4294967295u);
  EXPECT_EQ(r.value_length, 0u);
  EXPECT_TRUE(r.has_cas);
  EXPECT_EQ(r.cas, 36u);

  r = must_parse(expand("VALUE {250*k} 7 2 18446744073709551615\r\n"));
  EXPECT_EQ(r.key.size(), 250u);
  EXPECT_EQ(r.cas, UINT64_MAX);

  r = must_parse("18446744073709551615\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kNumber);
  EXPECT_EQ(r.number, UINT64_MAX);
  EXPECT_EQ(must_parse("0\r\n").number, 0u);

  r = must_parse("VERSION 1.6.18\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kVersion);
  EXPECT_EQ(r.text, "1.6.18");

  r = must_parse("STAT libevent 2.1.12-stable\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kStat);
  EXPECT_EQ(r.key, "libevent");
  EXPECT_EQ(r.text, "2.1.12-stable");
  EXPECT_EQ(must_parse("STAT ssl_chain_cert (null)\r\n").text, "(null)");
  EXPECT_EQ(must_parse("STAT x \r\n").text, "");  // memcached writes "STAT %s %s"

  // stats cachedump: "ITEM <key> [<bytes> b; <time> s]".
  r = must_parse("ITEM n [1 b; 0 s]\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kItem);
  EXPECT_EQ(r.key, "n");
  EXPECT_EQ(r.text, "[1 b; 0 s]");

  r = must_parse("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kClientError);
  EXPECT_EQ(r.text, "bad command line format.  Usage: delete <key> [noreply]");
  r = must_parse("SERVER_ERROR out of memory storing object\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kServerError);
  EXPECT_EQ(r.text, "out of memory storing object");
  r = must_parse("ERROR\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kError);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(must_parse("ERROR Too many open connections\r\n").text, "Too many open connections");
  EXPECT_EQ(must_parse("ERROR: shutdown not enabled\r\n").text, "shutdown not enabled");

  const std::pair<std::string_view, ReplyKind> words[] = {
      {"END\r\n", ReplyKind::kEnd},
      {"STORED\r\n", ReplyKind::kStored},
      {"NOT_STORED\r\n", ReplyKind::kNotStored},
      {"EXISTS\r\n", ReplyKind::kExists},
      {"NOT_FOUND\r\n", ReplyKind::kNotFound},
      {"DELETED\r\n", ReplyKind::kDeleted},
      {"TOUCHED\r\n", ReplyKind::kTouched},
      {"OK\r\n", ReplyKind::kOk},
      {"RESET\r\n", ReplyKind::kReset},
      {"MN\r\n", ReplyKind::kMetaNoop},
      {"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n", ReplyKind::kMemlimit},
  };
  for (const auto& [line, kind] : words) EXPECT_EQ(must_parse(line).kind, kind) << line;
}

TEST(ReplyFields, MetaLines) {
  Reply r = must_parse("VA 3 s3 f0 t-1 c23 kbWs= b Oab\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kMetaValue);
  EXPECT_EQ(r.value_length, 3u);
  EXPECT_EQ(r.meta_flags, "s3 f0 t-1 c23 kbWs= b Oab");
  r = must_parse("VA 0\r\n");
  EXPECT_EQ(r.value_length, 0u);
  EXPECT_EQ(r.meta_flags, "");

  const std::pair<std::string_view, ReplyKind> codes[] = {
      {"HD", ReplyKind::kMetaHit},      {"EN", ReplyKind::kMetaMiss},
      {"NF", ReplyKind::kMetaNotFound}, {"NS", ReplyKind::kMetaNotStored},
      {"EX", ReplyKind::kMetaExists},
  };
  for (const auto& [code, kind] : codes) {
    const std::string bare = std::string(code) + "\r\n";  // the Reply borrows it
    r = must_parse(bare);
    EXPECT_EQ(r.kind, kind);
    EXPECT_EQ(r.meta_flags, "");
    const std::string flagged = std::string(code) + " Oq knokey\r\n";
    r = must_parse(flagged);
    EXPECT_EQ(r.kind, kind);
    EXPECT_EQ(r.meta_flags, "Oq knokey");
  }

  r = must_parse("ME empty exp=-1 la=0 cas=26 fetch=yes cls=1 size=64\r\n");
  EXPECT_EQ(r.kind, ReplyKind::kMetaDebug);
  EXPECT_EQ(r.key, "empty");
  EXPECT_EQ(r.text, "exp=-1 la=0 cas=26 fetch=yes cls=1 size=64");
}

// The size bound is the caller's: a value one byte over it is refused, header only.
TEST(ReplyLimits, ValueLengthAboveTheLimitIsMalformed) {
  EXPECT_EQ(must_parse("VALUE k 0 100\r\n", 100).value_length, 100u);
  EXPECT_EQ(status_of("VALUE k 0 101\r\n", 100), ReplyParseResult::kMalformed);
  EXPECT_EQ(must_parse("VA 100 f1\r\n", 100).value_length, 100u);
  EXPECT_EQ(status_of("VA 101 f1\r\n", 100), ReplyParseResult::kMalformed);
  EXPECT_EQ(status_of("VA 1\r\n", 0), ReplyParseResult::kMalformed);
  EXPECT_EQ(must_parse("VALUE k 0 0\r\n", 0).value_length, 0u);
  EXPECT_EQ(status_of("VALUE k 0 18446744073709551615\r\n", UINT64_MAX), ReplyParseResult::kReply);
  EXPECT_EQ(status_of("VALUE k 0 18446744073709551616\r\n", UINT64_MAX),
            ReplyParseResult::kMalformed);
}

TEST(ReplyLimits, LineLengthBound) {
  // kMaxReplyLineLength bytes before the '\n' ('\r' included) is the longest line.
  const std::string longest = "SERVER_ERROR " + std::string(kMaxReplyLineLength - 14, 'x') + "\r\n";
  ASSERT_EQ(longest.size(), kMaxReplyLineLength + 1);
  EXPECT_EQ(must_parse(longest).kind, ReplyKind::kServerError);
  const std::string over = "SERVER_ERROR " + std::string(kMaxReplyLineLength - 13, 'x') + "\r\n";
  EXPECT_EQ(status_of(over), ReplyParseResult::kMalformed);
  // Without a newline: waits up to the bound, then gives up, however the bytes came.
  const std::string open = over.substr(0, kMaxReplyLineLength);
  EXPECT_EQ(status_of(open), ReplyParseResult::kNeedMore);
  EXPECT_EQ(status_of(open + "x"), ReplyParseResult::kMalformed);
  EXPECT_EQ(status_of(std::string(1 << 20, 'x')), ReplyParseResult::kMalformed);
  EXPECT_EQ(status_of(""), ReplyParseResult::kNeedMore);
}

// Lines a memcached never writes. Each is checked alone and followed by a valid line.
TEST(ReplyMalformed, Table) {
  using namespace std::string_view_literals;
  const std::string_view lines[] = {
      "\r\n",
      "\n",
      "\r\r\n",
      "STORED\n",
      "STORED\r\r\n",
      "STORED \r\n",
      " STORED\r\n",
      "stored\r\n",
      "STORED\000\r\n"sv,
      "STOREDX\r\n",
      "END END\r\n",
      "OK\tx\r\n",
      "RESET now\r\n",
      // numbers: bare digits, 64-bit
      "-1\r\n",
      "+1\r\n",
      "1 \r\n",
      "12 34\r\n",
      "1x\r\n",
      "18446744073709551616\r\n",
      "99999999999999999999999\r\n",
      "0x10\r\n",
      // VALUE
      "VALUE\r\n",
      "VALUE \r\n",
      "VALUE k\r\n",
      "VALUE k 0\r\n",
      "VALUE k 0 \r\n",
      "VALUE k 0 3 \r\n",
      "VALUE k 0 3 1 2\r\n",
      "VALUE  k 0 3\r\n",
      "VALUE k  0 3\r\n",
      "VALUE k -0 3\r\n",
      "VALUE k +0 3\r\n",
      "VALUE k 0 -3\r\n",
      "VALUE k 0 3 -1\r\n",
      "VALUE k 4294967296 3\r\n",
      "VALUE k 0 3 18446744073709551616\r\n",
      "VALUE k 0 2000000\r\n",
      "VALUE k\rx 0 1\r\n",  // control bytes may stand in a key, '\r' not
      "VA 1 kk\001x\r\n",    // nor in a flag
      "VALUE k 0 1\r\r\n",
      "VALUEk 0 1\r\n",
      "VALUES k 0 1\r\n",
      // meta
      "VA\r\n",
      "VA \r\n",
      "VA -1\r\n",
      "VA x\r\n",
      "VA 3 \r\n",
      "VA 3  f1\r\n",
      "VA 2000000\r\n",
      "VA 3 1x\r\n",
      "VA 3 f1 \r\n",
      "HD \r\n",
      "HD  t1\r\n",
      "HD 1\r\n",
      "HD t1 \r\n",
      "HD -1\r\n",
      "HDt1\r\n",
      "ENX\r\n",
      "NF k\001\r\n",
      "MN t1\r\n",
      "MN \r\n",
      "ME\r\n",
      "ME k\r\n",
      "ME k \r\n",
      "ME  k x\r\n",
      "ME k x\001\r\n",  // control bytes may stand in the key, not in the text
      "hd\r\n",
      "XX\r\n",
      // text lines
      "VERSION\r\n",
      "VERSION \r\n",
      "VERSION 1.6\0018\r\n",
      "STAT\r\n",
      "STAT \r\n",
      "STAT name\r\n",
      "STAT  x\r\n",
      "STAT n\001 x\r\n",
      "STAT n x\001\r\n",
      "ERROR \r\n",
      "ERROR:\r\n",
      "ERROR: \r\n",
      "ERRORS\r\n",
      "CLIENT_ERROR\r\n",
      "CLIENT_ERROR \r\n",
      "SERVER_ERROR\r\n",
      "SERVER_ERROR x\000y\r\n"sv,
      "Error TLS not enabled\r\n",
      // replies of commands mcguard answers itself, which this parser does not know
      "PREFIX a get 1 hit 1 set 1 del 0\r\n",
      "ITEM\r\n",
      "ITEM n\r\n",
      "ITEM n \r\n",
      // garbage
      "HTTP/1.1 200 OK\r\n",
      "\377\377\r\n",
      "\000\r\n"sv,
  };
  for (const std::string_view line : lines) {
    EXPECT_EQ(status_of(line), ReplyParseResult::kMalformed) << line;
    EXPECT_EQ(status_of(std::string(line) + "END\r\n"), ReplyParseResult::kMalformed) << line;
    // A malformed line leaves `out` as it was.
    Reply out;
    out.number = 5;
    parse(line, out);
    EXPECT_EQ(out.number, 5u);
  }
}

// memcached stores and returns keys with control characters and DEL (captured below):
// VALUE and ME lines take them. A meta reply's k flag does not (its flags are printable
// tokens), so the tier forwards such keys in classic commands only.
TEST(ReplyCaptured, ControlCharacterKeysMemcachedAccepts) {
  // "set k\001x 0 0 1\r\nx\r\n" then "get k\001x\r\n":
  EXPECT_EQ(status_of("VALUE k\001x 0 1\r\nx\r\nEND\r\n"), ReplyParseResult::kReply);
  // "me \020\020k\r\n":
  EXPECT_EQ(status_of("ME \020\020k exp=-1 la=0 cas=2 fetch=yes cls=1 size=63\r\n"),
            ReplyParseResult::kReply);
  // "stats cachedump 1 0" after that set:
  EXPECT_EQ(status_of("ITEM k\001x [1 b; 0 s]\r\nEND\r\n"), ReplyParseResult::kReply);
  // "mg k\001x v k\r\n":
  EXPECT_EQ(status_of("VA 1 kk\001x\r\nx\r\n"), ReplyParseResult::kMalformed);
  EXPECT_TRUE(is_valid_reply_key("k\001x"));
  EXPECT_TRUE(is_valid_reply_key("k\177"));
  EXPECT_TRUE(is_valid_reply_key("tab\tkey"));
  EXPECT_FALSE(is_valid_reply_key("k x"));
  EXPECT_FALSE(is_valid_reply_key("cr\rin"));
  EXPECT_FALSE(is_valid_reply_key("lf\nin"));
  EXPECT_FALSE(is_valid_reply_key(std::string("nul\0in", 6)));
  EXPECT_FALSE(is_valid_reply_key(""));
  EXPECT_FALSE(is_valid_reply_key(expand("{251*k}")));
  EXPECT_TRUE(is_valid_reply_key(expand("{250*k}")));
  EXPECT_TRUE(is_valid_reply_key("user:\303\251t\303\251"));  // UTF-8
  EXPECT_FALSE(is_valid_meta_reply_key("k\001x"));
  EXPECT_FALSE(is_valid_meta_reply_key("k\177"));
  EXPECT_FALSE(is_valid_meta_reply_key(expand("{251*k}")));
  EXPECT_TRUE(is_valid_meta_reply_key(expand("{250*k}")));
  EXPECT_TRUE(is_valid_meta_reply_key("user:\303\251t\303\251"));
}

// memcached answers a storage command whose data block is not followed by "\r\n" with
// two error lines; mcguard never forwards such a block (its parser checks the block),
// and the two lines are still two well-formed replies.
TEST(ReplyCaptured, BadDataChunkIsTwoLines) {
  // "set k 0 0 1\r\nxyz\r\n" =>
  const std::vector<Step> steps = walk("CLIENT_ERROR bad data chunk\r\nERROR\r\n");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].reply.kind, ReplyKind::kClientError);
  EXPECT_EQ(steps[1].reply.kind, ReplyKind::kError);
}

// An independent statement of the grammar, as regular expressions. Bytes >= 0x80 may
// stand in keys and flag values but are neither letters nor digits, so they are mapped
// to '~'. Control bytes and DEL may stand in VALUE, ME and ITEM keys only, but '\r' and NUL
// never, so they are mapped to '\x01', and '\r' and NUL to '\x02': std::regex sees ASCII.
struct Expected {
  bool valid = false;
  ReplyKind kind = ReplyKind::kEnd;
  size_t consumed = 0;
};

// Whether a decimal string is at most `max` (compared as digit strings, not parsed).
bool decimal_at_most(const std::string& digits, uint64_t max) {
  const size_t first = digits.find_first_not_of('0');
  const std::string value = first == std::string::npos ? "0" : digits.substr(first);
  const std::string limit = std::to_string(max);
  return value.size() < limit.size() || (value.size() == limit.size() && value <= limit);
}

Expected grammar(std::string_view input, uint64_t max) {
  Expected e;
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos || newline > kMaxReplyLineLength) return e;
  if (newline == 0 || input[newline - 1] != '\r') return e;
  std::string line;
  for (char c : input.substr(0, newline - 1)) {
    const auto byte = static_cast<unsigned char>(c);
    line += byte >= 0x80                    ? '~'
            : (byte == '\r' || byte == 0)   ? '\x02'
            : (byte < 0x20 || byte == 0x7f) ? '\x01'
                                            : c;
  }
  e.consumed = newline + 1;
  static const std::regex kWord(
      "END|STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|TOUCHED|OK|RESET|MN|ERROR");
  static const std::regex kNumber("[0-9]+");
  static const std::regex kValue("VALUE [\x01!-~]{1,250} ([0-9]+) ([0-9]+)( ([0-9]+))?");
  static const std::regex kMetaValue("VA ([0-9]+)( [A-Za-z][!-~]*)*");
  static const std::regex kMetaStatus("(HD|EN|NF|NS|EX)( [A-Za-z][!-~]*)*");
  static const std::regex kMetaDebug("ME [\x01!-~]{1,250} [ -~]+");
  static const std::regex kStat("STAT [!-~]+ [ -~]*");
  static const std::regex kItem("ITEM [\x01!-~]{1,250} [ -~]+");
  static const std::regex kText("(VERSION|ERROR|ERROR:|CLIENT_ERROR|SERVER_ERROR) [ -~]+");
  std::smatch m;
  e.valid = true;
  if (std::regex_match(line, m, kWord)) {
    const std::pair<const char*, ReplyKind> words[] = {
        {"END", ReplyKind::kEnd},
        {"STORED", ReplyKind::kStored},
        {"NOT_STORED", ReplyKind::kNotStored},
        {"EXISTS", ReplyKind::kExists},
        {"NOT_FOUND", ReplyKind::kNotFound},
        {"DELETED", ReplyKind::kDeleted},
        {"TOUCHED", ReplyKind::kTouched},
        {"OK", ReplyKind::kOk},
        {"RESET", ReplyKind::kReset},
        {"MN", ReplyKind::kMetaNoop},
        {"ERROR", ReplyKind::kError},
    };
    for (const auto& [word, kind] : words) {
      if (line == word) e.kind = kind;
    }
  } else if (std::regex_match(line, kNumber)) {
    e.kind = ReplyKind::kNumber;
    e.valid = decimal_at_most(line, UINT64_MAX);
  } else if (std::regex_match(line, m, kValue)) {
    e.kind = ReplyKind::kValue;
    e.valid = decimal_at_most(m[1], UINT32_MAX) && decimal_at_most(m[2], max) &&
              (!m[4].matched || decimal_at_most(m[4], UINT64_MAX));
  } else if (std::regex_match(line, m, kMetaValue)) {
    e.kind = ReplyKind::kMetaValue;
    e.valid = decimal_at_most(m[1], max);
  } else if (std::regex_match(line, m, kMetaStatus)) {
    const std::string code = m[1];
    e.kind = code == "HD"   ? ReplyKind::kMetaHit
             : code == "EN" ? ReplyKind::kMetaMiss
             : code == "NF" ? ReplyKind::kMetaNotFound
             : code == "NS" ? ReplyKind::kMetaNotStored
                            : ReplyKind::kMetaExists;
  } else if (std::regex_match(line, kMetaDebug)) {
    e.kind = ReplyKind::kMetaDebug;
  } else if (std::regex_match(line, kStat)) {
    e.kind = ReplyKind::kStat;
  } else if (std::regex_match(line, kItem)) {
    e.kind = ReplyKind::kItem;
  } else if (std::regex_match(line, m, kText)) {
    const std::string word = m[1];
    e.kind = word == "VERSION"        ? ReplyKind::kVersion
             : word == "CLIENT_ERROR" ? ReplyKind::kClientError
             : word == "SERVER_ERROR" ? ReplyKind::kServerError
                                      : ReplyKind::kError;
  } else {
    e.valid = false;
  }
  return e;
}

void expect_agrees(std::string_view input, uint64_t max) {
  const Expected e = grammar(input, max);
  Reply reply;
  const ReplyParseResult r = parse(input, reply, max);
  if (e.valid) {
    EXPECT_EQ(r.status, ReplyParseResult::kReply) << input;
    EXPECT_EQ(reply.kind, e.kind) << input;
    EXPECT_EQ(r.consumed, e.consumed) << input;
  } else if (input.find('\n') == std::string_view::npos && input.size() <= kMaxReplyLineLength) {
    EXPECT_EQ(r.status, ReplyParseResult::kNeedMore) << input;
  } else {
    EXPECT_EQ(r.status, ReplyParseResult::kMalformed) << input;
  }
}

TEST(ReplyGrammar, CapturedLinesAgree) {
  for (const Transcript& t : kCaptured) {
    const std::string reply = expand(t.reply);
    for (const Step& step : walk(reply)) {
      const std::string_view line = std::string_view(reply).substr(step.offset, step.consumed);
      ASSERT_TRUE(grammar(line, kMaxValue).valid) << line;
      expect_agrees(line, kMaxValue);
    }
  }
}

// Captured lines with a few random edits (bytes replaced, inserted, deleted, lines cut
// or joined), and random bytes: the parser and the grammar agree on every one.
TEST(ReplyGrammar, MutatedAndRandomLinesAgree) {
  std::vector<std::string> lines;
  for (const Transcript& t : kCaptured) {
    const std::string reply = expand(t.reply);
    for (const Step& step : walk(reply)) lines.push_back(reply.substr(step.offset, step.consumed));
  }
  // Sized from the literal, which holds a NUL.
  static constexpr char kAlphabetBytes[] =
      " \r\n0123456789-+:=_ \001\t\177\377\000aAbkstcfvOZHDENFSXVLUMRT";
  constexpr std::string_view kAlphabet(kAlphabetBytes, sizeof kAlphabetBytes - 1);
  std::mt19937 rng(20240611);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  size_t replies = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string s = lines[pick(lines.size())];
    const size_t edits = 1 + pick(3);
    for (size_t e = 0; e < edits; ++e) {
      const char c = kAlphabet[pick(kAlphabet.size())];
      switch (pick(6)) {
        case 0:
          s[pick(s.size())] = c;
          break;
        case 1:
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(pick(s.size() + 1)), c);
          break;
        case 2:
          if (s.size() > 1) s.erase(pick(s.size()), 1);
          break;
        case 3:
          s.resize(pick(s.size() + 1));
          break;
        case 4:
          s += lines[pick(lines.size())];
          break;
        default: {  // a digit run grows: numbers near and past their bounds
          const size_t at = s.find_first_of("0123456789");
          if (at != std::string::npos) s.insert(at, std::string(1 + pick(20), "09"[pick(2)]));
        }
      }
      if (s.empty()) s = "x";
    }
    const uint64_t max = pick(4) == 0 ? pick(10) : kMaxValue;
    expect_agrees(s, max);
    if (grammar(s, max).valid) ++replies;
  }
  for (int i = 0; i < 5000; ++i) {
    std::string s(pick(40), '\0');
    for (char& c : s)
      c = pick(2) ? kAlphabet[pick(kAlphabet.size())] : static_cast<char>(pick(256));
    s += "\r\n";
    expect_agrees(s, kMaxValue);
  }
  // Both outcomes were exercised, not only rejections.
  EXPECT_GT(replies, 3000u);
}

// reply_role, command by command (the captured transcripts cover the common paths).
TEST(ReplyRole, ErrorsEndEveryResponse) {
  for (int c = static_cast<int>(Command::kNone); c <= static_cast<int>(Command::kMetaDebug); ++c) {
    const Command command = static_cast<Command>(c);
    for (ReplyKind kind : {ReplyKind::kError, ReplyKind::kClientError, ReplyKind::kServerError}) {
      EXPECT_EQ(reply_role(command, kind), ReplyRole::kLast) << c;
      EXPECT_TRUE(reply_ends_response(command, kind));
    }
  }
}

TEST(ReplyRole, PartsAndEnds) {
  using C = Command;
  using K = ReplyKind;
  struct Case {
    Command command;
    ReplyKind kind;
    ReplyRole role;
  };
  constexpr ReplyRole kPart = ReplyRole::kPart;
  constexpr ReplyRole kLast = ReplyRole::kLast;
  constexpr ReplyRole kNo = ReplyRole::kUnexpected;
  const Case cases[] = {
      {C::kGet, K::kValue, kPart},
      {C::kGet, K::kEnd, kLast},
      {C::kGets, K::kValue, kPart},
      {C::kGats, K::kEnd, kLast},
      {C::kGet, K::kStored, kNo},
      {C::kGet, K::kMetaValue, kNo},
      {C::kGet, K::kStat, kNo},
      {C::kSet, K::kStored, kLast},
      {C::kSet, K::kNotStored, kLast},
      {C::kCas, K::kExists, kLast},
      {C::kCas, K::kNotFound, kLast},
      {C::kAppend, K::kNotStored, kLast},
      {C::kSet, K::kEnd, kNo},
      {C::kSet, K::kValue, kNo},
      {C::kSet, K::kMetaHit, kNo},
      {C::kDelete, K::kDeleted, kLast},
      {C::kDelete, K::kNotFound, kLast},
      {C::kDelete, K::kStored, kNo},
      {C::kIncr, K::kNumber, kLast},
      {C::kDecr, K::kNotFound, kLast},
      {C::kIncr, K::kStored, kNo},
      {C::kTouch, K::kTouched, kLast},
      {C::kTouch, K::kNotFound, kLast},
      {C::kTouch, K::kDeleted, kNo},
      {C::kFlushAll, K::kOk, kLast},
      {C::kVerbosity, K::kOk, kLast},
      {C::kVerbosity, K::kMemlimit, kNo},
      {C::kCacheMemlimit, K::kOk, kLast},
      {C::kCacheMemlimit, K::kMemlimit, kLast},
      {C::kVersion, K::kVersion, kLast},
      {C::kVersion, K::kOk, kNo},
      {C::kStats, K::kStat, kPart},
      {C::kStats, K::kItem, kPart},
      {C::kStats, K::kEnd, kLast},
      {C::kStats, K::kReset, kLast},
      {C::kStats, K::kOk, kLast},
      {C::kStats, K::kValue, kNo},
      {C::kQuit, K::kEnd, kNo},
      {C::kNone, K::kStored, kNo},
      {C::kMetaGet, K::kMetaValue, kLast},
      {C::kMetaGet, K::kMetaHit, kLast},
      {C::kMetaGet, K::kMetaMiss, kLast},
      {C::kMetaGet, K::kMetaNotFound, kNo},
      {C::kMetaGet, K::kEnd, kNo},
      {C::kMetaGet, K::kMetaNoop, kNo},
      {C::kMetaSet, K::kMetaHit, kLast},
      {C::kMetaSet, K::kMetaNotStored, kLast},
      {C::kMetaSet, K::kMetaExists, kLast},
      {C::kMetaSet, K::kMetaNotFound, kLast},
      {C::kMetaSet, K::kMetaValue, kNo},
      {C::kMetaDelete, K::kMetaHit, kLast},
      {C::kMetaDelete, K::kMetaNotFound, kLast},
      {C::kMetaDelete, K::kMetaExists, kLast},
      {C::kMetaDelete, K::kMetaMiss, kNo},
      {C::kMetaArithmetic, K::kMetaValue, kLast},
      {C::kMetaArithmetic, K::kMetaHit, kLast},
      {C::kMetaArithmetic, K::kMetaNotFound, kLast},
      {C::kMetaArithmetic, K::kMetaNotStored, kLast},
      {C::kMetaArithmetic, K::kMetaExists, kLast},
      {C::kMetaArithmetic, K::kNumber, kNo},
      {C::kMetaNoop, K::kMetaNoop, kLast},
      {C::kMetaNoop, K::kMetaHit, kNo},
      {C::kMetaDebug, K::kMetaDebug, kLast},
      {C::kMetaDebug, K::kMetaMiss, kLast},
      {C::kMetaDebug, K::kMetaHit, kNo},
      {C::kGet, K::kItem, kNo},
      {C::kCacheMemlimit, K::kOk, kLast},
      {C::kCacheMemlimit, K::kStat, kNo},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(reply_role(c.command, c.kind), c.role)
        << static_cast<int>(c.command) << " " << static_cast<int>(c.kind);
    EXPECT_EQ(reply_ends_response(c.command, c.kind), c.role == kLast);
  }
}

}  // namespace
}  // namespace mcguard
