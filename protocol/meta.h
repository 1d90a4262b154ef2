// Meta commands (mg ms md ma mn me) as memcached 1.6.18 parses them (the base64
// of their 'b' binary-key flag is protocol/base64.h). Flags are checked the way memcached checks
// them, so a bad header gets the same error line, and ms's data block is swallowed
// exactly when memcached swallows it. Keys stay raw (still base64 under 'b').
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "protocol/parser.h"
#include "protocol/request.h"
#include "protocol/tokens.h"

namespace mcguard {

// Longest opaque token memcached echoes, counting its 'O'.
inline constexpr size_t kMaxOpaqueTokenLength = 32;
// memcached refuses a meta line of more than this many tokens (its count includes the
// command and a terminal token): at most 17 flags after mg/md/ma's key, 16 after ms's
// datalen.
inline constexpr size_t kMaxMetaTokens = 20;

namespace detail {
// Parses a meta command named 'm' + `kind`; parse_header's dispatch calls it.
ParseResult parse_meta(char kind, const text::Tokens& tokens, size_t consumed, Request& out);
}  // namespace detail

}  // namespace mcguard
