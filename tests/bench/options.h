// Command-line options of mcguard-bench. parse_options() turns argv into a validated
// BenchOptions or an error message; it is pure (no I/O) so the rules are unit-tested. Sizes take
// k/m/g suffixes (powers of 1024); --value-size is N or MIN-MAX; --ratio is SET:GET.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/bench/key_chooser.h"

namespace mcguard::bench {

struct BenchOptions {
  std::string host = "127.0.0.1";
  std::string port = "11211";
  std::string unix_path;  // --server unix:PATH: a UNIX socket instead of host and port
  unsigned threads = 2;
  unsigned connections = 50;
  unsigned pipeline = 1;
  unsigned set_weight = 1;
  unsigned get_weight = 4;
  uint64_t keys = 10000;
  Distribution distribution = Distribution::kUniform;
  double zipf_theta = 0.99;
  uint64_t value_min = 100;
  uint64_t value_max = 100;
  double duration_s = 10;  // used when requests == 0
  uint64_t requests = 0;   // total over all connections; 0: run for duration_s
  double rate = 0;         // per connection, requests/s; 0: as fast as replies come
  bool warmup = false;
  bool json = false;
  bool verify = true;
  double timeout_s = 10;  // a request unanswered this long fails its connection
  std::string key_prefix = "bench:";
  uint64_t seed = 1;
};

struct ParseResult {
  std::optional<BenchOptions> options;  // empty on error or --help
  std::string message;                  // error text, or usage when help was asked for
  bool help = false;
};

ParseResult parse_options(const std::vector<std::string_view>& args);

// "64", "16k", "4m", "1g" -> bytes.
std::optional<uint64_t> parse_size(std::string_view text);

std::string usage();

}  // namespace mcguard::bench
