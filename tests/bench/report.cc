#include "tests/bench/report.h"

#include <cstdarg>
#include <cstdio>

namespace mcguard::bench {
namespace {

void append(std::string* out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void append(std::string* out, const char* format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  const int n = vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  if (n > 0) out->append(buffer, static_cast<size_t>(n) < sizeof buffer ? n : sizeof buffer - 1);
}

using ull = unsigned long long;

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

double hit_ratio(const PhaseStats& s) {
  const uint64_t answered = s.hits + s.misses;
  return answered == 0 ? 0.0 : static_cast<double>(s.hits) / static_cast<double>(answered);
}

double per_second(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

std::string value_sizes(const BenchOptions& o) {
  std::string out;
  if (o.value_min == o.value_max) {
    append(&out, "%llu", static_cast<ull>(o.value_min));
  } else {
    append(&out, "%llu-%llu", static_cast<ull>(o.value_min), static_cast<ull>(o.value_max));
  }
  return out;
}

const char* distribution_name(Distribution d) {
  return d == Distribution::kZipfian ? "zipfian" : "uniform";
}

void text_latency(std::string* out, const char* label, const LatencyHistogram& h) {
  if (h.count() == 0) return;
  append(out, "%-16s p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f  (%llu)\n", label,
         us(h.percentile(50)), us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()),
         h.mean() / 1000.0, static_cast<ull>(h.count()));
}

void json_latency(std::string* out, const char* name, const LatencyHistogram& h) {
  append(out,
         "\"%s\":{\"count\":%llu,\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,"
         "\"mean\":%.3f}",
         name, static_cast<ull>(h.count()), us(h.percentile(50)), us(h.percentile(99)),
         us(h.percentile(99.9)), us(h.max()), h.mean() / 1000.0);
}

// Keys and prefixes are printable without '"' or '\\' in practice; escape anyway.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      append(&out, "\\u%04x", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string format_text(const RunReport& r) {
  const BenchOptions& o = *r.options;
  const PhaseStats& m = r.measure;
  std::string out;
  const std::string server = o.unix_path.empty() ? o.host + ":" + o.port : "unix:" + o.unix_path;
  append(&out, "server           %s, %u threads, %u connections, pipeline %u\n", server.c_str(),
         o.threads, o.connections, o.pipeline);
  append(&out, "workload         set:get %u:%u, %llu keys %s", o.set_weight, o.get_weight,
         static_cast<ull>(o.keys), distribution_name(o.distribution));
  if (o.distribution == Distribution::kZipfian) append(&out, " (theta %.2f)", o.zipf_theta);
  append(&out, ", values %s B", value_sizes(o).c_str());
  if (o.rate > 0) append(&out, ", %.1f req/s per connection", o.rate);
  append(&out, "%s\n", o.verify ? "" : ", not verified");
  if (o.warmup) {
    append(&out, "warm-up          %llu sets in %.2f s, %llu errors\n",
           static_cast<ull>(r.warmup.requests), r.warmup_s, static_cast<ull>(r.warmup.errors()));
  }
  append(&out, "elapsed          %.2f s\n", r.elapsed_s);
  append(&out, "requests         %llu (%.0f req/s), %llu gets, %llu sets\n",
         static_cast<ull>(m.requests), per_second(m.requests, r.elapsed_s),
         static_cast<ull>(m.gets), static_cast<ull>(m.sets));
  append(&out,
         "hits             %llu, misses %llu (of acknowledged keys: %llu), hit ratio %.2f%%\n",
         static_cast<ull>(m.hits), static_cast<ull>(m.misses),
         static_cast<ull>(m.misses_of_written), 100.0 * hit_ratio(m));
  append(&out,
         "errors           %llu (verify %llu, reply %llu, connection %llu, timeout %llu; "
         "%llu requests lost)\n",
         static_cast<ull>(r.errors()), static_cast<ull>(m.verify_errors + r.warmup.verify_errors),
         static_cast<ull>(m.reply_errors + r.warmup.reply_errors),
         static_cast<ull>(m.connection_errors + r.warmup.connection_errors),
         static_cast<ull>(m.timeouts + r.warmup.timeouts),
         static_cast<ull>(m.lost_requests + r.warmup.lost_requests));
  LatencyHistogram all = m.get_latency;
  all.merge(m.set_latency);
  out += "latency (us)\n";
  text_latency(&out, "  all", all);
  text_latency(&out, "  get", m.get_latency);
  text_latency(&out, "  set", m.set_latency);
  append(&out, "bytes            sent %.1f MiB (%.1f MiB/s), received %.1f MiB (%.1f MiB/s)\n",
         static_cast<double>(m.bytes_sent) / (1 << 20),
         per_second(m.bytes_sent, r.elapsed_s) / (1 << 20),
         static_cast<double>(m.bytes_received) / (1 << 20),
         per_second(m.bytes_received, r.elapsed_s) / (1 << 20));
  append(&out, "heap allocations %llu while measuring\n", static_cast<ull>(r.heap_allocations));
  return out;
}

std::string format_json(const RunReport& r) {
  const BenchOptions& o = *r.options;
  const PhaseStats& m = r.measure;
  std::string out = "{";
  append(&out, "\"server\":%s,",
         json_string(o.unix_path.empty() ? o.host + ":" + o.port : "unix:" + o.unix_path).c_str());
  append(&out, "\"threads\":%u,\"connections\":%u,\"pipeline\":%u,", o.threads, o.connections,
         o.pipeline);
  append(&out, "\"ratio\":\"%u:%u\",\"keys\":%llu,\"distribution\":\"%s\",", o.set_weight,
         o.get_weight, static_cast<ull>(o.keys), distribution_name(o.distribution));
  if (o.distribution == Distribution::kZipfian) append(&out, "\"zipf_theta\":%g,", o.zipf_theta);
  append(&out, "\"value_size_min\":%llu,\"value_size_max\":%llu,", static_cast<ull>(o.value_min),
         static_cast<ull>(o.value_max));
  if (o.requests != 0) {
    append(&out, "\"requests_target\":%llu,", static_cast<ull>(o.requests));
  } else {
    append(&out, "\"duration_s\":%g,", o.duration_s);
  }
  append(&out, "\"rate_per_connection\":%g,\"verify\":%s,\"key_prefix\":%s,", o.rate,
         o.verify ? "true" : "false", json_string(o.key_prefix).c_str());
  if (o.warmup) {
    append(&out, "\"warmup\":{\"elapsed_s\":%.3f,\"requests\":%llu,\"errors\":%llu},", r.warmup_s,
           static_cast<ull>(r.warmup.requests), static_cast<ull>(r.warmup.errors()));
  }
  append(&out, "\"elapsed_s\":%.3f,\"requests\":%llu,\"throughput_rps\":%.1f,", r.elapsed_s,
         static_cast<ull>(m.requests), per_second(m.requests, r.elapsed_s));
  append(&out, "\"gets\":%llu,\"sets\":%llu,\"hits\":%llu,\"misses\":%llu,",
         static_cast<ull>(m.gets), static_cast<ull>(m.sets), static_cast<ull>(m.hits),
         static_cast<ull>(m.misses));
  append(&out, "\"misses_of_written_keys\":%llu,\"hit_ratio\":%.4f,",
         static_cast<ull>(m.misses_of_written), hit_ratio(m));
  append(&out,
         "\"errors\":%llu,\"verify_errors\":%llu,\"reply_errors\":%llu,\"connection_errors\":%llu,"
         "\"timeouts\":%llu,\"lost_requests\":%llu,",
         static_cast<ull>(r.errors()), static_cast<ull>(m.verify_errors + r.warmup.verify_errors),
         static_cast<ull>(m.reply_errors + r.warmup.reply_errors),
         static_cast<ull>(m.connection_errors + r.warmup.connection_errors),
         static_cast<ull>(m.timeouts + r.warmup.timeouts),
         static_cast<ull>(m.lost_requests + r.warmup.lost_requests));
  append(&out, "\"bytes_sent\":%llu,\"bytes_received\":%llu,", static_cast<ull>(m.bytes_sent),
         static_cast<ull>(m.bytes_received));
  LatencyHistogram all = m.get_latency;
  all.merge(m.set_latency);
  json_latency(&out, "latency_us", all);
  out += ",";
  json_latency(&out, "get_latency_us", m.get_latency);
  out += ",";
  json_latency(&out, "set_latency_us", m.set_latency);
  append(&out, ",\"heap_allocations_while_measuring\":%llu}\n",
         static_cast<ull>(r.heap_allocations));
  return out;
}

}  // namespace mcguard::bench
