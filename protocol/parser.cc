// Reproduces memcached 1.6.18's try_read_command_ascii / process_command_ascii for one
// header. Where memcached's behaviour depends on how reads happened to split the bytes
// (a long line is cut off only if no '\n' had arrived within 2048 bytes), the parser
// takes the outcome that is the same for every split: see parse_header below.
#include "protocol/parser.h"

#include <cstring>

#include "protocol/admin.h"
#include "protocol/get_line.h"
#include "protocol/meta.h"
#include "protocol/response.h"
#include "protocol/tokens.h"

namespace mcguard {
namespace {

using Status = ParseResult::Status;
using text::Tokens;

ParseResult close_connection() {
  ParseResult r;
  r.status = Status::kError;
  r.close = true;
  return r;
}

ParseResult request(size_t consumed) {
  ParseResult r;
  r.status = Status::kRequest;
  r.consumed = consumed;
  return r;
}

ParseResult error(size_t consumed, std::string_view reply) {
  ParseResult r;
  r.status = Status::kError;
  r.consumed = consumed;
  r.reply = reply;
  return r;
}

// Classic commands: memcached sends nothing for an error once it has seen "noreply".
ParseResult error(size_t consumed, std::string_view reply, bool noreply) {
  return error(consumed, noreply ? std::string_view() : reply);
}

void reset(Request& r) {
  r.command = Command::kNone;
  r.line = {};
  r.key = {};
  r.keys = {};
  r.key_count = 0;
  r.more_keys_follow = false;
  r.client_flags = 0;
  r.exptime = 0;
  r.value_length = 0;
  r.cas_unique = 0;
  r.delta = 0;
  r.delay = 0;
  r.has_delay = false;
  r.verbosity = 0;
  r.args = {};
  r.memlimit_mb = 0;
  r.noreply = false;
  // The flag array is left as it is: count bounds what is valid.
  r.meta.present = 0;
  r.meta.count = 0;
  r.meta.vivify_ttl = 0;
  r.meta.recache_ttl = 0;
  r.meta.initial = 0;
  r.meta.mode = 0;
}

bool is_noreply(const Tokens& t) { return t.token[t.count - 1] == "noreply"; }

// set add replace append prepend: <key> <flags> <exptime> <bytes> [noreply]
// cas: <key> <flags> <exptime> <bytes> <cas unique> [noreply]
// memcached reads the noreply slot as the last token whatever it holds, so
// "set k 0 0 noreply" is silent and a 7th token other than "noreply" is ignored. No
// error here swallows the data block: it is then read as the next command.
ParseResult parse_storage(Command command, const Tokens& t, size_t consumed, Request& out) {
  const bool cas = command == Command::kCas;
  const size_t n = t.ntokens();
  if (cas ? (n != 7 && n != 8) : (n != 6 && n != 7)) return error(consumed, reply::kError);
  const bool noreply = is_noreply(t);
  uint32_t flags = 0;
  int32_t exptime = 0;
  int32_t length = 0;
  uint64_t cas_unique = 0;
  if (t.token[1].size() > kMaxKeyLength || !text::parse_u32(t.token[2], flags) ||
      !text::parse_i32(t.token[3], exptime) || !text::parse_i32(t.token[4], length) ||
      (cas && !text::parse_u64(t.token[5], cas_unique)) || length < 0 || length > INT32_MAX - 2) {
    return error(consumed, reply::kBadCommandLineFormat, noreply);
  }
  out.command = command;
  out.key = t.token[1];
  out.client_flags = flags;
  out.exptime = exptime;
  out.value_length = static_cast<uint64_t>(length);
  out.cas_unique = cas_unique;
  out.noreply = noreply;
  return request(consumed);
}

// get gets bget <key>*; gat gats <exptime> <key>*. memcached answers a long key with
// only the error, dropping the hits before it, so one bad key fails the request.
ParseResult parse_retrieval(Command command, const Tokens& t, size_t consumed, Request& out) {
  size_t first = 1;
  if (command == Command::kGat || command == Command::kGats) {
    int32_t exptime = 0;
    if (!text::parse_i32(t.token[1], exptime)) return error(consumed, reply::kInvalidExptime);
    out.exptime = exptime;
    first = 2;  // "gat <exptime>" alone is valid: no keys, memcached answers END
  }
  const char* begin = nullptr;
  const char* end = nullptr;
  uint32_t count = 0;
  for (size_t i = first; i < t.count; ++i) {
    const std::string_view key = t.token[i];
    if (key.size() > kMaxKeyLength) return error(consumed, reply::kBadCommandLineFormat);
    if (begin == nullptr) begin = key.data();
    end = key.data() + key.size();
    ++count;
  }
  // Past memcached's 23 tokens: the same rule, over the unsplit rest.
  const char* p = t.rest.data();
  const char* const rest_end = p + t.rest.size();
  while (p < rest_end) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    const char* space = static_cast<const char*>(std::memchr(p, ' ', rest_end - p));
    const char* key_end = space != nullptr ? space : rest_end;
    if (static_cast<size_t>(key_end - p) > kMaxKeyLength) {
      return error(consumed, reply::kBadCommandLineFormat);
    }
    if (begin == nullptr) begin = p;
    end = key_end;
    ++count;
    p = key_end;
  }
  out.command = command;
  if (count > 0) {
    out.key = t.token[first];
    out.keys = std::string_view(begin, end - begin);
  }
  out.key_count = count;
  return request(consumed);
}

// delete <key> [0] [noreply]: the only extra tokens memcached takes are a literal "0"
// (a hold time it no longer supports) and "noreply".
ParseResult parse_delete(const Tokens& t, size_t consumed, Request& out) {
  const size_t n = t.ntokens();
  if (n < 3 || n > 5) return error(consumed, reply::kError);
  bool noreply = false;
  if (n > 3) {
    const bool hold_is_zero = t.token[2] == "0";
    noreply = is_noreply(t);
    const bool valid = (n == 4 && (hold_is_zero || noreply)) || (n == 5 && hold_is_zero && noreply);
    if (!valid) return error(consumed, reply::kDeleteUsage, noreply);
  }
  if (t.token[1].size() > kMaxKeyLength) {
    return error(consumed, reply::kBadCommandLineFormat, noreply);
  }
  out.command = Command::kDelete;
  out.key = t.token[1];
  out.noreply = noreply;
  return request(consumed);
}

// incr/decr <key> <delta> [noreply]; touch <key> <exptime> [noreply].
ParseResult parse_key_number(Command command, const Tokens& t, size_t consumed, Request& out) {
  const size_t n = t.ntokens();
  if (n != 4 && n != 5) return error(consumed, reply::kError);
  const bool noreply = is_noreply(t);
  if (t.token[1].size() > kMaxKeyLength) {
    return error(consumed, reply::kBadCommandLineFormat, noreply);
  }
  if (command == Command::kTouch) {
    int32_t exptime = 0;
    if (!text::parse_i32(t.token[2], exptime)) {
      return error(consumed, reply::kInvalidExptime, noreply);
    }
    out.exptime = exptime;
  } else if (!text::parse_u64(t.token[2], out.delta)) {
    return error(consumed, reply::kInvalidDelta, noreply);
  }
  out.command = command;
  out.key = t.token[1];
  out.noreply = noreply;
  return request(consumed);
}

// flush_all [delay] [noreply]. memcached reads a delay from the second token unless
// the line is exactly "flush_all" or "flush_all noreply"; a third token that is not
// "noreply" is ignored.
ParseResult parse_flush_all(const Tokens& t, size_t consumed, Request& out) {
  const size_t n = t.ntokens();
  if (n > 4) return error(consumed, reply::kError);
  const bool noreply = is_noreply(t);
  if (n != (noreply ? 3u : 2u)) {
    int32_t delay = 0;
    if (!text::parse_i32(t.token[1], delay)) {
      return error(consumed, reply::kInvalidExptime, noreply);
    }
    out.delay = delay;
    out.has_delay = true;
  }
  out.command = Command::kFlushAll;
  out.noreply = noreply;
  return request(consumed);
}

// verbosity <level> [noreply]; a second token other than "noreply" is ignored.
ParseResult parse_verbosity(const Tokens& t, size_t consumed, Request& out) {
  const size_t n = t.ntokens();
  if (n != 3 && n != 4) return error(consumed, reply::kError);
  const bool noreply = is_noreply(t);
  if (!text::parse_u32(t.token[1], out.verbosity)) {
    return error(consumed, reply::kBadCommandLineFormat, noreply);
  }
  out.command = Command::kVerbosity;
  out.noreply = noreply;
  return request(consumed);
}

ParseResult parse_stats(const Tokens& t, std::string_view line, size_t consumed, Request& out) {
  const char* args = t.token[0].data() + t.token[0].size();
  const char* end = line.data() + line.size();
  while (args < end && *args == ' ') ++args;
  while (end > args && end[-1] == ' ') --end;
  out.command = Command::kStats;
  out.args = std::string_view(args, end - args);
  return request(consumed);
}

// shutdown and refresh_certs: memcached's replies with its defaults (no -A, no TLS).
// debugtime exists only in memcached's debug builds: ERROR, as below. The other admin
// commands are protocol/admin.h's.
constexpr std::string_view kTlsNotEnabled = "Error TLS not enabled\r\n";

ParseResult admin(const Tokens& t, size_t consumed, Request& out) {
  ParseResult result;
  detail::parse_admin(t, consumed, result, out);
  return result;
}

// process_command_ascii's dispatch: the first letter picks a family, and a name the
// family does not know is ERROR; a line whose command is unknown outside those
// families and whose last token (of the first 23) starts "HTTP/" closes the connection.
ParseResult dispatch(const Tokens& t, std::string_view line, size_t consumed, Request& out) {
  if (t.count == 0 || t.token[0].size() < 2) return error(consumed, reply::kError);
  const std::string_view name = t.token[0];
  if (name[0] == 'm' && name.size() == 2) return detail::parse_meta(name[1], t, consumed, out);
  switch (name[0]) {
    case 'g':
      if (t.ntokens() < 3) return error(consumed, reply::kError);
      if (name == "get") return parse_retrieval(Command::kGet, t, consumed, out);
      if (name == "gets") return parse_retrieval(Command::kGets, t, consumed, out);
      if (name == "gat") return parse_retrieval(Command::kGat, t, consumed, out);
      if (name == "gats") return parse_retrieval(Command::kGats, t, consumed, out);
      return error(consumed, reply::kError);
    case 's':
      if (name == "set") return parse_storage(Command::kSet, t, consumed, out);
      if (name == "stats") return parse_stats(t, line, consumed, out);
      if (name == "shutdown") return error(consumed, reply::kShutdownDisabled);
      if (name == "slabs") return admin(t, consumed, out);
      return error(consumed, reply::kError);
    case 'a':
      if (name == "add") return parse_storage(Command::kAdd, t, consumed, out);
      if (name == "append") return parse_storage(Command::kAppend, t, consumed, out);
      return error(consumed, reply::kError);
    case 'c':
      if (name == "cas") return parse_storage(Command::kCas, t, consumed, out);
      if (name == "cache_memlimit") return admin(t, consumed, out);
      return error(consumed, reply::kError);
    case 'i':
      if (name == "incr") return parse_key_number(Command::kIncr, t, consumed, out);
      return error(consumed, reply::kError);
    case 'd':
      if (name == "delete") return parse_delete(t, consumed, out);
      if (name == "decr") return parse_key_number(Command::kDecr, t, consumed, out);
      return error(consumed, reply::kError);
    case 't':
      if (name == "touch") return parse_key_number(Command::kTouch, t, consumed, out);
      return error(consumed, reply::kError);
    default:
      break;
  }
  if (name == "replace") return parse_storage(Command::kReplace, t, consumed, out);
  if (name == "prepend") return parse_storage(Command::kPrepend, t, consumed, out);
  if (name == "bget") {  // memcached's undocumented alias of get
    if (t.ntokens() < 3) return error(consumed, reply::kError);
    return parse_retrieval(Command::kGet, t, consumed, out);
  }
  if (name == "flush_all") return parse_flush_all(t, consumed, out);
  if (name == "version") {
    out.command = Command::kVersion;
    return request(consumed);
  }
  if (name == "quit") {
    out.command = Command::kQuit;
    return request(consumed);
  }
  if (name == "verbosity") return parse_verbosity(t, consumed, out);
  if (name == "lru_crawler" || name == "watch" || name == "lru" || name == "extstore") {
    return admin(t, consumed, out);
  }
  if (name == "refresh_certs") return error(consumed, kTlsNotEnabled);
  if (t.token[t.count - 1].starts_with("HTTP/")) return close_connection();
  return error(consumed, reply::kError);
}

}  // namespace

// Framing. memcached closes a connection once more than kMaxLineLength bytes have
// arrived without a '\n', unless the line is a retrieval (see long_line_allowed). A
// longer line that arrived whole in one read would still be processed by memcached;
// here any other line with more than kMaxLineLength bytes before its '\n' is closed
// the same way, because a split of those bytes could have closed it, and a header
// must parse the same however it is split. Retrieval lines may have any length.
ParseResult parse_header(std::span<const char> input, Request& out) {
  // A binary-protocol client (its requests start with 0x80): memcached without the
  // binary protocol would wait for a newline its 24-byte headers never send, and the
  // client would hang. Closing at once tells it.
  if (!input.empty() && static_cast<unsigned char>(input[0]) == kBinaryRequestMagic) {
    ParseResult binary = close_connection();
    binary.binary_protocol = true;
    return binary;
  }
  const char* data = input.data();
  const size_t size = input.size();
  const char* newline =
      size > 0 ? static_cast<const char*>(std::memchr(data, '\n', size)) : nullptr;
  if (newline == nullptr) {
    if (size > kMaxLineLength && !long_line_allowed(data, size)) return close_connection();
    return ParseResult{};
  }
  size_t length = static_cast<size_t>(newline - data);
  if (length > kMaxLineLength && !long_line_allowed(data, length)) return close_connection();
  const size_t consumed = length + 1;
  // memcached drops a '\r' before the '\n' unless it is the line's only byte.
  if (length > 1 && data[length - 1] == '\r') --length;

  reset(out);
  out.line = std::string_view(data, length);
  // memcached tokenizes a C string: a NUL ends the command.
  const void* nul = length > 0 ? std::memchr(data, '\0', length) : nullptr;
  const std::string_view command(
      data, nul != nullptr ? static_cast<size_t>(static_cast<const char*>(nul) - data) : length);
  Tokens tokens;
  text::tokenize(command, tokens);
  return dispatch(tokens, command, consumed, out);
}

}  // namespace mcguard
