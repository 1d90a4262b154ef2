#include "protocol/get_line.h"

#include <cstring>

#include "protocol/response.h"
#include "protocol/tokens.h"

namespace mcguard {
namespace {

// memcached lets a long line through only after at most this many spaces.
constexpr size_t kMaxLeadingSpaces = 100;
// A gat exptime longer than this cannot be a number memcached would take
// without also taking absurd padding; it is refused as invalid.
constexpr size_t kMaxExptimeToken = 64;

const char* skip_spaces(const char* p, const char* end) {
  while (p < end && *p == ' ') ++p;
  return p;
}

}  // namespace

bool long_line_allowed(const char* data, size_t size) {
  const char* const end = data + size;
  const char* start = skip_spaces(data, end);
  if (static_cast<size_t>(start - data) > kMaxLeadingSpaces) return false;
  const std::string_view rest(start, end - start);
  return rest.starts_with("get ") || rest.starts_with("gets ") || rest.starts_with("gat ") ||
         rest.starts_with("gats ") || rest.starts_with("bget ");
}

ParseResult parse_long_retrieval_head(std::span<const char> input, Request& out) {
  const char* const end = input.data() + input.size();
  const char* p = skip_spaces(input.data(), end);
  const char* verb_end = static_cast<const char*>(std::memchr(p, ' ', end - p));
  if (verb_end == nullptr) return ParseResult{};
  const std::string_view verb(p, verb_end - p);
  out.command = verb == "gets"   ? Command::kGets
                : verb == "gat"  ? Command::kGat
                : verb == "gats" ? Command::kGats
                                 : Command::kGet;  // get, bget
  out.exptime = 0;
  p = skip_spaces(verb_end, end);
  ParseResult result;
  if (out.command == Command::kGat || out.command == Command::kGats) {
    const char* token_end = static_cast<const char*>(std::memchr(p, ' ', end - p));
    if (token_end == nullptr && static_cast<size_t>(end - p) <= kMaxExptimeToken) return result;
    int32_t exptime = 0;
    if (token_end == nullptr || static_cast<size_t>(token_end - p) > kMaxExptimeToken ||
        !text::parse_i32({p, static_cast<size_t>(token_end - p)}, exptime)) {
      result.status = ParseResult::Status::kError;
      result.reply = reply::kInvalidExptime;
      return result;
    }
    out.exptime = exptime;
    p = token_end;
  }
  result.status = ParseResult::Status::kRequest;
  result.consumed = static_cast<size_t>(p - input.data());
  return result;
}

KeyBatch next_key_batch(std::span<const char> input, uint32_t max_keys) {
  KeyBatch batch;
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* first = nullptr;
  const char* last_end = nullptr;
  const char* p = begin;
  while (batch.count < max_keys) {
    p = skip_spaces(p, end);
    batch.consumed = static_cast<size_t>(p - begin);
    if (p == end) break;
    const char* stop = p;
    while (stop < end && *stop != ' ' && *stop != '\n') ++stop;
    if (stop == end) {
      // Still arriving; a trailing '\r' may yet be the line's own.
      if (static_cast<size_t>(end - p) > kMaxKeyLength + 1) batch.key_too_long = true;
      break;
    }
    const char* key_end = stop;
    // memcached drops the '\r' right before the line's '\n'.
    if (*stop == '\n' && key_end > p && key_end[-1] == '\r') --key_end;
    if (static_cast<size_t>(key_end - p) > kMaxKeyLength) {
      batch.key_too_long = true;
      break;
    }
    if (key_end > p) {
      if (first == nullptr) first = p;
      last_end = key_end;
      ++batch.count;
    }
    p = stop;
    if (*stop == '\n') {
      batch.line_ended = true;
      batch.consumed = static_cast<size_t>(stop + 1 - begin);
      break;
    }
    batch.consumed = static_cast<size_t>(p - begin);
  }
  if (batch.key_too_long) {
    batch.count = 0;
    return batch;
  }
  if (first != nullptr) batch.keys = std::string_view(first, last_end - first);
  return batch;
}

}  // namespace mcguard
