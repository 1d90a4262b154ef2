// The manifest of a split value: a value larger than the upstreams' item limit is stored as
// chunk items plus an index item under the client's key, flagged kIndexFlags, whose value is
// this manifest. Layout, little-endian, encoded_size(n) = 48 + 8n bytes:
//
//   magic[8] version:u8 reserved[3]=0 chunk_count:u32 total_length:u64 chunk_size:u32
//   client_flags:u32 generation:u64 checksum:u64 x chunk_count
//   manifest_checksum:u64 = XXH3_64bits_withSeed(every byte before it, XXH3_64bits(key))
//
// mcguard never stores a client value that starts with kMagic as a plain item (it stores it
// split instead), so an item whose value decodes is one mcguard wrote. The checksum seeded by
// the key also rejects a manifest copied under another key, truncated, or extended (as an
// `append` would). Pure functions over caller-provided buffers; nothing throws.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

// XXH3_state_t is a complete type only under XXH_STATIC_LINKING_ONLY (ChunkHasher holds one).
#ifndef XXH_STATIC_LINKING_ONLY
#define XXH_STATIC_LINKING_ONLY
#endif
#include <xxhash.h>

namespace mcguard::split {

// Flags every index item is stored with upstream (client flags live in the manifest).
inline constexpr uint32_t kIndexFlags = 0x4d434753;  // "MCGS"
// First 8 bytes of every manifest.
inline constexpr std::string_view kMagic{"\0MCGSPL\x01", 8};
inline constexpr uint8_t kVersion = 1;
inline constexpr uint32_t kMaxChunks = 65536;
// Every chunk key is "mcgc:<32 hex: XXH3_128bits(key), high half first>:<16 hex: generation>:
// <8 hex: index>", lowercase hex.
inline constexpr size_t kChunkKeyLength = 5 + 32 + 1 + 16 + 1 + 8;

struct Manifest {
  uint64_t total_length = 0;  // the client's value length
  uint32_t chunk_size = 0;    // every chunk but the last holds exactly this many bytes
  uint32_t chunk_count = 0;   // ceil(total_length / chunk_size), >= 1 (0 bytes: 1 empty chunk)
  uint32_t client_flags = 0;
  uint64_t generation = 0;          // random per write
  std::vector<uint64_t> checksums;  // chunk_count entries; decode() reuses capacity
};

constexpr size_t encoded_size(uint32_t chunk_count) { return 48 + size_t{8} * chunk_count; }

// Writes `manifest` for the (decoded, binary) client key. Returns the bytes written, 0 when
// `out` is shorter than encoded_size or checksums does not hold chunk_count entries.
size_t encode(const Manifest& manifest, std::string_view key, std::span<char> out);
// True only when `bytes` are exactly a manifest encode() wrote for this same key, with
// consistent sizes. Reads only `bytes`; allocates at most chunk_count * 8 bytes, after the
// length check. `out` is left untouched when false.
bool decode(std::span<const char> bytes, std::string_view key, Manifest& out);
// True when the value (its parts split anywhere) begins with kMagic.
bool starts_with_magic(std::span<const iovec> value);

// Checksums chunk `index` of `generation` in pieces (reset() first). The seed mixes both, so
// a chunk of another write or another position never verifies.
class ChunkHasher {
 public:
  void reset(uint64_t generation, uint32_t index);
  void update(std::span<const char> bytes);
  uint64_t digest() const;

 private:
  XXH3_state_t state_;
};

// ChunkHasher's digest over the parts of one chunk.
uint64_t chunk_checksum(std::span<const iovec> bytes, uint64_t generation, uint32_t index);

// Writes the key of chunk `index` into `out` (at least kChunkKeyLength bytes): only
// [0-9a-z:], whatever the client key holds. Returns kChunkKeyLength, 0 when `out` is short.
size_t chunk_key(std::string_view key, uint64_t generation, uint32_t index, std::span<char> out);

// A random, non-zero 64-bit generation (a per-thread generator seeded by getrandom(2)).
uint64_t new_generation();

}  // namespace mcguard::split
