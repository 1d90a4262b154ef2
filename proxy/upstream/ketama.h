// KetamaRing: the consistent-hashing continuum that spreads keys over the upstream servers exactly
// as libmemcached does with MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (the mode PHP's and Python's
// clients call "libketama compatible"), so mcguard and those clients agree on every key's server.
// All memory is allocated by the constructor; lookups allocate nothing and take O(log points).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mcguard {

// One `--upstream HOST:PORT[:WEIGHT]` server. `host` is kept as written (IPv6 without its
// brackets) because the ring hashes the name, not the resolved address, as ketama clients do.
struct UpstreamAddress {
  std::string host;
  uint16_t port = 0;
  uint32_t weight = 1;
};

// Parses "HOST:PORT[:WEIGHT]" or "[IPV6]:PORT[:WEIGHT]". PORT is 1..65535, WEIGHT 1..2^32-1
// (default 1), both plain decimal. Anything else, including an unbracketed IPv6 address, is
// nullopt.
std::optional<UpstreamAddress> parse_upstream(std::string_view text);

class KetamaRing {
 public:
  static constexpr uint32_t kNoServer = UINT32_MAX;

  // Server indices are positions in `servers`; their order matters, as it does to libmemcached
  // (it breaks ties between equal points). Each server's points come from the MD5 of
  // "host:port-N" (libketama's form), written "host-N" when the port is 11211, as libmemcached
  // writes it. A weight of 0 counts as 1, as in libmemcached.
  explicit KetamaRing(std::span<const UpstreamAddress> servers);

  uint32_t server_count() const { return server_count_; }
  uint32_t point_count() const { return static_cast<uint32_t>(points_.size()); }
  // Points the server owns on the continuum: 160 with equal weights; may be 0 for a server
  // whose weight is a tiny share of the total.
  uint32_t points_of(uint32_t server) const { return points_per_server_[server]; }

  // The server that owns `key`; kNoServer only when there are no servers.
  uint32_t server_for(std::string_view key) const noexcept;

  // Failover (--upstream-failover): the first server clockwise from the key's point for which
  // usable(server) is true, or kNoServer when none is. Walking the full ring past unusable
  // servers sends a key where libmemcached sends it after ejecting those servers (exactly so
  // with equal weights, whose points do not move when the server count changes). Each unusable
  // run of points costs one step; usable() may be called more than once for a server.
  template <typename Usable>
  uint32_t server_for(std::string_view key, Usable&& usable) const;

  // The lower-level walk the failover uses. point_for() is the index of the continuum point
  // that owns `key` (kNoServer when the ring is empty); server_at() its owner;
  // next_distinct_point() the first point clockwise after `point` owned by another server
  // (`point` itself when only one server has points).
  uint32_t point_for(std::string_view key) const noexcept;
  uint32_t server_at(uint32_t point) const { return owners_[point]; }
  uint32_t next_distinct_point(uint32_t point) const { return next_distinct_[point]; }

  // The key hash ketama uses: MD5, first four digest bytes read little-endian.
  static uint32_t hash(std::string_view key) noexcept;

 private:
  uint32_t server_count_ = 0;
  std::vector<uint32_t> points_;         // continuum values, ascending
  std::vector<uint32_t> owners_;         // server of each point
  std::vector<uint32_t> next_distinct_;  // see next_distinct_point()
  std::vector<uint32_t> points_per_server_;
};

template <typename Usable>
uint32_t KetamaRing::server_for(std::string_view key, Usable&& usable) const {
  uint32_t point = point_for(key);
  if (point == kNoServer) return kNoServer;
  const uint32_t total = point_count();
  uint32_t walked = 0;  // points passed, so the walk stops after one lap
  while (true) {
    const uint32_t server = owners_[point];
    if (usable(server)) return server;
    const uint32_t next = next_distinct_[point];
    walked += next > point ? next - point : next + total - point;
    if (walked >= total) return kNoServer;
    point = next;
  }
}

}  // namespace mcguard
