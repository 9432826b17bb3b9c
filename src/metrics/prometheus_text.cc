#include "metrics/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>
#include <vector>

namespace fraiseql::metrics {
namespace {

// `{a="x",b="y"` without the closing brace, so a histogram can append its le label; empty when
// there are no labels.
std::string OpenLabelSet(const std::vector<std::string>& names,
                         const std::vector<std::string>& values) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    text += i == 0 ? "{" : ",";
    text += names[i];
    text += "=\"";
    text += EscapeLabelValue(values[i]);
    text += '"';
  }
  return text;
}

std::string CloseLabelSet(const std::string& open) { return open.empty() ? open : open + "}"; }

void AppendSample(std::string& out, std::string_view name, std::string_view labels,
                  std::string_view value) {
  out += name;
  out += labels;
  out += ' ';
  out += value;
  out += '\n';
}

void AppendHistogram(std::string& out, const FamilySnapshot& family, const SeriesSnapshot& series,
                     const std::string& open_labels) {
  const std::string bucket_name = family.name + "_bucket";
  const std::string le_prefix = open_labels.empty() ? "{le=\"" : open_labels + ",le=\"";
  const std::vector<uint64_t>& counts = series.cumulative_counts;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    // The last count is the implicit +Inf bucket; a snapshot never has more counts than bounds+1.
    const std::string le =
        i < family.upper_bounds.size() ? FormatPrometheusValue(family.upper_bounds[i]) : "+Inf";
    AppendSample(out, bucket_name, le_prefix + le + "\"}", std::to_string(counts[i]));
  }
  const std::string labels = CloseLabelSet(open_labels);
  AppendSample(out, family.name + "_sum", labels, FormatPrometheusValue(series.sum));
  AppendSample(out, family.name + "_count", labels,
               std::to_string(counts.empty() ? uint64_t{0} : counts.back()));
}

}  // namespace

std::string FormatPrometheusValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers below 2^63 print as integers (also turning -0 into 0); anything else takes
  // the shortest text that parses back to the same double.
  if (value == std::trunc(value) && std::fabs(value) < 0x1p63) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (result.ec != std::errc()) return "NaN";  // cannot happen: 64 bytes fit any double
  return std::string(buffer, result.ptr);
}

// The format escapes backslash and newline everywhere, and double quotes in label values only.
std::string Escape(std::string_view text, bool escape_quotes) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else if (c == '"' && escape_quotes) {
      escaped += "\\\"";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string EscapeLabelValue(std::string_view value) { return Escape(value, /*escape_quotes=*/true); }

std::string EscapeHelp(std::string_view help) { return Escape(help, /*escape_quotes=*/false); }

std::string RenderPrometheusText(std::span<const FamilySnapshot> families) {
  std::string out;
  for (const FamilySnapshot& family : families) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    out += EscapeHelp(family.help);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += MetricTypeName(family.type);
    out += '\n';
    for (const SeriesSnapshot& series : family.series) {
      const std::string open_labels = OpenLabelSet(family.label_names, series.label_values);
      if (family.type == MetricType::kHistogram) {
        AppendHistogram(out, family, series, open_labels);
      } else {
        AppendSample(out, family.name, CloseLabelSet(open_labels),
                     FormatPrometheusValue(series.value));
      }
    }
  }
  return out;
}

std::string RenderPrometheusText(const Registry& registry) {
  const std::vector<FamilySnapshot> families = registry.Snapshot();
  return RenderPrometheusText(std::span<const FamilySnapshot>(families));
}

}  // namespace fraiseql::metrics
