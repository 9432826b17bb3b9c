// Renders a Registry in the Prometheus text exposition format 0.0.4, the body of GET /metrics.
// Output is deterministic: families sorted by name, series by label values.
// Thread-safety: pure functions; rendering a registry may run while other threads update it.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "metrics/registry.h"

namespace fraiseql::metrics {

// The Content-Type header that goes with the text.
inline constexpr std::string_view kPrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Every family: "# HELP", "# TYPE", then its samples; histograms as cumulative _bucket series
// (le last, ending with le="+Inf"), then _sum and _count. A labelled family without series yet
// prints only its HELP and TYPE lines.
std::string RenderPrometheusText(const Registry& registry);
// Renders snapshots in the order given (Registry::Snapshot already sorts them).
std::string RenderPrometheusText(std::span<const FamilySnapshot> families);

// The pieces, exposed for tests and for anyone writing a sample by hand.
// Integral values without exponent or point ("3"), others shortest round-trip ("0.25"), and
// "+Inf", "-Inf", "NaN". Also formats le bounds.
std::string FormatPrometheusValue(double value);
// Backslash, double quote and newline escaped, as a label value requires.
std::string EscapeLabelValue(std::string_view value);
// Backslash and newline escaped, as a HELP line requires.
std::string EscapeHelp(std::string_view help);

}  // namespace fraiseql::metrics
