// The split-value manifest: round trips, and every way bytes that are not exactly what
// encode() wrote for this key are refused (bit flips, appends, prepends, another key, a
// lookalike built by hand). Also the chunk keys, chunk checksums and generations.
#include "protocol/split_manifest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mcguard::split {
namespace {

Manifest manifest_of(uint64_t total_length, uint32_t chunk_size) {
  Manifest m;
  m.total_length = total_length;
  m.chunk_size = chunk_size;
  m.chunk_count =
      total_length == 0 ? 1 : static_cast<uint32_t>((total_length - 1) / chunk_size + 1);
  m.client_flags = 0xdeadbeef;
  m.generation = 0x0123456789abcdefull;
  for (uint32_t i = 0; i < m.chunk_count; ++i) m.checksums.push_back(0x1000 + i * 0x10001ull);
  return m;
}

std::string encoded(const Manifest& m, std::string_view key) {
  std::string out(encoded_size(m.chunk_count), '\xaa');
  EXPECT_EQ(encode(m, key, out), out.size());
  return out;
}

bool decodes(std::string_view bytes, std::string_view key) {
  Manifest m;
  return decode(bytes, key, m);
}

// The layout written out by hand, independently of encode(), with the trailing checksum
// seeded by `seed`: what someone forging a manifest would write.
struct Fields {
  uint8_t version = kVersion;
  uint8_t reserved[3] = {0, 0, 0};
  uint32_t chunk_count = 2;
  uint64_t total_length = 1500;
  uint32_t chunk_size = 1000;
  uint32_t client_flags = 7;
  uint64_t generation = 42;
  uint32_t checksum_slots = 2;  // how many checksums follow, whatever chunk_count says
};

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

std::string crafted(const Fields& f, uint64_t seed) {
  std::string s(kMagic);
  put(s, f.version);
  s.append(reinterpret_cast<const char*>(f.reserved), 3);
  put(s, f.chunk_count);
  put(s, f.total_length);
  put(s, f.chunk_size);
  put(s, f.client_flags);
  put(s, f.generation);
  for (uint32_t i = 0; i < f.checksum_slots; ++i) put(s, uint64_t{i});
  put(s, XXH3_64bits_withSeed(s.data(), s.size(), seed));
  return s;
}

uint64_t key_seed(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

TEST(SplitManifest, RoundTrips) {
  const struct {
    uint64_t total;
    uint32_t chunk_size;
    uint32_t chunks;
  } cases[] = {
      {100, 1000, 1}, {1000, 1000, 1}, {1001, 1000, 2}, {16 * 1000 + 1, 1000, 17}, {0, 1000, 1}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.total);
    const Manifest m = manifest_of(c.total, c.chunk_size);
    ASSERT_EQ(m.chunk_count, c.chunks);
    const std::string bytes = encoded(m, "key");
    EXPECT_EQ(bytes.size(), 48 + 8 * c.chunks);
    Manifest back;
    ASSERT_TRUE(decode(bytes, "key", back));
    EXPECT_EQ(back.total_length, m.total_length);
    EXPECT_EQ(back.chunk_size, m.chunk_size);
    EXPECT_EQ(back.chunk_count, m.chunk_count);
    EXPECT_EQ(back.client_flags, m.client_flags);
    EXPECT_EQ(back.generation, m.generation);
    EXPECT_EQ(back.checksums, m.checksums);
    EXPECT_EQ(encoded(back, "key"), bytes);
  }
}

TEST(SplitManifest, LayoutIsTheDocumentedOne) {
  Fields f;
  f.client_flags = 0xdeadbeef;
  f.generation = 0x0123456789abcdefull;
  Manifest m = manifest_of(1500, 1000);
  m.client_flags = f.client_flags;
  m.generation = f.generation;
  m.checksums = {0, 1};
  EXPECT_EQ(encoded(m, "k"), crafted(f, key_seed("k")));
  EXPECT_TRUE(decodes(crafted(f, key_seed("k")), "k"));
}

TEST(SplitManifest, DecodeReusesCapacityAndLeavesOutAloneOnFailure) {
  Manifest out;
  out.checksums.reserve(64);
  const uint64_t* storage = out.checksums.data();
  ASSERT_TRUE(decode(encoded(manifest_of(17000, 1000), "k"), "k", out));
  EXPECT_EQ(out.checksums.data(), storage);
  out.client_flags = 99;
  EXPECT_FALSE(decode(encoded(manifest_of(3000, 1000), "k"), "other", out));
  EXPECT_EQ(out.client_flags, 99u);
  EXPECT_EQ(out.chunk_count, 17u);
}

TEST(SplitManifest, EncodeRefusesShortBuffersAndInconsistentManifests) {
  Manifest m = manifest_of(3000, 1000);
  std::string out(encoded_size(3) - 1, '\0');
  EXPECT_EQ(encode(m, "k", out), 0u);
  out.resize(encoded_size(3));
  m.checksums.pop_back();
  EXPECT_EQ(encode(m, "k", out), 0u);
  m = manifest_of(3000, 1000);
  m.chunk_count = 4;
  m.checksums.push_back(0);
  EXPECT_EQ(encode(m, "k", out), 0u);
}

TEST(SplitManifest, AnySingleBitFlipIsRejected) {
  const std::string bytes = encoded(manifest_of(2500, 1000), "key");
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      EXPECT_FALSE(decodes(flipped, "key")) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(SplitManifest, EachFieldChangedInPlaceIsRejected) {
  const std::string bytes = encoded(manifest_of(2500, 1000), "key");
  // Offsets and widths of the layout's fields after the magic.
  const struct {
    size_t at, width;
  } fields[] = {{8, 1},  {9, 3},  {12, 4}, {16, 8}, {24, 4}, {28, 4},
                {32, 8}, {40, 8}, {48, 8}, {56, 8}, {64, 8}};
  for (const auto& field : fields) {
    std::string changed = bytes;
    for (size_t i = 0; i < field.width; ++i) changed[field.at + i] ^= '\x5a';
    EXPECT_FALSE(decodes(changed, "key")) << "field at " << field.at;
  }
}

TEST(SplitManifest, TruncatedExtendedOrPrefixedIsRejected) {
  const std::string bytes = encoded(manifest_of(2500, 1000), "key");
  ASSERT_TRUE(decodes(bytes, "key"));
  EXPECT_FALSE(decodes(bytes.substr(0, bytes.size() - 1), "key"));
  EXPECT_FALSE(decodes(bytes + "x", "key"));                   // append 1 byte
  EXPECT_FALSE(decodes(bytes + std::string(8, '\0'), "key"));  // append a checksum's worth
  EXPECT_FALSE(decodes(bytes + bytes, "key"));                 // append the manifest again
  EXPECT_FALSE(decodes("x" + bytes, "key"));                   // prepend
  EXPECT_FALSE(decodes(std::string_view(bytes).substr(0, 47), "key"));
  EXPECT_FALSE(decodes("", "key"));
}

TEST(SplitManifest, AnotherKeyIsRejected) {
  const std::string bytes = encoded(manifest_of(2500, 1000), "key");
  EXPECT_FALSE(decodes(bytes, "kez"));
  EXPECT_FALSE(decodes(bytes, "key "));
  EXPECT_FALSE(decodes(bytes, ""));
  EXPECT_TRUE(decodes(encoded(manifest_of(2500, 1000), ""), ""));
}

TEST(SplitManifest, InconsistentSizesAreRejectedEvenWhenSigned) {
  const uint64_t seed = key_seed("k");
  EXPECT_TRUE(decodes(crafted(Fields{}, seed), "k"));
  const auto rejected = [&](Fields f) { return !decodes(crafted(f, seed), "k"); };
  EXPECT_TRUE(rejected({.chunk_count = 3, .checksum_slots = 3}));  // one chunk too many
  EXPECT_TRUE(rejected({.chunk_count = 1, .checksum_slots = 1}));  // one too few
  EXPECT_TRUE(rejected({.chunk_count = 2, .checksum_slots = 3}));  // length disagrees
  EXPECT_TRUE(rejected({.chunk_count = 2, .chunk_size = 0}));
  EXPECT_TRUE(rejected({.chunk_count = 0, .total_length = 0, .checksum_slots = 0}));
  EXPECT_TRUE(rejected({.version = 2}));
  EXPECT_TRUE(rejected({.reserved = {0, 0, 1}}));
  // Totals near 2^64 cannot overflow the chunk count into agreement.
  EXPECT_TRUE(
      rejected({.chunk_count = 1, .total_length = ~0ull, .chunk_size = 1, .checksum_slots = 1}));
  // An empty value is one empty chunk; 1 byte is one chunk too.
  EXPECT_FALSE(rejected({.chunk_count = 1, .total_length = 0, .checksum_slots = 1}));
  EXPECT_FALSE(rejected({.chunk_count = 1, .total_length = 1, .checksum_slots = 1}));
  // kMaxChunks is the last count allowed.
  EXPECT_FALSE(rejected({.chunk_count = kMaxChunks,
                         .total_length = kMaxChunks,
                         .chunk_size = 1,
                         .checksum_slots = kMaxChunks}));
  EXPECT_TRUE(rejected({.chunk_count = kMaxChunks + 1,
                        .total_length = kMaxChunks + 1,
                        .chunk_size = 1,
                        .checksum_slots = kMaxChunks + 1}));
}

TEST(SplitManifest, AHugeCountInShortBytesAllocatesNothing) {
  const uint64_t seed = key_seed("k");
  for (uint32_t count : {kMaxChunks, kMaxChunks + 1, 0xffffffffu}) {
    const std::string bytes = crafted(
        {.chunk_count = count, .total_length = count, .chunk_size = 1, .checksum_slots = 2}, seed);
    Manifest out;
    EXPECT_FALSE(decode(bytes, "k", out)) << count;
    EXPECT_EQ(out.checksums.capacity(), 0u);
  }
}

TEST(SplitManifest, AHandMadeLookalikeWithoutTheKeySeedIsRejected) {
  const Fields f;
  const std::string key = "user:42";
  EXPECT_FALSE(decodes(crafted(f, 0), key));
  EXPECT_FALSE(decodes(crafted(f, key_seed("user:43")), key));
  EXPECT_FALSE(decodes(crafted(f, key_seed("")), key));
  // The same bytes checksummed without any seed.
  std::string plain = crafted(f, 0);
  const uint64_t unseeded = XXH3_64bits(plain.data(), plain.size() - 8);
  std::memcpy(plain.data() + plain.size() - 8, &unseeded, 8);
  EXPECT_FALSE(decodes(plain, key));
  EXPECT_TRUE(decodes(crafted(f, key_seed(key)), key));  // the crafting itself is right
}

iovec part(std::string_view s) { return {const_cast<char*>(s.data()), s.size()}; }

TEST(StartsWithMagic, FindsTheMagicSplitAnywhere) {
  const std::string value = std::string(kMagic) + "rest of the value";
  for (size_t cut = 0; cut <= value.size(); ++cut) {
    const std::string_view v(value);
    const iovec parts[] = {part(v.substr(0, cut)), part(v.substr(cut))};
    EXPECT_TRUE(starts_with_magic(parts)) << cut;
  }
  // One byte a part, with empty parts between.
  std::vector<iovec> bytes;
  for (size_t i = 0; i < kMagic.size(); ++i) {
    bytes.push_back(part(""));
    bytes.push_back(part(kMagic.substr(i, 1)));
  }
  EXPECT_TRUE(starts_with_magic(bytes));
}

TEST(StartsWithMagic, RejectsShortOrDifferentValues) {
  EXPECT_FALSE(starts_with_magic({}));
  const iovec seven[] = {part(kMagic.substr(0, 7))};
  EXPECT_FALSE(starts_with_magic(seven));
  const iovec split_seven[] = {part(kMagic.substr(0, 3)), part(kMagic.substr(3, 4))};
  EXPECT_FALSE(starts_with_magic(split_seven));
  std::string wrong(kMagic);
  wrong[7] = '\x02';  // another format version's magic
  const iovec other[] = {part(wrong)};
  EXPECT_FALSE(starts_with_magic(other));
  const iovec text[] = {part("plain value")};
  EXPECT_FALSE(starts_with_magic(text));
}

std::string key_of(std::string_view key, uint64_t generation, uint32_t index) {
  std::string out(kChunkKeyLength + 4, '#');
  const size_t n = chunk_key(key, generation, index, out);
  EXPECT_EQ(n, kChunkKeyLength);
  EXPECT_EQ(out.substr(n), "####");  // nothing written past the key
  out.resize(n);
  return out;
}

void expect_valid_chunk_key(const std::string& k) {
  ASSERT_EQ(k.size(), kChunkKeyLength);
  EXPECT_EQ(k.substr(0, 5), "mcgc:");
  for (char c : k) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == ':') << k;
  }
}

TEST(ChunkKey, HasAFixedFormat) {
  static_assert(kChunkKeyLength <= 250);
  const std::string k = key_of("user:42", 0x0123456789abcdefull, 0x1f);
  expect_valid_chunk_key(k);
  EXPECT_EQ(k.size(), 63u);
  EXPECT_EQ(k[37], ':');
  EXPECT_EQ(k.substr(38), "0123456789abcdef:0000001f");
  std::string short_out(kChunkKeyLength - 1, '\0');
  EXPECT_EQ(chunk_key("k", 1, 0, short_out), 0u);
}

TEST(ChunkKey, IsValidForAnyClientKey) {
  const std::string binary("a b\r\nc\0\xff\x7f\t", 11);
  for (const std::string& key : {std::string(), std::string(250, 'k'), binary}) {
    expect_valid_chunk_key(key_of(key, 1, 0));
    expect_valid_chunk_key(key_of(key, ~0ull, ~0u));
  }
}

TEST(ChunkKey, DiffersByKeyGenerationAndIndex) {
  std::set<std::string> keys;
  for (const char* key : {"a", "b", "ab", ""}) {
    for (uint64_t generation : {1ull, 2ull, 1ull << 63}) {
      for (uint32_t index : {0u, 1u, 65535u}) keys.insert(key_of(key, generation, index));
    }
  }
  EXPECT_EQ(keys.size(), 4u * 3 * 3);
}

TEST(ChunkChecksum, MatchesTheHasherFedInRandomPieces) {
  std::mt19937 random(7);
  std::string bytes(100000, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  const iovec whole[] = {part(bytes)};
  const uint64_t expected = chunk_checksum(whole, 99, 3);

  ChunkHasher hasher;
  for (int round = 0; round < 20; ++round) {
    hasher.reset(99, 3);
    std::vector<iovec> parts;
    for (size_t at = 0; at < bytes.size();) {
      const size_t n = std::min<size_t>(random() % 5000, bytes.size() - at);
      hasher.update({bytes.data() + at, n});
      parts.push_back(part(std::string_view(bytes).substr(at, n)));
      at += n;
    }
    EXPECT_EQ(hasher.digest(), expected);
    EXPECT_EQ(chunk_checksum(parts, 99, 3), expected);
  }
}

TEST(ChunkChecksum, DiffersForAnotherGenerationOrIndex) {
  const iovec chunk[] = {part("the same bytes")};
  const uint64_t here = chunk_checksum(chunk, 5, 1);
  EXPECT_NE(chunk_checksum(chunk, 6, 1), here);
  EXPECT_NE(chunk_checksum(chunk, 5, 0), here);
  EXPECT_NE(chunk_checksum(chunk, 5, 2), here);
  EXPECT_NE(chunk_checksum(chunk, 0, 1), here);
  const iovec empty[] = {part("")};
  EXPECT_NE(chunk_checksum(empty, 5, 0), chunk_checksum(empty, 5, 1));
  EXPECT_EQ(chunk_checksum({}, 5, 0), chunk_checksum(empty, 5, 0));
}

TEST(NewGeneration, IsNonZeroAndFresh) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t g = new_generation();
    EXPECT_NE(g, 0u);
    seen.insert(g);
  }
  uint64_t other = 0;
  std::thread([&] { other = new_generation(); }).join();
  seen.insert(other);
  EXPECT_EQ(seen.size(), 10001u);
}

}  // namespace
}  // namespace mcguard::split
