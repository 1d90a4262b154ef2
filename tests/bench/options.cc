#include "tests/bench/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>

namespace mcguard::bench {
namespace {

template <typename T>
bool parse_number(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_unsigned(std::string_view text, unsigned* out, unsigned min, unsigned max) {
  return parse_number(text, out) && *out >= min && *out <= max;
}

std::string fail(std::string_view option, std::string_view value, std::string_view why) {
  return "invalid value '" + std::string(value) + "' for " + std::string(option) + ": " +
         std::string(why);
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        multiplier = uint64_t{1} << 10;
        break;
      case 'm':
      case 'M':
        multiplier = uint64_t{1} << 20;
        break;
      case 'g':
      case 'G':
        multiplier = uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  uint64_t n = 0;
  if (!parse_number(text, &n) || n > UINT64_MAX / multiplier) return std::nullopt;
  return n * multiplier;
}

std::string usage() {
  return R"(usage: mcguard-bench [options]
Load generator and correctness check for a memcached text-protocol server.

  --server HOST:PORT       server to load (default 127.0.0.1:11211); unix:PATH for a
                           UNIX socket
  --threads N              event-loop threads, each owning its connections (default 2)
  --connections N          connections in total (default 50)
  --pipeline N             requests in flight per connection (default 1)
  --ratio SET:GET          mix of sets and gets (default 1:4)
  --keys N                 key space (default 10000)
  --distribution D         uniform | zipfian (default uniform)
  --zipf-theta T           zipfian skew, 0 < T < 1 (default 0.99)
  --value-size N|MIN-MAX   value bytes, k/m/g suffixes (default 100)
  --duration SECONDS       measure for this long (default 10)
  --requests N             measure this many requests in total instead
  --rate N                 per-connection cap, requests/s (default: none)
  --warmup                 set every key once before measuring
  --json                   print one JSON object instead of text
  --verify / --no-verify   check every value read back (default on)
  --timeout SECONDS        a request unanswered this long fails its connection (default 10)
  --key-prefix P           key names are P<index> (default "bench:")
  --seed N                 seed of the request mix (default 1)

Values carry their key, a version and a checksum, so each value read back is checked on its
own; a value shorter than that header (about the key's length + 30 bytes) grows to hold it. Exit status: 0 when no error was seen, 1 when any was, 2 on bad usage or set-up failure.
)";
}

ParseResult parse_options(const std::vector<std::string_view>& args) {
  ParseResult result;
  BenchOptions o;
  bool duration_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view name = args[i];
    std::string_view value;
    bool has_inline_value = false;
    if (const size_t eq = name.find('='); name.starts_with("--") && eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline_value = true;
    }
    auto flag = [&](bool* target, bool setting) {
      if (has_inline_value) {
        result.message = std::string(name) + " takes no value";
        return false;
      }
      *target = setting;
      return true;
    };
    if (name == "--help" || name == "-h") {
      result.help = true;
      result.message = usage();
      return result;
    }
    if (name == "--warmup") {
      if (!flag(&o.warmup, true)) return result;
      continue;
    }
    if (name == "--json") {
      if (!flag(&o.json, true)) return result;
      continue;
    }
    if (name == "--verify") {
      if (!flag(&o.verify, true)) return result;
      continue;
    }
    if (name == "--no-verify") {
      if (!flag(&o.verify, false)) return result;
      continue;
    }
    static constexpr std::string_view kValued[] = {
        "--server",   "--threads",      "--connections", "--pipeline",   "--ratio",
        "--keys",     "--distribution", "--zipf-theta",  "--value-size", "--duration",
        "--requests", "--rate",         "--timeout",     "--key-prefix", "--seed"};
    if (std::find(std::begin(kValued), std::end(kValued), name) == std::end(kValued)) {
      result.message = name.starts_with("-")
                           ? "unknown option '" + std::string(name) + "' (see --help)"
                           : "unexpected argument '" + std::string(name) + "'";
      return result;
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) {
        result.message = std::string(name) + " needs a value";
        return result;
      }
      value = args[++i];
    }
    if (name == "--server" && value.starts_with("unix:")) {
      o.unix_path = std::string(value.substr(5));
      if (o.unix_path.empty() || o.unix_path.size() >= 108) {
        result.message = fail(name, value, "expected unix:PATH of 1..107 bytes");
        return result;
      }
    } else if (name == "--server") {
      const size_t colon = value.rfind(':');
      if (colon == std::string_view::npos || colon == 0 || colon + 1 == value.size()) {
        result.message = fail(name, value, "expected HOST:PORT");
        return result;
      }
      std::string_view host = value.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      unsigned port = 0;
      if (!parse_unsigned(value.substr(colon + 1), &port, 1, 65535)) {
        result.message = fail(name, value, "bad port");
        return result;
      }
      o.host = std::string(host);
      o.port = std::string(value.substr(colon + 1));
    } else if (name == "--threads") {
      if (!parse_unsigned(value, &o.threads, 1, 1024)) {
        result.message = fail(name, value, "expected 1..1024");
        return result;
      }
    } else if (name == "--connections") {
      if (!parse_unsigned(value, &o.connections, 1, 1000000)) {
        result.message = fail(name, value, "expected 1..1000000");
        return result;
      }
    } else if (name == "--pipeline") {
      if (!parse_unsigned(value, &o.pipeline, 1, 4096)) {
        result.message = fail(name, value, "expected 1..4096");
        return result;
      }
    } else if (name == "--ratio") {
      const size_t colon = value.find(':');
      if (colon == std::string_view::npos ||
          !parse_unsigned(value.substr(0, colon), &o.set_weight, 0, 1000000) ||
          !parse_unsigned(value.substr(colon + 1), &o.get_weight, 0, 1000000) ||
          o.set_weight + o.get_weight == 0) {
        result.message = fail(name, value, "expected SET:GET, e.g. 1:4");
        return result;
      }
    } else if (name == "--keys") {
      if (!parse_number(value, &o.keys) || o.keys == 0) {
        result.message = fail(name, value, "expected a positive count");
        return result;
      }
    } else if (name == "--distribution") {
      if (value == "uniform") {
        o.distribution = Distribution::kUniform;
      } else if (value == "zipfian" || value == "zipf") {
        o.distribution = Distribution::kZipfian;
      } else {
        result.message = fail(name, value, "expected uniform or zipfian");
        return result;
      }
    } else if (name == "--zipf-theta") {
      if (!parse_number(value, &o.zipf_theta) || !(o.zipf_theta > 0 && o.zipf_theta < 1)) {
        result.message = fail(name, value, "expected 0 < theta < 1");
        return result;
      }
    } else if (name == "--value-size") {
      const size_t dash = value.find('-');
      const auto lo = parse_size(value.substr(0, dash));
      const auto hi = dash == std::string_view::npos ? lo : parse_size(value.substr(dash + 1));
      constexpr uint64_t kMaxValue = uint64_t{1} << 30;
      if (!lo || !hi || *lo > *hi || *hi > kMaxValue) {
        result.message = fail(name, value, "expected N or MIN-MAX, at most 1g");
        return result;
      }
      o.value_min = *lo;
      o.value_max = *hi;
    } else if (name == "--duration") {
      if (!parse_number(value, &o.duration_s) || !(o.duration_s > 0) ||
          !std::isfinite(o.duration_s)) {
        result.message = fail(name, value, "expected seconds > 0");
        return result;
      }
      duration_given = true;
    } else if (name == "--requests") {
      if (!parse_number(value, &o.requests) || o.requests == 0) {
        result.message = fail(name, value, "expected a positive count");
        return result;
      }
    } else if (name == "--rate") {
      if (!parse_number(value, &o.rate) || !(o.rate > 0) || !std::isfinite(o.rate)) {
        result.message = fail(name, value, "expected requests/s > 0");
        return result;
      }
    } else if (name == "--timeout") {
      if (!parse_number(value, &o.timeout_s) || !(o.timeout_s > 0) || !std::isfinite(o.timeout_s)) {
        result.message = fail(name, value, "expected seconds > 0");
        return result;
      }
    } else if (name == "--key-prefix") {
      if (value.size() > 200 || value.find_first_of(" \t\r\n") != std::string_view::npos) {
        result.message = fail(name, value, "at most 200 bytes, no whitespace");
        return result;
      }
      o.key_prefix = std::string(value);
    } else if (name == "--seed") {
      if (!parse_number(value, &o.seed)) {
        result.message = fail(name, value, "expected a number");
        return result;
      }
    } else {
      result.message = "unknown option '" + std::string(name) + "' (see --help)";
      return result;
    }
  }
  if (duration_given && o.requests != 0) {
    result.message = "give --duration or --requests, not both";
    return result;
  }
  if (o.threads > o.connections) o.threads = o.connections;
  result.options = o;
  return result;
}

}  // namespace mcguard::bench
