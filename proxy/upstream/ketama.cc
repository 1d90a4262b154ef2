#include "proxy/upstream/ketama.h"

// The one-shot MD5() works on a context on the stack. EVP_Digest, its replacement, allocates a
// context (and fetches the algorithm) per call, which a lookup on the request path must not do.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>

#include <algorithm>
#include <cmath>

namespace mcguard {
namespace {

// libmemcached leaves the port out of a server's hash strings when it is memcached's default.
constexpr uint16_t kDefaultPort = 11211;
// libketama: 40 digests per server of average weight, 4 points per digest.
constexpr uint32_t kPointsPerServer = 160;
constexpr uint32_t kPointsPerDigest = 4;

uint32_t little_endian_word(const unsigned char* digest, uint32_t word) {
  const unsigned char* b = digest + word * 4;
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
         static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
}

void md5(std::string_view bytes, unsigned char (&digest)[MD5_DIGEST_LENGTH]) {
  MD5(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
}

// The number of points a server gets, computed in single precision and in the same order of
// operations as libmemcached, so that the rounding comes out the same: with weights 7:3, say,
// 0.7f * 80 is just below 56 in exact arithmetic but 56 once rounded to a float.
uint32_t points_for_weight(uint32_t weight, uint64_t total_weight, uint32_t servers) {
  const float pct = static_cast<float>(weight) / static_cast<float>(total_weight);
  float digests = pct * static_cast<float>(kPointsPerServer);
  digests = digests / static_cast<float>(kPointsPerDigest);
  digests = digests * static_cast<float>(servers);
  digests = digests + 0.0000000001F;
  return static_cast<uint32_t>(std::floor(digests)) * kPointsPerDigest;
}

bool parse_decimal(std::string_view text, uint64_t max, uint64_t& out) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) return false;
  out = value;
  return true;
}

bool valid_host_char(char c) {
  // Names and IPv4/IPv6 literals; a ':' only inside brackets (checked by the caller).
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':' || c == '%';
}

}  // namespace

std::optional<UpstreamAddress> parse_upstream(std::string_view text) {
  std::string_view host;
  std::string_view rest;  // ":PORT[:WEIGHT]"
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    bracketed = true;
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    rest = text.substr(colon);
  }
  constexpr size_t kMaxHost = 255;
  if (host.empty() || host.size() > kMaxHost) return std::nullopt;
  for (char c : host) {
    if (!valid_host_char(c)) return std::nullopt;
    if (c == ':' && !bracketed) return std::nullopt;
  }
  if (bracketed && host.find(':') == std::string_view::npos) return std::nullopt;

  if (rest.empty() || rest.front() != ':') return std::nullopt;
  rest.remove_prefix(1);
  const size_t colon = rest.find(':');
  const std::string_view port_text = rest.substr(0, colon);
  uint64_t port = 0;
  if (!parse_decimal(port_text, 65535, port) || port == 0) return std::nullopt;
  uint64_t weight = 1;
  if (colon != std::string_view::npos) {
    if (!parse_decimal(rest.substr(colon + 1), UINT32_MAX, weight) || weight == 0) {
      return std::nullopt;
    }
  }
  return UpstreamAddress{std::string(host), static_cast<uint16_t>(port),
                         static_cast<uint32_t>(weight)};
}

uint32_t KetamaRing::hash(std::string_view key) noexcept {
  unsigned char digest[MD5_DIGEST_LENGTH];
  md5(key, digest);
  return little_endian_word(digest, 0);
}

KetamaRing::KetamaRing(std::span<const UpstreamAddress> servers)
    : server_count_(static_cast<uint32_t>(servers.size())), points_per_server_(servers.size()) {
  uint64_t total_weight = 0;
  for (const UpstreamAddress& s : servers) total_weight += std::max<uint32_t>(s.weight, 1);

  struct Point {
    uint32_t value;
    uint32_t server;
  };
  std::vector<Point> continuum;
  continuum.reserve(static_cast<size_t>(kPointsPerServer) * servers.size());
  std::string name;
  for (uint32_t server = 0; server < server_count_; ++server) {
    const UpstreamAddress& s = servers[server];
    const uint32_t points =
        points_for_weight(std::max<uint32_t>(s.weight, 1), total_weight, server_count_);
    points_per_server_[server] = points;
    for (uint32_t i = 0; i < points / kPointsPerDigest; ++i) {
      // libketama's "host:port-i"; "host-i" for the default port, as libmemcached writes it.
      name = s.host;
      if (s.port != kDefaultPort) name += ':' + std::to_string(s.port);
      name += '-' + std::to_string(i);
      unsigned char digest[MD5_DIGEST_LENGTH];
      md5(name, digest);
      for (uint32_t word = 0; word < kPointsPerDigest; ++word) {
        continuum.push_back({little_endian_word(digest, word), server});
      }
    }
  }
  // Equal values go to the lower server index first, as libmemcached orders them; a lookup
  // lands on the first of them.
  std::sort(continuum.begin(), continuum.end(), [](const Point& a, const Point& b) {
    return a.value != b.value ? a.value < b.value : a.server < b.server;
  });

  points_.reserve(continuum.size());
  owners_.reserve(continuum.size());
  for (const Point& p : continuum) {
    points_.push_back(p.value);
    owners_.push_back(p.server);
  }

  // Scanning backwards for two laps, `nearest_change` is the nearest point j after i (cyclically)
  // that follows a change of owner; its owner differs from i's, and every point between has i's.
  const size_t n = points_.size();
  next_distinct_.resize(n);
  for (size_t i = 0; i < n; ++i) next_distinct_[i] = static_cast<uint32_t>(i);
  uint32_t nearest_change = kNoServer;
  for (size_t step = 2 * n; step-- > 0;) {
    const size_t i = step % n;
    const size_t after = (i + 1) % n;
    if (owners_[after] != owners_[i]) nearest_change = static_cast<uint32_t>(after);
    if (step < n && nearest_change != kNoServer) next_distinct_[i] = nearest_change;
  }
}

uint32_t KetamaRing::point_for(std::string_view key) const noexcept {
  if (points_.empty()) return kNoServer;
  const uint32_t h = hash(key);
  // The first point at or after the key's hash, wrapping to the first point past the last one.
  const auto it = std::lower_bound(points_.begin(), points_.end(), h);
  return it == points_.end() ? 0 : static_cast<uint32_t>(it - points_.begin());
}

uint32_t KetamaRing::server_for(std::string_view key) const noexcept {
  // A lone server owns every key; libmemcached skips the hash too.
  if (server_count_ == 1) return 0;
  const uint32_t point = point_for(key);
  return point == kNoServer ? kNoServer : owners_[point];
}

}  // namespace mcguard
