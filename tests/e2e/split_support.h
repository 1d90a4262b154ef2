// Support for the end-to-end tests of split values (split_values*_test.cc):
// mcguard in upstream mode in front of memcached servers at their stock 1 MiB
// item limit, so values over 1 MiB less 512 bytes are stored as chunks plus an
// index item. What is on the servers is learnt from the servers themselves
// (gets of the key, mg of each chunk key, `stats` curr_items), never from
// mcguard; the index's manifest is decoded only as far as its documented
// header (chunk count, length, chunk size, client flags, generation), and chunk
// keys are derived as documented: "mcgc:<32 hex: XXH3_128bits(key), high half
// first>:<16 hex generation>:<8 hex index>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "upstream_fixture.h"

namespace mcguard::e2e {

inline constexpr size_t kMiB = size_t{1} << 20;
// memcached's default -I, which the tests' upstreams run with.
inline constexpr size_t kUpstreamItemSizeMax = kMiB;
// What mcguard derives from it: item_size_max less 512 bytes of item room.
inline constexpr size_t kSplitThreshold = kUpstreamItemSizeMax - 512;
// Flags of every index item on the servers ("MCGS").
inline constexpr uint32_t kIndexFlags = 0x4d434753;
inline constexpr std::string_view kManifestMagic{"\0MCGSPL\x01", 8};
inline constexpr std::string_view kChunkKeyPrefix = "mcgc:";

// `n` bytes from a generator seeded with `seed`: every byte value, "\r\n" included.
std::string random_value(size_t n, uint64_t seed);

// One item as a retrieval reply shows it.
struct Item {
  std::string key;
  uint32_t flags = 0;
  std::string value;
  std::optional<uint64_t> cas;  // gets/gats only
};
// gtest output: the key, flags, CAS and length, and the start of the value.
void PrintTo(const Item& item, std::ostream* os);

// A retrieval reply read up to a marker: the items in reply order, and
// whether it ended as a well-formed reply ("END\r\n" then the marker).
struct Retrieval {
  std::vector<Item> items;
  bool well_formed = false;
  bool closed = false;
  bool timed_out = false;
  std::string problem;  // what was wrong when not well formed
};

// Parses `reply` as VALUE blocks, then "END\r\n", then exactly `trailer`.
Retrieval parse_retrieval(const ReadResult& reply, std::string_view trailer = "MN\r\n");

// The header of a split value's manifest.
struct ManifestHeader {
  uint32_t chunk_count = 0;
  uint64_t total_length = 0;
  uint32_t chunk_size = 0;
  uint32_t client_flags = 0;
  uint64_t generation = 0;
};

// Decodes the header of a manifest whose size matches its chunk count; nullopt otherwise.
std::optional<ManifestHeader> read_manifest_header(std::string_view bytes);

// The key chunk `index` of `key`'s value of `generation` is stored under.
std::string chunk_key(std::string_view key, uint64_t generation, uint32_t index);

// "set|add|replace|cas <key> <flags> <exptime> <n>[ <cas>]\r\n<value>\r\n".
std::string storage_command(std::string_view verb, std::string_view key, std::string_view value,
                            uint32_t flags = 0, int exptime = 0,
                            std::optional<uint64_t> cas = std::nullopt);

// Fails the test with the first differing offset when `actual` != `expected`
// (values of many MiB are not printed whole).
void expect_same_bytes(std::string_view actual, std::string_view expected, std::string_view what);

// Where a split value lives: the index item (its server and content) and, for
// each chunk index, its key and the server holding it (-1: none, -2: several).
struct SplitLayout {
  int index_server = -1;
  Item index;
  ManifestHeader manifest;
  std::vector<std::string> chunk_keys;
  std::vector<int> chunk_servers;
  bool complete() const;
  bool touches(int server) const;  // the index or a chunk is on `server`
};

class SplitTest : public UpstreamTest {
 protected:
  // Three memcached servers at the 1 MiB item limit; no mcguard yet.
  void SetUp() override;

  // mcguard with -I 16m, in front of every upstream, with `args` appended.
  void start_split_proxy(const std::vector<std::string>& args = {},
                         McguardOptions options = split_options());
  // Another mcguard in front of the same upstreams (e.g. with other split settings).
  std::unique_ptr<ServerProcess> start_second_proxy(const std::vector<std::string>& args);
  static McguardOptions split_options();
  // A memcached at the 1 MiB limit on upstream i's port, after it was killed.
  void restart_small_upstream(int i);

  // Sends `request` + "mn" and parses the retrieval reply before the "MN".
  Retrieval retrieve(Client& c, std::string_view request,
                     milliseconds timeout = milliseconds(30000));
  // A single-key retrieval that must be well formed; nullopt on a miss.
  std::optional<Item> fetch(Client& c, std::string_view request,
                            milliseconds timeout = milliseconds(30000));
  // One storage command; returns its reply line (without the "MN").
  std::string store(Client& c, std::string_view command,
                    milliseconds timeout = milliseconds(30000));
  // One line reply to `command` (delete, touch, ...).
  std::string command_line(Client& c, std::string_view command);
  // Stores `value` under `key` through `c` and returns where the servers hold
  // it (an index and every chunk, each on one server).
  std::optional<SplitLayout> store_split(Client& c, const std::string& key,
                                         const std::string& value, uint32_t flags = 0,
                                         int exptime = 0);

  // gets of `key` on upstream i, directly; nullopt on a miss.
  std::optional<Item> direct_item(int i, std::string_view key);
  // For each of `keys`, whether upstream i holds a live item under it (mg).
  std::vector<bool> direct_exists(int i, const std::vector<std::string>& keys);
  long long server_items(int i);  // curr_items
  long long total_items();        // curr_items summed over the running upstreams
  // Waits until total_items() == `expected`; false (with the count seen) at the deadline.
  bool wait_total_items(long long expected, long long* seen,
                        milliseconds timeout = milliseconds(10000));
  // Where `key`'s split value is; fails the test when it is not exactly one index.
  std::optional<SplitLayout> layout_of(std::string_view key);
  // How many of the layout's chunks some running upstream still holds.
  int live_chunks(const SplitLayout& layout);

  // A stat of `proxy` (proxy_ when null), -1 when missing.
  long long proxy_stat(const std::string& name, ServerProcess* proxy = nullptr);
};

}  // namespace mcguard::e2e
