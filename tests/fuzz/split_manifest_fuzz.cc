// Fuzz target: split::decode over any bytes. Input: one byte, the key's length (at most the
// bytes that follow), the key, then the candidate manifest. decode must never read outside
// it or crash; when it accepts, the bytes must be exactly what encode writes for the decoded
// manifest, begin with the magic, and be refused under another key.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "protocol/split_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcguard::split;
  if (size == 0) return 0;
  const char* rest = reinterpret_cast<const char*>(data) + 1;
  const size_t key_length = std::min<size_t>(data[0], size - 1);
  const std::string_view key(rest, key_length);
  const std::span<const char> bytes(rest + key_length, size - 1 - key_length);

  Manifest manifest;
  if (!decode(bytes, key, manifest)) return 0;
  FUZZ_CHECK(manifest.checksums.size() == manifest.chunk_count, "%zu checksums for %u chunks",
             manifest.checksums.size(), manifest.chunk_count);
  std::vector<char> again(encoded_size(manifest.chunk_count));
  FUZZ_CHECK(encode(manifest, key, again) == bytes.size(), "re-encoded to %zu bytes, not %zu",
             again.size(), bytes.size());
  FUZZ_CHECK(std::equal(again.begin(), again.end(), bytes.begin()),
             "re-encoding gives other bytes");
  const iovec value{const_cast<char*>(bytes.data()), bytes.size()};
  FUZZ_CHECK(starts_with_magic({&value, 1}), "a manifest without the magic");
  const std::string other_key = std::string(key) + "x";
  FUZZ_CHECK(!decode(bytes, other_key, manifest), "accepted under another key too");
  return 0;
}
