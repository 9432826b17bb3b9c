// Metrics registry: counters, gauges and histograms with label sets, grouped in named families
// and rendered by prometheus_text.h. Call sites take a handle once, then update it lock-free.
// Thread-safety: all thread-safe; declarations and label lookups lock, updates are atomic ops.
//
// Usage:
//   metrics::CounterFamily& sent = registry.AddCounter("x_sent_total", "Sent.", {"channel"});
//   metrics::Counter& webhook = sent.WithLabels({"webhook"});  // once, at setup: takes a lock
//   webhook.Increment();                                      // hot path: one atomic add
// The product's own families are declared once in metrics/families.h; use those accessors.
//
// Programming errors (a name declared twice with a different shape, an invalid name, the wrong
// number of label values) abort with a message in debug builds. In release builds the process
// keeps running and the offending call gets a working but *unexported* metric, so a bad call site
// loses its own numbers without crashing the daemon or corrupting another family's series.
// Callers that want to handle a bad declaration (e.g. one built from config) use Registry::TryAdd*.
//
// Built with the CMake option FRAISEQL_METRIC_UPDATES=OFF, every update below is an empty inline
// function: values stay 0 while families and series are still declared and rendered. That build
// exists only to measure what updating costs (bench/metrics_overhead.sh); it is not a product
// configuration.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "common/thread_annotations.h"

namespace fraiseql::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// "counter", "gauge" or "histogram": the word the exposition format's TYPE line uses.
std::string_view MetricTypeName(MetricType type);

// Series created back to back are separate heap nodes; aligning each to a cache line keeps two
// hot series updated from different threads from bouncing the same line between cores.
inline constexpr std::size_t kCacheLineSize = 64;

#ifndef FRAISEQL_METRIC_UPDATES
#error "FRAISEQL_METRIC_UPDATES (0 or 1) comes from CMake (fraiseql_build_options)"
#endif
// False only in the overhead-measurement build (see top). Both branches of every update still
// compile, so neither build can rot unseen.
inline constexpr bool kMetricUpdates = FRAISEQL_METRIC_UPDATES != 0;

namespace internal {

// A CAS loop, which is what atomic<double>::fetch_add compiles to anyway. Relaxed: a metric
// publishes nothing else, so it needs no ordering.
inline void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

}  // namespace internal

// A monotonically increasing count. Whole-number increments take an integer fast path; fractional
// ones (e.g. seconds) a CAS loop on a separate double, so Value() is exact for counts below 2^53.
class alignas(kCacheLineSize) Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment() {
    if constexpr (kMetricUpdates) whole_.fetch_add(1, std::memory_order_relaxed);
  }

  // Negative amounts are a programming error: assert in debug, ignored in release.
  template <std::integral T>
  void Increment(T amount) {
    if constexpr (kMetricUpdates) {
      if constexpr (std::is_signed_v<T>) {
        assert(amount >= 0 && "a counter only goes up; use a Gauge");
        if (amount < 0) return;
      }
      whole_.fetch_add(static_cast<uint64_t>(amount), std::memory_order_relaxed);
    }
  }

  // Negative and NaN amounts are a programming error: assert in debug, ignored in release.
  void Increment(double amount) {
    if constexpr (kMetricUpdates) {
      assert(amount >= 0.0 && "a counter only goes up (and NaN is not an amount)");
      if (!(amount >= 0.0)) return;
      internal::AtomicAdd(fractional_, amount);
    }
  }

  double Value() const {
    return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
           fractional_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> whole_{0};
  std::atomic<double> fractional_{0.0};
};

// A value that goes up and down (queue depth, items in the DLQ).
class alignas(kCacheLineSize) Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) {
    if constexpr (kMetricUpdates) value_.store(value, std::memory_order_relaxed);
  }
  void Increment(double amount = 1.0) {
    if constexpr (kMetricUpdates) internal::AtomicAdd(value_, amount);
  }
  void Decrement(double amount = 1.0) {
    if constexpr (kMetricUpdates) internal::AtomicAdd(value_, -amount);
  }

  // Sizes and counts convert here, once, so call sites stay free of casts.
  template <std::integral T>
  void Set(T value) {
    Set(static_cast<double>(value));
  }
  template <std::integral T>
  void Increment(T amount) {
    Increment(static_cast<double>(amount));
  }
  template <std::integral T>
  void Decrement(T amount) {
    Decrement(static_cast<double>(amount));
  }

  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds inclusive, +Inf implicit), plus their sum.
// The total count is derived from the buckets, so a snapshot's cumulative buckets and _count always
// agree; _sum is a separate atomic and may lag or lead them by the observations in flight.
class alignas(kCacheLineSize) Histogram {
 public:
  // `upper_bounds` must be strictly increasing and outlive the histogram (its family owns them).
  explicit Histogram(std::span<const double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN lands in the +Inf bucket (it is not <= any bound) and makes the sum NaN, as in
  // Prometheus' own clients. Inline, so the measurement build (see top) drops the call too.
  void Observe(double value) {
    if constexpr (kMetricUpdates) {
      // The first bound >= value (bounds are inclusive). NaN is <= nothing, so it runs off the
      // end into the +Inf bucket.
      const auto bound = std::partition_point(upper_bounds_.begin(), upper_bounds_.end(),
                                              [value](double upper) { return !(value <= upper); });
      const auto index = static_cast<std::size_t>(bound - upper_bounds_.begin());
      buckets_[index].fetch_add(1, std::memory_order_relaxed);
      internal::AtomicAdd(sum_, value);
    }
  }

  std::span<const double> upper_bounds() const { return upper_bounds_; }
  // One entry per upper bound, then the +Inf bucket, which equals Count().
  std::vector<uint64_t> CumulativeCounts() const;
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // not cumulative; the last one is +Inf
  std::atomic<double> sum_{0.0};
};

// A point-in-time copy of one family, for exposition. Series are sorted by label values.
struct SeriesSnapshot {
  std::vector<std::string> label_values;    // in the family's label-name order
  double value = 0.0;                       // counters and gauges
  std::vector<uint64_t> cumulative_counts;  // histograms: per upper bound, then +Inf (== count)
  double sum = 0.0;                         // histograms
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> upper_bounds;  // histograms only; +Inf implicit
  std::vector<SeriesSnapshot> series;
};

namespace internal {

// Orders label-value tuples byte-wise, element by element; transparent so a lookup with
// string_views allocates nothing.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

}  // namespace internal

// What every family has, whatever its metric type.
class FamilyBase {
 public:
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  virtual ~FamilyBase();

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

  // WithLabels calls with the wrong number of values (only reachable in release builds).
  uint64_t label_mismatches() const { return label_mismatches_.load(std::memory_order_relaxed); }

  virtual FamilySnapshot Snapshot() const = 0;

 protected:
  FamilyBase(MetricType type, std::string name, std::string help,
             std::vector<std::string> label_names, std::vector<double> upper_bounds);

  // Aborts with a message in debug builds; counts the mismatch in release builds.
  void ReportLabelMismatch(std::size_t value_count);

 private:
  const MetricType type_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> upper_bounds_;
  std::atomic<uint64_t> label_mismatches_{0};
};

// A family of one metric type: one series per distinct tuple of label values. Obtain it from a
// Registry (a family constructed on its own works but is exported by nobody).
template <typename M>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> upper_bounds);

  // The series for these label values (one per label name, in declaration order), created at
  // zero on first use. The reference stays valid for the family's lifetime: keep it and update
  // it without further lookups. A wrong number of values is a programming error (see top).
  M& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  M& WithLabels(std::span<const std::string_view> values) LOCKS_EXCLUDED(mu_);
  M& WithLabels(const std::vector<std::string>& values);

  // The single series of a family declared without labels; no lock. On a labelled family this
  // is a label mismatch.
  M& Get();

  FamilySnapshot Snapshot() const override LOCKS_EXCLUDED(mu_);

 private:
  std::unique_ptr<M> NewSeries() const;

  mutable Mutex mu_;
  // Node-based map: the series never move, so handed-out references stay valid.
  std::map<std::vector<std::string>, std::unique_ptr<M>, internal::LabelValuesLess> series_
      GUARDED_BY(mu_);
  // Set in the constructor, never changed: reading it needs no lock.
  M* unlabeled_ = nullptr;
  // Where mismatched WithLabels calls write in release builds; never exported.
  const std::unique_ptr<M> sink_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Owns families by name. Names follow Prometheus: [a-zA-Z_][a-zA-Z0-9_]* (colons are reserved
// for recording rules); label names the same without a leading "__"; counters end in "_total";
// help is non-empty. Declaring an existing name returns the existing family when type, help,
// label names (and buckets) all match, and is an error otherwise; so is a name whose samples
// would collide with another family's (a gauge "x_count" next to a histogram "x").
class Registry {
 public:
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // kInvalidArgument, with a message naming the family and what is wrong, on a bad declaration.
  Result<CounterFamily*> TryAddCounter(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names = {})
      LOCKS_EXCLUDED(mu_);
  Result<GaugeFamily*> TryAddGauge(std::string_view name, std::string_view help,
                                   std::vector<std::string> label_names = {}) LOCKS_EXCLUDED(mu_);
  // `upper_bounds` strictly increasing, no NaN; a trailing +Inf is accepted and dropped since
  // the +Inf bucket is always there. Histograms may not use the label name "le".
  Result<HistogramFamily*> TryAddHistogram(std::string_view name, std::string_view help,
                                           std::vector<std::string> label_names,
                                           std::vector<double> upper_bounds) LOCKS_EXCLUDED(mu_);

  // As above, for declarations in code, where an error is a programming error (see top).
  CounterFamily& AddCounter(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {}) LOCKS_EXCLUDED(mu_);
  GaugeFamily& AddGauge(std::string_view name, std::string_view help,
                        std::vector<std::string> label_names = {}) LOCKS_EXCLUDED(mu_);
  HistogramFamily& AddHistogram(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names,
                                std::vector<double> upper_bounds) LOCKS_EXCLUDED(mu_);

  // Every exported family, sorted by name, each with its series sorted by label values.
  std::vector<FamilySnapshot> Snapshot() const LOCKS_EXCLUDED(mu_);

 private:
  template <typename M>
  Result<Family<M>*> TryAdd(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names, std::vector<double> upper_bounds)
      LOCKS_EXCLUDED(mu_);
  template <typename M>
  Family<M>& AddOrDetach(std::string_view name, std::string_view help,
                         std::vector<std::string> label_names, std::vector<double> upper_bounds)
      LOCKS_EXCLUDED(mu_);

  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_ GUARDED_BY(mu_);
  // Families handed out for bad declarations in release builds: alive, never exported.
  std::vector<std::unique_ptr<FamilyBase>> detached_ GUARDED_BY(mu_);
};

// The process-wide registry that metrics/families.h declares into and /metrics renders. Never
// destroyed, so threads still updating a metric during exit touch live memory.
Registry& DefaultRegistry();

}  // namespace fraiseql::metrics
