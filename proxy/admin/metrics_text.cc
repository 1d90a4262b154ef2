#include "proxy/admin/metrics_text.h"

#include <cstdio>

namespace mcguard {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsText::name_and_labels(std::string_view name, Labels labels,
                                  std::pair<std::string_view, std::string_view> extra) {
  out_ += name;
  if (labels.size() == 0 && extra.first.empty()) return;
  out_ += '{';
  bool first = true;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!first) out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    out_ += escape_label_value(value);
    out_ += '"';
  };
  for (const auto& [key, value] : labels) add(key, value);
  if (!extra.first.empty()) add(extra.first, extra.second);
  out_ += '}';
}

void MetricsText::sample(std::string_view name, uint64_t value, Labels labels) {
  name_and_labels(name, labels);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void MetricsText::sample(std::string_view name, double value, Labels labels) {
  name_and_labels(name, labels);
  char text[64];
  snprintf(text, sizeof text, " %.6f\n", value);
  out_ += text;
}

void MetricsText::counter(std::string_view name, std::string_view help, uint64_t value) {
  family(name, "counter", help);
  sample(name, value);
}

void MetricsText::gauge(std::string_view name, std::string_view help, uint64_t value) {
  family(name, "gauge", help);
  sample(name, value);
}

void MetricsText::histogram(std::string_view name, const uint64_t* bounds,
                            const uint64_t* cumulative, size_t bound_count, uint64_t count,
                            uint64_t sum, Labels labels, double unit) {
  const std::string bucket = std::string(name) + "_bucket";
  char text[64];
  for (size_t i = 0; i < bound_count; ++i) {
    if (unit == 1.0) {
      snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(bounds[i]));
    } else {
      snprintf(text, sizeof text, "%g", static_cast<double>(bounds[i]) * unit);
    }
    name_and_labels(bucket, labels, {"le", text});
    out_ += ' ' + std::to_string(cumulative[i]) + '\n';
  }
  name_and_labels(bucket, labels, {"le", "+Inf"});
  out_ += ' ' + std::to_string(count) + '\n';
  name_and_labels(std::string(name) + "_sum", labels);
  if (unit == 1.0) {
    out_ += ' ' + std::to_string(sum) + '\n';
  } else {
    snprintf(text, sizeof text, " %.6f\n", static_cast<double>(sum) * unit);
    out_ += text;
  }
  name_and_labels(std::string(name) + "_count", labels);
  out_ += ' ' + std::to_string(count) + '\n';
}

}  // namespace mcguard
