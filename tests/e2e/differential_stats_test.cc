// Differential tests of every `stats` subcommand memcached 1.6 has: replies
// that are deterministic are compared byte for byte (reset, detail, errors,
// sizes while disabled, cachedump of a known item set); replies whose numbers
// differ between servers are compared by shape (the same STAT names in the
// same order) and by the values that must agree (item counts, command
// counts). Through UpstreamDifferential these also run against the upstream
// tier, where counts are summed over the upstreams.
#include <algorithm>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "differential.h"
#include "ops_support.h"

namespace mcguard::e2e {
namespace {

using StatLines = std::vector<std::pair<std::string, std::string>>;

// The figures memcached's plain `stats` has that the upstream tier gathers
// from its upstreams and appends after mcguard's own lines.
const std::vector<std::string> kGatheredNames = {"limit_maxbytes", "bytes", "curr_items",
                                                 "total_items", "evictions"};

bool upstream_tier() { return subject_upstreams_from_env() > 0; }

// Sends `stats <args>` and reads the reply through its END line.
std::string stats_reply(Client& c, const std::string& args) {
  const std::string command = args.empty() ? "stats\r\n" : "stats " + args + "\r\n";
  EXPECT_TRUE(c.send(command));
  ReadResult r = c.read_until(
      [](std::string_view got) -> size_t {
        if (got.starts_with("END\r\n")) return 5;
        const size_t at = got.find("\r\nEND\r\n");
        return at == std::string_view::npos ? 0 : at + 7;
      },
      kReplyDeadline);
  EXPECT_FALSE(r.timed_out || r.closed) << command << escape(r.bytes);
  return r.bytes;
}

// "STAT <name> <value>" lines in order; any other line but END fails the test.
StatLines stat_lines(std::string_view reply) {
  StatLines out;
  while (!reply.empty()) {
    const size_t eol = reply.find("\r\n");
    if (eol == std::string_view::npos) break;
    std::string_view line = reply.substr(0, eol);
    reply.remove_prefix(eol + 2);
    if (line == "END") break;
    if (!line.starts_with("STAT ")) {
      ADD_FAILURE() << "not a STAT line: " << escape(line);
      continue;
    }
    line.remove_prefix(5);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      ADD_FAILURE() << "STAT line without a value: " << escape(line);
      continue;
    }
    out.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  return out;
}

std::vector<std::string> names_of(const StatLines& lines) {
  std::vector<std::string> names;
  for (const auto& [name, value] : lines) names.push_back(name);
  return names;
}

// The names with the per-class number taken out ("items:7:number" ->
// "items:number", "7:chunk_size" -> "chunk_size"), each class's group once:
// the shape of a per-class reply, whatever the class numbers are.
std::vector<std::string> class_field_order(const StatLines& lines) {
  std::vector<std::string> fields;
  std::string first_class;
  for (const auto& [name, value] : lines) {
    const size_t last = name.rfind(':');
    if (last == std::string::npos) {
      fields.push_back(name);
      continue;
    }
    const size_t first = name.find(':');
    const std::string cls = name.substr(0, last);
    if (first_class.empty()) first_class = cls;
    if (cls != first_class) continue;  // later classes repeat the first one's fields
    fields.push_back(name.substr(0, first == last ? 0 : first + 1) + name.substr(last + 1));
  }
  return fields;
}

// Sum of the values of names ending in `suffix`.
uint64_t sum_of(const StatLines& lines, std::string_view suffix) {
  uint64_t sum = 0;
  for (const auto& [name, value] : lines) {
    if (std::string_view(name).ends_with(suffix)) sum += std::stoull(value);
  }
  return sum;
}

std::string value_of(const StatLines& lines, std::string_view name) {
  for (const auto& [n, v] : lines) {
    if (n == name) return v;
  }
  return "<missing>";
}

TEST_F(Differential, StatsResetAnswersReset) { expect_same("stats reset\r\nstats reset now\r\n"); }

TEST_F(Differential, StatsUnknownSubcommandsAreErrors) {
  // memccapable sends "stats noreply" and expects an error: memcached takes
  // noreply for an unknown subcommand.
  expect_same("stats noreply\r\nstats bogus\r\nstats slabsx\r\nstats RESET\r\n");
}

TEST_F(Differential, StatsDetailOnOffAndUsage) {
  expect_same(
      "stats detail on\r\nstats detail off\r\nstats detail\r\nstats detail maybe\r\n"
      "stats detail dump\r\n");
}

TEST_F(Differential, StatsDetailDumpCountsPerPrefix) {
  // One prefix, so the dump's order (memcached's hash order) cannot differ.
  // Keys without the ':' delimiter are not counted; nothing is counted while
  // detail is off; a reset forgets every prefix.
  expect_same(
      "set p:1 0 0 1\r\nx\r\n"
      "stats detail on\r\n"
      "set p:2 0 0 1\r\ny\r\nadd p:2 0 0 1\r\nz\r\n"
      "get p:1 p:2 p:3 plain\r\ngets p:1\r\ndelete p:9\r\ndelete p:2\r\n"
      "stats detail dump\r\n"
      "stats detail off\r\nget p:1\r\nset p:4 0 0 1\r\nw\r\n"
      "stats detail dump\r\n"
      "stats reset\r\nstats detail dump\r\n");
}

TEST_F(Differential, StatsSizesWhileDisabled) {
  expect_same("set a 0 0 1\r\nx\r\nstats sizes\r\n");
}

TEST_F(Differential, StatsSizesEnableAndDisable) {
  // memcached answers these two with the status line alone, without END.
  expect_same("stats sizes_enable\r\nstats sizes_disable\r\nstats sizes\r\n");
}

TEST_F(Differential, StatsSizesCountsItemsStoredSinceEnabled) {
  expect_same("set before 0 0 5\r\nhello\r\nstats sizes_enable\r\n");
  expect_same("set a 0 0 10\r\n0123456789\r\nset b 0 0 100\r\n" + std::string(100, 'b') +
              "\r\nset c 0 0 1000\r\n" + std::string(1000, 'c') + "\r\n");
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    const StatLines lines = stat_lines(stats_reply(client(side), "sizes"));
    uint64_t items = 0;
    for (const auto& [size, count] : lines) {
      EXPECT_TRUE(std::regex_match(size, std::regex("[0-9]+"))) << size;
      EXPECT_EQ(std::stoull(size) % 32, 0u) << size;
      items += std::stoull(count);
    }
    EXPECT_EQ(items, 3u) << "the three items stored since sizes_enable";
  }
  expect_same("stats sizes_disable\r\n");
}

TEST_F(Differential, StatsCachedumpArguments) {
  expect_same(
      "stats cachedump\r\nstats cachedump 1\r\nstats cachedump x 1\r\nstats cachedump 1 y\r\n"
      "stats cachedump 64 0\r\nstats cachedump 99999 1\r\nstats cachedump 63 0\r\n"
      "stats cachedump 0 0\r\n");
}

// The class that `stats items` shows holding items (the first one listed).
std::string class_with_items(Client& c) {
  for (const auto& [name, value] : stat_lines(stats_reply(c, "items"))) {
    static const std::regex kNumber("items:([0-9]+):number");
    std::smatch m;
    if (std::regex_match(name, m, kNumber) && value != "0") return m[1];
  }
  return "";
}

TEST_F(Differential, StatsCachedumpListsAKnownItemSet) {
  // Small items share one class on both servers. Absolute expiry times print
  // exactly (relative ones would depend on each server's clock).
  const std::string expiry = std::to_string(::time(nullptr) + 100000);
  expect_same("set first 0 0 1\r\nx\r\nset second 7 " + expiry +
              " 5\r\nhello\r\nset third 0 0 10\r\n0123456789\r\n");
  std::vector<std::string> dumps;
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    const std::string cls = class_with_items(client(side));
    ASSERT_FALSE(cls.empty());
    // memcached dumps its cold LRU, which new items reach shortly after they
    // are stored (its LRU maintainer moves them): wait for all three.
    std::string dump;
    EXPECT_TRUE(poll_until(
        [&] {
          dump = stats_reply(client(side), "cachedump " + cls + " 0");
          return std::count(dump.begin(), dump.end(), '\n') == 4;
        },
        milliseconds(10000)))
        << escape(dump);
    dumps.push_back(dump);
  }
  const std::string expected = "ITEM third [10 b; 0 s]\r\nITEM second [5 b; " + expiry +
                               " s]\r\nITEM first [1 b; 0 s]\r\nEND\r\n";
  EXPECT_EQ(dumps[0], expected) << escape(dumps[0]);
  if (subject_upstreams_from_env() > 1) {
    // Merged in server order, not recency: the same lines.
    auto sorted_lines = [](const std::string& text) {
      std::vector<std::string> lines;
      for (size_t pos = 0; pos < text.size();) {
        const size_t eol = text.find("\r\n", pos) + 2;
        lines.push_back(text.substr(pos, eol - pos));
        pos = eol;
      }
      std::sort(lines.begin(), lines.end());
      return lines;
    };
    EXPECT_EQ(sorted_lines(dumps[1]), sorted_lines(expected)) << escape(dumps[1]);
  } else {
    EXPECT_EQ(dumps[1], expected) << escape(dumps[1]);
  }
  // A limit lists that many, most recent first.
  const std::string one = "ITEM third [10 b; 0 s]\r\nEND\r\n";
  if (subject_upstreams_from_env() <= 1) {
    const std::string cls = class_with_items(client(Side::kSubject));
    EXPECT_EQ(stats_reply(client(Side::kSubject), "cachedump " + cls + " 1"), one);
  }
}

TEST_F(Differential, StatsItemsShapeAndCounts) {
  expect_same("set a 0 0 10\r\n0123456789\r\nset b 0 0 20\r\n" + std::string(20, 'b') +
              "\r\nset c 0 0 3000\r\n" + std::string(3000, 'c') + "\r\n");
  std::vector<std::vector<std::string>> shapes;
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    const StatLines lines = stat_lines(stats_reply(client(side), "items"));
    EXPECT_EQ(sum_of(lines, ":number"), 3u);
    EXPECT_EQ(sum_of(lines, ":number_cold") + sum_of(lines, ":number_hot") +
                  sum_of(lines, ":number_warm"),
              3u);
    EXPECT_GT(sum_of(lines, ":mem_requested"), 3000u);
    shapes.push_back(class_field_order(lines));
  }
  EXPECT_EQ(shapes[0], shapes[1]);
}

TEST_F(Differential, StatsSlabsShapeAndCounts) {
  expect_same("set a 0 0 10\r\n0123456789\r\nset b 0 0 3000\r\n" + std::string(3000, 'b') + "\r\n");
  std::vector<std::vector<std::string>> shapes;
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    const StatLines lines = stat_lines(stats_reply(client(side), "slabs"));
    EXPECT_GE(sum_of(lines, ":used_chunks"), 2u);
    EXPECT_GE(std::stoull(value_of(lines, "active_slabs")), 1u);
    EXPECT_GT(std::stoull(value_of(lines, "total_malloced")), 0u);
    for (const auto& [name, value] : lines) {
      EXPECT_TRUE(std::regex_match(value, std::regex("[0-9]+"))) << name << " " << value;
    }
    shapes.push_back(class_field_order(lines));
  }
  EXPECT_EQ(shapes[0], shapes[1]);
}

TEST_F(Differential, StatsConnsListsEveryClient) {
  auto idle = Client::connect(server(Side::kSubject).port());
  auto idle_reference = Client::connect(server(Side::kReference).port());
  ASSERT_TRUE(idle.has_value() && idle_reference.has_value());
  static const std::regex kLine("([0-9]+):(addr|listen_addr|state|secs_since_last_cmd)");
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    Client& other = side == Side::kReference ? *idle_reference : *idle;
    ASSERT_TRUE(other.send("version\r\n"));
    ASSERT_FALSE(other.read_line().bytes.empty());
    const StatLines lines = stat_lines(stats_reply(client(side), "conns"));
    int clients = 0, parsing = 0;
    for (const auto& [name, value] : lines) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(name, m, kLine)) << name;
      if (m[2] == "listen_addr") {
        ++clients;
        EXPECT_EQ(value, "tcp:127.0.0.1:" + std::to_string(server(side).port()));
      }
      if (m[2] == "addr") {
        EXPECT_TRUE(value.starts_with("tcp:127.0.0.1:")) << value;
      }
      if (m[2] == "state") {
        EXPECT_TRUE(value.starts_with("conn_")) << value;
        if (value == "conn_parse_cmd") ++parsing;
      }
      if (m[2] == "secs_since_last_cmd") {
        EXPECT_TRUE(std::regex_match(value, std::regex("[0-9]+"))) << value;
      }
    }
    // This client and the other one (and no client of the other side).
    EXPECT_EQ(clients, 2);
    EXPECT_EQ(parsing, 1) << "the asking connection";
  }
}

TEST_F(Differential, PlainStatsHasMemcachedsFieldsInItsOrder) {
  const StatLines reference = stat_lines(stats_reply(client(Side::kReference), ""));
  const StatLines subject = stat_lines(stats_reply(client(Side::kSubject), ""));
  auto memcached_names = [](const StatLines& lines) {
    std::vector<std::string> names;
    for (const std::string& name : names_of(lines)) {
      if (name.starts_with("mcguard_")) continue;
      // The upstream tier appends the gathered figures after its own lines.
      if (upstream_tier() &&
          std::find(kGatheredNames.begin(), kGatheredNames.end(), name) != kGatheredNames.end()) {
        continue;
      }
      names.push_back(name);
    }
    return names;
  };
  EXPECT_EQ(memcached_names(subject), memcached_names(reference));
  const std::vector<std::string> names = names_of(subject);
  for (const std::string& gathered : kGatheredNames) {
    EXPECT_NE(std::find(names.begin(), names.end(), gathered), names.end()) << gathered;
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "mcguard_version"), names.end());
}

TEST_F(Differential, PlainStatsCountsAgreeWithMemcached) {
  expect_same(
      "set a 0 0 1\r\nx\r\nset b 0 0 2\r\nxy\r\nset c 0 0 3\r\nxyz\r\n"
      "get a b missing\r\ntouch a 100\r\ntouch missing 100\r\ndelete c\r\ndelete c\r\n"
      "incr a 1\r\nmg b v\r\n");
  const char* kAgreeing[] = {"curr_items",  "cmd_get",       "get_hits",   "get_misses",
                             "cmd_set",     "cmd_touch",     "touch_hits", "touch_misses",
                             "delete_hits", "delete_misses", "incr_misses"};
  const StatLines reference = stat_lines(stats_reply(client(Side::kReference), ""));
  const StatLines subject = stat_lines(stats_reply(client(Side::kSubject), ""));
  for (const char* name : kAgreeing) {
    EXPECT_EQ(value_of(subject, name), value_of(reference, name)) << name;
  }
  // The upstreams' total_items includes what the harness stored to set their
  // CAS counters apart; through one upstream it still matches.
  if (subject_upstreams_from_env() <= 1) {
    EXPECT_EQ(value_of(subject, "total_items"), value_of(reference, "total_items"));
  }
  // memcached 1.6.18 lists cmd_meta but its text protocol never counts it;
  // mcguard counts the meta commands it is sent (mg here, and the "mn" each
  // exchange ends with).
  EXPECT_EQ(value_of(reference, "cmd_meta"), "0");
  EXPECT_EQ(value_of(subject, "cmd_meta"), "2");
}

TEST_F(Differential, StatsResetZeroesCountersNotGauges) {
  // The reset is sent once the earlier replies are in: the upstream tier
  // counts a get's hit or miss when its reply arrives, and takes a reset
  // when it parses it, so a reset pipelined behind a get could land before
  // that get's hit was counted.
  expect_same("set a 0 0 1\r\nx\r\nget a\r\nget missing\r\n");
  expect_same("stats reset\r\nget a\r\n");
  // Reset: counters; kept: gauges. Through the upstream tier total_items
  // and evictions are the upstreams' own, which mcguard's reset does not touch.
  const char* kReset[] = {"cmd_get", "get_hits", "get_misses", "cmd_set", "total_connections"};
  const char* kKept[] = {"curr_items"};
  const StatLines reference = stat_lines(stats_reply(client(Side::kReference), ""));
  const StatLines subject = stat_lines(stats_reply(client(Side::kSubject), ""));
  for (const char* name : kReset)
    EXPECT_EQ(value_of(subject, name), value_of(reference, name)) << name;
  for (const char* name : kKept)
    EXPECT_EQ(value_of(subject, name), value_of(reference, name)) << name;
  EXPECT_EQ(value_of(reference, "cmd_get"), "1");
  EXPECT_EQ(value_of(reference, "curr_items"), "1");
  EXPECT_NE(value_of(subject, "curr_connections"), "0");  // a gauge: this client
  if (!upstream_tier()) {
    EXPECT_EQ(value_of(subject, "total_items"), "0");
  }
}

}  // namespace
}  // namespace mcguard::e2e
