#include "protocol/split_manifest.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>

namespace mcguard::split {
namespace {

// Field offsets of the layout in the header comment.
constexpr size_t kVersionAt = 8;
constexpr size_t kReservedAt = 9;
constexpr size_t kChunkCountAt = 12;
constexpr size_t kTotalLengthAt = 16;
constexpr size_t kChunkSizeAt = 24;
constexpr size_t kClientFlagsAt = 28;
constexpr size_t kGenerationAt = 32;
constexpr size_t kChecksumsAt = 40;
constexpr size_t kTrailerLength = 8;
static_assert(kChecksumsAt + kTrailerLength == encoded_size(0));

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;

// The layout is little-endian, which memcpy of a native integer gives on every target
// mcguard builds for; memcpy because the fields are not aligned.
static_assert(std::endian::native == std::endian::little);

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
void store(char* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

// splitmix64's finalizer: a bijection, so distinct inputs stay distinct.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// For one generation every index gets its own seed (kGolden is odd, so the sum is injective
// in the index and mix64 keeps it so); across generations a clash is a 2^-64 accident.
uint64_t chunk_seed(uint64_t generation, uint32_t index) {
  return mix64(generation + kGolden * (uint64_t{index} + 1));
}

uint64_t manifest_checksum(const char* bytes, size_t length, std::string_view key) {
  return XXH3_64bits_withSeed(bytes, length, XXH3_64bits(key.data(), key.size()));
}

bool consistent(uint32_t chunk_count, uint64_t total_length, uint32_t chunk_size) {
  if (chunk_size == 0 || chunk_count > kMaxChunks) return false;
  // Written as (total - 1) / size + 1 so a total near 2^64 cannot overflow.
  const uint64_t expected = total_length == 0 ? 1 : (total_length - 1) / chunk_size + 1;
  return chunk_count == expected;
}

char* hex(char* p, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  }
  return p + digits;
}

uint64_t seed_from_kernel() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) == static_cast<ssize_t>(sizeof(seed))) return seed;
  // getrandom refused (a seccomp profile, an interrupted wait at boot): the time and the
  // thread still keep concurrent writers apart, which is what generations are for.
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return mix64(static_cast<uint64_t>(now)) ^ mix64(static_cast<uint64_t>(gettid())) ^
         reinterpret_cast<uintptr_t>(&seed);
}

}  // namespace

size_t encode(const Manifest& manifest, std::string_view key, std::span<char> out) {
  const size_t size = encoded_size(manifest.chunk_count);
  if (out.size() < size || manifest.checksums.size() != manifest.chunk_count ||
      !consistent(manifest.chunk_count, manifest.total_length, manifest.chunk_size)) {
    return 0;
  }
  char* p = out.data();
  std::memcpy(p, kMagic.data(), kMagic.size());
  p[kVersionAt] = static_cast<char>(kVersion);
  std::memset(p + kReservedAt, 0, kChunkCountAt - kReservedAt);
  store(p + kChunkCountAt, manifest.chunk_count);
  store(p + kTotalLengthAt, manifest.total_length);
  store(p + kChunkSizeAt, manifest.chunk_size);
  store(p + kClientFlagsAt, manifest.client_flags);
  store(p + kGenerationAt, manifest.generation);
  for (size_t i = 0; i < manifest.chunk_count; ++i) {
    store(p + kChecksumsAt + 8 * i, manifest.checksums[i]);
  }
  const size_t body = size - kTrailerLength;
  store(p + body, manifest_checksum(p, body, key));
  return size;
}

bool decode(std::span<const char> bytes, std::string_view key, Manifest& out) {
  if (bytes.size() < encoded_size(0)) return false;
  const char* p = bytes.data();
  if (std::string_view(p, kMagic.size()) != kMagic) return false;
  if (static_cast<uint8_t>(p[kVersionAt]) != kVersion) return false;
  for (size_t i = kReservedAt; i < kChunkCountAt; ++i) {
    if (p[i] != 0) return false;
  }
  const auto chunk_count = load<uint32_t>(p + kChunkCountAt);
  // The length check bounds the allocation below by what the caller already holds.
  if (chunk_count > kMaxChunks || bytes.size() != encoded_size(chunk_count)) return false;
  const auto total_length = load<uint64_t>(p + kTotalLengthAt);
  const auto chunk_size = load<uint32_t>(p + kChunkSizeAt);
  if (!consistent(chunk_count, total_length, chunk_size)) return false;
  const size_t body = bytes.size() - kTrailerLength;
  if (load<uint64_t>(p + body) != manifest_checksum(p, body, key)) return false;

  out.total_length = total_length;
  out.chunk_size = chunk_size;
  out.chunk_count = chunk_count;
  out.client_flags = load<uint32_t>(p + kClientFlagsAt);
  out.generation = load<uint64_t>(p + kGenerationAt);
  out.checksums.resize(chunk_count);
  for (size_t i = 0; i < chunk_count; ++i) {
    out.checksums[i] = load<uint64_t>(p + kChecksumsAt + 8 * i);
  }
  return true;
}

bool starts_with_magic(std::span<const iovec> value) {
  size_t matched = 0;
  for (const iovec& part : value) {
    const size_t n = std::min(part.iov_len, kMagic.size() - matched);
    if (n > 0 && std::memcmp(part.iov_base, kMagic.data() + matched, n) != 0) return false;
    matched += n;
    if (matched == kMagic.size()) return true;
  }
  return false;
}

void ChunkHasher::reset(uint64_t generation, uint32_t index) {
  // A state that was never reset may hold any seed, and reset_withSeed skips deriving its
  // secret when the seed looks unchanged: XXH3_INITSTATE makes every reset derive it.
  XXH3_INITSTATE(&state_);
  XXH3_64bits_reset_withSeed(&state_, chunk_seed(generation, index));
}

void ChunkHasher::update(std::span<const char> bytes) {
  XXH3_64bits_update(&state_, bytes.data(), bytes.size());
}

uint64_t ChunkHasher::digest() const { return XXH3_64bits_digest(&state_); }

uint64_t chunk_checksum(std::span<const iovec> bytes, uint64_t generation, uint32_t index) {
  ChunkHasher hasher;
  hasher.reset(generation, index);
  for (const iovec& part : bytes) {
    hasher.update({static_cast<const char*>(part.iov_base), part.iov_len});
  }
  return hasher.digest();
}

size_t chunk_key(std::string_view key, uint64_t generation, uint32_t index, std::span<char> out) {
  if (out.size() < kChunkKeyLength) return 0;
  // The client key enters only as a hash: its bytes may be binary, and its length up to 250.
  const XXH128_hash_t hash = XXH3_128bits(key.data(), key.size());
  char* p = out.data();
  std::memcpy(p, "mcgc:", 5);
  p = hex(p + 5, hash.high64, 16);
  p = hex(p, hash.low64, 16);
  *p++ = ':';
  p = hex(p, generation, 16);
  *p++ = ':';
  hex(p, index, 8);
  return kChunkKeyLength;
}

uint64_t new_generation() {
  thread_local uint64_t state = seed_from_kernel();
  // splitmix64, skipping 0 so that callers may use 0 as "no generation".
  for (;;) {
    state += kGolden;
    if (const uint64_t generation = mix64(state); generation != 0) return generation;
  }
}

}  // namespace mcguard::split
