#pragma once
// Metrics in the Prometheus text exposition format 0.0.4.
//
// Two ways to publish a figure:
//  - a collector: a callback the registry runs at scrape time, which reads atomics the component
//    already keeps (e.g. capture::CaptureStats) and writes samples into a MetricsWriter. The hot
//    path pays nothing extra. This is the preferred way. The component's probe registers it
//    (capture::CaptureProbe, apply::ApplyProbe): metrics are defined where the thing measured
//    lives, and this library sits below the pipelines, knowing none of them.
//  - an owned metric: a Counter, Gauge or Histogram created once through the registry (under a
//    mutex) and then updated through the returned reference with relaxed atomics, lock-free.
//
// Names follow Prometheus conventions: `modsync_` prefix, base units in the name (`_bytes`,
// `_seconds`), counters end in `_total`. docs/operations.md lists every metric modsync exports.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace modsync::observability {

/// One label of a sample: `name="value"`. The value may hold any UTF-8 text; it is escaped
/// when rendered.
struct Label {
  std::string name;
  std::string value;
  friend auto operator<=>(const Label&, const Label&) = default;
};

/// The labels of one sample, in the order they are rendered.
using Labels = std::vector<Label>;

/// A monotonically increasing count. Lock-free; any thread may call any member.
class Counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down. Lock-free; any thread may call any member.
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A histogram's figures at one moment: cumulative counts per upper bound, as rendered.
struct HistogramSnapshot {
  std::vector<double> bounds;        ///< finite upper bounds, ascending; +Inf is implicit
  std::vector<uint64_t> cumulative;  ///< cumulative[i] = observations <= bounds[i]
  uint64_t count = 0;                ///< all observations (the +Inf bucket)
  double sum = 0.0;
};

/// A histogram with fixed bucket bounds. observe() is lock-free (two relaxed atomic adds and one
/// CAS loop for the sum) and may be called from any thread; snapshot() may run concurrently, in
/// which case it may see an observation in `count` but not yet in its bucket, which a scrape
/// tolerates.
class Histogram {
 public:
  /// `bounds`: finite, strictly ascending upper bounds. Throws modsync::Error otherwise.
  explicit Histogram(std::vector<double> bounds);

  void observe(double value) noexcept;
  HistogramSnapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  ///< bounds_.size() + 1; last is +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

/// Bucket bounds for durations in seconds: 1 ms to 60 s.
std::vector<double> latency_buckets_seconds();
/// Bucket bounds for sizes and counts: 1, 2, 5, 10, ... 100000.
std::vector<double> size_buckets();

/// Collects the samples of one scrape and renders them. Samples of the same family (name) may
/// be written by several collectors in any order; render() groups them under one `# HELP` and
/// `# TYPE` and orders families by name, samples in the order written.
///
/// Metric and label names are checked (`[a-zA-Z_:][a-zA-Z0-9_:]*`, `[a-zA-Z_][a-zA-Z0-9_]*`,
/// no `le` label on histograms); a bad name, or a family written with two different types,
/// throws modsync::Error naming it: both are programming errors. Not thread-safe: one scrape,
/// one writer.
class MetricsWriter {
 public:
  void counter(std::string_view name, std::string_view help, const Labels& labels, uint64_t value);
  void counter(std::string_view name, std::string_view help, const Labels& labels, double value);
  void gauge(std::string_view name, std::string_view help, const Labels& labels, double value);
  /// For integer gauges that must render exactly (WAL positions beyond 2^53).
  void gauge(std::string_view name, std::string_view help, const Labels& labels, uint64_t value);
  void gauge(std::string_view name, std::string_view help, const Labels& labels, int64_t value);
  /// Writes `<name>_bucket{…,le="…"}`, `<name>_sum` and `<name>_count`.
  void histogram(std::string_view name, std::string_view help, const Labels& labels,
                 const HistogramSnapshot& snapshot);

  /// One gauge sample per name in `states`, labelled `state="<name>"` after `labels`: 1 for
  /// `current`, 0 for the others (a one-hot state).
  void state_gauge(std::string_view name, std::string_view help, const Labels& labels,
                   const std::vector<std::string_view>& states, std::string_view current);

  /// The exposition text, ending in a newline (empty when nothing was written).
  std::string render() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::vector<std::string> lines;  ///< rendered samples, without the trailing newline
  };
  Family& family(std::string_view name, std::string_view help, std::string_view type);
  void sample(Family& family, std::string_view name, const Labels& labels, std::string_view value,
              const Label* extra = nullptr);

  std::map<std::string, Family, std::less<>> families_;
};

/// The metrics of one process: owned metrics plus collectors, rendered together.
///
/// Thread-safety: every member may be called from any thread. counter()/gauge()/histogram() and
/// add_collector()/remove_collector() take a mutex; render() takes the same mutex while it runs
/// the collectors, so a collector never runs concurrently with another scrape and is never called
/// after remove_collector() returns. Collectors run on the scraping thread (an HTTP server
/// thread): they must only read thread-safe state and must not call back into the registry.
class MetricsRegistry {
 public:
  using Collector = std::function<void(MetricsWriter&)>;
  using CollectorId = uint64_t;

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  /// The counter `name{labels}`, created on first use. The reference stays valid for the
  /// registry's lifetime. The same name must always come with the same help and type; a
  /// conflict throws modsync::Error.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  /// `bounds` is used when the histogram is created; later calls must pass the same bounds.
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels,
                       std::vector<double> bounds);

  /// Adds a collector run on every render(); returns an id for remove_collector().
  CollectorId add_collector(Collector collector);
  /// Removes a collector; once this returns it is not running and will not run again. Removing
  /// an unknown id does nothing.
  void remove_collector(CollectorId id);

  /// Renders every owned metric and runs every collector. A collector that throws makes
  /// render() throw (the HTTP server answers 500 with the message).
  std::string render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Owned {
    Kind kind;
    std::string name;
    std::string help;
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  Owned& find_or_add(Kind kind, std::string_view name, std::string_view help, const Labels& labels);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Owned>> owned_;
  std::map<CollectorId, Collector> collectors_;
  CollectorId next_id_ = 1;
};

/// A collector's place in a registry: removed when this is destroyed or reset(). A component's
/// probe holds one, so its series leave /metrics with it. Move-only; the registry must outlive
/// it (or reset() it first). Not thread-safe itself; the registry calls are.
class CollectorRegistration {
 public:
  CollectorRegistration() = default;
  CollectorRegistration(MetricsRegistry& registry, MetricsRegistry::Collector collector);
  ~CollectorRegistration() { reset(); }
  CollectorRegistration(CollectorRegistration&& other) noexcept;
  CollectorRegistration& operator=(CollectorRegistration&& other) noexcept;
  CollectorRegistration(const CollectorRegistration&) = delete;
  CollectorRegistration& operator=(const CollectorRegistration&) = delete;

  /// Removes the collector; once this returns it is not running and will not run again.
  void reset();
  bool registered() const { return registry_ != nullptr; }

 private:
  MetricsRegistry* registry_ = nullptr;
  MetricsRegistry::CollectorId id_ = 0;
};

/// Escapes a label value for the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);
/// Escapes `# HELP` text: backslash and newline.
std::string escape_help(std::string_view help);

}  // namespace modsync::observability
