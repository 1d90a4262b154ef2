// Statistics of the upstream tier: memcached's command counters, counted from
// the traffic mcguard forwards (a known mix, with 1 and 3 upstreams, a split
// value among it), and the storage figures gathered from every upstream: plain
// stats' curr_items, bytes and the like, `stats slabs`, `items` and
// `cachedump`, which must equal what the upstreams say when asked directly,
// summed by proxy/upstream/stats_merge.h's rules. An upstream that is down is
// left out and the reply still ends in END.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "differential.h"
#include "upstream_fixture.h"

namespace mcguard::e2e {
namespace {

using StatLines = std::vector<std::pair<std::string, std::string>>;

// A whole stats reply: through END, or one error line.
size_t stats_reply_end(std::string_view bytes) {
  if (bytes.starts_with("END\r\n")) return 5;
  if (bytes.starts_with("ERROR") || bytes.starts_with("CLIENT_ERROR") ||
      bytes.starts_with("SERVER_ERROR")) {
    const size_t newline = bytes.find('\n');
    return newline == std::string_view::npos ? 0 : newline + 1;
  }
  const size_t end = bytes.find("\r\nEND\r\n");
  return end == std::string_view::npos ? 0 : end + 7;
}

std::string stats_reply(Client& c, std::string_view args) {
  const std::string request = args.empty() ? "stats\r\n" : "stats " + std::string(args) + "\r\n";
  EXPECT_TRUE(c.send(request));
  ReadResult r = c.read_until(stats_reply_end, milliseconds(5000));
  EXPECT_FALSE(r.timed_out) << escape(r.bytes);
  EXPECT_FALSE(r.closed) << escape(r.bytes);
  return r.bytes;
}

StatLines stat_lines(std::string_view reply) {
  StatLines out;
  while (!reply.empty()) {
    const size_t end = reply.find("\r\n");
    const std::string_view line = reply.substr(0, end);
    if (line.starts_with("STAT ")) {
      const size_t space = line.find(' ', 5);
      out.emplace_back(std::string(line.substr(5, space - 5)), std::string(line.substr(space + 1)));
    }
    if (end == std::string_view::npos) break;
    reply.remove_prefix(end + 2);
  }
  return out;
}

std::map<std::string, std::string> stat_map(std::string_view reply) {
  std::map<std::string, std::string> out;
  for (auto& [name, value] : stat_lines(reply)) out.emplace(name, value);
  return out;
}

uint64_t number(const std::map<std::string, std::string>& stats, const std::string& name) {
  const auto found = stats.find(name);
  EXPECT_NE(found, stats.end()) << name;
  return found == stats.end() ? 0 : std::stoull(found->second);
}

std::set<std::string> item_keys(std::string_view reply) {
  std::set<std::string> keys;
  while (!reply.empty()) {
    const size_t end = reply.find("\r\n");
    const std::string_view line = reply.substr(0, end);
    if (line.starts_with("ITEM ")) keys.emplace(line.substr(5, line.find(' ', 5) - 5));
    if (end == std::string_view::npos) break;
    reply.remove_prefix(end + 2);
  }
  return keys;
}

constexpr const char* kCounters[] = {
    "cmd_get",      "get_hits",    "get_misses",    "cmd_set",    "cmd_touch",   "touch_hits",
    "touch_misses", "delete_hits", "delete_misses", "incr_hits",  "incr_misses", "decr_hits",
    "decr_misses",  "cas_hits",    "cas_misses",    "cas_badval", "cmd_flush"};

class UpstreamStats : public UpstreamTest {
 protected:
  std::map<std::string, uint64_t> counters(Client& c) {
    const auto stats = stat_map(stats_reply(c, ""));
    std::map<std::string, uint64_t> out;
    for (const char* name : kCounters) out[name] = number(stats, name);
    return out;
  }

  // Sends `request` and checks its whole reply.
  void expect_reply(Client& c, const std::string& request, const std::string& reply) {
    ASSERT_EQ(escape(ask(c, request).bytes), escape(reply + "MN\r\n")) << escape(request);
  }

  void known_traffic_is_counted(int upstreams);
  // Every numeric stat of `through` lies between the merge of the direct
  // answers before and after it (equal when those are equal).
  void expect_merged(std::string_view args, const std::string& through,
                     const std::vector<std::string>& before, const std::vector<std::string>& after);
  std::vector<std::string> direct_replies(std::string_view args, const std::vector<int>& servers);
};

std::vector<std::string> UpstreamStats::direct_replies(std::string_view args,
                                                       const std::vector<int>& servers) {
  std::vector<std::string> out;
  for (int i : servers) {
    Client d = connect_upstream(i);
    out.push_back(stats_reply(d, args));
  }
  return out;
}

// The merge rules of stats_merge.h, applied to the direct answers.
std::map<std::string, uint64_t> merged_numbers(const std::vector<std::string>& replies) {
  std::map<std::string, uint64_t> out;
  std::set<std::string> classes;
  for (const std::string& reply : replies) {
    for (auto& [name, value] : stat_lines(reply)) {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) continue;
      const uint64_t n = std::stoull(value);
      const std::string field = name.substr(name.rfind(':') + 1);
      if (name.find(':') != std::string::npos) classes.insert(name.substr(0, name.find(':')));
      if (field == "chunk_size" || field == "chunks_per_page") {
        out.emplace(name, n);
      } else if (field == "age" || field == "age_hot" || field == "age_warm" ||
                 field == "evicted_time") {
        out[name] = std::max(out[name], n);
      } else {
        out[name] += n;
      }
    }
  }
  if (out.contains("active_slabs")) out["active_slabs"] = classes.size();
  return out;
}

void UpstreamStats::expect_merged(std::string_view args, const std::string& through,
                                  const std::vector<std::string>& before,
                                  const std::vector<std::string>& after) {
  ASSERT_TRUE(through.ends_with("END\r\n")) << escape(through);
  const auto low = merged_numbers(before);
  const auto high = merged_numbers(after);
  std::map<std::string, std::string> got = stat_map(through);
  std::set<std::string> names;
  for (const std::string& reply : before) {
    for (auto& [name, value] : stat_lines(reply)) names.insert(name);
  }
  std::set<std::string> got_names;
  for (auto& [name, value] : got) got_names.insert(name);
  EXPECT_EQ(got_names, names) << args;
  EXPECT_EQ(stat_lines(through).size(), got.size()) << "a name twice in " << escape(through);
  for (const auto& [name, expected] : low) {
    const uint64_t value = number(got, name);
    const uint64_t top = high.contains(name) ? high.at(name) : expected;
    EXPECT_GE(value, std::min(expected, top)) << args << " " << name;
    EXPECT_LE(value, std::max(expected, top)) << args << " " << name;
  }
}

void UpstreamStats::known_traffic_is_counted(int upstreams) {
  ASSERT_NO_FATAL_FAILURE(start_upstreams(upstreams));
  // Values over 64 KiB (less the chunk overhead) are split into chunks.
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-item-size-max", "64k"}));
  const auto keys = keys_by_server("ck", 3);
  ASSERT_FALSE(HasFatalFailure());
  // Three keys, on three servers when there are three.
  const std::string a = keys.front()[0], b = keys.back()[1], k = keys[keys.size() / 2][2];
  Client c = connect_proxy();
  const auto start = counters(c);
  std::map<std::string, uint64_t> expected;
  for (const char* name : kCounters) expected[name] = 0;

  expect_reply(c, set_command(a, "va") + set_command(b, "vb"), "STORED\r\nSTORED\r\n");
  expected["cmd_set"] += 2;
  expect_reply(c, "get " + a + "\r\n", value_block(a, "va") + "END\r\n");
  expect_reply(c, "get nokey1\r\n", "END\r\n");
  expected["cmd_get"] += 2, expected["get_hits"] += 1, expected["get_misses"] += 1;
  // Across servers (with 3): hits on each, a miss between them.
  expect_reply(c, "get " + a + " nokey2 " + b + " " + k + "\r\n",
               value_block(a, "va") + value_block(b, "vb") + value_block(k, k) + "END\r\n");
  expected["cmd_get"] += 4, expected["get_hits"] += 3, expected["get_misses"] += 1;
  ASSERT_TRUE(c.send("gets " + a + "\r\n"));
  ASSERT_FALSE(c.read_until(stats_reply_end, milliseconds(5000)).timed_out);
  expected["cmd_get"] += 1, expected["get_hits"] += 1;

  expect_reply(c, "touch " + a + " 0\r\ntouch nokey3 0\r\n", "TOUCHED\r\nNOT_FOUND\r\n");
  expected["cmd_touch"] += 2, expected["touch_hits"] += 1, expected["touch_misses"] += 1;
  expect_reply(c, "gat 0 " + a + " nokey4\r\n", value_block(a, "va") + "END\r\n");
  expected["cmd_touch"] += 2, expected["touch_hits"] += 1, expected["touch_misses"] += 1;

  expect_reply(c, "delete " + b + "\r\ndelete " + b + "\r\n", "DELETED\r\nNOT_FOUND\r\n");
  expected["delete_hits"] += 1, expected["delete_misses"] += 1;

  expect_reply(c, set_command("cnum", "5"), "STORED\r\n");
  expected["cmd_set"] += 1;
  expect_reply(c, "incr cnum 2\r\nincr nokey5 1\r\ndecr cnum 1\r\ndecr nokey6 1\r\n",
               "7\r\nNOT_FOUND\r\n6\r\nNOT_FOUND\r\n");
  expected["incr_hits"] += 1, expected["incr_misses"] += 1;
  expected["decr_hits"] += 1, expected["decr_misses"] += 1;

  // cas: a hit, a bad value, a miss.
  ASSERT_TRUE(c.send("gets cnum\r\n"));
  const ReadResult gets = c.read_until(stats_reply_end, milliseconds(5000));
  expected["cmd_get"] += 1, expected["get_hits"] += 1;
  const std::string head = gets.bytes.substr(0, gets.bytes.find("\r\n"));
  const std::string cas = head.substr(head.rfind(' ') + 1);
  expect_reply(c,
               "cas cnum 0 0 1 " + cas + "\r\n8\r\ncas cnum 0 0 1 " + cas +
                   "\r\n9\r\ncas nokey7 0 0 1 1\r\n9\r\n",
               "STORED\r\nEXISTS\r\nNOT_FOUND\r\n");
  expected["cmd_set"] += 3, expected["cas_hits"] += 1, expected["cas_badval"] += 1,
      expected["cas_misses"] += 1;

  // Meta: mg hit and miss (a quiet miss too), mg with T, ms, md, ma.
  expect_reply(c, "mg " + a + " v\r\nmg nokey8 v\r\nmg nokey9 v q\r\n", "VA 2\r\nva\r\nEN\r\n");
  expected["cmd_get"] += 3, expected["get_hits"] += 1, expected["get_misses"] += 2;
  expect_reply(c, "mg " + a + " T30\r\n", "HD\r\n");
  expected["cmd_touch"] += 1, expected["touch_hits"] += 1;
  expect_reply(c, "ms cms 1\r\nx\r\nmd cms\r\nmd cms\r\nmd nokey10 q\r\n",
               "HD\r\nHD\r\nNF\r\nNF\r\n");
  expected["cmd_set"] += 1, expected["delete_hits"] += 1, expected["delete_misses"] += 2;
  expect_reply(c, "ma cnum\r\nma nokey11\r\nma cnum MD\r\n", "HD\r\nNF\r\nHD\r\n");
  expected["incr_hits"] += 1, expected["incr_misses"] += 1, expected["decr_hits"] += 1;

  // A split value counts once: one set, one hit, whatever its chunks.
  const std::string big = make_value(200000, 7);
  expect_reply(c, set_command("cbig", big), "STORED\r\n");
  expected["cmd_set"] += 1;
  expect_reply(c, "get cbig\r\n", value_block("cbig", big) + "END\r\n");
  expected["cmd_get"] += 1, expected["get_hits"] += 1;

  expect_reply(c, "flush_all\r\n", "OK\r\n");
  expected["cmd_flush"] += 1;

  const auto end = counters(c);
  for (const char* name : kCounters) {
    EXPECT_EQ(end.at(name) - start.at(name), expected.at(name)) << name;
  }
}

TEST_F(UpstreamStats, KnownTrafficIsCountedWithOneUpstream) { known_traffic_is_counted(1); }
TEST_F(UpstreamStats, KnownTrafficIsCountedWithThreeUpstreams) { known_traffic_is_counted(3); }

class UpstreamGatheredStats : public UpstreamStats, public ::testing::WithParamInterface<int> {};

TEST_P(UpstreamGatheredStats, EqualTheUpstreamsOwnFiguresSummed) {
  const int n = GetParam();
  ASSERT_NO_FATAL_FAILURE(start_upstreams(n));
  ASSERT_NO_FATAL_FAILURE(start_proxy({}));
  Client c = connect_proxy();
  std::string sets, stored;
  std::set<std::string> small_keys;
  for (int i = 0; i < 40; ++i) {
    // Every other key holds a control byte: memcached lists such keys raw in cachedump.
    const std::string key = (i % 2 == 0 ? "gs" : "gs\x10") + std::to_string(i);
    // Small values (slab class 1) and larger ones in other classes.
    sets += set_command(key, i % 4 == 0 ? make_value(300 + 200 * i, 1) : "v");
    stored += "STORED\r\n";
    if (i % 4 != 0) small_keys.insert(key);
  }
  expect_reply(c, sets, stored);
  std::vector<int> all;
  for (int i = 0; i < n; ++i) all.push_back(i);

  // Plain stats: mcguard's own lines, then the gathered sums and one END.
  const std::string plain = stats_reply(c, "");
  ASSERT_TRUE(plain.ends_with("\r\nEND\r\n")) << escape(plain);
  const auto through = stat_map(plain);
  EXPECT_EQ(stat_lines(plain).size(), through.size()) << "a name twice";
  uint64_t curr_items = 0, bytes = 0, total_items = 0, limit = 0, evictions = 0;
  for (const std::string& reply : direct_replies("", all)) {
    const auto direct = stat_map(reply);
    curr_items += number(direct, "curr_items");
    bytes += number(direct, "bytes");
    total_items += number(direct, "total_items");
    limit += number(direct, "limit_maxbytes");
    evictions += number(direct, "evictions");
  }
  EXPECT_EQ(number(through, "curr_items"), curr_items);
  EXPECT_EQ(curr_items, 40u);
  EXPECT_EQ(number(through, "bytes"), bytes);
  EXPECT_EQ(number(through, "total_items"), total_items);
  EXPECT_EQ(number(through, "limit_maxbytes"), limit);
  EXPECT_EQ(number(through, "evictions"), evictions);

  for (const std::string args : {"slabs", "items", "sizes"}) {
    const auto before = direct_replies(args, all);
    const std::string merged = stats_reply(c, args);
    const auto after = direct_replies(args, all);
    expect_merged(args, merged, before, after);
  }

  // cachedump of class 1: every server's items, one END. memcached lists its
  // cold LRU, which items reach a moment after they are stored, and its LRU
  // maintainer moves them meanwhile: wait until every server lists some; the
  // answer then lies between the direct answers before and after it.
  std::vector<std::set<std::string>> before(n), after(n);
  std::vector<std::string> replies;
  wait_until(
      [&] {
        replies = direct_replies("cachedump 1 0", all);
        bool each = true;
        for (int i = 0; i < n; ++i) {
          before[i] = item_keys(replies[i]);
          each &= !before[i].empty();
        }
        return each;
      },
      milliseconds(10000));
  const std::string dump = stats_reply(c, "cachedump 1 0");
  replies = direct_replies("cachedump 1 0", all);
  for (int i = 0; i < n; ++i) after[i] = item_keys(replies[i]);
  ASSERT_TRUE(dump.ends_with("END\r\n")) << escape(dump);
  const std::set<std::string> listed = item_keys(dump);
  for (int i = 0; i < n; ++i) {
    ASSERT_FALSE(before[i].empty()) << "upstream " << i;
    for (const std::string& key : before[i]) {
      if (after[i].contains(key)) {
        EXPECT_TRUE(listed.contains(key)) << key;
      }
    }
  }
  for (const std::string& key : listed) {
    EXPECT_TRUE(small_keys.contains(key)) << key;
    bool direct = false;
    for (int i = 0; i < n; ++i) direct |= before[i].contains(key) || after[i].contains(key);
    EXPECT_TRUE(direct) << key;
  }
  EXPECT_EQ(stats_reply(c, "cachedump 60 0"), "END\r\n");
  // The connection still serves requests.
  expect_reply(c, "get gs2\r\n", value_block("gs2", "v") + "END\r\n");
}

INSTANTIATE_TEST_SUITE_P(Upstreams, UpstreamGatheredStats, ::testing::Values(1, 3));

TEST_F(UpstreamStats, AnUpstreamThatIsDownIsLeftOut) {
  ASSERT_NO_FATAL_FAILURE(start_upstreams(3));
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "2s"}));
  Client c = connect_proxy();
  std::string sets, stored;
  for (int i = 0; i < 30; ++i) {
    sets += set_command("dk" + std::to_string(i), "v");
    stored += "STORED\r\n";
  }
  expect_reply(c, sets, stored);
  kill_upstream(1);

  const std::vector<int> alive = {0, 2};
  const auto before = direct_replies("slabs", alive);
  const std::string slabs = stats_reply(c, "slabs");
  expect_merged("slabs", slabs, before, direct_replies("slabs", alive));

  // The live servers' items (bracketed by direct answers: memcached's LRU
  // maintainer moves them between segments), none of the dead one's.
  // memcached's cachedump lists its cold LRU, which items reach a moment
  // after they are stored: wait until the live servers list some.
  std::set<std::string> before_keys, after_keys;
  wait_until(
      [&] {
        for (const std::string& reply : direct_replies("cachedump 1 0", alive)) {
          for (const std::string& key : item_keys(reply)) before_keys.insert(key);
        }
        return !before_keys.empty();
      },
      milliseconds(10000));
  ASSERT_FALSE(before_keys.empty()) << "no live server listed an item within 10 s";
  const std::string dump = stats_reply(c, "cachedump 1 0");
  for (const std::string& reply : direct_replies("cachedump 1 0", alive)) {
    for (const std::string& key : item_keys(reply)) after_keys.insert(key);
  }
  ASSERT_TRUE(dump.ends_with("END\r\n")) << escape(dump);
  const std::set<std::string> listed = item_keys(dump);
  for (const std::string& key : before_keys) {
    if (after_keys.contains(key)) {
      EXPECT_TRUE(listed.contains(key)) << key;
    }
  }
  for (const std::string& key : listed) {
    EXPECT_TRUE(before_keys.contains(key) || after_keys.contains(key)) << key;
  }

  const std::string plain = stats_reply(c, "");
  ASSERT_TRUE(plain.ends_with("\r\nEND\r\n")) << escape(plain);
  uint64_t curr_items = 0;
  for (const std::string& reply : direct_replies("", alive)) {
    curr_items += number(stat_map(reply), "curr_items");
  }
  EXPECT_EQ(number(stat_map(plain), "curr_items"), curr_items);
  EXPECT_LT(curr_items, 30u);
}

TEST_F(UpstreamStats, NoUpstreamAnsweringIsAServerErrorExceptForPlainStats) {
  ASSERT_NO_FATAL_FAILURE(start_upstreams(1));
  ASSERT_NO_FATAL_FAILURE(start_proxy({"--upstream-timeout", "2s"}));
  Client c = connect_proxy();
  ASSERT_EQ(stats_reply(c, "sizes"), "STAT sizes_status disabled\r\nEND\r\n");
  kill_upstream(0);
  const std::string slabs = stats_reply(c, "slabs");
  EXPECT_TRUE(is_server_error(slabs)) << escape(slabs);
  EXPECT_TRUE(is_server_error(stats_reply(c, "cachedump 1 0")));
  // mcguard's own lines still come, without the figures nobody gave.
  const std::string plain = stats_reply(c, "");
  ASSERT_TRUE(plain.ends_with("\r\nEND\r\n")) << escape(plain);
  EXPECT_TRUE(plain.starts_with("STAT pid ")) << escape(plain.substr(0, 100));
  EXPECT_EQ(plain.find("STAT curr_items"), std::string::npos) << escape(plain);
}

}  // namespace
}  // namespace mcguard::e2e
