// base64 as memcached's meta commands use it for binary keys (the 'b' flag):
// its lenient decoder, which skips bytes outside the alphabet, and standard
// padded encoding. Pure functions over caller-provided buffers.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace mcguard {

// memcached's base64 decoder: bytes outside the alphabet and '=' are skipped, the rest
// must come in groups of four, and decoding stops after the first group with padding
// (one or two '='; more is an error). Returns the decoded length, 0 when invalid.
size_t base64_decoded_length(std::string_view encoded);
// Decodes into `out`; returns the decoded length, 0 when invalid or `out` is too small.
size_t base64_decode(std::string_view encoded, std::span<char> out);

constexpr size_t base64_encoded_length(size_t binary_length) { return (binary_length + 2) / 3 * 4; }
// Standard padded base64; returns the encoded length, 0 when `out` is too small.
size_t base64_encode(std::string_view binary, std::span<char> out);

}  // namespace mcguard
