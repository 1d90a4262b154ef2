// Formats the outcome of a run: a few aligned lines of text for people, or one JSON object for
// scripts (the side-by-side comparison reads it). Latencies are reported in microseconds.
#pragma once

#include <cstdint>
#include <string>

#include "tests/bench/options.h"
#include "tests/bench/stats.h"

namespace mcguard::bench {

struct RunReport {
  const BenchOptions* options = nullptr;
  PhaseStats warmup;
  double warmup_s = 0;
  PhaseStats measure;
  double elapsed_s = 0;
  uint64_t heap_allocations = 0;  // operator new calls while measuring

  uint64_t errors() const { return warmup.errors() + measure.errors(); }
};

std::string format_text(const RunReport& report);
std::string format_json(const RunReport& report);

}  // namespace mcguard::bench
