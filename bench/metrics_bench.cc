// What one metric update costs, and what the updates of one delivered webhook cost together:
// the bottom-up half of bench/metrics_overhead.sh's question (docs/benchmarks.md, "Metrics
// overhead"). Built with FRAISEQL_METRIC_UPDATES=OFF, the update benchmarks measure an empty loop.

#include <array>
#include <cstddef>
#include <iterator>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "metrics/families.h"
#include "metrics/registry.h"

namespace fraiseql::metrics {
namespace {

// Series of a private registry, so nothing here shows on a real /metrics.
Registry& BenchRegistry() {
  static Registry registry;
  return registry;
}

Counter& BenchCounter() {
  static Counter& counter = BenchRegistry().AddCounter("bench_counter_total", "Bench.").Get();
  return counter;
}

Gauge& BenchGauge() {
  static Gauge& gauge = BenchRegistry().AddGauge("bench_gauge", "Bench.").Get();
  return gauge;
}

Histogram& BenchHistogram() {
  static Histogram& histogram =
      BenchRegistry()
          .AddHistogram("bench_seconds", "Bench.", {},
                        std::vector<double>(std::begin(kActionDurationBuckets), std::end(kActionDurationBuckets)))
          .Get();
  return histogram;
}

void BM_CounterIncrement(benchmark::State& state) {
  Counter& counter = BenchCounter();
  for (auto _ : state) counter.Increment();
  benchmark::DoNotOptimize(counter.Value());
}
BENCHMARK(BM_CounterIncrement)->ThreadRange(1, 2);

void BM_GaugeSet(benchmark::State& state) {
  Gauge& gauge = BenchGauge();
  double value = 0;
  for (auto _ : state) gauge.Set(value += 1);
  benchmark::DoNotOptimize(gauge.Value());
}
BENCHMARK(BM_GaugeSet);

// A CAS loop on a double: the in-flight gauge, raised by one thread and lowered by another.
void BM_GaugeIncrementDecrement(benchmark::State& state) {
  Gauge& gauge = BenchGauge();
  for (auto _ : state) {
    gauge.Increment();
    gauge.Decrement();
  }
  benchmark::DoNotOptimize(gauge.Value());
}
BENCHMARK(BM_GaugeIncrementDecrement)->ThreadRange(1, 2);

// Durations spread over the buckets, as a delivery's are.
void BM_HistogramObserve(benchmark::State& state) {
  Histogram& histogram = BenchHistogram();
  static constexpr std::array<double, 4> kSeconds = {0.0004, 0.003, 0.07, 2.5};
  std::size_t i = 0;
  for (auto _ : state) histogram.Observe(kSeconds[i++ & 3]);
  benchmark::DoNotOptimize(histogram.Sum());
}
BENCHMARK(BM_HistogramObserve)->ThreadRange(1, 2);

// Every update the delivery engine makes for one webhook delivered at the first attempt
// (src/executor/delivery_engine.cc): the breaker gauge twice, the in-flight gauge up and down,
// three counters, two histograms. Two threads: the dispatcher and the curl thread share them.
void BM_OneDeliveredWebhook(benchmark::State& state) {
  static Gauge& breaker = BenchRegistry().AddGauge("bench_breaker", "Bench.", {"target"}).WithLabels({"t"});
  static Counter& attempts = BenchRegistry().AddCounter("bench_attempts_total", "Bench.").Get();
  static Counter& jobs = BenchRegistry().AddCounter("bench_jobs_total", "Bench.").Get();
  static Histogram& job_seconds =
      BenchRegistry()
          .AddHistogram("bench_job_seconds", "Bench.", {},
                        std::vector<double>(std::begin(kJobDurationBuckets), std::end(kJobDurationBuckets)))
          .Get();
  Gauge& in_flight = BenchGauge();
  Counter& executed = BenchCounter();
  Histogram& attempt_seconds = BenchHistogram();
  for (auto _ : state) {
    breaker.Set(0);
    in_flight.Increment();
    breaker.Set(0);
    executed.Increment();
    attempt_seconds.Observe(0.003);
    attempts.Increment();
    in_flight.Decrement();
    jobs.Increment();
    job_seconds.Observe(0.004);
  }
  benchmark::DoNotOptimize(jobs.Value());
}
BENCHMARK(BM_OneDeliveredWebhook)->ThreadRange(1, 2);

// A failed attempt's lookup of its {action_type, error_type} series (a lock and a map search,
// no allocation): the only label lookups left on a delivery's path.
void BM_WithLabelsLookup(benchmark::State& state) {
  CounterFamily& errors = BenchRegistry().AddCounter("bench_errors_total", "Bench.", {"action_type", "error_type"});
  for (const std::string_view type : {"http_4xx", "http_5xx", "http_429", "timeout", "connect", "dns", "tls"}) {
    errors.WithLabels({"webhook", type});
  }
  for (auto _ : state) errors.WithLabels({"webhook", "timeout"}).Increment();
  benchmark::DoNotOptimize(errors.WithLabels({"webhook", "timeout"}).Value());
}
BENCHMARK(BM_WithLabelsLookup)->ThreadRange(1, 2);

}  // namespace
}  // namespace fraiseql::metrics
