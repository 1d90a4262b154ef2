// Each command below follows memcached 1.6.18's process_*_command for that name, with
// the settings a proxy has: no watchers, no LRU crawler or maintainer, no slab mover,
// and extstore compiled in (Debian's build) but never configured. Where memcached
// takes "noreply" (set_noreply_maybe: the last token) the reply is suppressed.
#include "protocol/admin.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "protocol/response.h"

namespace mcguard::detail {
namespace {

using text::Tokens;

// memcached's MAX_NUMBER_OF_SLAB_CLASSES (extstore free_memchunks checks a class id).
constexpr uint32_t kSlabClasses = 64;
// lru_crawler sleep takes microseconds, at most one second.
constexpr uint32_t kMaxCrawlerSleep = 1000000;
// lru tune: the hot and warm LRUs together may take at most this share.
constexpr uint32_t kMaxHotWarmPercent = 80;

bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// memcached's safe_strtod: strtod over the whole token, which may end only in
// whitespace; out of range fails. The token is copied to end it with a NUL.
bool parse_double(std::string_view token, double& out) {
  char text[kMaxLineLength + 1];
  if (token.empty() || token.size() > kMaxLineLength) return false;
  std::memcpy(text, token.data(), token.size());
  text[token.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text, &end);
  if (errno == ERANGE || end == text) return false;
  if (*end != '\0' && !is_c_space(*end)) return false;
  out = value;
  return true;
}

bool is_noreply(const Tokens& t) { return t.count > 0 && t.token[t.count - 1] == "noreply"; }

ParseResult answer(size_t consumed, std::string_view line, bool noreply) {
  ParseResult r;
  r.status = ParseResult::Status::kError;
  r.consumed = consumed;
  r.reply = noreply ? std::string_view() : line;
  r.accepted = line == reply::kOk;
  return r;
}

// watch [kinds] [noreply]: memcached started with -W refuses every form.
ParseResult watch(const Tokens& t, size_t consumed) {
  return answer(consumed, reply::kWatchDisabled, is_noreply(t));
}

// lru_crawler crawl|metadump <classes> | tocrawl|sleep <n> | enable|disable. No noreply.
ParseResult lru_crawler(const Tokens& t, size_t consumed) {
  const size_t n = t.ntokens();
  const std::string_view sub = t.count > 1 ? t.token[1] : std::string_view();
  if (n == 4 && (sub == "crawl" || sub == "metadump")) {
    return answer(consumed, reply::kLruCrawlerDisabled, false);
  }
  if (n == 4 && (sub == "tocrawl" || sub == "sleep")) {
    uint32_t number = 0;
    if (!text::parse_u32(t.token[2], number)) {
      return answer(consumed, reply::kBadCommandLineFormat, false);
    }
    if (sub == "sleep" && number > kMaxCrawlerSleep) {
      return answer(consumed, reply::kLruCrawlerSleepTooLong, false);
    }
    return answer(consumed, reply::kOk, false);
  }
  if (n == 3 && sub == "enable") {
    // memcached would start its crawler thread here; mcguard has none to start, so it
    // answers what memcached answers when the thread cannot start (not OK, which
    // would promise crawls that then answer "disabled").
    return answer(consumed, reply::kLruCrawlerCannotStart, false);
  }
  if (n == 3 && sub == "disable") return answer(consumed, reply::kOk, false);
  return answer(consumed, reply::kError, false);
}

// lru tune <hot%> <warm%> <hot factor> <warm factor> [noreply]. lru mode and lru
// temp_ttl need the LRU maintainer, which is off: ERROR.
ParseResult lru(const Tokens& t, size_t consumed) {
  if (t.ntokens() < 3) return answer(consumed, reply::kError, false);
  const bool noreply = is_noreply(t);
  if (t.token[1] != "tune" || t.ntokens() < 7) return answer(consumed, reply::kError, noreply);
  uint32_t hot = 0;
  uint32_t warm = 0;
  double hot_factor = 0;
  double warm_factor = 0;
  if (!text::parse_u32(t.token[2], hot) || !text::parse_u32(t.token[3], warm) ||
      !parse_double(t.token[4], hot_factor) || !parse_double(t.token[5], warm_factor)) {
    return answer(consumed, reply::kError, noreply);
  }
  // Summed in 32 bits, as memcached does (so it can wrap).
  if (static_cast<uint32_t>(hot + warm) > kMaxHotWarmPercent) {
    return answer(consumed, reply::kLruPercentsTooHigh, noreply);
  }
  if (warm_factor <= 0 || hot_factor <= 0) {
    return answer(consumed, reply::kLruFactorsNotPositive, noreply);
  }
  return answer(consumed, reply::kOk, noreply);
}

// slabs reassign <src> <dst> | slabs automove <0|1|2> | slabs automove ratio <r>.
ParseResult slabs(const Tokens& t, size_t consumed) {
  const size_t n = t.ntokens();
  const std::string_view sub = t.count > 1 ? t.token[1] : std::string_view();
  if (n == 5 && sub == "reassign") return answer(consumed, reply::kSlabReassignDisabled, false);
  if (n < 4 || sub != "automove") return answer(consumed, reply::kError, false);
  const bool noreply = is_noreply(t);
  if (t.token[2] == "ratio") {
    double ratio = 0;
    if (n < 5 || !parse_double(t.token[3], ratio)) return answer(consumed, reply::kError, noreply);
    return answer(consumed, reply::kOk, noreply);
  }
  uint32_t level = 0;
  if (!text::parse_u32(t.token[2], level)) {
    return answer(consumed, reply::kBadCommandLineFormat, noreply);
  }
  return answer(consumed, level <= 2 ? reply::kOk : reply::kError, noreply);
}

// extstore <setting> <value> [noreply]: settings are taken (and, with no extstore
// configured, used by nothing), as memcached does; a bad one is ERROR.
ParseResult extstore(const Tokens& t, size_t consumed) {
  if (t.ntokens() < 3) return answer(consumed, reply::kError, false);
  const bool noreply = is_noreply(t);
  const size_t n = t.ntokens();
  bool ok = false;
  if (n >= 4) {
    const std::string_view name = t.token[1];
    uint32_t number = 0;
    double fraction = 0;
    if (name == "free_memchunks" && n > 4) {
      uint32_t limit = 0;
      ok = text::parse_u32(t.token[2], number) && text::parse_u32(t.token[3], limit) &&
           number < kSlabClasses;
    } else if (name == "max_frag") {
      ok = parse_double(t.token[2], fraction);
    } else if (name == "item_size" || name == "item_age" || name == "low_ttl" ||
               name == "recache_rate" || name == "compact_under" || name == "drop_under" ||
               name == "max_sleep" || name == "drop_unread") {
      ok = text::parse_u32(t.token[2], number);
    }
  }
  return answer(consumed, ok ? reply::kOk : reply::kError, noreply);
}

// cache_memlimit <megabytes> [noreply]: checked here, carried out by the tier.
ParseResult cache_memlimit(const Tokens& t, size_t consumed, Request& out) {
  const size_t n = t.ntokens();
  if (n != 3 && n != 4) return answer(consumed, reply::kError, false);
  const bool noreply = is_noreply(t);
  uint32_t megabytes = 0;
  if (!text::parse_u32(t.token[1], megabytes)) return answer(consumed, reply::kError, noreply);
  if (megabytes < kMinMemlimitMegabytes) return answer(consumed, reply::kMemlimitTooSmall, noreply);
  if (megabytes > kMaxMemlimitMegabytes) {
    return answer(consumed, reply::kMemlimitNotMegabytes, noreply);
  }
  out.command = Command::kCacheMemlimit;
  out.memlimit_mb = megabytes;
  out.noreply = noreply;
  ParseResult r;
  r.status = ParseResult::Status::kRequest;
  r.consumed = consumed;
  return r;
}

}  // namespace

bool parse_admin(const Tokens& t, size_t consumed, ParseResult& result, Request& out) {
  const std::string_view name = t.token[0];
  if (name == "watch") {
    result = watch(t, consumed);
  } else if (name == "lru_crawler") {
    result = lru_crawler(t, consumed);
  } else if (name == "lru") {
    result = lru(t, consumed);
  } else if (name == "slabs") {
    result = slabs(t, consumed);
  } else if (name == "extstore") {
    result = extstore(t, consumed);
  } else if (name == "cache_memlimit") {
    result = cache_memlimit(t, consumed, out);
  } else {
    return false;
  }
  return true;
}

}  // namespace mcguard::detail
