// Token-level rules of memcached 1.6.18's text protocol, shared by parser.cc and
// meta.cc: a line splits on spaces only, into at most 23 tokens plus an unsplit rest
// (tokenize_command with MAX_TOKENS 24), and numbers are accepted, rejected and
// wrapped exactly as its safe_strto* helpers do. Internal to protocol/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mcguard::text {

inline constexpr size_t kMaxTokens = 24;  // memcached's MAX_TOKENS, terminal token included
inline constexpr size_t kMaxSplitTokens = kMaxTokens - 1;

struct Tokens {
  std::string_view token[kMaxSplitTokens];
  size_t count = 0;
  // After the 23rd token: the unsplit remainder (may be only spaces). Empty otherwise.
  std::string_view rest;
  // memcached's ntokens, which counts the terminal token too.
  size_t ntokens() const { return count + 1; }
};

// Splits `line` (already cut at its first NUL, as memcached's strlen does).
void tokenize(std::string_view line, Tokens& out);

// safe_strtoull: base 10, leading C whitespace and a sign allowed, the token may go on
// after the digits only with whitespace; a value above INT64_MAX is refused when the
// token holds a '-' (so "-1" fails but "-0" is 0).
bool parse_u64(std::string_view token, uint64_t& out);
// safe_strtoul: as parse_u64, then truncated to 32 bits ("4294967296" is 0).
bool parse_u32(std::string_view token, uint32_t& out);
// safe_strtol: a signed 64-bit parse (out of range fails), then truncated to 32 bits
// ("4294967297" is 1, "2147483648" is INT32_MIN).
bool parse_i32(std::string_view token, int32_t& out);

}  // namespace mcguard::text
