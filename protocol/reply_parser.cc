// The reply grammar of memcached 1.6.18 as it writes it: fields separated by exactly
// one space, no leading or trailing space, numbers as bare decimal digits, every line
// ended by "\r\n". Anything looser is a server mcguard cannot trust to frame its data.
#include "protocol/reply_parser.h"

#include <cstring>

#include "protocol/tokens.h"

namespace mcguard {
namespace {

using Result = ReplyParseResult;

Result malformed() { return Result{Result::kMalformed, 0}; }

// Bytes of a key or a meta flag: printable, not a space.
bool is_token_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte != 0x7f;
}

// Bytes of free text (messages, stat values, ME fields): a token byte or a space.
bool is_text(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && !is_token_byte(c)) return false;
  }
  return true;
}

bool is_token(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    if (!is_token_byte(c)) return false;
  }
  return true;
}

// Bare decimal digits (no sign, no space), with tokens.h's overflow rule.
bool parse_decimal(std::string_view token, uint64_t& out) {
  if (token.empty()) return false;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
  }
  return text::parse_u64(token, out);
}

// Walks the single-space-separated fields of a line. A field is never empty: two
// spaces in a row, or a space at either end, make the line malformed.
class Fields {
 public:
  explicit Fields(std::string_view line) : rest_(line) {}

  bool next(std::string_view& field) {
    if (done_) return false;
    const size_t space = rest_.find(' ');
    if (space == std::string_view::npos) {
      field = rest_;
      done_ = true;
    } else {
      field = rest_.substr(0, space);
      rest_.remove_prefix(space + 1);
    }
    return !field.empty();
  }
  bool at_end() const { return done_; }
  // Everything after the fields read so far; "" once at_end().
  std::string_view rest() const { return done_ ? std::string_view() : rest_; }

 private:
  std::string_view rest_;
  bool done_ = false;
};

// Meta return flags: tokens, each starting with a letter.
bool is_meta_flags(std::string_view flags) {
  if (flags.empty()) return true;
  Fields fields(flags);
  std::string_view flag;
  while (!fields.at_end()) {
    if (!fields.next(flag) || !is_token(flag)) return false;
    const char name = flag.front();
    if (!((name >= 'A' && name <= 'Z') || (name >= 'a' && name <= 'z'))) return false;
  }
  return true;
}

// The part of `line` after `word` and one space, or false when `line` is not that.
bool after_word(std::string_view line, std::string_view word, std::string_view& rest) {
  if (line.size() <= word.size() || !line.starts_with(word) || line[word.size()] != ' ') {
    return false;
  }
  rest = line.substr(word.size() + 1);
  return true;
}

// VALUE <key> <flags> <bytes> [<cas>]
bool parse_value(std::string_view rest, uint64_t max_value_length, Reply& out) {
  Fields fields(rest);
  std::string_view key, flags, bytes, cas;
  uint64_t flags_value = 0;
  if (!fields.next(key) || !is_valid_reply_key(key)) return false;
  if (!fields.next(flags) || !parse_decimal(flags, flags_value) || flags_value > UINT32_MAX) {
    return false;
  }
  if (!fields.next(bytes) || !parse_decimal(bytes, out.value_length) ||
      out.value_length > max_value_length) {
    return false;
  }
  if (!fields.at_end()) {
    if (!fields.next(cas) || !parse_decimal(cas, out.cas) || !fields.at_end()) return false;
    out.has_cas = true;
  }
  out.key = key;
  out.flags = static_cast<uint32_t>(flags_value);
  return true;
}

// VA <size> <flags>*
bool parse_meta_value(std::string_view rest, uint64_t max_value_length, Reply& out) {
  Fields fields(rest);
  std::string_view size;
  if (!fields.next(size) || !parse_decimal(size, out.value_length) ||
      out.value_length > max_value_length) {
    return false;
  }
  if (fields.at_end()) return true;
  out.meta_flags = fields.rest();
  return !out.meta_flags.empty() && is_meta_flags(out.meta_flags);
}

// Two-letter meta status codes; VA, MN and ME are handled apart.
bool meta_status(std::string_view code, ReplyKind& kind) {
  if (code == "HD") {
    kind = ReplyKind::kMetaHit;
  } else if (code == "EN") {
    kind = ReplyKind::kMetaMiss;
  } else if (code == "NF") {
    kind = ReplyKind::kMetaNotFound;
  } else if (code == "NS") {
    kind = ReplyKind::kMetaNotStored;
  } else if (code == "EX") {
    kind = ReplyKind::kMetaExists;
  } else {
    return false;
  }
  return true;
}

// Lines that are one word and nothing else.
bool bare_word(std::string_view line, ReplyKind& kind) {
  struct Word {
    std::string_view word;
    ReplyKind kind;
  };
  static constexpr Word kWords[] = {
      {"END", ReplyKind::kEnd},
      {"STORED", ReplyKind::kStored},
      {"NOT_STORED", ReplyKind::kNotStored},
      {"EXISTS", ReplyKind::kExists},
      {"NOT_FOUND", ReplyKind::kNotFound},
      {"DELETED", ReplyKind::kDeleted},
      {"TOUCHED", ReplyKind::kTouched},
      {"OK", ReplyKind::kOk},
      {"RESET", ReplyKind::kReset},
      {"ERROR", ReplyKind::kError},
      {"MN", ReplyKind::kMetaNoop},
  };
  for (const Word& w : kWords) {
    if (line == w.word) {
      kind = w.kind;
      return true;
    }
  }
  return false;
}

// Classifies a complete line (without "\r\n") into `out`; false when malformed.
bool parse_line(std::string_view line, uint64_t max_value_length, Reply& out) {
  if (bare_word(line, out.kind)) return true;
  std::string_view rest;
  if (!line.empty() && line.front() >= '0' && line.front() <= '9') {
    out.kind = ReplyKind::kNumber;
    return parse_decimal(line, out.number);
  }
  if (after_word(line, "VALUE", rest)) {
    out.kind = ReplyKind::kValue;
    return parse_value(rest, max_value_length, out);
  }
  if (after_word(line, "VA", rest)) {
    out.kind = ReplyKind::kMetaValue;
    return parse_meta_value(rest, max_value_length, out);
  }
  if (line.size() >= 2 && meta_status(line.substr(0, 2), out.kind)) {
    if (line.size() == 2) return true;
    if (!after_word(line, line.substr(0, 2), rest) || rest.empty()) return false;
    out.meta_flags = rest;
    return is_meta_flags(rest);
  }
  if (after_word(line, "STAT", rest)) {
    // STAT <name> <value>: the value is free text (memcached writes "STAT %s %s").
    out.kind = ReplyKind::kStat;
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) return false;
    out.key = rest.substr(0, space);
    out.text = rest.substr(space + 1);
    return is_token(out.key) && is_text(out.text);
  }
  if (after_word(line, "ITEM", rest)) {
    // ITEM <key> [<bytes> b; <time> s]: a key the server holds, then free text.
    out.kind = ReplyKind::kItem;
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) return false;
    out.key = rest.substr(0, space);
    out.text = rest.substr(space + 1);
    return is_valid_reply_key(out.key) && !out.text.empty() && is_text(out.text);
  }
  if (line.starts_with("MEMLIMIT_")) {
    out.kind = ReplyKind::kMemlimit;
    out.text = line;
    return is_text(line);
  }
  if (after_word(line, "ME", rest)) {
    out.kind = ReplyKind::kMetaDebug;
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) return false;
    out.key = rest.substr(0, space);
    out.text = rest.substr(space + 1);
    return is_valid_reply_key(out.key) && !out.text.empty() && is_text(out.text);
  }
  // memcached words one error "ERROR: shutdown not enabled"; every error ends a response.
  if (after_word(line, "ERROR:", rest)) {
    out.kind = ReplyKind::kError;
    out.text = rest;
    return !rest.empty() && is_text(rest);
  }
  struct Texted {
    std::string_view word;
    ReplyKind kind;
  };
  static constexpr Texted kTexted[] = {
      {"VERSION", ReplyKind::kVersion},
      {"ERROR", ReplyKind::kError},
      {"CLIENT_ERROR", ReplyKind::kClientError},
      {"SERVER_ERROR", ReplyKind::kServerError},
  };
  for (const Texted& t : kTexted) {
    if (after_word(line, t.word, rest)) {
      out.kind = t.kind;
      out.text = rest;
      return !rest.empty() && is_text(rest);
    }
  }
  return false;
}

}  // namespace

bool is_valid_reply_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) return false;
  for (char c : key) {
    if (c == ' ' || c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool is_valid_meta_reply_key(std::string_view key) {
  return key.size() <= kMaxKeyLength && is_token(key);
}

ReplyParseResult parse_reply_header(std::span<const char> input, Reply& out,
                                    uint64_t max_value_length) {
  const char* data = input.data();
  const size_t size = input.size();
  const size_t window = size < kMaxReplyLineLength + 1 ? size : kMaxReplyLineLength + 1;
  const char* newline =
      window > 0 ? static_cast<const char*>(std::memchr(data, '\n', window)) : nullptr;
  if (newline == nullptr) {
    // Past the bound without a newline: the same verdict however the bytes were split.
    return size > kMaxReplyLineLength ? malformed() : Result{};
  }
  const size_t length = static_cast<size_t>(newline - data);
  if (length == 0 || data[length - 1] != '\r') return malformed();

  Reply reply;
  reply.line = std::string_view(data, length - 1);
  if (!parse_line(reply.line, max_value_length, reply)) return malformed();
  out = reply;
  return Result{Result::kReply, length + 1};
}

ReplyRole reply_role(Command command, ReplyKind kind) {
  using K = ReplyKind;
  if (kind == K::kError || kind == K::kClientError || kind == K::kServerError) {
    return ReplyRole::kLast;
  }
  bool last = false;
  switch (command) {
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas:
      last =
          kind == K::kStored || kind == K::kNotStored || kind == K::kExists || kind == K::kNotFound;
      break;
    case Command::kGet:
    case Command::kGets:
    case Command::kGat:
    case Command::kGats:
      if (kind == K::kValue) return ReplyRole::kPart;
      last = kind == K::kEnd;
      break;
    case Command::kDelete:
      last = kind == K::kDeleted || kind == K::kNotFound;
      break;
    case Command::kIncr:
    case Command::kDecr:
      last = kind == K::kNumber || kind == K::kNotFound;
      break;
    case Command::kTouch:
      last = kind == K::kTouched || kind == K::kNotFound;
      break;
    case Command::kFlushAll:
    case Command::kVerbosity:
      last = kind == K::kOk;
      break;
    case Command::kCacheMemlimit:
      last = kind == K::kOk || kind == K::kMemlimit;
      break;
    case Command::kVersion:
      last = kind == K::kVersion;
      break;
    case Command::kStats:
      // "stats reset" answers RESET, "stats detail on|off" OK, the rest STAT lines + END.
      if (kind == K::kStat || kind == K::kItem) return ReplyRole::kPart;
      last = kind == K::kEnd || kind == K::kReset || kind == K::kOk;
      break;
    case Command::kMetaGet:
      last = kind == K::kMetaValue || kind == K::kMetaHit || kind == K::kMetaMiss;
      break;
    case Command::kMetaSet:
      last = kind == K::kMetaHit || kind == K::kMetaNotStored || kind == K::kMetaExists ||
             kind == K::kMetaNotFound;
      break;
    case Command::kMetaDelete:
      last = kind == K::kMetaHit || kind == K::kMetaNotFound || kind == K::kMetaExists;
      break;
    case Command::kMetaArithmetic:
      last = kind == K::kMetaValue || kind == K::kMetaHit || kind == K::kMetaNotFound ||
             kind == K::kMetaNotStored || kind == K::kMetaExists;
      break;
    case Command::kMetaNoop:
      last = kind == K::kMetaNoop;
      break;
    case Command::kMetaDebug:
      last = kind == K::kMetaDebug || kind == K::kMetaMiss;
      break;
    case Command::kNone:
    case Command::kQuit:
      break;
  }
  return last ? ReplyRole::kLast : ReplyRole::kUnexpected;
}

}  // namespace mcguard
