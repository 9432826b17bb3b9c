#include "metrics/registry.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/prometheus_text.h"

namespace fraiseql::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kThreads = 8;

// Runs `body(thread_index)` on kThreads threads at once and joins them.
template <typename Body>
void RunOnThreads(Body body) {
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (std::thread& thread : threads) thread.join();
}

// Appends instead of "q" + std::to_string(i), which trips g++ 12's false -Wrestrict at -O3.
std::string QueueName(int i) {
  std::string name = "q";
  name += std::to_string(i);
  return name;
}

// ---------------------------------------------------------------------------------------------
// Metric semantics

TEST(CounterTest, StartsAtZeroAndCountsWholeAndFractionalAmounts) {
  Counter counter;
  EXPECT_EQ(counter.Value(), 0.0);
  counter.Increment();
  counter.Increment(3);
  counter.Increment(uint64_t{2});
  counter.Increment(0.25);
  EXPECT_EQ(counter.Value(), 6.25);
}

TEST(CounterTest, NegativeOrNanIncrementIsAProgrammingError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Counter counter;
  counter.Increment(2);
  EXPECT_DEBUG_DEATH(counter.Increment(-1), "only goes up");
  EXPECT_DEBUG_DEATH(counter.Increment(-0.5), "only goes up");
  EXPECT_DEBUG_DEATH(counter.Increment(std::nan("")), "only goes up");
  // Release builds ignore the bad amounts; debug builds died in a child process.
  EXPECT_EQ(counter.Value(), 2.0);
}

TEST(GaugeTest, SetIncrementDecrement) {
  Gauge gauge;
  EXPECT_EQ(gauge.Value(), 0.0);
  gauge.Set(10.5);
  gauge.Increment();
  gauge.Increment(2.0);
  gauge.Decrement(0.5);
  gauge.Decrement();
  EXPECT_EQ(gauge.Value(), 12.0);
  gauge.Set(-3.0);
  EXPECT_EQ(gauge.Value(), -3.0);
}

TEST(GaugeTest, AcceptsIntegralTypesWithoutCasts) {
  Gauge gauge;
  const std::size_t queue_size = 42;
  gauge.Set(queue_size);
  gauge.Increment(int64_t{8});
  gauge.Decrement(std::size_t{10});
  EXPECT_EQ(gauge.Value(), 40.0);
}

TEST(HistogramTest, UpperBoundsAreInclusive) {
  const std::vector<double> bounds = {0.1, 1.0, 5.0};
  Histogram histogram(bounds);
  histogram.Observe(0.1);   // le=0.1
  histogram.Observe(0.5);   // le=1
  histogram.Observe(1.0);   // le=1
  histogram.Observe(5.0);   // le=5
  histogram.Observe(7.0);   // +Inf
  histogram.Observe(-2.0);  // le=0.1
  EXPECT_THAT(histogram.CumulativeCounts(), ElementsAre(2u, 4u, 5u, 6u));
  EXPECT_EQ(histogram.Count(), 6u);
  EXPECT_DOUBLE_EQ(histogram.Sum(), 11.6);
}

TEST(HistogramTest, NanGoesToTheInfBucketAndPoisonsTheSum) {
  const std::vector<double> bounds = {1.0};
  Histogram histogram(bounds);
  histogram.Observe(std::nan(""));
  EXPECT_THAT(histogram.CumulativeCounts(), ElementsAre(0u, 1u));
  EXPECT_TRUE(std::isnan(histogram.Sum()));
}

TEST(HistogramTest, WithoutBoundsEverythingIsInTheInfBucket) {
  Histogram histogram(std::span<const double>{});
  histogram.Observe(3.0);
  histogram.Observe(-std::numeric_limits<double>::infinity());
  EXPECT_THAT(histogram.CumulativeCounts(), ElementsAre(2u));
}

// ---------------------------------------------------------------------------------------------
// Labels and handles

TEST(FamilyTest, SameLabelValuesGiveTheSameHandle) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("sent_total", "Sent.", {"channel", "result"});
  Counter& a = family.WithLabels({"webhook", "ok"});
  Counter& b = family.WithLabels(std::vector<std::string>{"webhook", "ok"});
  Counter& c = family.WithLabels({"webhook", "error"});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  a.Increment();
  b.Increment();
  c.Increment(5);
  EXPECT_EQ(a.Value(), 2.0);
  EXPECT_EQ(c.Value(), 5.0);
}

TEST(FamilyTest, HandlesStayValidAsSeriesAreAdded) {
  Registry registry;
  GaugeFamily& family = registry.AddGauge("depth", "Depth.", {"queue"});
  Gauge& first = family.WithLabels({"q0"});
  first.Set(7.0);
  std::vector<Gauge*> handles;
  for (int i = 1; i < 2000; ++i) handles.push_back(&family.WithLabels({QueueName(i)}));
  EXPECT_EQ(&family.WithLabels({"q0"}), &first);
  EXPECT_EQ(first.Value(), 7.0);
  for (int i = 1; i < 2000; ++i) {
    EXPECT_EQ(&family.WithLabels({QueueName(i)}), handles[static_cast<std::size_t>(i - 1)]);
  }
  EXPECT_EQ(registry.Snapshot()[0].series.size(), 2000u);
}

TEST(FamilyTest, LabellessFamilyHasOneSeriesFromTheStart) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("events_total", "Events.");
  ASSERT_EQ(family.Snapshot().series.size(), 1u);
  Counter& counter = family.Get();
  EXPECT_EQ(&counter, &family.WithLabels({}));
  counter.Increment();
  EXPECT_EQ(family.Snapshot().series[0].value, 1.0);
}

TEST(FamilyTest, WrongLabelCountIsAProgrammingError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  CounterFamily& family = registry.AddCounter("errors_total", "Errors.", {"action_type", "kind"});
  EXPECT_DEBUG_DEATH(family.WithLabels({"webhook"}).Increment(),
                     "'errors_total' has 2 label name\\(s\\) \\{action_type, kind\\} but was "
                     "given 1 label value\\(s\\)");
  EXPECT_DEBUG_DEATH(family.Get().Increment(), "given 0 label value");
#ifdef NDEBUG
  // Release builds: the calls went to an unexported sink and were counted.
  EXPECT_EQ(family.label_mismatches(), 2u);
#endif
  EXPECT_TRUE(family.Snapshot().series.empty());
}

TEST(FamilyTest, LabelValuesAreArbitraryBytes) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("seen_total", "Seen.", {"name"});
  family.WithLabels({"caf\xc3\xa9 \"quoted\"\n"}).Increment();
  family.WithLabels({""}).Increment();
  const FamilySnapshot snapshot = family.Snapshot();
  ASSERT_EQ(snapshot.series.size(), 2u);
  EXPECT_THAT(snapshot.series[0].label_values, ElementsAre(""));
  EXPECT_THAT(snapshot.series[1].label_values, ElementsAre("caf\xc3\xa9 \"quoted\"\n"));
}

// ---------------------------------------------------------------------------------------------
// Registration

TEST(RegistryTest, RedeclaringTheSameFamilyReturnsIt) {
  Registry registry;
  HistogramFamily& first = registry.AddHistogram("latency_seconds", "Latency.", {"op"}, {0.1, 1});
  first.WithLabels({"get"}).Observe(0.5);
  HistogramFamily& second = registry.AddHistogram("latency_seconds", "Latency.", {"op"}, {0.1, 1});
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(second.WithLabels({"get"}).Count(), 1u);
  EXPECT_EQ(registry.Snapshot().size(), 1u);
}

TEST(RegistryTest, RedeclaringWithADifferentShapeIsAnError) {
  Registry registry;
  ASSERT_TRUE(registry.TryAddCounter("jobs_total", "Jobs.", {"action_type"}));

  Result<CounterFamily*> other_help =
      registry.TryAddCounter("jobs_total", "Other.", {"action_type"});
  ASSERT_FALSE(other_help);
  EXPECT_EQ(other_help.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(other_help.error().message,
              HasSubstr("metric family 'jobs_total' is already declared as counter{action_type} "
                        "help \"Jobs.\"; cannot redeclare it as counter{action_type} help "
                        "\"Other.\""));

  Result<CounterFamily*> other_labels = registry.TryAddCounter("jobs_total", "Jobs.", {"result"});
  ASSERT_FALSE(other_labels);
  EXPECT_THAT(other_labels.error().message, HasSubstr("counter{result}"));

  Result<GaugeFamily*> other_type = registry.TryAddGauge("jobs_total", "Jobs.", {"action_type"});
  ASSERT_FALSE(other_type);
  EXPECT_THAT(other_type.error().message, HasSubstr("cannot redeclare it as gauge{action_type}"));
}

TEST(RegistryTest, RedeclaringAHistogramWithOtherBucketsIsAnError) {
  Registry registry;
  ASSERT_TRUE(registry.TryAddHistogram("wait_seconds", "Wait.", {}, {1, 2}));
  // A spelled-out +Inf is the implicit one: still the same declaration.
  EXPECT_TRUE(registry.TryAddHistogram("wait_seconds", "Wait.", {},
                                       {1, 2, std::numeric_limits<double>::infinity()}));
  Result<HistogramFamily*> other = registry.TryAddHistogram("wait_seconds", "Wait.", {}, {1, 3});
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message, HasSubstr("buckets [1, 2]"));
  EXPECT_THAT(other.error().message, HasSubstr("buckets [1, 3]"));
}

TEST(RegistryTest, RejectsInvalidDeclarations) {
  Registry registry;
  const auto message = [](const auto& result) { return result.error().message; };
  EXPECT_THAT(message(registry.TryAddGauge("1st", "Help.")), HasSubstr("a name must match"));
  EXPECT_THAT(message(registry.TryAddGauge("a:b", "Help.")), HasSubstr("a name must match"));
  EXPECT_THAT(message(registry.TryAddGauge("", "Help.")), HasSubstr("a name must match"));
  EXPECT_THAT(message(registry.TryAddCounter("requests", "Help.")), HasSubstr("end in _total"));
  EXPECT_THAT(message(registry.TryAddGauge("depth", "")), HasSubstr("help text is empty"));
  EXPECT_THAT(message(registry.TryAddGauge("depth", "Help.", {"bad-label"})),
              HasSubstr("label name 'bad-label'"));
  EXPECT_THAT(message(registry.TryAddGauge("depth", "Help.", {"__reserved"})),
              HasSubstr("label name '__reserved'"));
  EXPECT_THAT(message(registry.TryAddGauge("depth", "Help.", {"a", "b", "a"})),
              HasSubstr("label name 'a' appears twice"));
  EXPECT_THAT(message(registry.TryAddHistogram("lat", "Help.", {"le"}, {1})),
              HasSubstr("'le' is reserved"));
  EXPECT_THAT(message(registry.TryAddHistogram("lat", "Help.", {}, {1, 1})),
              HasSubstr("strictly increasing"));
  EXPECT_THAT(message(registry.TryAddHistogram("lat", "Help.", {}, {2, 1})),
              HasSubstr("strictly increasing"));
  EXPECT_THAT(message(registry.TryAddHistogram("lat", "Help.", {}, {std::nan("")})),
              HasSubstr("not NaN"));
  // A gauge may use "le"; only histograms reserve it.
  EXPECT_TRUE(registry.TryAddGauge("level", "Help.", {"le"}));
  EXPECT_EQ(registry.Snapshot().size(), 1u);
}

TEST(RegistryTest, RejectsNamesWhoseSamplesCollide) {
  Registry registry;
  ASSERT_TRUE(registry.TryAddHistogram("job_seconds", "Jobs.", {}, {1}));
  Result<GaugeFamily*> count = registry.TryAddGauge("job_seconds_count", "Count.");
  ASSERT_FALSE(count);
  EXPECT_THAT(count.error().message,
              HasSubstr("would write samples named 'job_seconds_count', as histogram "
                        "'job_seconds' does"));
  ASSERT_TRUE(registry.TryAddGauge("queue_sum", "Sum."));
  EXPECT_FALSE(registry.TryAddHistogram("queue", "Queue.", {}, {1}));
}

TEST(RegistryTest, AddOnAConflictIsAProgrammingError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  CounterFamily& declared = registry.AddCounter("runs_total", "Runs.");
  declared.Get().Increment();
  EXPECT_DEBUG_DEATH(registry.AddGauge("runs_total", "Runs.").Get().Set(99.0),
                     "fraiseql metrics: metric family 'runs_total' is already declared");
  // Release builds got a detached gauge: the exported counter is untouched.
  const std::vector<FamilySnapshot> snapshot = registry.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].type, MetricType::kCounter);
  EXPECT_EQ(snapshot[0].series[0].value, 1.0);
}

TEST(RegistryTest, PrivateRegistriesAreIndependent) {
  Registry a;
  Registry b;
  a.AddCounter("shared_total", "Shared.").Get().Increment();
  b.AddCounter("shared_total", "Shared.").Get().Increment(5);
  EXPECT_EQ(a.Snapshot()[0].series[0].value, 1.0);
  EXPECT_EQ(b.Snapshot()[0].series[0].value, 5.0);
}

TEST(RegistryTest, DefaultRegistryIsOneInstance) {
  EXPECT_EQ(&DefaultRegistry(), &DefaultRegistry());
}

// ---------------------------------------------------------------------------------------------
// Concurrency (exact totals; TSan checks the rest)

TEST(ConcurrencyTest, CounterIncrementsFromEightThreadsSumExactly) {
  Registry registry;
  Counter& counter = registry.AddCounter("hits_total", "Hits.").Get();
  constexpr int kPerThread = 100'000;
  RunOnThreads([&counter](int) {
    for (int i = 0; i < kPerThread; ++i) counter.Increment();
  });
  EXPECT_EQ(counter.Value(), double{kThreads} * kPerThread);
}

TEST(ConcurrencyTest, FractionalCounterIncrementsSumExactly) {
  Registry registry;
  Counter& counter = registry.AddCounter("busy_seconds_total", "Busy.").Get();
  constexpr int kPerThread = 20'000;
  RunOnThreads([&counter](int) {
    for (int i = 0; i < kPerThread; ++i) {
      counter.Increment(0.25);  // exact in binary, so the total is too
      counter.Increment(1);
    }
  });
  EXPECT_EQ(counter.Value(), 1.25 * kThreads * kPerThread);
}

TEST(ConcurrencyTest, GaugeIncrementsAndDecrementsCancelOut) {
  Registry registry;
  Gauge& gauge = registry.AddGauge("in_flight", "In flight.").Get();
  gauge.Set(3.0);
  RunOnThreads([&gauge](int) {
    for (int i = 0; i < 50'000; ++i) {
      gauge.Increment();
      gauge.Decrement();
    }
  });
  EXPECT_EQ(gauge.Value(), 3.0);
}

TEST(ConcurrencyTest, HistogramObservationsAreAllCounted) {
  Registry registry;
  Histogram& histogram = registry.AddHistogram("step_seconds", "Steps.", {}, {0.5, 1.5}).Get();
  constexpr int kPerThread = 30'000;
  RunOnThreads([&histogram](int thread) {
    const double value = thread % 2 == 0 ? 0.5 : 2.0;
    for (int i = 0; i < kPerThread; ++i) histogram.Observe(value);
  });
  constexpr uint64_t kHalf = uint64_t{kThreads / 2} * kPerThread;
  EXPECT_THAT(histogram.CumulativeCounts(), ElementsAre(kHalf, kHalf, 2 * kHalf));
  EXPECT_EQ(histogram.Sum(), 0.5 * kHalf + 2.0 * kHalf);
}

TEST(ConcurrencyTest, ConcurrentLookupsOfOneLabelSetShareOneSeries) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("calls_total", "Calls.", {"action_type", "worker"});
  constexpr int kPerThread = 2'000;
  RunOnThreads([&family](int thread) {
    const std::string worker = "w" + std::to_string(thread % 2);
    for (int i = 0; i < kPerThread; ++i) family.WithLabels({"webhook", worker}).Increment();
  });
  const FamilySnapshot snapshot = family.Snapshot();
  ASSERT_EQ(snapshot.series.size(), 2u);
  EXPECT_EQ(snapshot.series[0].value, double{kThreads / 2} * kPerThread);
  EXPECT_EQ(snapshot.series[1].value, double{kThreads / 2} * kPerThread);
}

TEST(ConcurrencyTest, RenderingWhileUpdatingSeesConsistentHistograms) {
  Registry registry;
  HistogramFamily& family = registry.AddHistogram("work_seconds", "Work.", {"kind"}, {1, 2});
  CounterFamily& counters = registry.AddCounter("work_total", "Work.", {"kind"});
  constexpr int kPerThread = 5'000;
  RunOnThreads([&](int thread) {
    if (thread == 0) {
      // One reader: every snapshot has cumulative buckets ending in the count.
      for (int i = 0; i < 200; ++i) {
        for (const FamilySnapshot& snapshot : registry.Snapshot()) {
          for (const SeriesSnapshot& series : snapshot.series) {
            for (std::size_t b = 1; b < series.cumulative_counts.size(); ++b) {
              EXPECT_LE(series.cumulative_counts[b - 1], series.cumulative_counts[b]);
            }
          }
        }
        EXPECT_FALSE(RenderPrometheusText(registry).empty());
      }
      return;
    }
    const std::string kind = "k" + std::to_string(thread);
    for (int i = 0; i < kPerThread; ++i) {
      family.WithLabels({kind}).Observe(static_cast<double>(i % 3));
      counters.WithLabels({kind}).Increment();
    }
  });
  const std::vector<FamilySnapshot> snapshot = registry.Snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  ASSERT_EQ(snapshot[0].series.size(), std::size_t{kThreads - 1});
  for (const SeriesSnapshot& series : snapshot[0].series) {
    EXPECT_EQ(series.cumulative_counts.back(), uint64_t{kPerThread});
  }
  for (const SeriesSnapshot& series : snapshot[1].series) EXPECT_EQ(series.value, kPerThread);
}

}  // namespace
}  // namespace fraiseql::metrics
