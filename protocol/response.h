// Reply bytes as memcached 1.6.18 sends them: every fixed line as a constant (the one
// vocabulary; no other layer spells a reply line), and the one encoder, which formats
// VALUE lines, number lines and meta status lines with return flags into a
// caller-provided buffer. Nothing here allocates; a write that does not fit marks the
// writer overflowed instead of truncating silently.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <system_error>

#include "protocol/base64.h"

namespace mcguard {

namespace reply {

// Classic replies.
inline constexpr std::string_view kStored = "STORED\r\n";
inline constexpr std::string_view kNotStored = "NOT_STORED\r\n";
inline constexpr std::string_view kExists = "EXISTS\r\n";
inline constexpr std::string_view kNotFound = "NOT_FOUND\r\n";
inline constexpr std::string_view kDeleted = "DELETED\r\n";
inline constexpr std::string_view kTouched = "TOUCHED\r\n";
inline constexpr std::string_view kEnd = "END\r\n";
inline constexpr std::string_view kOk = "OK\r\n";
inline constexpr std::string_view kReset = "RESET\r\n";
inline constexpr std::string_view kError = "ERROR\r\n";
inline constexpr std::string_view kVersionPrefix = "VERSION ";

// Errors. After "bad data chunk" memcached does not swallow anything more: the bytes
// read as the value are gone, and what follows is parsed as the next command. A
// classic command with "noreply" suppresses it like any other reply.
inline constexpr std::string_view kBadDataChunk = "CLIENT_ERROR bad data chunk\r\n";
inline constexpr std::string_view kBadCommandLineFormat =
    "CLIENT_ERROR bad command line format\r\n";
inline constexpr std::string_view kInvalidExptime = "CLIENT_ERROR invalid exptime argument\r\n";
inline constexpr std::string_view kInvalidDelta = "CLIENT_ERROR invalid numeric delta argument\r\n";
inline constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
inline constexpr std::string_view kDeleteUsage =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
inline constexpr std::string_view kShutdownDisabled = "ERROR: shutdown not enabled\r\n";
// Admin commands, answered as a memcached with the feature off answers them
// (protocol/admin.h), and cache_memlimit's refusals.
inline constexpr std::string_view kWatchDisabled = "CLIENT_ERROR watch commands not allowed\r\n";
inline constexpr std::string_view kLruCrawlerDisabled = "CLIENT_ERROR lru crawler disabled\r\n";
inline constexpr std::string_view kLruCrawlerCannotStart =
    "ERROR failed to start lru crawler thread\r\n";
inline constexpr std::string_view kLruCrawlerSleepTooLong =
    "CLIENT_ERROR sleep must be one second or less\r\n";
inline constexpr std::string_view kLruPercentsTooHigh =
    "ERROR hot and warm pcts must not exceed 80\r\n";
inline constexpr std::string_view kLruFactorsNotPositive =
    "ERROR hot/warm age factors must be greater than 0\r\n";
inline constexpr std::string_view kSlabReassignDisabled =
    "CLIENT_ERROR slab reassignment disabled\r\n";
inline constexpr std::string_view kMemlimitTooSmall =
    "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n";
inline constexpr std::string_view kMemlimitNotMegabytes =
    "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n";
// Sent to a connection over the connection limit before it is closed.
inline constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";
inline constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";
inline constexpr std::string_view kOutOfMemory = "SERVER_ERROR out of memory storing object\r\n";
// memcached's shorter wording, for incr/decr (and ma) without memory for the new value;
// mcguard sends it too when it has no room to track a request.
inline constexpr std::string_view kOutOfMemoryShort = "SERVER_ERROR out of memory\r\n";
// ma with N: no memory for the item it would create.
inline constexpr std::string_view kOutOfMemoryNewItem =
    "SERVER_ERROR Out of memory allocating new item\r\n";
// mcguard's own: a multi-key get asks for more keys than it can track at once.
inline constexpr std::string_view kTooManyKeys = "SERVER_ERROR too many keys\r\n";
// "SERVER_ERROR <reason>\r\n" for a reason of mcguard's own (an upstream failure).
inline constexpr std::string_view kServerErrorPrefix = "SERVER_ERROR ";

// The end of every line, and of a value's data block.
inline constexpr std::string_view kCrlf = "\r\n";

// Meta status codes: a status line is the code, return flags, then "\r\n" (see
// ReplyFormatter). mn's reply never carries flags.
inline constexpr std::string_view kMetaHd = "HD";
inline constexpr std::string_view kMetaNotFound = "NF";
inline constexpr std::string_view kMetaNotStored = "NS";
inline constexpr std::string_view kMetaExists = "EX";
inline constexpr std::string_view kMetaMiss = "EN";
inline constexpr std::string_view kMetaNoop = "MN\r\n";
inline constexpr std::string_view kMetaDebugMiss = "EN\r\n";
// "VA <bytes>": the status of a meta reply that carries a value (ReplyFormatter::meta_value).
inline constexpr std::string_view kMetaValuePrefix = "VA ";
// "ME <key> exp=.. la=.. cas=.. fetch=.. cls=.. size=..": me's answer for a live item.
inline constexpr std::string_view kMetaDebugPrefix = "ME ";

// Meta errors (memcached sends these even under the q flag).
inline constexpr std::string_view kMetaInvalidFlag = "CLIENT_ERROR invalid flag\r\n";
inline constexpr std::string_view kMetaDuplicateFlag = "CLIENT_ERROR duplicate flag\r\n";
inline constexpr std::string_view kMetaInvalidOrDuplicateFlag =
    "CLIENT_ERROR invalid or duplicate flag\r\n";
inline constexpr std::string_view kMetaBadToken =
    "CLIENT_ERROR bad token in command line format\r\n";
inline constexpr std::string_view kMetaErrorDecodingKey = "CLIENT_ERROR error decoding key\r\n";
inline constexpr std::string_view kMetaOpaqueTooLong = "CLIENT_ERROR opaque token too long\r\n";
// mg's wording differs from ms/md/ma's by one word.
inline constexpr std::string_view kMetaGetFlagsTooLong =
    "CLIENT_ERROR options flags are too long\r\n";
inline constexpr std::string_view kMetaFlagsTooLong = "CLIENT_ERROR options flags too long\r\n";
inline constexpr std::string_view kMetaIncorrectModeLength =
    "CLIENT_ERROR incorrect length for M token\r\n";
inline constexpr std::string_view kMetaInvalidSetMode =
    "CLIENT_ERROR invalid mode for ms M token\r\n";
inline constexpr std::string_view kMetaInvalidArithmeticMode =
    "CLIENT_ERROR invalid mode for ma M token\r\n";
inline constexpr std::string_view kMetaInvalidInitial =
    "CLIENT_ERROR invalid numeric initial value\r\n";
inline constexpr std::string_view kMetaInvalidDelta =
    "CLIENT_ERROR invalid numeric delta value\r\n";

}  // namespace reply

// Longest "VALUE <key> <flags> <bytes> <cas>\r\n" for a key of kMaxKeyLength.
inline constexpr size_t kMaxValueLineLength = 6 + 250 + 1 + 10 + 1 + 20 + 1 + 20 + 2;
// Longest "<uint64>\r\n".
inline constexpr size_t kMaxNumberLineLength = 20 + 2;
// Longest meta status line: "VA <bytes>" and every return flag once (the parser refuses a
// repeated flag and an opaque over 32 bytes): " k" with the base64 of a kMaxKeyLength key
// and " b", " O<opaque>", six numeric flags (s t c f l h), " Z X W", then "\r\n".
inline constexpr size_t kMaxMetaLineLength =
    3 + 20 + (2 + base64_encoded_length(250) + 2) + (1 + 32) + 6 * (2 + 20) + 3 * 2 + 2;
// Longest me reply: "ME <base64 key> exp=<i64> la=<n> cas=<n> fetch=yes cls=<n> size=<n>\r\n".
inline constexpr size_t kMaxMetaDebugLineLength =
    3 + base64_encoded_length(250) + (5 + 20) + (4 + 20) + (5 + 20) + 10 + (5 + 20) + (6 + 20) + 2;

// Appends reply bytes into a fixed buffer. Once an append does not fit the writer is
// overflowed: later appends are ignored and size() stays at the last complete append.
// This is the one reply encoder: every tier formats its lines with it (the embedded
// tier's ReplyWriter runs it over its own stack buffer).
class ReplyFormatter {
 public:
  explicit ReplyFormatter(std::span<char> buffer) : buffer_(buffer) {}

  // Inline: every reply line is built from these, on the request path.
  ReplyFormatter& text(std::string_view bytes) {
    if (overflowed_ || bytes.size() > buffer_.size() - size_) return overflow();
    std::memcpy(buffer_.data() + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
    return *this;
  }
  ReplyFormatter& number(uint64_t value);
  ReplyFormatter& signed_number(int64_t value);
  ReplyFormatter& crlf() { return text(reply::kCrlf); }
  // Standard padded base64 of `binary` (me's binary keys).
  ReplyFormatter& base64(std::string_view binary);
  // `length` bytes at the end for the caller to fill (a value copied in place); empty,
  // and the formatter overflowed, when they do not fit.
  std::span<char> claim(size_t length);

  // "VALUE <key> <flags> <bytes>\r\n" (get, gat)
  ReplyFormatter& value_line(std::string_view key, uint32_t flags, uint64_t bytes);
  // "VALUE <key> <flags> <bytes> <cas>\r\n" (gets, gats)
  ReplyFormatter& value_line(std::string_view key, uint32_t flags, uint64_t bytes, uint64_t cas);

  // "VA <bytes>": a meta status that announces a value; return flags and crlf() follow.
  ReplyFormatter& meta_value(uint64_t bytes) { return text(reply::kMetaValuePrefix).number(bytes); }
  // Meta return flags, each preceded by a space.
  ReplyFormatter& flag(char name);                                // " b"
  ReplyFormatter& flag_number(char name, uint64_t value);         // " c123", " f0"
  ReplyFormatter& flag_signed(char name, int64_t value);          // " t-1"
  ReplyFormatter& flag_token(char name, std::string_view token);  // " Oopaque", " kkey"
  // " k" followed by the base64 form of a binary key (memcached then adds " b").
  ReplyFormatter& flag_base64_key(std::string_view binary_key);
  // memcached's key return flag: " k<key>", or for a binary key " k<base64> b".
  ReplyFormatter& flag_key(std::string_view key, bool binary) {
    return binary ? flag_base64_key(key).flag('b') : flag_token('k', key);
  }

  // Forgets what was written (the buffer was handed on), overflow included.
  void clear() {
    size_ = 0;
    overflowed_ = false;
  }
  bool overflowed() const { return overflowed_; }
  size_t size() const { return size_; }
  // Bytes still free.
  size_t room() const { return buffer_.size() - size_; }
  std::string_view view() const { return std::string_view(buffer_.data(), size_); }

 private:
  ReplyFormatter& overflow() {
    overflowed_ = true;
    return *this;
  }
  // Digits go straight into the buffer; when they do not fit, to_chars says so and
  // size_ stays where it was.
  template <typename Integer>
  ReplyFormatter& digits(Integer value) {
    if (overflowed_) return *this;
    char* const end = buffer_.data() + buffer_.size();
    const auto [last, ec] = std::to_chars(buffer_.data() + size_, end, value);
    if (ec != std::errc()) return overflow();
    size_ = static_cast<size_t>(last - buffer_.data());
    return *this;
  }

  std::span<char> buffer_;
  size_t size_ = 0;
  bool overflowed_ = false;
};

// Each returns the bytes written, or 0 when `out` is too small (nothing usable written).
// "VALUE <key> <flags> <bytes>\r\n"
size_t write_value_line(std::span<char> out, std::string_view key, uint32_t flags, uint64_t bytes);
// "VALUE <key> <flags> <bytes> <cas>\r\n" (gets, gats)
size_t write_value_line(std::span<char> out, std::string_view key, uint32_t flags, uint64_t bytes,
                        uint64_t cas);
// "<value>\r\n" (incr/decr result)
size_t write_number_line(std::span<char> out, uint64_t value);
// "SERVER_ERROR <reason>\r\n" (a reason of mcguard's own)
size_t write_server_error(std::span<char> out, std::string_view reason);

}  // namespace mcguard
