#include "split_support.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <random>

// Header-only use of the hash that names chunk keys.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "ops_support.h"

namespace mcguard::e2e {
namespace {

std::optional<uint64_t> parse_number(std::string_view text, int base = 10) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> tokens_of(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const size_t end = line.find(' ');
    out.push_back(line.substr(0, end));
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  }
  return out;
}

template <typename T>
T little_endian(std::string_view bytes, size_t offset) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

std::string hex(uint64_t value, int digits) {
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4) out[i] = "0123456789abcdef"[value & 15];
  return out;
}

}  // namespace

std::string random_value(size_t n, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::string out(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t word = generator();
    std::memcpy(out.data() + i, &word, 8);
  }
  for (uint64_t word = generator(); i < n; ++i, word >>= 8) out[i] = static_cast<char>(word);
  return out;
}

void PrintTo(const Item& item, std::ostream* os) {
  *os << "VALUE " << item.key << " " << item.flags << " " << item.value.size();
  if (item.cas) *os << " " << *item.cas;
  *os << ": " << escape(item.value, 60);
}

Retrieval parse_retrieval(const ReadResult& reply, std::string_view trailer) {
  Retrieval out;
  out.closed = reply.closed;
  out.timed_out = reply.timed_out;
  std::string_view rest = reply.bytes;
  while (true) {
    const size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) {
      out.problem = "unterminated line: " + escape(rest, 200);
      return out;
    }
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (line == "END") break;
    const auto tokens = tokens_of(line);
    const auto flags = tokens.size() >= 4 ? parse_number(tokens[2]) : std::nullopt;
    const auto length = tokens.size() >= 4 ? parse_number(tokens[3]) : std::nullopt;
    const auto cas = tokens.size() == 5 ? parse_number(tokens[4]) : std::nullopt;
    if (tokens.size() < 4 || tokens.size() > 5 || tokens[0] != "VALUE" || !flags ||
        *flags > UINT32_MAX || !length || (tokens.size() == 5 && !cas)) {
      out.problem = "not a VALUE line: " + escape(line, 200);
      return out;
    }
    if (rest.size() < *length + 2 || rest.substr(*length, 2) != "\r\n") {
      out.problem = "VALUE " + std::string(tokens[1]) + " announced " + std::to_string(*length) +
                    " bytes, " + std::to_string(rest.size()) + " followed";
      return out;
    }
    out.items.push_back(Item{std::string(tokens[1]), static_cast<uint32_t>(*flags),
                             std::string(rest.substr(0, *length)), cas});
    rest.remove_prefix(*length + 2);
  }
  if (rest != trailer) {
    out.problem = "after END: " + escape(rest, 200);
    return out;
  }
  out.well_formed = true;
  return out;
}

std::optional<ManifestHeader> read_manifest_header(std::string_view bytes) {
  if (bytes.size() < 48 || bytes.substr(0, 8) != kManifestMagic) return std::nullopt;
  ManifestHeader h;
  h.chunk_count = little_endian<uint32_t>(bytes, 12);
  h.total_length = little_endian<uint64_t>(bytes, 16);
  h.chunk_size = little_endian<uint32_t>(bytes, 24);
  h.client_flags = little_endian<uint32_t>(bytes, 28);
  h.generation = little_endian<uint64_t>(bytes, 32);
  if (bytes.size() != 48 + size_t{8} * h.chunk_count) return std::nullopt;
  return h;
}

std::string chunk_key(std::string_view key, uint64_t generation, uint32_t index) {
  const XXH128_hash_t hash = XXH3_128bits(key.data(), key.size());
  return std::string(kChunkKeyPrefix) + hex(hash.high64, 16) + hex(hash.low64, 16) + ":" +
         hex(generation, 16) + ":" + hex(index, 8);
}

std::string storage_command(std::string_view verb, std::string_view key, std::string_view value,
                            uint32_t flags, int exptime, std::optional<uint64_t> cas) {
  std::string out = std::string(verb) + " " + std::string(key) + " " + std::to_string(flags) + " " +
                    std::to_string(exptime) + " " + std::to_string(value.size());
  if (cas) out += " " + std::to_string(*cas);
  out += "\r\n";
  out += value;
  out += "\r\n";
  return out;
}

void expect_same_bytes(std::string_view actual, std::string_view expected, std::string_view what) {
  if (actual == expected) return;
  size_t at = 0;
  while (at < actual.size() && at < expected.size() && actual[at] == expected[at]) ++at;
  ADD_FAILURE() << what << ": " << actual.size() << " bytes, expected " << expected.size()
                << "; first difference at offset " << at << ": got "
                << escape(actual.substr(at, 60)) << ", expected "
                << escape(expected.substr(at, 60));
}

bool SplitLayout::complete() const {
  for (int server : chunk_servers) {
    if (server < 0) return false;
  }
  return index_server >= 0;
}

bool SplitLayout::touches(int server) const {
  if (index_server == server) return true;
  for (int s : chunk_servers) {
    if (s == server) return true;
  }
  return false;
}

// ---- SplitTest ----

void SplitTest::SetUp() {
  UpstreamTest::SetUp();
  if (IsSkipped()) return;
  for (int i = 0; i < 3; ++i) {
    std::string error;
    auto server = start_memcached(&error, kUpstreamItemSizeMax);
    ASSERT_NE(server, nullptr) << "upstream memcached " << i << ": " << error;
    upstream_ports_.push_back(server->port());
    upstreams_.push_back(std::move(server));
  }
}

McguardOptions SplitTest::split_options() {
  McguardOptions options;
  options.max_value_size = "16m";
  return options;
}

void SplitTest::start_split_proxy(const std::vector<std::string>& args, McguardOptions options) {
  std::vector<std::string> all = {"--upstream-timeout", "5s", "--upstream-retry", "50ms"};
  // Old chunks go soon, so tests that wait for them to go are quick; tests of
  // the grace itself give their own.
  if (std::find(args.begin(), args.end(), "--upstream-split-grace") == args.end()) {
    all.insert(all.end(), {"--upstream-split-grace", "100ms"});
  }
  all.insert(all.end(), args.begin(), args.end());
  start_proxy(all, std::move(options));
}

std::unique_ptr<ServerProcess> SplitTest::start_second_proxy(const std::vector<std::string>& args) {
  McguardOptions options = split_options();
  for (uint16_t port : upstream_ports_) {
    options.extra_args.push_back("--upstream");
    options.extra_args.push_back("127.0.0.1:" + std::to_string(port));
  }
  options.extra_args.insert(options.extra_args.end(), {"--upstream-timeout", "5s"});
  options.extra_args.insert(options.extra_args.end(), args.begin(), args.end());
  std::string error;
  auto proxy = start_subject(&error, options);
  EXPECT_NE(proxy, nullptr) << "second mcguard: " << error;
  return proxy;
}

void SplitTest::restart_small_upstream(int i) {
  upstreams_[i].reset();
  std::string error;
  upstreams_[i] = start_memcached(&error, kUpstreamItemSizeMax, 4096, upstream_ports_[i]);
  ASSERT_NE(upstreams_[i], nullptr) << "restarting upstream " << i << ": " << error;
}

Retrieval SplitTest::retrieve(Client& c, std::string_view request, milliseconds timeout) {
  return parse_retrieval(ask(c, request, timeout));
}

std::optional<Item> SplitTest::fetch(Client& c, std::string_view request, milliseconds timeout) {
  Retrieval r = retrieve(c, request, timeout);
  EXPECT_TRUE(r.well_formed && r.items.size() <= 1)
      << escape(request, 100) << ": " << r.problem << (r.closed ? " [closed]" : "")
      << (r.timed_out ? " [timed out]" : "") << ", " << r.items.size() << " items";
  if (!r.well_formed || r.items.empty()) return std::nullopt;
  return std::move(r.items.front());
}

std::string SplitTest::store(Client& c, std::string_view command, milliseconds timeout) {
  ReadResult r = ask(c, command, timeout);
  constexpr std::string_view kMarker = "MN\r\n";
  if (r.bytes.size() < kMarker.size() ||
      r.bytes.compare(r.bytes.size() - kMarker.size(), kMarker.size(), kMarker) != 0) {
    return escape(r.bytes, 200) + (r.closed ? " [closed]" : "") +
           (r.timed_out ? " [timed out]" : "");
  }
  return r.bytes.substr(0, r.bytes.size() - kMarker.size());
}

std::string SplitTest::command_line(Client& c, std::string_view command) {
  return store(c, command, milliseconds(10000));
}

std::optional<Item> SplitTest::direct_item(int i, std::string_view key) {
  Client c = connect_upstream(i);
  Retrieval r = parse_retrieval(ask(c, "gets " + std::string(key) + "\r\n", milliseconds(20000)));
  EXPECT_TRUE(r.well_formed && r.items.size() <= 1)
      << "upstream " << i << ", gets " << key << ": " << r.problem;
  if (!r.well_formed || r.items.empty()) return std::nullopt;
  return std::move(r.items.front());
}

std::vector<bool> SplitTest::direct_exists(int i, const std::vector<std::string>& keys) {
  std::vector<bool> out;
  if (keys.empty()) return out;
  Client c = connect_upstream(i);
  std::string request;
  for (const std::string& key : keys) request += "mg " + key + "\r\n";
  ReadResult r = ask(c, request, milliseconds(10000));
  std::string_view rest = r.bytes;
  while (!rest.empty() && rest != "MN\r\n") {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    if (line != "HD" && line != "EN") break;
    out.push_back(line == "HD");
    rest.remove_prefix(eol + 2);
  }
  EXPECT_TRUE(out.size() == keys.size() && rest == "MN\r\n")
      << "mg of " << keys.size() << " keys on upstream " << i << ": " << escape(r.bytes, 300);
  out.resize(keys.size(), false);
  return out;
}

long long SplitTest::server_items(int i) {
  Client c = connect_upstream(i);
  return stat_number(c, "curr_items");
}

long long SplitTest::total_items() {
  long long total = 0;
  for (int i = 0; i < static_cast<int>(upstreams_.size()); ++i) {
    if (upstreams_[i] != nullptr) total += server_items(i);
  }
  return total;
}

bool SplitTest::wait_total_items(long long expected, long long* seen, milliseconds timeout) {
  return wait_until(
      [&] {
        *seen = total_items();
        return *seen == expected;
      },
      timeout, milliseconds(20));
}

std::optional<SplitLayout> SplitTest::store_split(Client& c, const std::string& key,
                                                  const std::string& value, uint32_t flags,
                                                  int exptime) {
  const std::string reply = store(c, storage_command("set", key, value, flags, exptime));
  EXPECT_EQ(reply, "STORED\r\n") << "set " << key << " of " << value.size() << " bytes";
  if (reply != "STORED\r\n") return std::nullopt;
  auto layout = layout_of(key);
  if (!layout) return std::nullopt;
  EXPECT_TRUE(layout->complete()) << key << ": a chunk is missing or on several servers";
  EXPECT_EQ(layout->manifest.total_length, value.size());
  return layout;
}

std::optional<SplitLayout> SplitTest::layout_of(std::string_view key) {
  SplitLayout layout;
  for (int i = 0; i < static_cast<int>(upstreams_.size()); ++i) {
    if (upstreams_[i] == nullptr) continue;
    std::optional<Item> item = direct_item(i, key);
    if (!item) continue;
    if (layout.index_server >= 0) {
      ADD_FAILURE() << key << " is on upstreams " << layout.index_server << " and " << i;
      return std::nullopt;
    }
    layout.index_server = i;
    layout.index = std::move(*item);
  }
  if (layout.index_server < 0) {
    ADD_FAILURE() << key << " is on no upstream";
    return std::nullopt;
  }
  if (layout.index.flags != kIndexFlags) {
    ADD_FAILURE() << key << " is a plain item on upstream " << layout.index_server << " (flags "
                  << layout.index.flags << ", " << layout.index.value.size() << " bytes)";
    return std::nullopt;
  }
  auto manifest = read_manifest_header(layout.index.value);
  if (!manifest) {
    ADD_FAILURE() << key << "'s index on upstream " << layout.index_server
                  << " is no manifest: " << escape(layout.index.value, 200);
    return std::nullopt;
  }
  layout.manifest = *manifest;
  layout.chunk_servers.assign(manifest->chunk_count, -1);
  for (uint32_t n = 0; n < manifest->chunk_count; ++n) {
    layout.chunk_keys.push_back(chunk_key(key, manifest->generation, n));
  }
  for (int i = 0; i < static_cast<int>(upstreams_.size()); ++i) {
    if (upstreams_[i] == nullptr) continue;
    const std::vector<bool> there = direct_exists(i, layout.chunk_keys);
    for (uint32_t n = 0; n < manifest->chunk_count; ++n) {
      if (!there[n]) continue;
      int& where = layout.chunk_servers[n];
      where = where == -1 ? i : -2;
    }
  }
  return layout;
}

int SplitTest::live_chunks(const SplitLayout& layout) {
  std::vector<bool> live(layout.chunk_keys.size(), false);
  for (int i = 0; i < static_cast<int>(upstreams_.size()); ++i) {
    if (upstreams_[i] == nullptr) continue;
    const std::vector<bool> there = direct_exists(i, layout.chunk_keys);
    for (size_t n = 0; n < live.size(); ++n) live[n] = live[n] || there[n];
  }
  return static_cast<int>(std::count(live.begin(), live.end(), true));
}

long long SplitTest::proxy_stat(const std::string& name, ServerProcess* proxy) {
  ServerProcess* target = proxy != nullptr ? proxy : proxy_.get();
  if (target == nullptr) return -1;
  auto c = Client::connect(target->port(), milliseconds(5000));
  if (!c) return -1;
  return stat_number(*c, name);
}

}  // namespace mcguard::e2e
