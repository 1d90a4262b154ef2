// mcguard's log set-up: spdlog's level and line format. "text" is one human
// line per event; "json" is one JSON object per line (time, level, msg) with
// the message escaped, for log pipelines that parse fields.
#pragma once

#include <string>

namespace mcguard {

// `level` and `format` were validated by parse_settings. Safe to call again at
// SIGHUP while other threads log.
void configure_logging(const std::string& level, const std::string& format);

}  // namespace mcguard
