#include "protocol/meta.h"

#include <array>
#include <cstdint>

#include "protocol/base64.h"
#include "protocol/response.h"

namespace mcguard {
namespace {

ParseResult request(size_t consumed) {
  ParseResult r;
  r.status = ParseResult::Status::kRequest;
  r.consumed = consumed;
  return r;
}

ParseResult error(size_t consumed, std::string_view reply, uint64_t swallow = 0) {
  ParseResult r;
  r.status = ParseResult::Status::kError;
  r.consumed = consumed;
  r.reply = reply;
  r.swallow = swallow;
  return r;
}

void add_flag(MetaFlags& meta, char name, std::string_view token) {
  if (meta.count == MetaFlags::kMaxFlags) return;  // cannot happen: kMaxMetaTokens is lower
  meta.flags[meta.count++] = MetaFlags::Flag{name, token};
  meta.present |= MetaFlags::bit(name);
}

// memcached's _meta_flag_preparse: a repeated flag or an unknown one stops at once;
// a bad token only marks the error and goes on, so the last bad token names the error
// (a bad F token leaves the message as it was).
bool parse_flags(const text::Tokens& t, size_t start, Request& out, std::string_view& error_reply) {
  uint64_t seen[2] = {0, 0};
  bool failed = false;
  error_reply = reply::kBadCommandLineFormat;
  for (size_t i = start; i < t.count; ++i) {
    const std::string_view token = t.token[i];
    const auto name = static_cast<uint8_t>(token[0]);
    if (name >= 127 || (seen[name >> 6] >> (name & 63) & 1) != 0) {
      error_reply = reply::kMetaDuplicateFlag;
      return false;
    }
    seen[name >> 6] |= uint64_t{1} << (name & 63);
    const std::string_view arg = token.substr(1);
    int32_t ttl = 0;
    switch (name) {
      case 'b':
        if (base64_decoded_length(t.token[1]) == 0) {
          error_reply = reply::kMetaErrorDecodingKey;
          failed = true;
        }
        break;
      case 'N':
      case 'T':
      case 'R':
        if (!text::parse_i32(arg, ttl)) {
          error_reply = reply::kMetaBadToken;
          failed = true;
        } else if (name == 'N') {
          out.meta.vivify_ttl = ttl;
        } else if (name == 'T') {
          out.exptime = ttl;
        } else {
          out.meta.recache_ttl = ttl;
        }
        break;
      case 'F':
        if (!text::parse_u32(arg, out.client_flags)) failed = true;
        break;
      case 'C':
        if (!text::parse_u64(arg, out.cas_unique)) {
          error_reply = reply::kMetaBadToken;
          failed = true;
        }
        break;
      case 'M':
        if (token.size() != 2) {
          error_reply = reply::kMetaIncorrectModeLength;
          failed = true;
        } else {
          out.meta.mode = token[1];
        }
        break;
      case 'J':
        if (!text::parse_u64(arg, out.meta.initial)) {
          error_reply = reply::kMetaInvalidInitial;
          failed = true;
        }
        break;
      case 'D':
        if (!text::parse_u64(arg, out.delta)) {
          error_reply = reply::kMetaInvalidDelta;
          failed = true;
        }
        break;
      case 'I':
      case 'L':
      case 'O':
      case 'P':
      case 'c':
      case 'f':
      case 'h':
      case 'k':
      case 'l':
      case 'q':
      case 's':
      case 't':
      case 'u':
      case 'v':
        break;
      default:
        error_reply = reply::kMetaInvalidFlag;
        return false;
    }
    add_flag(out.meta, static_cast<char>(name), arg);
  }
  return !failed;
}

// memcached checks opaque lengths while building the reply, after the flags parsed.
bool opaque_too_long(const text::Tokens& t, size_t start) {
  for (size_t i = start; i < t.count; ++i) {
    if (t.token[i][0] == 'O' && t.token[i].size() > kMaxOpaqueTokenLength) return true;
  }
  return false;
}

ParseResult parse_get(const text::Tokens& t, size_t consumed, Request& out) {
  if (t.token[1].size() > kMaxKeyLength) return error(consumed, reply::kBadCommandLineFormat);
  if (t.ntokens() > kMaxMetaTokens) return error(consumed, reply::kMetaGetFlagsTooLong);
  std::string_view flag_error;
  if (!parse_flags(t, 2, out, flag_error)) return error(consumed, flag_error);
  if (opaque_too_long(t, 2)) return error(consumed, reply::kMetaOpaqueTooLong);
  out.command = Command::kMetaGet;
  return request(consumed);
}

ParseResult parse_set(const text::Tokens& t, size_t consumed, Request& out) {
  // Until the datalen is known nothing is swallowed: the data reads as commands.
  if (t.token[1].size() > kMaxKeyLength || t.count == 2) {
    return error(consumed, reply::kBadCommandLineFormat);
  }
  if (t.ntokens() > kMaxMetaTokens) return error(consumed, reply::kMetaFlagsTooLong);
  int32_t length = 0;
  if (!text::parse_i32(t.token[2], length) || length < 0 || length > INT32_MAX - 2) {
    return error(consumed, reply::kBadCommandLineFormat);
  }
  const uint64_t swallow = static_cast<uint64_t>(length) + 2;
  std::string_view flag_error;
  if (!parse_flags(t, 3, out, flag_error)) return error(consumed, flag_error, swallow);
  // A bad mode is reported even over a too-long opaque.
  switch (out.meta.mode) {
    case 0:
    case 'E':
    case 'A':
    case 'P':
    case 'R':
    case 'S':
      break;
    default:
      return error(consumed, reply::kMetaInvalidSetMode, swallow);
  }
  if (opaque_too_long(t, 3)) return error(consumed, reply::kMetaOpaqueTooLong, swallow);
  out.command = Command::kMetaSet;
  out.value_length = static_cast<uint64_t>(length);
  return request(consumed);
}

ParseResult parse_delete(const text::Tokens& t, size_t consumed, Request& out) {
  if (t.token[1].size() > kMaxKeyLength) return error(consumed, reply::kBadCommandLineFormat);
  if (t.ntokens() > kMaxMetaTokens) return error(consumed, reply::kMetaFlagsTooLong);
  std::string_view ignored;
  if (!parse_flags(t, 2, out, ignored)) return error(consumed, reply::kMetaInvalidOrDuplicateFlag);
  if (opaque_too_long(t, 2)) return error(consumed, reply::kMetaOpaqueTooLong);
  out.command = Command::kMetaDelete;
  return request(consumed);
}

ParseResult parse_arithmetic(const text::Tokens& t, size_t consumed, Request& out) {
  if (t.token[1].size() > kMaxKeyLength) return error(consumed, reply::kBadCommandLineFormat);
  if (t.ntokens() > kMaxMetaTokens) return error(consumed, reply::kMetaFlagsTooLong);
  out.delta = 1;  // ma without D adds one
  std::string_view ignored;
  if (!parse_flags(t, 2, out, ignored)) return error(consumed, reply::kMetaInvalidOrDuplicateFlag);
  switch (out.meta.mode) {
    case 0:
    case 'I':
    case '+':
    case 'D':
    case '-':
      break;
    default:
      return error(consumed, reply::kMetaInvalidArithmeticMode);
  }
  if (opaque_too_long(t, 2)) return error(consumed, reply::kMetaOpaqueTooLong);
  out.command = Command::kMetaArithmetic;
  return request(consumed);
}

// me takes a key and an optional exact "b"; anything else after the key is ignored.
ParseResult parse_debug(const text::Tokens& t, size_t consumed, Request& out) {
  if (t.count < 2 || t.token[1].size() > kMaxKeyLength) {
    return error(consumed, reply::kBadCommandLineFormat);
  }
  if (t.count >= 3 && t.token[2] == "b") {
    if (base64_decoded_length(t.token[1]) == 0) {
      return error(consumed, reply::kBadCommandLineFormat);
    }
    add_flag(out.meta, 'b', {});
  }
  out.command = Command::kMetaDebug;
  return request(consumed);
}

}  // namespace

namespace detail {

ParseResult parse_meta(char kind, const text::Tokens& t, size_t consumed, Request& out) {
  if (kind == 'n') {
    out.command = Command::kMetaNoop;
    return request(consumed);
  }
  if (kind == 'e') {
    ParseResult r = parse_debug(t, consumed, out);
    if (r.status == ParseResult::Status::kRequest) out.key = t.token[1];
    return r;
  }
  if (kind != 'g' && kind != 's' && kind != 'd' && kind != 'a') {
    return error(consumed, reply::kError);
  }
  if (t.count < 2) return error(consumed, reply::kError);  // no key
  out.key = t.token[1];
  switch (kind) {
    case 'g':
      return parse_get(t, consumed, out);
    case 's':
      return parse_set(t, consumed, out);
    case 'd':
      return parse_delete(t, consumed, out);
    default:
      return parse_arithmetic(t, consumed, out);
  }
}

}  // namespace detail
}  // namespace mcguard
