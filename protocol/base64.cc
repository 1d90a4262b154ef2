#include "protocol/base64.h"

#include <array>
#include <cstdint>

namespace mcguard {
namespace {

constexpr uint8_t kNotBase64 = 0x80;

// Value of each base64 byte; '=' counts as a (zero) symbol, as in memcached's table.
constexpr std::array<uint8_t, 256> make_base64_values() {
  std::array<uint8_t, 256> values{};
  for (auto& v : values) v = kNotBase64;
  for (int i = 0; i < 26; ++i) {
    values['A' + i] = static_cast<uint8_t>(i);
    values['a' + i] = static_cast<uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) values['0' + i] = static_cast<uint8_t>(52 + i);
  values['+'] = 62;
  values['/'] = 63;
  values['='] = 0;
  return values;
}
constexpr std::array<uint8_t, 256> kBase64Values = make_base64_values();
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Walks `encoded` as memcached's decoder does; writes bytes only when `out` is given.
size_t decode(std::string_view encoded, char* out, size_t out_size) {
  size_t symbols = 0;
  for (char c : encoded) {
    if (kBase64Values[static_cast<uint8_t>(c)] != kNotBase64) ++symbols;
  }
  if (symbols == 0 || symbols % 4 != 0) return 0;
  if (out != nullptr && symbols / 4 * 3 > out_size) return 0;

  size_t length = 0;
  uint8_t block[4];
  size_t in_block = 0;
  int padding = 0;
  for (char c : encoded) {
    const uint8_t value = kBase64Values[static_cast<uint8_t>(c)];
    if (value == kNotBase64) continue;
    if (c == '=') ++padding;
    block[in_block++] = value;
    if (in_block < 4) continue;
    if (out != nullptr) {
      out[length] = static_cast<char>((block[0] << 2) | (block[1] >> 4));
      out[length + 1] = static_cast<char>((block[1] << 4) | (block[2] >> 2));
      out[length + 2] = static_cast<char>((block[2] << 6) | block[3]);
    }
    length += 3;
    in_block = 0;
    if (padding > 0) {
      // The first padded group ends the input; whatever follows is ignored.
      if (padding > 2) return 0;
      return length - static_cast<size_t>(padding);
    }
  }
  return length;
}

}  // namespace

size_t base64_decoded_length(std::string_view encoded) { return decode(encoded, nullptr, 0); }

size_t base64_decode(std::string_view encoded, std::span<char> out) {
  return decode(encoded, out.data(), out.size());
}

size_t base64_encode(std::string_view binary, std::span<char> out) {
  const size_t length = base64_encoded_length(binary.size());
  if (length > out.size()) return 0;
  const auto* in = reinterpret_cast<const uint8_t*>(binary.data());
  size_t remaining = binary.size();
  char* p = out.data();
  for (; remaining >= 3; remaining -= 3, in += 3) {
    *p++ = kBase64Alphabet[in[0] >> 2];
    *p++ = kBase64Alphabet[((in[0] & 0x03) << 4) | (in[1] >> 4)];
    *p++ = kBase64Alphabet[((in[1] & 0x0f) << 2) | (in[2] >> 6)];
    *p++ = kBase64Alphabet[in[2] & 0x3f];
  }
  if (remaining > 0) {
    const uint8_t second = remaining == 2 ? in[1] : 0;
    *p++ = kBase64Alphabet[in[0] >> 2];
    *p++ = kBase64Alphabet[((in[0] & 0x03) << 4) | (second >> 4)];
    *p++ = remaining == 2 ? kBase64Alphabet[(second & 0x0f) << 2] : '=';
    *p++ = '=';
  }
  return length;
}

}  // namespace mcguard
