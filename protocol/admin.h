// memcached 1.6.18's admin commands that tune its own internals (watch, lru_crawler,
// lru, slabs, extstore) and cache_memlimit. A proxy has none of those internals, so
// parse_header answers the first group itself with the line memcached sends when the
// feature is off: a memcached started with -W (no watch) and -o no_lru_crawler,
// no_lru_maintainer,no_slab_reassign,no_slab_automove, which still takes settings it
// will not use (OK) and checks their arguments the same way. Never a bare ERROR where
// that memcached is more specific: some clients retry a bare ERROR forever.
// cache_memlimit is checked here and carried out by the tier (Command::kCacheMemlimit).
#pragma once

#include <cstddef>

#include "protocol/parser.h"
#include "protocol/request.h"
#include "protocol/tokens.h"

namespace mcguard {

// cache_memlimit's bounds, in megabytes (memcached refuses below 8 and, guessing the
// client sent bytes, above 1,000,000,000).
inline constexpr uint32_t kMinMemlimitMegabytes = 8;
inline constexpr uint32_t kMaxMemlimitMegabytes = 1000000000;

namespace detail {
// True when `t` names one of these commands; `result` (and, for a valid
// cache_memlimit, `out`) then holds the outcome. parse_header's dispatch calls it.
bool parse_admin(const text::Tokens& t, size_t consumed, ParseResult& result, Request& out);
}  // namespace detail

}  // namespace mcguard
