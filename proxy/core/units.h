// Byte sizes and durations as users write them in options, configuration files
// and per-prefix limits. A leaf: parsing only, no state, nothing allocated.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mcguard {

// "64k", "8m", "1g", "123" -> bytes; plain numbers are multiplied by
// `plain_unit` (memcached's -m counts megabytes). nullopt when malformed.
std::optional<uint64_t> parse_byte_size(std::string_view text, uint64_t plain_unit = 1);

// "2s", "500ms", "1m" (minutes), "3" (seconds) -> milliseconds; nullopt when malformed.
std::optional<int64_t> parse_duration_ms(std::string_view text);

}  // namespace mcguard
