// MetricsText: builds a page in the Prometheus text exposition format
// (version 0.0.4). Each family is declared once with its HELP and TYPE, then
// its samples follow; label values are escaped here. It only formats: what the
// numbers are is the caller's business.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace mcguard {

class MetricsText {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // `type`: "counter", "gauge" or "histogram". Counter names end in _total.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, uint64_t value, Labels labels = {});
  void sample(std::string_view name, double value, Labels labels = {});
  // One counter or gauge family with a single unlabelled sample.
  void counter(std::string_view name, std::string_view help, uint64_t value);
  void gauge(std::string_view name, std::string_view help, uint64_t value);
  // Histogram samples for one label set: `cumulative[i]` observations at or
  // below `bounds[i]`, then +Inf (= count), _sum and _count. Bounds and sum are
  // multiplied by `unit` when printed (e.g. 1e-6 for microseconds counted, seconds shown).
  void histogram(std::string_view name, const uint64_t* bounds, const uint64_t* cumulative,
                 size_t bound_count, uint64_t count, uint64_t sum, Labels labels = {},
                 double unit = 1.0);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void name_and_labels(std::string_view name, Labels labels,
                       std::pair<std::string_view, std::string_view> extra = {});
  std::string out_;
};

// `value` made safe inside a label's double quotes: \\, \" and \n escaped.
std::string escape_label_value(std::string_view value);

}  // namespace mcguard
