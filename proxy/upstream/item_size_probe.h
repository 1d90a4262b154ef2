// The split threshold: the largest value the upstream tier stores as one item.
// Values over it are split into chunks (--upstream-split on). It follows from
// the upstreams' item limit (memcached's -I), which --upstream-item-size-max
// gives or, with auto, each upstream reports in `stats settings`: the Server
// asks them once at start-up, before the workers run, and every worker uses the
// result. probe_item_size_max is the part that touches the network; the rest
// is pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/upstream/ketama.h"
#include "proxy/upstream/upstream_server.h"

namespace mcguard {

// Room an item needs beside a chunk's data, taken off the item limit: memcached
// counts the whole item against -I, not just the value: its header (48 bytes on
// 64-bit builds), the CAS (8), the key (a chunk key is at most 250 bytes, plus a
// NUL), the flags and the data's "\r\n". That is about 310 bytes; 512 leaves
// margin for builds whose header is larger.
inline constexpr uint64_t kChunkItemOverhead = 512;
// memcached's default -I, used when no upstream says what it has.
inline constexpr uint64_t kDefaultItemSizeMax = 1u << 20;
// memcached refuses a -I outside this range; a reported figure below it is not believed.
inline constexpr uint64_t kMinItemSizeMax = 1u << 10;
inline constexpr uint64_t kMaxItemSizeMax = 1u << 30;
// A `stats settings` reply is a few KiB; more than this is not one.
inline constexpr size_t kMaxStatsSettingsReply = 64u << 10;

// Where the item limit in use came from.
enum class ItemSizeSource : uint8_t {
  kOption,         // --upstream-item-size-max SIZE
  kStatsSettings,  // the smallest item_size_max the upstreams reported
  kFallback,       // auto, and no upstream reported one: kDefaultItemSizeMax
};

struct SplitLimit {
  uint64_t item_size_max = kDefaultItemSizeMax;  // the upstreams' item limit in use
  uint64_t threshold = kDefaultItemSizeMax - kChunkItemOverhead;
  ItemSizeSource source = ItemSizeSource::kFallback;
};

// `configured`: --upstream-item-size-max (0: auto, else at least
// kMinItemSizeMax, as the option checks). `reported`: each upstream's
// item_size_max, nullopt where it did not answer (those are ignored). With an
// explicit size that size counts; with auto the smallest figure reported.
SplitLimit split_limit(uint64_t configured, std::span<const std::optional<uint64_t>> reported);

// The start-up log line: the mode, the threshold and where its figure came from.
std::string describe_split(const SplitLimit& limit, SplitMode mode);

// "on", "read-only" or "off", as --upstream-split spells it.
std::string_view split_mode_name(SplitMode mode);

// What a `stats settings` reply (the bytes received so far) says.
struct StatsSettingsScan {
  enum Status : uint8_t {
    kNeedMore,  // no END (or error line) yet
    kDone,      // the whole reply: item_size_max is set if a STAT line gave a number
    kBroken,    // not a stats reply: a malformed or unexpected line
  };
  Status status = kNeedMore;
  std::optional<uint64_t> item_size_max;
};
StatsSettingsScan scan_stats_settings(std::string_view reply);

// Asks every upstream for `stats settings` at once and waits for their answers
// for at most `timeout_ms` in all: non-blocking connects, one poll loop, each
// reply bounded by kMaxStatsSettingsReply. Blocking; for start-up only. An
// upstream that cannot be resolved or reached, does not answer in time, or
// answers without item_size_max is nullopt, and logged with the reason.
std::vector<std::optional<uint64_t>> probe_item_size_max(
    const std::vector<UpstreamAddress>& upstreams, int64_t timeout_ms);

}  // namespace mcguard
