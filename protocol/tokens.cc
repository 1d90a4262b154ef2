#include "protocol/tokens.h"

#include <cstring>

namespace mcguard::text {

void tokenize(std::string_view line, Tokens& out) {
  out.count = 0;
  out.rest = {};
  const char* p = line.data();
  const char* const end = p + line.size();
  while (p < end) {
    while (p < end && *p == ' ') ++p;
    if (p == end) break;
    const char* space = static_cast<const char*>(std::memchr(p, ' ', end - p));
    const char* token_end = space != nullptr ? space : end;
    out.token[out.count++] = std::string_view(p, token_end - p);
    if (space == nullptr) break;
    p = space + 1;
    if (out.count == kMaxSplitTokens) {
      // memcached stops splitting here; what follows is handed on unsplit.
      out.rest = std::string_view(p, end - p);
      break;
    }
  }
}

namespace {

// isspace() in the C locale. A token never holds ' ' or '\n', but may hold the rest.
bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// What strtoull/strtol see in a token: the sign and the magnitude of the digits.
struct Digits {
  bool valid = false;  // digits present and followed by the end or whitespace
  bool negative = false;
  bool overflow = false;  // magnitude above UINT64_MAX
  uint64_t magnitude = 0;
};

Digits scan(std::string_view token) {
  Digits d;
  size_t i = 0;
  while (i < token.size() && is_c_space(token[i])) ++i;
  if (i < token.size() && (token[i] == '+' || token[i] == '-')) {
    d.negative = token[i] == '-';
    ++i;
  }
  const size_t first_digit = i;
  for (; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(token[i] - '0');
    if (d.magnitude > (UINT64_MAX - digit) / 10) {
      d.overflow = true;
    } else {
      d.magnitude = d.magnitude * 10 + digit;
    }
  }
  if (i == first_digit) return d;  // no digits: endptr == str
  d.valid = i == token.size() || is_c_space(token[i]);
  return d;
}

// strtoull/strtoul (64-bit long) plus safe_strtoul's guard against negative input.
bool parse_unsigned(std::string_view token, uint64_t& out) {
  const Digits d = scan(token);
  if (!d.valid || d.overflow) return false;
  const uint64_t value = d.negative ? uint64_t{0} - d.magnitude : d.magnitude;
  if (static_cast<int64_t>(value) < 0 && token.find('-') != std::string_view::npos) return false;
  out = value;
  return true;
}

}  // namespace

bool parse_u64(std::string_view token, uint64_t& out) { return parse_unsigned(token, out); }

bool parse_u32(std::string_view token, uint32_t& out) {
  uint64_t value = 0;
  if (!parse_unsigned(token, value)) return false;
  out = static_cast<uint32_t>(value);
  return true;
}

bool parse_i32(std::string_view token, int32_t& out) {
  const Digits d = scan(token);
  if (!d.valid || d.overflow) return false;
  constexpr uint64_t kLongMax = static_cast<uint64_t>(INT64_MAX);
  if (d.magnitude > (d.negative ? kLongMax + 1 : kLongMax)) return false;  // ERANGE
  const uint64_t value = d.negative ? uint64_t{0} - d.magnitude : d.magnitude;
  out = static_cast<int32_t>(static_cast<uint32_t>(value));
  return true;
}

}  // namespace mcguard::text
