#include "proxy/upstream/ketama.h"

#include <gtest/gtest.h>
#if MCGUARD_HAVE_LIBMEMCACHED
#include <libmemcached/memcached.h>
#endif

#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mcguard {
namespace {

#if MCGUARD_HAVE_LIBMEMCACHED
// libmemcached set up the way clients set it up for libketama compatibility (PHP's
// OPT_LIBKETAMA_COMPATIBLE, pylibmc's "ketama_weighted"): weighted ketama, MD5 for keys and points.
class Libmemcached {
 public:
  explicit Libmemcached(const std::vector<UpstreamAddress>& servers)
      : memc_(memcached_create(nullptr), memcached_free) {
    EXPECT_EQ(memcached_behavior_set(memc_.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1),
              MEMCACHED_SUCCESS);
    for (const UpstreamAddress& s : servers) {
      EXPECT_EQ(memcached_server_add_with_weight(memc_.get(), s.host.c_str(), s.port, s.weight),
                MEMCACHED_SUCCESS)
          << s.host;
    }
    EXPECT_EQ(memcached_server_count(memc_.get()), servers.size());
    EXPECT_EQ(memcached_behavior_get(memc_.get(), MEMCACHED_BEHAVIOR_DISTRIBUTION),
              MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED);
    EXPECT_EQ(memcached_behavior_get(memc_.get(), MEMCACHED_BEHAVIOR_HASH), MEMCACHED_HASH_MD5);
  }

  uint32_t server_for(std::string_view key) const {
    return memcached_generate_hash(memc_.get(), key.data(), key.size());
  }

  // The same answer through the public lookup clients use, named by host and port.
  std::pair<std::string, uint16_t> server_by_key(std::string_view key) const {
    memcached_return_t rc = MEMCACHED_SUCCESS;  // written only on failure
    const memcached_instance_st* instance =
        memcached_server_by_key(memc_.get(), key.data(), key.size(), &rc);
    EXPECT_EQ(rc, MEMCACHED_SUCCESS);
    EXPECT_NE(instance, nullptr);
    if (instance == nullptr) return {};
    return {memcached_server_name(instance), memcached_server_port(instance)};
  }

 private:
  std::unique_ptr<memcached_st, decltype(&memcached_free)> memc_;
};
#else
// Built without libmemcached-dev: every KetamaCompat case skips in SetUp (below) and
// names the missing package, so nothing ever reaches these.
class Libmemcached {
 public:
  explicit Libmemcached(const std::vector<UpstreamAddress>&) { std::abort(); }
  uint32_t server_for(std::string_view) const { std::abort(); }
  std::pair<std::string, uint16_t> server_by_key(std::string_view) const { std::abort(); }
};
#endif

// The cases compared with libmemcached, the reference ketama clients are built on.
class KetamaCompat : public ::testing::Test {
 protected:
  void SetUp() override {
#if !MCGUARD_HAVE_LIBMEMCACHED
    GTEST_SKIP() << "libmemcached-dev is not installed: no reference to compare the ring with";
#endif
  }
};

// 100,000 keys: half in the usual "prefix:number" shape, half random printable strings of
// 1..250 bytes (memcached's key limit), from a fixed seed so a failure reproduces.
const std::vector<std::string>& sample_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    out.reserve(100000);
    for (int i = 0; i < 50000; ++i) out.push_back("user:" + std::to_string(i) + ":profile");
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<int> length(1, 250);
    std::uniform_int_distribution<int> byte(33, 126);
    for (int i = 0; i < 50000; ++i) {
      std::string key(static_cast<size_t>(length(rng)), '\0');
      for (char& c : key) c = static_cast<char>(byte(rng));
      out.push_back(std::move(key));
    }
    return out;
  }();
  return keys;
}

std::vector<UpstreamAddress> local_servers(std::vector<uint32_t> weights) {
  std::vector<UpstreamAddress> servers;
  for (size_t i = 0; i < weights.size(); ++i) {
    servers.push_back({"127.0.0.1", static_cast<uint16_t>(11212 + i), weights[i]});
  }
  return servers;
}

// Every sample key goes to the same server index in mcguard's ring and in libmemcached. Returns
// how many keys each server got.
std::vector<size_t> expect_same_servers(const std::vector<UpstreamAddress>& servers) {
  const KetamaRing ring(servers);
  const Libmemcached reference(servers);
  std::vector<size_t> per_server(servers.size());
  size_t mismatches = 0;
  std::string first_mismatch;
  for (const std::string& key : sample_keys()) {
    const uint32_t ours = ring.server_for(key);
    const uint32_t theirs = reference.server_for(key);
    if (ours != theirs) {
      if (mismatches++ == 0) first_mismatch = key;
    } else if (ours < servers.size()) {
      ++per_server[ours];
    }
  }
  EXPECT_EQ(mismatches, 0u) << "first: \"" << first_mismatch << "\"";
  // Spot-check through memcached_server_by_key, which names the server.
  for (size_t k = 0; k < sample_keys().size(); k += 997) {
    const std::string& key = sample_keys()[k];
    const UpstreamAddress& ours = servers[ring.server_for(key)];
    const auto [host, port] = reference.server_by_key(key);
    EXPECT_EQ(ours.host, host);
    EXPECT_EQ(ours.port, port);
  }
  return per_server;
}

// As above, and the keys do spread: every server with points gets some, so the agreement is
// not the trivial kind.
void expect_same_spread_servers(const std::vector<UpstreamAddress>& servers) {
  const KetamaRing ring(servers);
  const std::vector<size_t> per_server = expect_same_servers(servers);
  for (size_t i = 0; i < servers.size(); ++i) {
    if (ring.points_of(static_cast<uint32_t>(i)) > 0) {
      EXPECT_GT(per_server[i], 0u) << "server " << i;
    } else {
      EXPECT_EQ(per_server[i], 0u) << "server " << i;
    }
  }
}

TEST_F(KetamaCompat, EqualWeightsThreeFourFiveServers) {
  for (size_t n : {3, 4, 5}) {
    SCOPED_TRACE(n);
    expect_same_spread_servers(local_servers(std::vector<uint32_t>(n, 1)));
  }
}

TEST_F(KetamaCompat, UnequalWeightsThreeFourFiveServers) {
  expect_same_spread_servers(local_servers({1, 2, 3}));
  expect_same_spread_servers(local_servers({5, 1, 10, 3}));
  expect_same_spread_servers(local_servers({100, 250, 100, 75, 600}));
}

// 7/10 as a float is just below 0.7, so the first server's share of 80 digests is just below 56
// in exact arithmetic; rounded to single precision, as libmemcached (and libketama) do, it is 56.
TEST_F(KetamaCompat, WeightsWhoseShareRoundsInSinglePrecision) {
  const auto servers = local_servers({7, 3});
  const KetamaRing ring(servers);
  EXPECT_EQ(ring.points_of(0), 224u);
  EXPECT_EQ(ring.points_of(1), 96u);
  expect_same_spread_servers(servers);
}

TEST_F(KetamaCompat, ServerWithATinyShareGetsNoPoints) {
  const auto servers = local_servers({1, 1000});
  const KetamaRing ring(servers);
  EXPECT_EQ(ring.points_of(0), 0u);
  EXPECT_EQ(ring.points_of(1), 316u);
  expect_same_spread_servers(servers);
}

// Port 11211 is left out of the hash strings ("host-i"), names are hashed as written, and an
// IPv6 literal is hashed without brackets.
TEST_F(KetamaCompat, DefaultPortNamesAndIpv6) {
  expect_same_spread_servers(
      {{"10.0.0.1", 11211, 1}, {"10.0.0.2", 11211, 1}, {"10.0.0.3", 11212, 1}});
  expect_same_spread_servers({{"cache-a.example.com", 11211, 2},
                              {"cache-b.example.com", 11211, 1},
                              {"cache-c.example.com", 22122, 1},
                              {"::1", 11211, 1},
                              {"2001:db8::17", 11300, 3}});
}

// The same address listed twice puts two servers on identical points: every tie goes to the
// lower index, as libmemcached sorts them.
TEST_F(KetamaCompat, TiesGoToTheLowerServerIndex) {
  const std::vector<UpstreamAddress> servers = {
      {"127.0.0.1", 11212, 1}, {"127.0.0.1", 11213, 1}, {"127.0.0.1", 11212, 1}};
  const std::vector<size_t> per_server = expect_same_servers(servers);
  EXPECT_GT(per_server[0], 0u);
  EXPECT_GT(per_server[1], 0u);
  EXPECT_EQ(per_server[2], 0u);
}

// A server's own hash string ("host:port-i") hashes to exactly the first of that digest's points,
// so such a key must land on that point, not the next one.
TEST_F(KetamaCompat, KeyHashEqualToAPointLandsOnIt) {
  const auto servers = local_servers({1, 1, 1, 1});
  const KetamaRing ring(servers);
  const Libmemcached reference(servers);
  for (uint32_t s = 0; s < servers.size(); ++s) {
    for (int i = 0; i < 40; ++i) {
      const std::string key =
          "127.0.0.1:" + std::to_string(servers[s].port) + "-" + std::to_string(i);
      EXPECT_EQ(ring.server_for(key), s) << key;
      EXPECT_EQ(reference.server_for(key), s) << key;
    }
  }
}

TEST_F(KetamaCompat, SingleServer) {
  const auto servers = local_servers({1});
  const KetamaRing ring(servers);
  EXPECT_EQ(ring.point_count(), 160u);
  expect_same_spread_servers(servers);
}

// Walking past unusable servers sends each key where libmemcached sends it once those servers
// are removed: with equal weights the remaining servers' points do not move.
TEST_F(KetamaCompat, FailoverMatchesLibmemcachedWithoutTheDownServers) {
  for (size_t n : {4, 5}) {
    const auto all = local_servers(std::vector<uint32_t>(n, 1));
    const KetamaRing ring(all);
    const uint32_t last = static_cast<uint32_t>(n - 1);
    const std::vector<std::set<uint32_t>> cases = {{0}, {last / 2 + 1}, {1, last}};
    for (const std::set<uint32_t>& down : cases) {
      std::vector<UpstreamAddress> alive;
      std::vector<uint32_t> original_index;
      for (uint32_t i = 0; i < n; ++i) {
        if (down.count(i)) continue;
        alive.push_back(all[i]);
        original_index.push_back(i);
      }
      const KetamaRing reduced(alive);
      for (uint32_t i = 0; i < alive.size(); ++i) ASSERT_EQ(reduced.points_of(i), 160u);
      const Libmemcached reference(alive);
      const auto usable = [&](uint32_t server) { return down.count(server) == 0; };
      size_t mismatches = 0, moved = 0;
      for (const std::string& key : sample_keys()) {
        const uint32_t ours = ring.server_for(key, usable);
        ASSERT_NE(ours, KetamaRing::kNoServer);
        if (ours != original_index[reference.server_for(key)]) ++mismatches;
        if (ours != ring.server_for(key)) ++moved;
      }
      EXPECT_EQ(mismatches, 0u) << n << " servers, " << down.size() << " down";
      // Only the down servers' keys move: about their share of the keys.
      EXPECT_GT(moved, sample_keys().size() * down.size() / n / 2);
      EXPECT_LT(moved, sample_keys().size() * down.size() / n * 3 / 2);
    }
  }
}

TEST(KetamaRing, HashIsMd5FirstWordLittleEndian) {
  EXPECT_EQ(KetamaRing::hash("abc"), 0x98500190u);  // MD5 900150983cd24fb0...
  EXPECT_EQ(KetamaRing::hash(""), 0xd98c1dd4u);     // MD5 d41d8cd98f00b204...
}

TEST(KetamaRing, EqualWeightsGive160PointsEach) {
  const KetamaRing ring(local_servers({1, 1, 1, 1}));
  EXPECT_EQ(ring.server_count(), 4u);
  EXPECT_EQ(ring.point_count(), 640u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(ring.points_of(i), 160u);
  // Weights only matter relative to each other.
  const KetamaRing scaled(local_servers({5, 5, 5, 5}));
  for (const std::string& key : sample_keys()) {
    ASSERT_EQ(ring.server_for(key), scaled.server_for(key));
  }
}

TEST(KetamaRing, ZeroWeightCountsAsOne) {
  const KetamaRing zero(local_servers({0, 1, 1}));
  const KetamaRing one(local_servers({1, 1, 1}));
  for (size_t k = 0; k < 10000; ++k) {
    ASSERT_EQ(zero.server_for(sample_keys()[k]), one.server_for(sample_keys()[k]));
  }
}

TEST(KetamaRing, EmptyRingHasNoServer) {
  const KetamaRing ring(std::span<const UpstreamAddress>{});
  EXPECT_EQ(ring.point_count(), 0u);
  EXPECT_EQ(ring.server_for("key"), KetamaRing::kNoServer);
  EXPECT_EQ(ring.point_for("key"), KetamaRing::kNoServer);
  EXPECT_EQ(ring.server_for("key", [](uint32_t) { return true; }), KetamaRing::kNoServer);
}

TEST(KetamaRing, NextDistinctPointIsTheNearestPointOfAnotherServer) {
  const KetamaRing ring(local_servers({1, 2, 3}));
  const uint32_t n = ring.point_count();
  for (uint32_t p = 0; p < n; ++p) {
    const uint32_t next = ring.next_distinct_point(p);
    ASSERT_LT(next, n);
    ASSERT_NE(ring.server_at(next), ring.server_at(p)) << p;
    for (uint32_t q = (p + 1) % n; q != next; q = (q + 1) % n) {
      ASSERT_EQ(ring.server_at(q), ring.server_at(p)) << p << " " << q;
    }
  }
}

TEST(KetamaRing, FailoverWalk) {
  const KetamaRing ring(local_servers({1, 1, 1}));
  const std::string key = "some-key";
  const uint32_t owner = ring.server_for(key);
  EXPECT_EQ(ring.server_for(key, [](uint32_t) { return true; }), owner);
  EXPECT_EQ(ring.server_for(key, [](uint32_t) { return false; }), KetamaRing::kNoServer);
  // With its owner down, the key goes to the owner of the next distinct point.
  const uint32_t point = ring.point_for(key);
  const uint32_t expected = ring.server_at(ring.next_distinct_point(point));
  EXPECT_EQ(ring.server_for(key, [&](uint32_t s) { return s != owner; }), expected);
  // With only one server usable, every key goes there.
  for (uint32_t only = 0; only < 3; ++only) {
    for (size_t k = 0; k < 1000; ++k) {
      ASSERT_EQ(ring.server_for(sample_keys()[k], [&](uint32_t s) { return s == only; }), only);
    }
  }

  const KetamaRing single(local_servers({1}));
  EXPECT_EQ(single.next_distinct_point(7), 7u);
  EXPECT_EQ(single.server_for(key, [](uint32_t) { return true; }), 0u);
  EXPECT_EQ(single.server_for(key, [](uint32_t) { return false; }), KetamaRing::kNoServer);
}

TEST(ParseUpstream, Accepts) {
  auto a = parse_upstream("cache-1.example.com:11211");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "cache-1.example.com");
  EXPECT_EQ(a->port, 11211);
  EXPECT_EQ(a->weight, 1u);

  a = parse_upstream("10.1.2.3:22122:5");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "10.1.2.3");
  EXPECT_EQ(a->port, 22122);
  EXPECT_EQ(a->weight, 5u);

  a = parse_upstream("[::1]:11211");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 11211);
  EXPECT_EQ(a->weight, 1u);

  a = parse_upstream("[fe80::1%eth0]:1:4294967295");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "fe80::1%eth0");
  EXPECT_EQ(a->port, 1);
  EXPECT_EQ(a->weight, 4294967295u);

  a = parse_upstream("h:65535");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 65535);
}

TEST(ParseUpstream, Rejects) {
  for (const char* bad : {"",
                          "host",
                          "host:",
                          ":11211",
                          "host:0",
                          "host:65536",
                          "host:99999999999",
                          "host:11211:",
                          "host:11211:0",
                          "host:11211:4294967296",
                          "host:11211:1:2",
                          "host:+1",
                          "host:-1",
                          "host:12a",
                          "host: 11211",
                          "ho st:11211",
                          "::1:11211",
                          "[::1]",
                          "[::1]11211",
                          "[::1:11211",
                          "[]:11211",
                          "[host]:11211",
                          "[::1]:11211:x"}) {
    EXPECT_FALSE(parse_upstream(bad)) << bad;
  }
  EXPECT_FALSE(parse_upstream(std::string(256, 'h') + ":11211"));
  EXPECT_TRUE(parse_upstream(std::string(255, 'h') + ":11211"));
}

}  // namespace
}  // namespace mcguard
