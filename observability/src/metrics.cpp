#include "modsync/observability/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "modsync/common/error.hpp"

namespace modsync::observability {

namespace {

bool is_name_char(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return allow_colon;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

void check_metric_name(std::string_view name) {
  if (!valid_name(name, true)) {
    fail("metric name \"{}\" is invalid: use [a-zA-Z_:][a-zA-Z0-9_:]*", name);
  }
}

void check_labels(std::string_view metric, const Labels& labels) {
  for (const auto& label : labels) {
    if (!valid_name(label.name, false) || label.name.starts_with("__")) {
      fail(
          "metric {}: label name \"{}\" is invalid: use [a-zA-Z_][a-zA-Z0-9_]*, not starting "
          "with __",
          metric, label.name);
    }
  }
}

/// Prometheus parses values as Go floats: "+Inf", "-Inf", "NaN", else the shortest round-trip
/// decimal form, which fmt's "{}" produces.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
      fail("histogram bounds must be finite and strictly ascending (bound {} is {})", i,
           bounds_[i]);
    }
  }
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) noexcept {
  // Bucket lists are short (about a dozen bounds); a linear scan beats a binary search here.
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  s.cumulative.reserve(bounds_.size());
  uint64_t running = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  running += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  // A concurrent observe() may have bumped a bucket before count_; keep +Inf >= every bucket.
  s.count = std::max(running, count_.load(std::memory_order_relaxed));
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets_seconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> size_buckets() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
}

MetricsWriter::Family& MetricsWriter::family(std::string_view name, std::string_view help,
                                             std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    check_metric_name(name);
    it = families_.emplace(std::string(name), Family{std::string(help), std::string(type), {}})
             .first;
  } else if (it->second.type != type) {
    fail("metric {} written as {} and as {}: one name, one type", name, it->second.type, type);
  }
  return it->second;
}

void MetricsWriter::sample(Family& family, std::string_view name, const Labels& labels,
                           std::string_view value, const Label* extra) {
  std::string line(name);
  if (!labels.empty() || extra != nullptr) {
    line += '{';
    bool first = true;
    auto append = [&](const Label& label) {
      if (!first) line += ',';
      first = false;
      line += label.name;
      line += "=\"";
      line += escape_label_value(label.value);
      line += '"';
    };
    for (const auto& label : labels) append(label);
    if (extra != nullptr) append(*extra);
    line += '}';
  }
  line += ' ';
  line += value;
  family.lines.push_back(std::move(line));
}

void MetricsWriter::counter(std::string_view name, std::string_view help, const Labels& labels,
                            uint64_t value) {
  auto& f = family(name, help, "counter");
  check_labels(name, labels);
  sample(f, name, labels, fmt::format("{}", value));
}

void MetricsWriter::counter(std::string_view name, std::string_view help, const Labels& labels,
                            double value) {
  auto& f = family(name, help, "counter");
  check_labels(name, labels);
  sample(f, name, labels, format_value(value));
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, const Labels& labels,
                          double value) {
  auto& f = family(name, help, "gauge");
  check_labels(name, labels);
  sample(f, name, labels, format_value(value));
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, const Labels& labels,
                          uint64_t value) {
  auto& f = family(name, help, "gauge");
  check_labels(name, labels);
  sample(f, name, labels, fmt::format("{}", value));
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, const Labels& labels,
                          int64_t value) {
  auto& f = family(name, help, "gauge");
  check_labels(name, labels);
  sample(f, name, labels, fmt::format("{}", value));
}

void MetricsWriter::state_gauge(std::string_view name, std::string_view help,
                                const Labels& labels, const std::vector<std::string_view>& states,
                                std::string_view current) {
  for (std::string_view state : states) {
    Labels with_state = labels;
    with_state.push_back({"state", std::string(state)});
    gauge(name, help, with_state, state == current ? uint64_t{1} : uint64_t{0});
  }
}

void MetricsWriter::histogram(std::string_view name, std::string_view help, const Labels& labels,
                              const HistogramSnapshot& snapshot) {
  auto& f = family(name, help, "histogram");
  check_labels(name, labels);
  for (const auto& label : labels) {
    if (label.name == "le") fail("histogram {}: the label name \"le\" is reserved", name);
  }
  const std::string bucket = fmt::format("{}_bucket", name);
  for (size_t i = 0; i < snapshot.bounds.size() && i < snapshot.cumulative.size(); ++i) {
    Label le{"le", format_value(snapshot.bounds[i])};
    sample(f, bucket, labels, fmt::format("{}", snapshot.cumulative[i]), &le);
  }
  Label inf{"le", "+Inf"};
  sample(f, bucket, labels, fmt::format("{}", snapshot.count), &inf);
  sample(f, fmt::format("{}_sum", name), labels, format_value(snapshot.sum));
  sample(f, fmt::format("{}_count", name), labels, fmt::format("{}", snapshot.count));
}

std::string MetricsWriter::render() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += fmt::format("# HELP {} {}\n", name, escape_help(f.help));
    out += fmt::format("# TYPE {} {}\n", name, f.type);
    for (const auto& line : f.lines) {
      out += line;
      out += '\n';
    }
  }
  return out;
}

MetricsRegistry::Owned& MetricsRegistry::find_or_add(Kind kind, std::string_view name,
                                                     std::string_view help, const Labels& labels) {
  check_metric_name(name);
  check_labels(name, labels);
  for (auto& owned : owned_) {
    if (owned->name != name) continue;
    if (owned->kind != kind || owned->help != help) {
      fail("metric {} registered twice with a different type or help", name);
    }
    if (owned->labels == labels) return *owned;
  }
  auto owned = std::make_unique<Owned>();
  owned->kind = kind;
  owned->name = std::string(name);
  owned->help = std::string(help);
  owned->labels = labels;
  owned_.push_back(std::move(owned));
  return *owned_.back();
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& owned = find_or_add(Kind::kCounter, name, help, labels);
  if (!owned.counter) owned.counter = std::make_unique<Counter>();
  return *owned.counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& owned = find_or_add(Kind::kGauge, name, help, labels);
  if (!owned.gauge) owned.gauge = std::make_unique<Gauge>();
  return *owned.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const Labels& labels, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto& owned = find_or_add(Kind::kHistogram, name, help, labels);
  if (!owned.histogram) {
    owned.histogram = std::make_unique<Histogram>(std::move(bounds));
  } else if (owned.histogram->bounds() != bounds) {
    fail("histogram {} registered twice with different bucket bounds", name);
  }
  return *owned.histogram;
}

MetricsRegistry::CollectorId MetricsRegistry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  const CollectorId id = next_id_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::remove_collector(CollectorId id) {
  std::lock_guard lock(mutex_);
  collectors_.erase(id);
}

CollectorRegistration::CollectorRegistration(MetricsRegistry& registry,
                                             MetricsRegistry::Collector collector)
    : registry_(&registry), id_(registry.add_collector(std::move(collector))) {}

CollectorRegistration::CollectorRegistration(CollectorRegistration&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}

CollectorRegistration& CollectorRegistration::operator=(CollectorRegistration&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void CollectorRegistration::reset() {
  if (registry_ == nullptr) return;
  std::exchange(registry_, nullptr)->remove_collector(id_);
}

std::string MetricsRegistry::render() const {
  MetricsWriter writer;
  std::lock_guard lock(mutex_);
  for (const auto& owned : owned_) {
    switch (owned->kind) {
      case Kind::kCounter:
        writer.counter(owned->name, owned->help, owned->labels, owned->counter->value());
        break;
      case Kind::kGauge:
        writer.gauge(owned->name, owned->help, owned->labels, owned->gauge->value());
        break;
      case Kind::kHistogram:
        writer.histogram(owned->name, owned->help, owned->labels, owned->histogram->snapshot());
        break;
    }
  }
  for (const auto& [id, collect] : collectors_) collect(writer);
  return writer.render();
}

}  // namespace modsync::observability
