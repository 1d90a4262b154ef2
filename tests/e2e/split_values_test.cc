// Values over the upstreams' item limit, stored split by mcguard in front of
// three memcached servers at their stock 1 MiB limit: round trips either side
// of the threshold up to 16 MiB with the client's flags, what the servers hold
// (one plain item, or an index plus chunks spread over the servers), multi-gets
// mixing split and plain values, delete, expiry, touch, gat, cas, add and
// replace, the previous generation's chunks removed by an overwrite, client
// values that look like an index, and --upstream-split off and read-only.
// Faults (an overwrite race, an upstream restarted, slow readers, gat with few
// reply slots) are in split_values_faults_test.cc.
#include <algorithm>
#include <set>

#include "split_support.h"

namespace mcguard::e2e {
namespace {

constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";

class SplitValues : public SplitTest {
 protected:
  // Sets a small key with `exptime` directly on every upstream: once each has
  // expired, anything given the same exptime earlier on that server has too.
  void set_sentinels(const std::string& key, int exptime) {
    for (int i = 0; i < static_cast<int>(upstreams_.size()); ++i) {
      Client c = connect_upstream(i);
      ASSERT_EQ(store(c, storage_command("set", key, "s", 0, exptime)), "STORED\r\n");
    }
  }
  bool sentinels_expired(const std::string& key) {
    return wait_until(
        [&] {
          for (int i = 0; i < static_cast<int>(upstreams_.size()); ++i) {
            if (direct_item(i, key)) return false;
          }
          return true;
        },
        milliseconds(10000), milliseconds(50));
  }
};

TEST_F(SplitValues, RoundTripsAroundTheThresholdUpTo16MiB) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  ASSERT_EQ(proxy_stat("mcguard_split_threshold"), static_cast<long long>(kSplitThreshold));
  struct Case {
    size_t size;
    uint32_t flags;
  };
  const Case cases[] = {{kSplitThreshold - 1, 0x8000},
                        {kSplitThreshold, 0xFFFFFFFF},
                        {kSplitThreshold + 1, 0x8000},
                        {2 * kMiB, 0xFFFFFFFF},
                        {3 * kMiB, 1},
                        {8 * kMiB, 0x8000},
                        {16 * kMiB, 0xFFFFFFFF}};
  long long items_on_servers = 0;
  long long split_sets = 0, chunks_written = 0;
  for (const Case& t : cases) {
    const std::string key = "rt" + std::to_string(t.size);
    SCOPED_TRACE(key + " flags " + std::to_string(t.flags));
    const std::string value = random_value(t.size, t.size);
    ASSERT_EQ(store(c, storage_command("set", key, value, t.flags)), "STORED\r\n");

    std::optional<Item> got = fetch(c, "get " + key + "\r\n");
    ASSERT_TRUE(got.has_value()) << "miss right after STORED";
    EXPECT_EQ(got->key, key);
    EXPECT_EQ(got->flags, t.flags);
    EXPECT_FALSE(got->cas.has_value());
    expect_same_bytes(got->value, value, "get " + key);

    if (t.size <= kSplitThreshold) {
      // One plain item, on exactly one server, with the client's flags and bytes.
      const int owner = owner_of(key);
      ASSERT_GE(owner, 0) << (owner == -1 ? "on no upstream" : "on several upstreams");
      std::optional<Item> held = direct_item(owner, key);
      ASSERT_TRUE(held.has_value());
      EXPECT_EQ(held->flags, t.flags) << "stored with other flags than the client's";
      expect_same_bytes(held->value, value, "the upstream's item");
      items_on_servers += 1;
      std::optional<Item> with_cas = fetch(c, "gets " + key + "\r\n");
      ASSERT_TRUE(with_cas.has_value());
      EXPECT_EQ(with_cas->cas, held->cas) << "gets shows another CAS than the item's";
    } else {
      // An index on one server (no plain item under the key anywhere) and its chunks.
      std::optional<SplitLayout> layout = layout_of(key);
      ASSERT_TRUE(layout.has_value());
      const ManifestHeader& m = layout->manifest;
      EXPECT_EQ(m.total_length, t.size);
      EXPECT_EQ(m.client_flags, t.flags);
      EXPECT_GT(m.chunk_size, 0u);
      EXPECT_LE(m.chunk_size, kSplitThreshold) << "a chunk would not fit a 1 MiB item";
      ASSERT_EQ(m.chunk_count, (t.size + m.chunk_size - 1) / m.chunk_size);
      EXPECT_GE(m.chunk_count, 2u);
      ASSERT_TRUE(layout->complete()) << "a chunk is missing or on several servers";
      // The chunks, read directly, are the value's bytes in order.
      std::string joined;
      for (uint32_t i = 0; i < m.chunk_count; ++i) {
        const int server = layout->chunk_servers[i];
        const std::string& chunk_key = layout->chunk_keys[i];
        ASSERT_EQ(chunk_key.size(), 63u) << "chunk " << i;
        std::optional<Item> chunk = direct_item(server, chunk_key);
        ASSERT_TRUE(chunk.has_value()) << chunk_key;
        EXPECT_EQ(chunk->value.size(), std::min<size_t>(m.chunk_size, t.size - joined.size()))
            << chunk_key;
        joined += chunk->value;
      }
      expect_same_bytes(joined, value, "the chunks joined");
      std::set<int> servers(layout->chunk_servers.begin(), layout->chunk_servers.end());
      if (t.size == 16 * kMiB) {
        EXPECT_GT(servers.size(), 1u) << "all " << m.chunk_count << " chunks on one server";
      }
      items_on_servers += 1 + m.chunk_count;
      split_sets += 1;
      chunks_written += m.chunk_count;
      // gets: the index item's CAS.
      std::optional<Item> with_cas = fetch(c, "gets " + key + "\r\n");
      ASSERT_TRUE(with_cas.has_value());
      expect_same_bytes(with_cas->value, value, "gets " + key);
      EXPECT_EQ(with_cas->flags, t.flags);
      EXPECT_EQ(with_cas->cas, layout->index.cas) << "gets shows another CAS than the index's";
    }
    // Nothing else was written: every item on the servers is accounted for.
    EXPECT_EQ(total_items(), items_on_servers);
  }
  EXPECT_EQ(proxy_stat("mcguard_split_sets"), split_sets);
  EXPECT_EQ(proxy_stat("mcguard_split_chunks_written"), chunks_written);
  EXPECT_EQ(proxy_stat("mcguard_split_gets"), 2 * split_sets) << "one get and one gets each";
}

TEST_F(SplitValues, MultiGetMixesSplitPlainAndMissesInRequestOrder) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  struct Entry {
    std::string key;
    size_t size;
    uint32_t flags;
  };
  const std::vector<Entry> entries = {{"mg-big2m", 2 * kMiB, 0x8000},
                                      {"mg-small", 100, 3},
                                      {"mg-edge", kSplitThreshold, 0xFFFFFFFF},
                                      {"mg-over", kSplitThreshold + 1, 7},
                                      {"mg-big5m", 5 * kMiB, 0},
                                      {"mg-empty", 0, 9}};
  std::map<std::string, std::pair<std::string, uint32_t>> stored;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    stored[e.key] = {random_value(e.size, 1000 + i), e.flags};
    ASSERT_EQ(store(c, storage_command("set", e.key, stored[e.key].first, e.flags)), "STORED\r\n")
        << e.key;
  }
  const std::vector<std::string> order = {"mg-small", "mg-big2m", "mg-miss1", "mg-over",
                                          "mg-big2m", "mg-edge",  "mg-miss2", "mg-big5m",
                                          "mg-empty", "mg-small", "mg-over",  "mg-miss3"};
  std::string request = "get";
  std::string expected;
  for (const auto& key : order) {
    request += " " + key;
    if (auto it = stored.find(key); it != stored.end()) {
      expected += value_block(key, it->second.first, it->second.second);
    }
  }
  expected += "END\r\nMN\r\n";
  // Twice in one pipeline, with a single-key get of a split value between.
  const std::string between =
      value_block("mg-big5m", stored["mg-big5m"].first, stored["mg-big5m"].second) + "END\r\n";
  ReadResult r = ask(c, request + "\r\nget mg-big5m\r\n" + request + "\r\n", milliseconds(60000));
  std::string all_expected = expected.substr(0, expected.size() - 4) + between + expected;
  EXPECT_FALSE(r.timed_out || r.closed) << (r.closed ? "closed" : "timed out");
  expect_same_bytes(r.bytes, all_expected, "the pipelined multi-gets");

  // gets: the same order, each with its item's CAS (a split value's is its index's).
  std::map<std::string, uint64_t> cas;
  for (const auto& [key, value] : stored) {
    std::optional<Item> item;
    for (int i = 0; i < 3 && !item; ++i) item = direct_item(i, key);
    ASSERT_TRUE(item.has_value() && item->cas.has_value()) << key;
    cas[key] = *item->cas;
  }
  Retrieval g = retrieve(c, "gets" + request.substr(3) + "\r\n", milliseconds(60000));
  ASSERT_TRUE(g.well_formed) << g.problem;
  std::vector<std::string> hits;
  for (const auto& key : order) {
    if (stored.count(key)) hits.push_back(key);
  }
  ASSERT_EQ(g.items.size(), hits.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    SCOPED_TRACE("position " + std::to_string(i) + ", " + hits[i]);
    EXPECT_EQ(g.items[i].key, hits[i]);
    EXPECT_EQ(g.items[i].flags, stored[hits[i]].second);
    EXPECT_EQ(g.items[i].cas, cas[hits[i]]);
    expect_same_bytes(g.items[i].value, stored[hits[i]].first, hits[i]);
  }
}

TEST_F(SplitValues, DeleteRemovesTheIndexAndEveryChunk) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string value = random_value(5 * kMiB, 51);
  auto layout = store_split(c, "del", value, 5);
  ASSERT_TRUE(layout.has_value());
  ASSERT_EQ(store(c, set_command("del-plain", "small")), "STORED\r\n");
  const long long with_both = layout->manifest.chunk_count + 2;
  ASSERT_EQ(total_items(), with_both);

  EXPECT_EQ(command_line(c, "delete del\r\n"), "DELETED\r\n");
  EXPECT_EQ(fetch(c, "get del\r\n"), std::nullopt) << "a deleted split value still reads";
  // The chunks' deletes are sent without replies: wait for the servers to show them.
  long long seen = -1;
  EXPECT_TRUE(wait_total_items(1, &seen)) << "items on the servers: " << seen << ", expected "
                                          << "only del-plain (chunks left behind)";
  EXPECT_EQ(live_chunks(*layout), 0);
  EXPECT_EQ(command_line(c, "delete del\r\n"), "NOT_FOUND\r\n");
  EXPECT_EQ(command_line(c, "delete del-plain\r\n"), "DELETED\r\n");
  EXPECT_TRUE(wait_total_items(0, &seen)) << seen;
  // Gone means gone: storing again under the key works as new.
  auto again = store_split(c, "del", random_value(2 * kMiB, 52), 6);
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(again->manifest.generation, layout->manifest.generation);
}

TEST_F(SplitValues, ExpiryTurnsASplitValueIntoAMiss) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string value = random_value(3 * kMiB, 61);
  auto layout = store_split(c, "exp", value, 0x8000, 2);
  ASSERT_TRUE(layout.has_value());
  std::optional<Item> got = fetch(c, "get exp\r\n");
  ASSERT_TRUE(got.has_value()) << "expired already: the test cannot tell anything";
  expect_same_bytes(got->value, value, "get before expiry");
  EXPECT_TRUE(wait_until([&] { return !fetch(c, "get exp\r\n").has_value(); }, milliseconds(10000),
                         milliseconds(100)))
      << "still a hit 10 s after a 2 s exptime";
  // Every chunk had the same exptime.
  EXPECT_TRUE(
      wait_until([&] { return live_chunks(*layout) == 0; }, milliseconds(10000), milliseconds(100)))
      << "chunks outlive their value's exptime";
}

TEST_F(SplitValues, TouchAndGatApplyToEveryChunk) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  // A short touch of a value stored without expiry: it and its chunks expire.
  const std::string shortened = random_value(3 * kMiB, 71);
  auto short_layout = store_split(c, "touch-short", shortened, 1);
  ASSERT_TRUE(short_layout.has_value());
  EXPECT_EQ(command_line(c, "touch touch-short 2\r\n"), "TOUCHED\r\n");
  // The index and the chunks expire at memcached's own second ticks: a read
  // meanwhile may find the index but not the first chunk, and mcguard closes
  // that client mid-value. So each read has a connection of its own, and only
  // a well-formed miss counts as expired.
  EXPECT_TRUE(wait_until(
      [&] {
        Client probe = connect_proxy();
        const Retrieval r = retrieve(probe, "get touch-short\r\n");
        return r.well_formed && r.items.empty();
      },
      milliseconds(10000), milliseconds(100)))
      << "still a hit 10 s after touch with a 2 s exptime";
  EXPECT_TRUE(wait_until([&] { return live_chunks(*short_layout) == 0; }, milliseconds(10000),
                         milliseconds(100)))
      << "chunks kept their old (no) expiry: touch did not reach them";

  // Long touch (touch, gat, gats) of values stored with a short exptime: once
  // items set on each server after them with the same exptime have expired,
  // they still read back whole. Each is touched right after it is stored, so
  // a slow machine (a sanitizer build) still touches it before its first chunk
  // expires; memcached's second ticks leave an exptime of 3 between 2 and 3 s.
  constexpr int kShortExptime = 3;
  const std::string touched = random_value(3 * kMiB, 72);
  const std::string gatted = random_value(2 * kMiB + 5, 73);
  const std::string gatsed = random_value(kSplitThreshold + 1, 74);
  auto touched_layout = store_split(c, "touch-long", touched, 2, kShortExptime);
  ASSERT_TRUE(touched_layout.has_value());
  EXPECT_EQ(command_line(c, "touch touch-long 300\r\n"), "TOUCHED\r\n");
  auto gat_layout = store_split(c, "gat-long", gatted, 3, kShortExptime);
  ASSERT_TRUE(gat_layout.has_value());
  std::optional<Item> got = fetch(c, "gat 300 gat-long\r\n");
  ASSERT_TRUE(got.has_value()) << "gat missed a value just stored";
  EXPECT_EQ(got->flags, 3u);
  EXPECT_FALSE(got->cas.has_value());
  expect_same_bytes(got->value, gatted, "gat");
  auto gats_layout = store_split(c, "gats-long", gatsed, 4, kShortExptime);
  ASSERT_TRUE(gats_layout.has_value());
  got = fetch(c, "gats 300 gats-long\r\n");
  ASSERT_TRUE(got.has_value()) << "gats missed a value just stored";
  EXPECT_EQ(got->flags, 4u);
  expect_same_bytes(got->value, gatsed, "gats");
  std::optional<Item> index = direct_item(gats_layout->index_server, "gats-long");
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(got->cas, index->cas) << "gats shows another CAS than the index's";
  ASSERT_NO_FATAL_FAILURE(set_sentinels("sentinel", kShortExptime));

  ASSERT_TRUE(sentinels_expired("sentinel")) << "3 s sentinels alive after 10 s";
  for (const auto& [key, value] :
       {std::pair{"touch-long", &touched}, std::pair{"gat-long", &gatted},
        std::pair{"gats-long", &gatsed}}) {
    std::optional<Item> after = fetch(c, "get " + std::string(key) + "\r\n");
    ASSERT_TRUE(after.has_value()) << key << " expired with its old exptime";
    expect_same_bytes(after->value, *value, std::string(key) + " after its old exptime");
  }
  for (const auto* layout : {&*touched_layout, &*gat_layout, &*gats_layout}) {
    EXPECT_EQ(live_chunks(*layout), static_cast<int>(layout->manifest.chunk_count))
        << "chunks expired with their old exptime";
  }
  EXPECT_EQ(command_line(c, "touch nothing-here 300\r\n"), "NOT_FOUND\r\n");
}

TEST_F(SplitValues, CasWithTheGetsCasStoresAndAStaleOneIsRefused) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string first = random_value(3 * kMiB, 81);
  const std::string second = random_value(2 * kMiB + 1, 82);
  const std::string third = random_value(4 * kMiB, 83);
  ASSERT_TRUE(store_split(c, "cas", first, 10).has_value());
  std::optional<Item> seen = fetch(c, "gets cas\r\n");
  ASSERT_TRUE(seen && seen->cas);
  EXPECT_EQ(store(c, storage_command("cas", "cas", second, 11, 0, *seen->cas)), "STORED\r\n");
  std::optional<Item> now = fetch(c, "gets cas\r\n");
  ASSERT_TRUE(now && now->cas);
  EXPECT_EQ(now->flags, 11u);
  expect_same_bytes(now->value, second, "after the cas");
  EXPECT_NE(now->cas, seen->cas);

  // The first CAS is stale now.
  EXPECT_EQ(store(c, storage_command("cas", "cas", third, 12, 0, *seen->cas)), "EXISTS\r\n");
  now = fetch(c, "get cas\r\n");
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->flags, 11u);
  expect_same_bytes(now->value, second, "after the refused cas");
  EXPECT_EQ(store(c, storage_command("cas", "cas-missing", third, 12, 0, *seen->cas)),
            "NOT_FOUND\r\n");
  // What the servers hold settles at the second value alone: the first
  // value's chunks went after the cas, the refused ones' right after refusal.
  auto layout = layout_of("cas");
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->manifest.total_length, second.size());
  long long items = -1;
  EXPECT_TRUE(wait_total_items(layout->manifest.chunk_count + 1, &items))
      << items << " items on the servers, expected the cas'd value's "
      << layout->manifest.chunk_count << " chunks and its index";
}

TEST_F(SplitValues, RefusedAddAndReplaceLeaveNoChunksBehind) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string original = random_value(3 * kMiB, 91);
  auto layout = store_split(c, "addkey", original, 20);
  ASSERT_TRUE(layout.has_value());
  const long long baseline = layout->manifest.chunk_count + 1;
  ASSERT_EQ(total_items(), baseline);
  const long long cleanups_before = proxy_stat("mcguard_split_orphan_cleanups");

  EXPECT_EQ(store(c, storage_command("add", "addkey", random_value(4 * kMiB, 92), 21)),
            "NOT_STORED\r\n");
  long long items = -1;
  EXPECT_TRUE(wait_total_items(baseline, &items))
      << items << " items on the servers after a refused add, " << baseline << " before";
  std::optional<Item> got = fetch(c, "get addkey\r\n");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->flags, 20u);
  expect_same_bytes(got->value, original, "after the refused add");

  EXPECT_EQ(store(c, storage_command("replace", "nokey", random_value(2 * kMiB, 93), 22)),
            "NOT_STORED\r\n");
  EXPECT_TRUE(wait_total_items(baseline, &items))
      << items << " items on the servers after a refused replace, " << baseline << " before";
  EXPECT_EQ(fetch(c, "get nokey\r\n"), std::nullopt);
  EXPECT_GE(proxy_stat("mcguard_split_orphan_cleanups"), cleanups_before + 2);

  // The same commands apply where they should.
  const std::string added = random_value(2 * kMiB, 94);
  const std::string replaced = random_value(kSplitThreshold + 100, 95);
  EXPECT_EQ(store(c, storage_command("add", "newkey", added, 23)), "STORED\r\n");
  EXPECT_EQ(store(c, storage_command("replace", "addkey", replaced, 24)), "STORED\r\n");
  Retrieval both = retrieve(c, "get newkey addkey\r\n");
  ASSERT_TRUE(both.well_formed) << both.problem;
  ASSERT_EQ(both.items.size(), 2u);
  EXPECT_EQ(both.items[0].flags, 23u);
  expect_same_bytes(both.items[0].value, added, "added");
  EXPECT_EQ(both.items[1].flags, 24u);
  expect_same_bytes(both.items[1].value, replaced, "replaced");
  auto added_layout = layout_of("newkey");
  auto replaced_layout = layout_of("addkey");
  ASSERT_TRUE(added_layout && replaced_layout);
  EXPECT_TRUE(wait_total_items(
      added_layout->manifest.chunk_count + replaced_layout->manifest.chunk_count + 2, &items))
      << items << " items: the replaced value's chunks stayed";
}

TEST_F(SplitValues, OverwriteRemovesThePreviousGenerationsChunks) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string a = random_value(5 * kMiB, 101);
  const std::string b = random_value(3 * kMiB + 17, 102);
  auto first = store_split(c, "over", a, 1);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(store(c, storage_command("set", "over", b, 2)), "STORED\r\n");
  auto second = layout_of("over");
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->manifest.generation, first->manifest.generation);
  long long items = -1;
  EXPECT_TRUE(wait_total_items(second->manifest.chunk_count + 1, &items))
      << items << " items on the servers; expected " << second->manifest.chunk_count
      << " chunks of B and its index (A had " << first->manifest.chunk_count << ")";
  EXPECT_EQ(live_chunks(*first), 0);
  std::optional<Item> got = fetch(c, "get over\r\n");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->flags, 2u);
  expect_same_bytes(got->value, b, "after the overwrite");
}

TEST_F(SplitValues, ValuesThatLookLikeAnIndexRoundTripAsTheClientStoredThem) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string real = random_value(3 * kMiB, 111);
  auto layout = store_split(c, "real", real, 0x8000);
  ASSERT_TRUE(layout.has_value());
  const std::string manifest = layout->index.value;  // the raw index bytes, read directly
  ASSERT_EQ(manifest.substr(0, 8), kManifestMagic);

  // Under another key, with the index flags, and with the client's own flags:
  // what comes back is exactly what the client stored, never "real"'s value.
  EXPECT_EQ(store(c, storage_command("set", "copy-flagged", manifest, kIndexFlags)), "STORED\r\n");
  EXPECT_EQ(store(c, storage_command("set", "copy-plain", manifest, 5)), "STORED\r\n");
  EXPECT_EQ(store(c, storage_command("set", "flags-only", "hello", kIndexFlags)), "STORED\r\n");
  for (const auto& [key, value, flags] :
       {std::tuple{"copy-flagged", &manifest, kIndexFlags}, std::tuple{"copy-plain", &manifest, 5u},
        std::tuple{"flags-only", static_cast<const std::string*>(nullptr), kIndexFlags}}) {
    SCOPED_TRACE(key);
    const std::string expected = value != nullptr ? *value : std::string("hello");
    std::optional<Item> got = fetch(c, "gets " + std::string(key) + "\r\n");
    ASSERT_TRUE(got.has_value()) << "the lookalike reads as a miss";
    EXPECT_EQ(got->flags, flags);
    expect_same_bytes(got->value, expected, key);
    // Stored split: the key's item upstream is an index of its own, not the copy.
    auto own = layout_of(key);
    ASSERT_TRUE(own.has_value());
    EXPECT_EQ(own->manifest.total_length, expected.size());
    EXPECT_EQ(own->manifest.client_flags, flags);
    EXPECT_NE(own->index.value, manifest) << "the copy went upstream as a plain item";
  }
  // Through ms the copy is stored split as well (it round-trips) or refused;
  // never stored as it is.
  ReadResult r = ask(c, "ms ms-copy " + std::to_string(manifest.size()) + " F" +
                            std::to_string(kIndexFlags) + "\r\n" + manifest + "\r\n");
  if (r.bytes == "HD\r\nMN\r\n") {
    std::optional<Item> got = fetch(c, "get ms-copy\r\n");
    ASSERT_TRUE(got.has_value()) << "ms stored it, get misses";
    EXPECT_EQ(got->flags, kIndexFlags);
    expect_same_bytes(got->value, manifest, "ms-copy");
    auto own = layout_of("ms-copy");
    ASSERT_TRUE(own.has_value());
    EXPECT_NE(own->index.value, manifest) << "ms stored the copy upstream as a plain item";
  } else {
    EXPECT_TRUE(r.bytes.starts_with("CLIENT_ERROR ") && r.bytes.ends_with("\r\nMN\r\n"))
        << escape(r.bytes);
    EXPECT_EQ(fetch(c, "get ms-copy\r\n"), std::nullopt);
  }

  // A copy planted directly on the server that owns a key (which mcguard
  // never wrote) is not taken for an index: the manifest is bound to its key.
  ASSERT_EQ(store(c, set_command("planted", "x")), "STORED\r\n");
  const int owner = owner_of("planted");
  ASSERT_GE(owner, 0);
  Client direct = connect_upstream(owner);
  ASSERT_EQ(store(direct, storage_command("set", "planted", manifest, kIndexFlags)), "STORED\r\n");
  std::optional<Item> planted = fetch(c, "get planted\r\n");
  EXPECT_FALSE(planted.has_value() && planted->value == real)
      << "a copied manifest under another key served the real value";
  EXPECT_EQ(planted, std::nullopt) << "an index that does not verify should read as a miss";
  std::optional<Item> still = fetch(c, "get real\r\n");
  ASSERT_TRUE(still.has_value());
  expect_same_bytes(still->value, real, "the real value");

  // Under the real key itself: a magic-prefixed value replaces the real one.
  const std::string shaped = std::string(kManifestMagic) + "just bytes";
  EXPECT_EQ(store(c, storage_command("set", "real", shaped, 0)), "STORED\r\n");
  std::optional<Item> reshaped = fetch(c, "get real\r\n");
  ASSERT_TRUE(reshaped.has_value());
  EXPECT_EQ(reshaped->flags, 0u);
  expect_same_bytes(reshaped->value, shaped, "a magic-prefixed value over a split one");
}

TEST_F(SplitValues, SplitOffPassesTheUpstreamsRefusal) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy({"--upstream-split", "off"}));
  Client c = connect_proxy();
  EXPECT_EQ(store(c, storage_command("set", "off-big", random_value(2 * kMiB, 121), 1)), kTooLarge);
  EXPECT_EQ(fetch(c, "get off-big\r\n"), std::nullopt);
  EXPECT_EQ(total_items(), 0);
  // Values within the upstreams' limit pass as before.
  const std::string fits = random_value(kSplitThreshold, 122);
  EXPECT_EQ(store(c, storage_command("set", "off-fits", fits, 2)), "STORED\r\n");
  std::optional<Item> got = fetch(c, "get off-fits\r\n");
  ASSERT_TRUE(got.has_value());
  expect_same_bytes(got->value, fits, "off-fits");
  EXPECT_EQ(proxy_stat("mcguard_split_sets"), 0);
}

TEST_F(SplitValues, ReadOnlyReadsSplitValuesButWritesNone) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy({"--upstream-split", "read-only"}));
  std::unique_ptr<ServerProcess> writer = start_second_proxy({"--upstream-split", "on"});
  ASSERT_NE(writer, nullptr);
  Client c = connect_proxy();
  EXPECT_EQ(store(c, storage_command("set", "ro-big", random_value(2 * kMiB, 131), 1)), kTooLarge);
  EXPECT_EQ(fetch(c, "get ro-big\r\n"), std::nullopt);
  EXPECT_EQ(total_items(), 0);

  // Written split by the other mcguard, read whole through this one.
  auto w = Client::connect(writer->port());
  ASSERT_TRUE(w.has_value());
  const std::string value = random_value(6 * kMiB + 3, 132);
  ASSERT_EQ(store(*w, storage_command("set", "shared", value, 0x8000)), "STORED\r\n");
  std::optional<Item> got = fetch(c, "get shared\r\n");
  ASSERT_TRUE(got.has_value()) << "read-only mcguard missed a split value";
  EXPECT_EQ(got->flags, 0x8000u);
  expect_same_bytes(got->value, value, "read through the read-only mcguard");
  EXPECT_EQ(proxy_stat("mcguard_split_gets"), 1);
  EXPECT_EQ(proxy_stat("mcguard_split_sets"), 0);
  // A delete through it removes the chunks as well.
  auto layout = layout_of("shared");
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(command_line(c, "delete shared\r\n"), "DELETED\r\n");
  long long items = -1;
  EXPECT_TRUE(wait_total_items(0, &items)) << items << " items left after the delete";
}

}  // namespace
}  // namespace mcguard::e2e
