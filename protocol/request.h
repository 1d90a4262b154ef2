// Request: one parsed memcached request header (text or meta protocol). Every
// string_view borrows from the bytes handed to the parser, so a Request is
// valid only while those bytes stay where they are. No field allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mcguard {

enum class Command : uint8_t {
  kNone,
  // storage (a data block of value_length bytes + "\r\n" follows)
  kSet,
  kAdd,
  kReplace,
  kAppend,
  kPrepend,
  kCas,
  // retrieval (one or more keys)
  kGet,
  kGets,
  kGat,
  kGats,
  // other classic commands
  kDelete,
  kIncr,
  kDecr,
  kTouch,
  kFlushAll,
  kVersion,
  kVerbosity,
  kQuit,
  kStats,
  kCacheMemlimit,  // cache_memlimit <megabytes> [noreply]
  // meta commands
  kMetaGet,         // mg
  kMetaSet,         // ms (a data block follows)
  kMetaDelete,      // md
  kMetaArithmetic,  // ma
  kMetaNoop,        // mn
  kMetaDebug,       // me
};

// The flags of a meta command, in the order the client sent them. A flag is
// one letter, optionally followed by a token ("T30", "Oabc", "b").
struct MetaFlags {
  static constexpr size_t kMaxFlags = 24;
  struct Flag {
    char name;
    std::string_view token;
  };

  uint64_t present = 0;  // bit (name - 'A') for 'A'..'z'
  Flag flags[kMaxFlags];
  uint8_t count = 0;

  // Numeric flag tokens, already parsed with memcached's rules (T, F, C and D land in
  // Request::exptime, client_flags, cas_unique and delta).
  int64_t vivify_ttl = 0;   // N<ttl>: autovivify on miss with this TTL
  int64_t recache_ttl = 0;  // R<ttl>: win a recache token below this TTL
  uint64_t initial = 0;     // J<n>: ma's initial value on autovivify
  char mode = 0;            // M<c>: ms/ma mode switch, 0 when absent

  static constexpr uint64_t bit(char name) { return uint64_t{1} << (name - 'A'); }
  bool has(char name) const { return (present & bit(name)) != 0; }
  // The token of the last occurrence of `name`, empty when absent.
  std::string_view token(char name) const {
    for (size_t i = count; i > 0; --i) {
      if (flags[i - 1].name == name) return flags[i - 1].token;
    }
    return {};
  }
};

struct Request {
  Command command = Command::kNone;
  std::string_view line;  // the whole header line, without "\r\n" / "\n"
  std::string_view key;   // first (or only) key; raw (still base64 for meta 'b')
  // get/gets/gat/gats: every key, space separated, as sent; iterate with KeyCursor.
  std::string_view keys;
  uint32_t key_count = 0;  // get family: number of keys in `keys`
  // get family: more keys of the same line follow in later requests (a line
  // taken in batches), so the reply ends without END.
  bool more_keys_follow = false;

  uint32_t client_flags = 0;  // storage commands
  int64_t exptime = 0;        // storage, touch, gat/gats, meta T (int32 range; tier converts)
  uint64_t value_length = 0;  // storage, ms: data bytes that follow, excluding "\r\n"
  uint64_t cas_unique = 0;    // cas
  uint64_t delta = 0;         // incr/decr; ma (D flag, 1 when absent)
  int64_t delay = 0;          // flush_all (0 when absent)
  bool has_delay = false;
  uint32_t verbosity = 0;  // verbosity
  std::string_view args;   // stats: everything after "stats", trimmed
  bool noreply = false;    // classic "noreply" token (meta commands: see meta.has('q'))
  MetaFlags meta;          // meta commands
  // cache_memlimit: the new limit in megabytes (8 .. 1,000,000,000).
  uint32_t memlimit_mb = 0;

  bool has_value() const {
    return command == Command::kSet || command == Command::kAdd || command == Command::kReplace ||
           command == Command::kAppend || command == Command::kPrepend ||
           command == Command::kCas || command == Command::kMetaSet;
  }
};

// get gets gat gats: commands whose keys are a list (Request::keys).
constexpr bool is_retrieval(Command command) {
  return command == Command::kGet || command == Command::kGets || command == Command::kGat ||
         command == Command::kGats;
}

// Walks the space-separated keys of a retrieval request.
class KeyCursor {
 public:
  explicit KeyCursor(std::string_view keys) : rest_(keys) {}
  // Next key, or false when there is none.
  bool next(std::string_view& key) {
    while (!rest_.empty() && rest_.front() == ' ') rest_.remove_prefix(1);
    if (rest_.empty()) return false;
    size_t end = rest_.find(' ');
    if (end == std::string_view::npos) end = rest_.size();
    key = rest_.substr(0, end);
    rest_.remove_prefix(end);
    return true;
  }

 private:
  std::string_view rest_;
};

}  // namespace mcguard
