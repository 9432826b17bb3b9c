#include "metrics/prometheus_text.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/families.h"
#include "metrics/registry.h"

namespace fraiseql::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------
// A small validator for the text format, independent of the renderer: every sample belongs to a
// family declared by one HELP and one TYPE line, families are contiguous, series are unique, and
// each histogram series has increasing le bounds ending in +Inf, non-decreasing counts, a _sum,
// and a _count equal to its +Inf bucket.

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0.0;
};

bool IsNameChar(char c, bool first) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return letter || (!first && c >= '0' && c <= '9');
}

std::string_view TakeName(std::string_view& rest) {
  std::size_t n = 0;
  while (n < rest.size() && IsNameChar(rest[n], n == 0)) ++n;
  const std::string_view name = rest.substr(0, n);
  rest.remove_prefix(n);
  return name;
}

std::optional<double> ParseValue(std::string_view text) {
  if (text == "+Inf") return kInf;
  if (text == "-Inf") return -kInf;
  if (text == "NaN") return std::nan("");
  if (text.empty()) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

// Unescapes `text` with the escapes in `allowed` (besides backslash and n); nullopt on others.
std::optional<std::string> Unescape(std::string_view text, std::string_view allowed) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') return std::nullopt;
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) return std::nullopt;
    if (text[i] == 'n') {
      out += '\n';
    } else if (text[i] == '\\' || allowed.find(text[i]) != std::string_view::npos) {
      out += text[i];
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<Sample> ParseSample(std::string_view rest) {
  Sample sample;
  sample.name = std::string(TakeName(rest));
  if (sample.name.empty()) return std::nullopt;
  if (!rest.empty() && rest.front() == '{') {
    rest.remove_prefix(1);
    while (true) {
      const std::string label(TakeName(rest));
      if (label.empty() || rest.size() < 2 || rest.substr(0, 2) != "=\"") return std::nullopt;
      rest.remove_prefix(2);
      // The value ends at the first quote not preceded by an escaping backslash.
      std::size_t end = 0;
      while (end < rest.size() && rest[end] != '"') {
        end += rest[end] == '\\' ? std::size_t{2} : std::size_t{1};
      }
      if (end >= rest.size()) return std::nullopt;
      const std::optional<std::string> value = Unescape(rest.substr(0, end), "\"");
      if (!value) return std::nullopt;
      for (const auto& [name, unused] : sample.labels) {
        if (name == label) return std::nullopt;
      }
      sample.labels.emplace_back(label, *value);
      rest.remove_prefix(end + 1);
      if (!rest.empty() && rest.front() == ',') {
        rest.remove_prefix(1);
        continue;
      }
      if (rest.empty() || rest.front() != '}') return std::nullopt;
      rest.remove_prefix(1);
      break;
    }
  }
  if (rest.empty() || rest.front() != ' ') return std::nullopt;
  rest.remove_prefix(1);
  const std::optional<double> value = ParseValue(rest);
  if (!value) return std::nullopt;
  sample.value = *value;
  return sample;
}

std::string LabelKey(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string key;
  for (const auto& [name, value] : labels) key += name + "=" + value + "\x1f";
  return key;
}

struct HistogramSeries {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count) in text order
  std::optional<double> sum;
  std::optional<double> count;
};

std::vector<std::string> ValidateExposition(std::string_view text) {
  std::vector<std::string> errors;
  if (!text.empty() && text.back() != '\n') errors.push_back("text must end with a newline");
  std::map<std::string, std::string> types;
  std::set<std::string> helps;
  std::set<std::string> sampled_families;
  std::set<std::string> finished_families;
  std::set<std::string> series_seen;
  std::map<std::string, HistogramSeries> histograms;
  std::string current;
  std::size_t line_number = 0;

  const auto fail = [&](const std::string& what) {
    errors.push_back("line " + std::to_string(line_number) + ": " + what);
  };
  const auto enter = [&](const std::string& family) {
    if (family == current) return;
    if (finished_families.count(family) > 0) fail("family " + family + " is not contiguous");
    if (!current.empty()) finished_families.insert(current);
    current = family;
  };

  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const bool is_help = line.starts_with("# HELP ");
      line.remove_prefix(7);
      const std::string name(TakeName(line));
      if (name.empty() || line.empty() || line.front() != ' ') {
        fail("malformed HELP/TYPE line");
        continue;
      }
      line.remove_prefix(1);
      enter(name);
      if (is_help) {
        if (!helps.insert(name).second) fail("second HELP for " + name);
        if (!Unescape(line, "")) fail("bad escape in HELP for " + name);
      } else {
        if (types.count(name) > 0) fail("second TYPE for " + name);
        if (sampled_families.count(name) > 0) fail("TYPE after samples for " + name);
        if (line != "counter" && line != "gauge" && line != "histogram") fail("bad type");
        types[name] = std::string(line);
      }
      continue;
    }
    if (line.starts_with("#")) continue;
    std::optional<Sample> sample = ParseSample(line);
    if (!sample) {
      fail("malformed sample: " + std::string(line));
      continue;
    }
    // Resolve the family: the name itself, or a histogram's name plus a suffix.
    std::string family = sample->name;
    std::string suffix;
    if (types.count(family) == 0) {
      for (const std::string_view candidate : {"_bucket", "_sum", "_count"}) {
        const std::string& name = sample->name;
        if (name.ends_with(candidate)) {
          const std::string base = name.substr(0, name.size() - candidate.size());
          if (types.count(base) > 0 && types[base] == "histogram") {
            family = base;
            suffix = std::string(candidate);
          }
        }
      }
    }
    if (types.count(family) == 0 || helps.count(family) == 0) {
      fail("sample " + sample->name + " has no declared family");
      continue;
    }
    enter(family);
    sampled_families.insert(family);
    if (!series_seen.insert(sample->name + "|" + LabelKey(sample->labels)).second) {
      fail("duplicate series " + std::string(line));
    }
    const std::string& type = types[family];
    if (type != "histogram") {
      if (type == "counter" && !(sample->value >= 0)) fail("negative counter");
      continue;
    }
    if (suffix.empty()) {
      fail("histogram sample without _bucket/_sum/_count");
      continue;
    }
    std::vector<std::pair<std::string, std::string>> labels = sample->labels;
    std::optional<double> le;
    if (suffix == "_bucket") {
      if (labels.empty() || labels.back().first != "le") {
        fail("bucket without a trailing le label");
        continue;
      }
      le = ParseValue(labels.back().second);
      if (!le) fail("bad le value");
      labels.pop_back();
    }
    for (const auto& [name, unused] : labels) {
      if (name == "le") fail("le label outside a bucket");
    }
    HistogramSeries& series = histograms[family + "|" + LabelKey(labels)];
    if (suffix == "_bucket") {
      if (series.sum || series.count) fail("bucket after _sum/_count");
      if (!series.buckets.empty()) {
        if (!(series.buckets.back().first < le.value_or(0))) fail("le not increasing");
        if (series.buckets.back().second > sample->value) fail("bucket counts decrease");
      }
      series.buckets.emplace_back(le.value_or(0), sample->value);
    } else if (suffix == "_sum") {
      series.sum = sample->value;
    } else {
      series.count = sample->value;
    }
  }
  for (const auto& [key, series] : histograms) {
    if (series.buckets.empty() || series.buckets.back().first != kInf) {
      errors.push_back(key + ": no +Inf bucket");
    } else if (!series.count || *series.count != series.buckets.back().second) {
      errors.push_back(key + ": _count differs from the +Inf bucket");
    }
    if (!series.sum) errors.push_back(key + ": no _sum");
  }
  for (const std::string& name : helps) {
    if (types.count(name) == 0) errors.push_back(name + ": HELP without TYPE");
  }
  return errors;
}

TEST(ExpositionValidatorTest, RejectsBrokenText) {
  EXPECT_THAT(ValidateExposition("# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"),
              IsEmpty());
  EXPECT_THAT(ValidateExposition("a_total 1\n"), Not(IsEmpty()));  // undeclared family
  EXPECT_THAT(ValidateExposition("# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n"),
              Not(IsEmpty()));  // duplicate series
  EXPECT_THAT(ValidateExposition("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                                 "h_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 4\n"),
              Not(IsEmpty()));  // count differs from +Inf
  EXPECT_THAT(ValidateExposition("# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n"),
              Not(IsEmpty()));  // bad escape
  EXPECT_THAT(ValidateExposition("# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\n"
                                 "a 1\n"),
              Not(IsEmpty()));  // family split
}

// ---------------------------------------------------------------------------------------------
// Exact exposition per type

TEST(PrometheusTextTest, CounterFamilyWithLabels) {
  Registry registry;
  CounterFamily& family =
      registry.AddCounter("requests_total", "Requests handled.", {"method", "code"});
  family.WithLabels({"post", "200"}).Increment(3);
  family.WithLabels({"get", "200"}).Increment(0.25);
  family.WithLabels({"get", "500"}).Increment();
  EXPECT_EQ(RenderPrometheusText(registry),
            "# HELP requests_total Requests handled.\n"
            "# TYPE requests_total counter\n"
            "requests_total{method=\"get\",code=\"200\"} 0.25\n"
            "requests_total{method=\"get\",code=\"500\"} 1\n"
            "requests_total{method=\"post\",code=\"200\"} 3\n");
}

TEST(PrometheusTextTest, LabellessGauge) {
  Registry registry;
  Gauge& gauge = registry.AddGauge("queue_depth", "Items waiting.").Get();
  gauge.Set(4.0);
  gauge.Decrement(6.5);
  EXPECT_EQ(RenderPrometheusText(registry),
            "# HELP queue_depth Items waiting.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth -2.5\n");
}

TEST(PrometheusTextTest, HistogramWithLabels) {
  Registry registry;
  HistogramFamily& family = registry.AddHistogram("action_duration_seconds", "Action time.",
                                                  {"action_type"}, {0.005, 0.1, 1, 2.5, 10});
  Histogram& webhook = family.WithLabels({"webhook"});
  // Binary-exact values so the sum prints exactly.
  for (const double seconds : {0.00390625, 0.0625, 0.75, 20.0}) webhook.Observe(seconds);
  family.WithLabels({"email"}).Observe(2.0);
  EXPECT_EQ(RenderPrometheusText(registry),
            "# HELP action_duration_seconds Action time.\n"
            "# TYPE action_duration_seconds histogram\n"
            "action_duration_seconds_bucket{action_type=\"email\",le=\"0.005\"} 0\n"
            "action_duration_seconds_bucket{action_type=\"email\",le=\"0.1\"} 0\n"
            "action_duration_seconds_bucket{action_type=\"email\",le=\"1\"} 0\n"
            "action_duration_seconds_bucket{action_type=\"email\",le=\"2.5\"} 1\n"
            "action_duration_seconds_bucket{action_type=\"email\",le=\"10\"} 1\n"
            "action_duration_seconds_bucket{action_type=\"email\",le=\"+Inf\"} 1\n"
            "action_duration_seconds_sum{action_type=\"email\"} 2\n"
            "action_duration_seconds_count{action_type=\"email\"} 1\n"
            "action_duration_seconds_bucket{action_type=\"webhook\",le=\"0.005\"} 1\n"
            "action_duration_seconds_bucket{action_type=\"webhook\",le=\"0.1\"} 2\n"
            "action_duration_seconds_bucket{action_type=\"webhook\",le=\"1\"} 3\n"
            "action_duration_seconds_bucket{action_type=\"webhook\",le=\"2.5\"} 3\n"
            "action_duration_seconds_bucket{action_type=\"webhook\",le=\"10\"} 3\n"
            "action_duration_seconds_bucket{action_type=\"webhook\",le=\"+Inf\"} 4\n"
            "action_duration_seconds_sum{action_type=\"webhook\"} 20.81640625\n"
            "action_duration_seconds_count{action_type=\"webhook\"} 4\n");
}

TEST(PrometheusTextTest, LabellessFamiliesPrintZeroBeforeTheFirstUpdate) {
  Registry registry;
  registry.AddCounter("started_total", "Starts.");
  registry.AddHistogram("wait_seconds", "Waits.", {}, {1});
  EXPECT_EQ(RenderPrometheusText(registry),
            "# HELP started_total Starts.\n"
            "# TYPE started_total counter\n"
            "started_total 0\n"
            "# HELP wait_seconds Waits.\n"
            "# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"1\"} 0\n"
            "wait_seconds_bucket{le=\"+Inf\"} 0\n"
            "wait_seconds_sum 0\n"
            "wait_seconds_count 0\n");
}

TEST(PrometheusTextTest, LabelledFamilyWithoutSeriesPrintsOnlyHelpAndType) {
  Registry registry;
  registry.AddCounter("failures_total", "Failures.", {"error_type"});
  registry.AddHistogram("op_seconds", "Ops.", {"op"}, {1});
  EXPECT_EQ(RenderPrometheusText(registry),
            "# HELP failures_total Failures.\n"
            "# TYPE failures_total counter\n"
            "# HELP op_seconds Ops.\n"
            "# TYPE op_seconds histogram\n");
}

TEST(PrometheusTextTest, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(RenderPrometheusText(registry), "");
}

// ---------------------------------------------------------------------------------------------
// Escaping

TEST(PrometheusTextTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("tab\tstays"), "tab\tstays");
  Registry registry;
  registry.AddCounter("seen_total", "Seen.", {"path"})
      .WithLabels({"C:\\tmp\\\"x\"\nnext"})
      .Increment();
  EXPECT_EQ(RenderPrometheusText(registry),
            "# HELP seen_total Seen.\n"
            "# TYPE seen_total counter\n"
            "seen_total{path=\"C:\\\\tmp\\\\\\\"x\\\"\\nnext\"} 1\n");
}

TEST(PrometheusTextTest, EscapesHelpButNotQuotes) {
  EXPECT_EQ(EscapeHelp("Line one\nLine \"two\" with \\ backslash"),
            "Line one\\nLine \"two\" with \\\\ backslash");
  Registry registry;
  registry.AddGauge("level", "Level\nof \"water\" in C:\\tank.");
  EXPECT_EQ(RenderPrometheusText(registry),
            "# HELP level Level\\nof \"water\" in C:\\\\tank.\n"
            "# TYPE level gauge\n"
            "level 0\n");
}

TEST(PrometheusTextTest, Utf8LabelValuesPassThrough) {
  Registry registry;
  registry.AddCounter("greetings_total", "Greetings.", {"word"})
      .WithLabels({"\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"})
      .Increment();
  EXPECT_THAT(RenderPrometheusText(registry),
              HasSubstr("greetings_total{word=\"\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1"
                        "\xe3\x81\xaf\"} 1\n"));
}

// ---------------------------------------------------------------------------------------------
// Numbers

TEST(PrometheusTextTest, FormatsIntegralValuesWithoutPointOrExponent) {
  EXPECT_EQ(FormatPrometheusValue(0.0), "0");
  EXPECT_EQ(FormatPrometheusValue(-0.0), "0");
  EXPECT_EQ(FormatPrometheusValue(3.0), "3");
  EXPECT_EQ(FormatPrometheusValue(-2.0), "-2");
  EXPECT_EQ(FormatPrometheusValue(10.0), "10");
  EXPECT_EQ(FormatPrometheusValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatPrometheusValue(9007199254740993.0), "9007199254740992");
}

TEST(PrometheusTextTest, FormatsFractionalValuesShortestRoundTrip) {
  EXPECT_EQ(FormatPrometheusValue(0.25), "0.25");
  EXPECT_EQ(FormatPrometheusValue(0.1), "0.1");
  EXPECT_EQ(FormatPrometheusValue(0.005), "0.005");
  EXPECT_EQ(FormatPrometheusValue(2.5), "2.5");
  EXPECT_EQ(FormatPrometheusValue(-0.5), "-0.5");
  EXPECT_EQ(FormatPrometheusValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatPrometheusValue(1e-9), "1e-09");
  // Beyond int64 the shortest form is an exponent; it still parses back exactly.
  EXPECT_EQ(FormatPrometheusValue(1e20), "1e+20");
  EXPECT_EQ(std::strtod(FormatPrometheusValue(std::numeric_limits<double>::max()).c_str(), nullptr),
            std::numeric_limits<double>::max());
}

TEST(PrometheusTextTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatPrometheusValue(kInf), "+Inf");
  EXPECT_EQ(FormatPrometheusValue(-kInf), "-Inf");
  EXPECT_EQ(FormatPrometheusValue(std::nan("")), "NaN");
  Registry registry;
  GaugeFamily& family = registry.AddGauge("ratio", "Ratio.", {"k"});
  family.WithLabels({"a"}).Set(kInf);
  family.WithLabels({"b"}).Set(-kInf);
  family.WithLabels({"c"}).Set(std::nan(""));
  EXPECT_THAT(RenderPrometheusText(registry),
              HasSubstr("ratio{k=\"a\"} +Inf\nratio{k=\"b\"} -Inf\nratio{k=\"c\"} NaN\n"));
}

// ---------------------------------------------------------------------------------------------
// Histograms, ordering, determinism

TEST(PrometheusTextTest, InfBucketEqualsCountAndBucketsAreCumulative) {
  Registry registry;
  Histogram& histogram = registry.AddHistogram("size_bytes", "Sizes.", {}, {10, 100, 1000}).Get();
  for (int i = 0; i < 2000; i += 7) histogram.Observe(static_cast<double>(i));
  const std::vector<FamilySnapshot> snapshot = registry.Snapshot();
  const std::vector<uint64_t>& counts = snapshot[0].series[0].cumulative_counts;
  ASSERT_EQ(counts.size(), 4u);
  EXPECT_THAT(counts, ElementsAre(2u, 15u, 143u, 286u));
  const std::string text = RenderPrometheusText(registry);
  EXPECT_THAT(text, HasSubstr("size_bytes_bucket{le=\"+Inf\"} 286\n"));
  EXPECT_THAT(text, HasSubstr("size_bytes_count 286\n"));
  EXPECT_THAT(ValidateExposition(text), IsEmpty());
}

TEST(PrometheusTextTest, FamiliesAreSortedByName) {
  Registry registry;
  registry.AddGauge("zeta", "Z.");
  registry.AddGauge("alpha", "A.");
  registry.AddCounter("mid_total", "M.");
  registry.AddGauge("Upper", "U.");
  std::vector<std::string> names;
  for (const FamilySnapshot& family : registry.Snapshot()) names.push_back(family.name);
  EXPECT_THAT(names, ElementsAre("Upper", "alpha", "mid_total", "zeta"));
  const std::string text = RenderPrometheusText(registry);
  EXPECT_LT(text.find("# HELP alpha"), text.find("# HELP mid_total"));
  EXPECT_LT(text.find("# HELP mid_total"), text.find("# HELP zeta"));
}

TEST(PrometheusTextTest, SeriesAreSortedByLabelValuesAndRenderingIsDeterministic) {
  const auto build = [](Registry& registry, bool reverse) {
    CounterFamily& family = registry.AddCounter("ops_total", "Ops.", {"a", "b"});
    std::vector<std::pair<std::string, std::string>> labels = {
        {"x", "2"}, {"x", "10"}, {"", "z"}, {"x", "1"}, {"w", "9"}};
    if (reverse) std::reverse(labels.begin(), labels.end());
    for (const auto& [a, b] : labels) family.WithLabels({a, b}).Increment();
  };
  Registry forward;
  Registry backward;
  build(forward, false);
  build(backward, true);
  const std::string text = RenderPrometheusText(forward);
  EXPECT_EQ(text, RenderPrometheusText(backward));
  EXPECT_EQ(text, RenderPrometheusText(forward));
  // Byte-wise order of the values, label by label (so "10" sorts before "2").
  EXPECT_EQ(text,
            "# HELP ops_total Ops.\n"
            "# TYPE ops_total counter\n"
            "ops_total{a=\"\",b=\"z\"} 1\n"
            "ops_total{a=\"w\",b=\"9\"} 1\n"
            "ops_total{a=\"x\",b=\"1\"} 1\n"
            "ops_total{a=\"x\",b=\"10\"} 1\n"
            "ops_total{a=\"x\",b=\"2\"} 1\n");
}

TEST(PrometheusTextTest, RendersSnapshotsInTheOrderGiven) {
  FamilySnapshot gauge;
  gauge.name = "b_gauge";
  gauge.help = "B.";
  gauge.type = MetricType::kGauge;
  gauge.series.push_back(SeriesSnapshot{{}, 1.5, {}, 0.0});
  FamilySnapshot counter;
  counter.name = "a_total";
  counter.help = "A.";
  counter.type = MetricType::kCounter;
  const std::vector<FamilySnapshot> families = {gauge, counter};
  EXPECT_EQ(RenderPrometheusText(families),
            "# HELP b_gauge B.\n# TYPE b_gauge gauge\nb_gauge 1.5\n"
            "# HELP a_total A.\n# TYPE a_total counter\n");
}

TEST(PrometheusTextTest, ContentTypeIsTextFormat004) {
  EXPECT_EQ(kPrometheusTextContentType, "text/plain; version=0.0.4; charset=utf-8");
}

// ---------------------------------------------------------------------------------------------
// The product's families

struct ExpectedFamily {
  std::string_view name;
  MetricType type;
  std::vector<std::string> labels;
};

const std::vector<ExpectedFamily>& ProductFamilies() {
  static const std::vector<ExpectedFamily> families = {
      {"fraiseql_observer_events_processed_total", MetricType::kCounter, {}},
      {"fraiseql_observer_events_failed_total", MetricType::kCounter, {"error_type"}},
      {"fraiseql_observer_events_deserialization_failures_total", MetricType::kCounter, {}},
      {"fraiseql_observer_action_executed_total", MetricType::kCounter, {"action_type"}},
      {"fraiseql_observer_action_duration_seconds", MetricType::kHistogram, {"action_type"}},
      {"fraiseql_observer_action_errors_total",
       MetricType::kCounter,
       {"action_type", "error_type"}},
      {"fraiseql_observer_backlog_size", MetricType::kGauge, {}},
      {"fraiseql_observer_dlq_items", MetricType::kGauge, {}},
      {"fraiseql_observer_job_queued_total", MetricType::kCounter, {}},
      {"fraiseql_observer_job_executed_total", MetricType::kCounter, {"action_type"}},
      {"fraiseql_observer_job_failed_total", MetricType::kCounter, {"action_type", "error_type"}},
      {"fraiseql_observer_job_duration_seconds", MetricType::kHistogram, {"action_type"}},
      {"fraiseql_observer_job_retry_attempts_total", MetricType::kCounter, {"action_type"}},
      {"fraiseql_observer_job_queue_depth", MetricType::kGauge, {}},
      {"fraiseql_observer_job_dlq_items", MetricType::kGauge, {}},
      {"fraiseql_observer_condition_errors_total", MetricType::kCounter, {"observer"}},
  };
  return families;
}

std::size_t CountOccurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(ProductFamiliesTest, AllAreInTheDefaultRegistryWithHelpAndType) {
  DeclareAllFamilies();
  DeclareAllFamilies();  // idempotent
  const std::string text = RenderPrometheusText(DefaultRegistry());
  for (const ExpectedFamily& family : ProductFamilies()) {
    const std::string name(family.name);
    EXPECT_EQ(CountOccurrences(text, "# HELP " + name + " "), 1u) << name;
    EXPECT_EQ(CountOccurrences(
                  text, "# TYPE " + name + " " + std::string(MetricTypeName(family.type)) + "\n"),
              1u)
        << name;
  }
  std::map<std::string, MetricType> declared;
  for (const FamilySnapshot& snapshot : DefaultRegistry().Snapshot()) {
    declared[snapshot.name] = snapshot.type;
  }
  for (const ExpectedFamily& family : ProductFamilies()) {
    ASSERT_EQ(declared.count(std::string(family.name)), 1u) << family.name;
  }
  EXPECT_THAT(ValidateExposition(text), IsEmpty());
}

TEST(ProductFamiliesTest, AccessorsHaveTheDocumentedShape) {
  const std::vector<const FamilyBase*> accessors = {&EventsProcessedTotal(),
                                                    &EventsFailedTotal(),
                                                    &EventsDeserializationFailuresTotal(),
                                                    &ActionExecutedTotal(),
                                                    &ActionDurationSeconds(),
                                                    &ActionErrorsTotal(),
                                                    &BacklogSize(),
                                                    &DlqItems(),
                                                    &JobQueuedTotal(),
                                                    &JobExecutedTotal(),
                                                    &JobFailedTotal(),
                                                    &JobDurationSeconds(),
                                                    &JobRetryAttemptsTotal(),
                                                    &JobQueueDepth(),
                                                    &JobDlqItems(),
                                                    &ConditionErrorsTotal()};
  const std::vector<ExpectedFamily>& expected = ProductFamilies();
  ASSERT_EQ(accessors.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(accessors[i]->name(), expected[i].name);
    EXPECT_EQ(accessors[i]->type(), expected[i].type) << expected[i].name;
    EXPECT_EQ(accessors[i]->label_names(), expected[i].labels) << expected[i].name;
    EXPECT_FALSE(accessors[i]->help().empty()) << expected[i].name;
  }
  EXPECT_THAT(ActionDurationSeconds().upper_bounds(),
              ElementsAreArray({0.001, 0.01, 0.1, 1.0, 5.0, 10.0, 30.0, 60.0}));
  EXPECT_THAT(JobDurationSeconds().upper_bounds(),
              ElementsAreArray({0.001, 0.01, 0.1, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0}));
}

TEST(ProductFamiliesTest, UpdatedFamiliesRenderValidText) {
  DeclareAllFamilies();
  EventsProcessedTotal().Get().Increment();
  EventsFailedTotal().WithLabels({"condition_failed"}).Increment();
  ActionExecutedTotal().WithLabels({"webhook"}).Increment();
  ActionDurationSeconds().WithLabels({"webhook"}).Observe(0.25);
  ActionDurationSeconds().WithLabels({"email"}).Observe(120.0);
  ActionErrorsTotal().WithLabels({"webhook", "execution_failed"}).Increment();
  BacklogSize().Get().Set(std::size_t{145});
  JobDurationSeconds().WithLabels({"slack"}).Observe(200.0);
  ConditionErrorsTotal().WithLabels({"orders \"high value\""}).Increment();
  const std::string text = RenderPrometheusText(DefaultRegistry());
  EXPECT_THAT(ValidateExposition(text), IsEmpty()) << text;
  EXPECT_THAT(text, HasSubstr("fraiseql_observer_action_duration_seconds_bucket{action_type="
                              "\"webhook\",le=\"0.001\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fraiseql_observer_job_duration_seconds_bucket{action_type="
                              "\"slack\",le=\"300\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fraiseql_observer_backlog_size 145\n"));
  EXPECT_THAT(text, HasSubstr("fraiseql_observer_condition_errors_total{observer="
                              "\"orders \\\"high value\\\"\"} 1\n"));
}

}  // namespace
}  // namespace fraiseql::metrics
