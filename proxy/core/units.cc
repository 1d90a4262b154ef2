#include "proxy/core/units.h"

#include <charconv>
#include <cstdint>

namespace mcguard {

std::optional<uint64_t> parse_byte_size(std::string_view text, uint64_t plain_unit) {
  if (text.empty()) return std::nullopt;
  uint64_t unit = plain_unit;
  const char last = text.back();
  if (last < '0' || last > '9') {
    switch (last) {
      case 'k':
      case 'K':
        unit = 1ull << 10;
        break;
      case 'm':
      case 'M':
        unit = 1ull << 20;
        break;
      case 'g':
      case 'G':
        unit = 1ull << 30;
        break;
      default:
        return std::nullopt;
    }
    text.remove_suffix(1);
  }
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (number > UINT64_MAX / unit) return std::nullopt;
  return number * unit;
}

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  int64_t unit = 1000;
  if (text.ends_with("ms")) {
    unit = 1;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    unit = 60000;
    text.remove_suffix(1);
  }
  int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || number < 0 ||
      number > INT64_MAX / unit) {
    return std::nullopt;
  }
  return number * unit;
}

}  // namespace mcguard
