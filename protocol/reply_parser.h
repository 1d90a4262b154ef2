// parse_reply_header: recognises one reply line of a memcached server (text or meta
// protocol) at the front of a byte span, as strictly as client input is checked: a line
// memcached 1.6.18 would not write, or one announcing a value over the caller's limit, is
// kMalformed, and that upstream connection must not be trusted again. Like parse_header
// it answers kNeedMore until the whole line is there; a VALUE or VA data block is never
// consumed here (the caller streams it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/parser.h"
#include "protocol/request.h"

namespace mcguard {

enum class ReplyKind : uint8_t {
  kValue,          // VALUE <key> <flags> <bytes> [<cas>] (a data block follows)
  kEnd,            // END
  kStored,         // STORED
  kNotStored,      // NOT_STORED
  kExists,         // EXISTS
  kNotFound,       // NOT_FOUND
  kDeleted,        // DELETED
  kTouched,        // TOUCHED
  kOk,             // OK
  kReset,          // RESET (stats reset)
  kMemlimit,       // MEMLIMIT_<reason> <text> (a cache_memlimit memcached refused)
  kNumber,         // <uint64> (incr/decr result)
  kVersion,        // VERSION <text>
  kStat,           // STAT <name> <value>
  kItem,           // ITEM <key> [<bytes> b; <time> s] (stats cachedump)
  kError,          // ERROR, ERROR <text> ("ERROR Too many open connections"), ERROR: <text>
  kClientError,    // CLIENT_ERROR <text>
  kServerError,    // SERVER_ERROR <text>
  kMetaValue,      // VA <size> <flags>* (a data block follows)
  kMetaHit,        // HD <flags>*
  kMetaMiss,       // EN <flags>*
  kMetaNotFound,   // NF <flags>*
  kMetaNotStored,  // NS <flags>*
  kMetaExists,     // EX <flags>*
  kMetaNoop,       // MN
  kMetaDebug,      // ME <key> <text>
};

// Longest reply line accepted, in bytes before the '\n' (its '\r' included). memcached's
// longest lines (VALUE with a 250-byte key, VA or ME with a base64 key and an opaque)
// stay far below it; a server that sends more without a newline is not memcached.
inline constexpr size_t kMaxReplyLineLength = kMaxLineLength + kMaxKeyLength;

struct Reply {
  ReplyKind kind = ReplyKind::kEnd;
  std::string_view line;  // the whole line, without its "\r\n"
  std::string_view key;   // kValue, kMetaDebug, kItem: the key; kStat: the statistic's name
  // kVersion: the version; kStat: the value (may be empty or hold spaces); kItem: the
  // bracketed size and time; kError,
  // kClientError, kServerError: the message (empty for a bare ERROR); kMetaDebug: the
  // fields after the key.
  std::string_view text;
  uint32_t flags = 0;           // kValue: the client flags
  uint64_t value_length = 0;    // kValue, kMetaValue: data bytes that follow, "\r\n" excluded
  uint64_t cas = 0;             // kValue: the cas unique (gets, gats)
  bool has_cas = false;         // kValue
  uint64_t number = 0;          // kNumber
  std::string_view meta_flags;  // meta status lines: the return flags as sent, "" if none

  bool has_value() const { return kind == ReplyKind::kValue || kind == ReplyKind::kMetaValue; }
};

struct ReplyParseResult {
  enum Status : uint8_t { kNeedMore, kReply, kMalformed };
  Status status = kNeedMore;
  size_t consumed = 0;  // kReply: bytes of the line, "\r\n" included
};

// Parses the reply line at the front of `input` into `out`. On kReply, `out` borrows
// from `input`, and for kValue and kMetaValue the data block (value_length bytes, then
// "\r\n") starts at input[consumed]. A VALUE or VA size above `max_value_length` is
// kMalformed. Each call scans `input` from its start; `out` is written only on kReply.
ReplyParseResult parse_reply_header(std::span<const char> input, Reply& out,
                                    uint64_t max_value_length);

// A key this parser accepts in VALUE, ME and ITEM (stats cachedump) lines: 1 to kMaxKeyLength
// bytes, none of them a space, '\r', '\n' or NUL. memcached stores and echoes keys with any other
// byte, control characters and DEL included, and load generators such as memaslap send them. A tier
// must not forward a key failing this test: the reply would be malformed and would cost the whole
// upstream connection.
bool is_valid_reply_key(std::string_view key);

// A key that can also come back in a meta reply's k flag, whose flags this parser takes
// as printable tokens: is_valid_reply_key, and no control character or DEL either.
bool is_valid_meta_reply_key(std::string_view key);

// How a reply belongs to the response of a request, for matching replies to requests
// in FIFO order. kPart: more of the same response follows (VALUE before END, STAT, ITEM);
// kLast: the response ends with it; kUnexpected: this command is never answered so (a
// desynchronised or broken server). ERROR, CLIENT_ERROR and SERVER_ERROR end any
// response; meta commands answer with one line (VA with its data block), mn with MN,
// me with ME or EN. Quiet meta commands and noreply send nothing at all: the caller
// must know that before it waits for a reply.
enum class ReplyRole : uint8_t { kUnexpected, kPart, kLast };
ReplyRole reply_role(Command command, ReplyKind kind);

// reply_role(command, kind) == kLast. A caller must also treat kUnexpected as fatal.
inline bool reply_ends_response(Command command, ReplyKind kind) {
  return reply_role(command, kind) == ReplyRole::kLast;
}

}  // namespace mcguard
