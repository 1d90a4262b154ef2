// Meta commands (mg ms md ma mn me) as memcached 1.6.18 parses them, plus the base64
// rules of their 'b' (binary key) flag. Flags are checked the way memcached checks
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

// memcached's base64 decoder: bytes outside the alphabet and '=' are skipped, the rest
// must come in groups of four, and decoding stops after the first group with padding
// (one or two '='; more is an error). Returns the decoded length, 0 when invalid.
size_t base64_decoded_length(std::string_view encoded);
// Decodes into `out`; returns the decoded length, 0 when invalid or `out` is too small.
size_t base64_decode(std::string_view encoded, std::span<char> out);

constexpr size_t base64_encoded_length(size_t binary_length) { return (binary_length + 2) / 3 * 4; }
// Standard padded base64; returns the encoded length, 0 when `out` is too small.
size_t base64_encode(std::string_view binary, std::span<char> out);

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
