#include "metrics/registry.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

namespace fraiseql::metrics {
namespace {

template <typename M>
constexpr MetricType kTypeOf = MetricType::kCounter;
template <>
constexpr MetricType kTypeOf<Gauge> = MetricType::kGauge;
template <>
constexpr MetricType kTypeOf<Histogram> = MetricType::kHistogram;

// Debug builds stop at the call site of a programming error; release builds carry on (see
// registry.h) because losing one metric is better than losing the daemon.
void FailProgrammingError(const std::string& message) {
#ifndef NDEBUG
  std::fprintf(stderr, "fraiseql metrics: %s\n", message.c_str());
  std::abort();
#else
  static_cast<void>(message);
#endif
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_][a-zA-Z0-9_]*: the metric-name grammar minus the colon, which Prometheus reserves
// for recording rules, and the label-name grammar.
bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAsciiLetter(c) || c == '_' || (i > 0 && IsAsciiDigit(c)))) return false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& words) {
  std::string joined;
  for (const std::string& word : words) {
    if (!joined.empty()) joined += ", ";
    joined += word;
  }
  return joined;
}

std::string DescribeBounds(const std::vector<double>& bounds) {
  std::string text = "[";
  for (const double bound : bounds) {
    if (text.size() > 1) text += ", ";
    // %g is plenty to tell two bucket layouts apart in an error message.
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%g", bound);
    text += buffer;
  }
  return text + "]";
}

// "counter{a, b} help \"...\"": enough to see why two declarations of one name disagree.
std::string Describe(MetricType type, const std::vector<std::string>& label_names,
                     const std::vector<double>& bounds, std::string_view help) {
  std::string text(MetricTypeName(type));
  text += '{';
  text += Join(label_names);
  text += '}';
  if (type == MetricType::kHistogram) text += " buckets " + DescribeBounds(bounds);
  text += " help \"";
  text += help;
  text += "\"";
  return text;
}

// The sample names a family writes; two families must not share any.
std::vector<std::string> SampleNames(MetricType type, std::string_view name) {
  std::vector<std::string> names{std::string(name)};
  if (type == MetricType::kHistogram) {
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      names.push_back(std::string(name) + std::string(suffix));
    }
  }
  return names;
}

bool BoundsAreValid(const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i])) return false;
    if (i > 0 && !(bounds[i - 1] < bounds[i])) return false;
  }
  return true;
}

Result<void> ValidateDeclaration(MetricType type, std::string_view name, std::string_view help,
                                 const std::vector<std::string>& label_names,
                                 const std::vector<double>& bounds) {
  const std::string family = "metric family '" + std::string(name) + "'";
  if (!IsValidName(name)) {
    return Error::InvalidArgument(family + ": a name must match [a-zA-Z_][a-zA-Z0-9_]*");
  }
  if (type == MetricType::kCounter && !name.ends_with("_total")) {
    return Error::InvalidArgument(family + ": a counter's name must end in _total");
  }
  if (help.empty()) return Error::InvalidArgument(family + ": help text is empty");
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidName(label) || label.starts_with("__")) {
      return Error::InvalidArgument(family + ": label name '" + label +
                                    "' must match [a-zA-Z_][a-zA-Z0-9_]* without a leading __");
    }
    if (type == MetricType::kHistogram && label == "le") {
      return Error::InvalidArgument(family + ": 'le' is reserved for histogram buckets");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (label_names[j] == label) {
        return Error::InvalidArgument(family + ": label name '" + label + "' appears twice");
      }
    }
  }
  if (!BoundsAreValid(bounds)) {
    return Error::InvalidArgument(family + ": bucket bounds " + DescribeBounds(bounds) +
                                  " must be strictly increasing and not NaN");
  }
  return Ok();
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// ---------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds.size() + 1)) {}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = running;
  }
  return counts;
}

uint64_t Histogram::Count() const { return CumulativeCounts().back(); }

// ---------------------------------------------------------------------------------------------
// Families

FamilyBase::FamilyBase(MetricType type, std::string name, std::string help,
                       std::vector<std::string> label_names, std::vector<double> upper_bounds)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {}

FamilyBase::~FamilyBase() = default;

void FamilyBase::ReportLabelMismatch(std::size_t value_count) {
  label_mismatches_.fetch_add(1, std::memory_order_relaxed);
  FailProgrammingError("metric family '" + name_ + "' has " + std::to_string(label_names_.size()) +
                       " label name(s) {" + Join(label_names_) + "} but was given " +
                       std::to_string(value_count) + " label value(s)");
}

template <typename M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> upper_bounds)
    : FamilyBase(kTypeOf<M>, std::move(name), std::move(help), std::move(label_names),
                 std::move(upper_bounds)),
      sink_(NewSeries()) {
  // A label-less family has exactly one series; it exists from the start so the exposition
  // shows 0 before the first update, and Get() needs no lock.
  if (this->label_names().empty()) {
    unlabeled_ = series_.emplace(std::vector<std::string>{}, NewSeries()).first->second.get();
  }
}

template <typename M>
std::unique_ptr<M> Family<M>::NewSeries() const {
  if constexpr (std::is_same_v<M, Histogram>) {
    return std::make_unique<Histogram>(std::span<const double>(upper_bounds()));
  } else {
    return std::make_unique<M>();
  }
}

template <typename M>
M& Family<M>::WithLabels(std::span<const std::string_view> values) {
  if (values.size() != label_names().size()) {
    ReportLabelMismatch(values.size());
    return *sink_;
  }
  MutexLock lock(&mu_);
  auto it = series_.find(values);
  if (it == series_.end()) {
    it = series_.emplace(std::vector<std::string>(values.begin(), values.end()), NewSeries()).first;
  }
  return *it->second;
}

template <typename M>
M& Family<M>::WithLabels(const std::vector<std::string>& values) {
  const std::vector<std::string_view> views(values.begin(), values.end());
  return WithLabels(std::span<const std::string_view>(views));
}

template <typename M>
M& Family<M>::Get() {
  if (unlabeled_ != nullptr) return *unlabeled_;
  ReportLabelMismatch(0);
  return *sink_;
}

template <typename M>
FamilySnapshot Family<M>::Snapshot() const {
  FamilySnapshot snapshot;
  snapshot.name = name();
  snapshot.help = help();
  snapshot.type = type();
  snapshot.label_names = label_names();
  snapshot.upper_bounds = upper_bounds();
  MutexLock lock(&mu_);
  snapshot.series.reserve(series_.size());
  for (const auto& [label_values, metric] : series_) {
    SeriesSnapshot series;
    series.label_values = label_values;
    if constexpr (std::is_same_v<M, Histogram>) {
      series.cumulative_counts = metric->CumulativeCounts();
      series.sum = metric->Sum();
    } else {
      series.value = metric->Value();
    }
    snapshot.series.push_back(std::move(series));
  }
  return snapshot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---------------------------------------------------------------------------------------------
// Registry

Registry::Registry() = default;
Registry::~Registry() = default;

template <typename M>
Result<Family<M>*> Registry::TryAdd(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names,
                                    std::vector<double> upper_bounds) {
  constexpr MetricType type = kTypeOf<M>;
  // The +Inf bucket is implicit; accepting it spelled out saves callers a special case.
  if (!upper_bounds.empty() && upper_bounds.back() == std::numeric_limits<double>::infinity()) {
    upper_bounds.pop_back();
  }
  FRAISEQL_RETURN_IF_ERROR(ValidateDeclaration(type, name, help, label_names, upper_bounds));

  MutexLock lock(&mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    FamilyBase& existing = *it->second;
    if (existing.type() == type && existing.help() == help &&
        existing.label_names() == label_names && existing.upper_bounds() == upper_bounds) {
      // Same type, so the downcast is to the family's real class.
      return static_cast<Family<M>*>(&existing);
    }
    return Error::InvalidArgument(
        "metric family '" + std::string(name) + "' is already declared as " +
        Describe(existing.type(), existing.label_names(), existing.upper_bounds(),
                 existing.help()) +
        "; cannot redeclare it as " + Describe(type, label_names, upper_bounds, help));
  }
  const std::vector<std::string> new_samples = SampleNames(type, name);
  for (const auto& [other_name, other] : families_) {
    for (const std::string& sample : SampleNames(other->type(), other_name)) {
      for (const std::string& new_sample : new_samples) {
        if (sample == new_sample) {
          return Error::InvalidArgument(
              "metric family '" + std::string(name) + "' (" + std::string(MetricTypeName(type)) +
              ") would write samples named '" + sample + "', as " +
              std::string(MetricTypeName(other->type())) + " '" + other_name + "' does");
        }
      }
    }
  }
  auto family = std::make_unique<Family<M>>(std::string(name), std::string(help),
                                            std::move(label_names), std::move(upper_bounds));
  Family<M>* added = family.get();
  families_.emplace(std::string(name), std::move(family));
  return added;
}

template <typename M>
Family<M>& Registry::AddOrDetach(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> upper_bounds) {
  Result<Family<M>*> added = TryAdd<M>(name, help, label_names, upper_bounds);
  if (added) return **added;
  FailProgrammingError(added.error().message);
  // Release build: a private family with the shape the caller asked for (so its WithLabels
  // calls match), kept alive here and never exported.
  if (!BoundsAreValid(upper_bounds)) upper_bounds.clear();
  auto family = std::make_unique<Family<M>>(std::string(name), std::string(help),
                                            std::move(label_names), std::move(upper_bounds));
  Family<M>& detached = *family;
  MutexLock lock(&mu_);
  detached_.push_back(std::move(family));
  return detached;
}

Result<CounterFamily*> Registry::TryAddCounter(std::string_view name, std::string_view help,
                                               std::vector<std::string> label_names) {
  return TryAdd<Counter>(name, help, std::move(label_names), {});
}

Result<GaugeFamily*> Registry::TryAddGauge(std::string_view name, std::string_view help,
                                           std::vector<std::string> label_names) {
  return TryAdd<Gauge>(name, help, std::move(label_names), {});
}

Result<HistogramFamily*> Registry::TryAddHistogram(std::string_view name, std::string_view help,
                                                   std::vector<std::string> label_names,
                                                   std::vector<double> upper_bounds) {
  return TryAdd<Histogram>(name, help, std::move(label_names), std::move(upper_bounds));
}

CounterFamily& Registry::AddCounter(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  return AddOrDetach<Counter>(name, help, std::move(label_names), {});
}

GaugeFamily& Registry::AddGauge(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names) {
  return AddOrDetach<Gauge>(name, help, std::move(label_names), {});
}

HistogramFamily& Registry::AddHistogram(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> upper_bounds) {
  return AddOrDetach<Histogram>(name, help, std::move(label_names), std::move(upper_bounds));
}

std::vector<FamilySnapshot> Registry::Snapshot() const {
  // Families are never removed, so the pointers outlive the registry lock; snapshotting each one
  // outside it keeps declarations from waiting on a slow render.
  std::vector<const FamilyBase*> families;
  {
    MutexLock lock(&mu_);
    families.reserve(families_.size());
    for (const auto& entry : families_) families.push_back(entry.second.get());
  }
  std::vector<FamilySnapshot> snapshots;
  snapshots.reserve(families.size());
  for (const FamilyBase* family : families) snapshots.push_back(family->Snapshot());
  return snapshots;
}

Registry& DefaultRegistry() {
  // A union member is never destroyed unless asked to: this is NoDestructor without new.
  union Storage {
    Storage() : registry() {}
    ~Storage() {}
    Registry registry;
  };
  static Storage storage;
  return storage.registry;
}

}  // namespace fraiseql::metrics
